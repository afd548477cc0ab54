"""Registry of encoders: name -> factory, with the modality, output size and needs of each.

Tile encoders (pathology) map a batch of RGB tiles ``(B, H, W, 3) uint8`` to ``(B, dim)``;
MRI encoders map a case's volumes to one vector per sequence; report encoders map text to
chunk vectors. Every encoder exposes ``name``, ``dim`` and ``settings()`` (a JSON-able dict
that, with the input file identity, keys the cache).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from corebt_viewer.core.modalities import Modality


@dataclass(frozen=True)
class EncoderInfo:
    """What an encoder is and needs.

    Attributes
    ----------
    name : str
    modality : Modality
    dim : int or None
        Output size (``None`` when it depends on the weights).
    needs_weights : bool
        True when the user must give a weights file or folder.
    factory : str
        ``"module:function"`` building the encoder (imported lazily).
    description : str
    """

    name: str
    modality: Modality
    dim: int | None
    needs_weights: bool
    factory: str
    description: str = ""

    def build(self, **kwargs):
        module_name, function = self.factory.split(":")
        return getattr(importlib.import_module(module_name), function)(**kwargs)


_REGISTRY: dict[str, EncoderInfo] = {}


def register_encoder(info: EncoderInfo) -> None:
    """Add (or replace) an encoder in the registry."""
    _REGISTRY[info.name] = info


def encoder_info(name: str) -> EncoderInfo:
    """The registry entry of `name` (ValueError listing the known names if unknown)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown encoder {name!r}; known encoders: {known}") from None


def list_encoders(modality: Modality | None = None) -> list[EncoderInfo]:
    """Registered encoders, optionally only those of one modality."""
    return [i for i in _REGISTRY.values() if modality is None or i.modality is modality]


def build_encoder(name: str, **kwargs):
    """Build the encoder called `name` with `kwargs` (``weights``, ``device``...)."""
    return encoder_info(name).build(**kwargs)


_P = "corebt_viewer.embed.encoders."
for _info in (
    EncoderInfo(
        "builtin",
        Modality.WSI,
        None,
        False,
        _P + "wsi_builtin:build",
        "Morphological descriptor: H&E deconvolution, nuclei, texture, colour (no weights).",
    ),
    EncoderInfo(
        "gigapath",
        Modality.WSI,
        1536,
        True,
        _P + "gigapath:build",
        "Prov-GigaPath tile encoder (ViT-g/16 through timm), weights from a local folder or file.",
    ),
    EncoderInfo(
        "mri-builtin",
        Modality.MRI,
        None,
        False,
        _P + "mri_builtin:build",
        "Radiomics-style vector per sequence from the tumour regions (no weights).",
    ),
    EncoderInfo(
        "mri-torchscript",
        Modality.MRI,
        None,
        True,
        _P + "mri_torchscript:build",
        "User TorchScript volume encoder with a JSON preprocessing config.",
    ),
    EncoderInfo(
        "minilm",
        Modality.REPORT,
        384,
        False,
        _P + "report:build_minilm",
        "all-MiniLM-L6-v2 sentence embeddings (offline package), chunked and pooled.",
    ),
    EncoderInfo(
        "hashing-tfidf",
        Modality.REPORT,
        384,
        False,
        _P + "report:build_hashing",
        "Hashed word and bigram counts, sublinear tf, L2-normalised (no model needed).",
    ),
):
    register_encoder(_info)

Factory = Callable[..., object]
