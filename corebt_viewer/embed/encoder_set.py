"""The encoders of an embedding profile, built on first use and checked against it."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.profile import EmbeddingProfile, _weights_identity


def _checked_weights(profile: EmbeddingProfile, key: str, path: str | None, encoder: str) -> str:
    """The weights path of `key`, after checking it still holds the profile's weights."""
    if path is None:
        raise InputError(None, f"profile {profile.name!r} records no {key} path")
    if not Path(path).expanduser().exists():
        raise InputError(
            path,
            f"weights of profile {profile.name!r} not found: they are needed to embed cases "
            "not yet in the cache (give the folder again, or embed on the machine that has it)",
        )
    found = _weights_identity(encoder, path)
    expected = profile.identity.get(key)
    if expected is not None and found != expected:
        raise InputError(
            path,
            f"these weights (fingerprint {found}) are not the ones profile {profile.name!r} "
            f"was made with ({expected})",
        )
    return path


class EncoderSet:
    """The encoders of a profile, built once per run.

    Parameters
    ----------
    profile : EmbeddingProfile
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    compile : bool
        ``torch.compile`` the Prov-GigaPath tile encoder on CUDA.
    """

    def __init__(self, profile: EmbeddingProfile, *, device: str = "auto", compile: bool = False):
        self.profile = profile
        self.device = device
        self.compile = compile
        self._built: dict[str, object] = {}

    @property
    def tiling(self):
        return self.profile.tiling

    def get(self, modality: Modality):
        """The tile (WSI), volume (MRI) or text (report) encoder of the profile."""
        key = modality.value
        if key not in self._built:
            self._built[key] = self._build(modality)
        return self._built[key]

    def slide_encoder(self):
        """The slide aggregator's encoder (``None`` for the tile mean)."""
        if self.profile.aggregator == "mean":
            return None
        if "slide" not in self._built:
            from corebt_viewer.embed.aggregators import build_slide_encoder

            p = self.profile
            weights = _checked_weights(p, "slide_weights", p.slide_weights, "gigapath-slide")
            self._built["slide"] = build_slide_encoder(
                p.aggregator, weights=weights, layer=p.slide_layer, device=self.device
            )
        return self._built["slide"]

    def _build(self, modality: Modality):
        from corebt_viewer.embed.encoders import build_encoder

        p = self.profile
        if p.source != "embedded" and modality is Modality.WSI:
            raise InputError(
                None,
                f"profile {p.name!r} holds imported features ({p.source}): slides missing from "
                "it cannot be embedded here; import their feature files",
            )
        if modality is Modality.WSI:
            if p.wsi == "builtin":
                return build_encoder(p.wsi, device=self.device, mpp=p.tiling.target_mpp)
            weights = _checked_weights(p, "wsi_weights", p.wsi_weights, p.wsi)
            return build_encoder(p.wsi, weights=weights, device=self.device, compile=self.compile)
        if modality is Modality.MRI:
            if p.mri == "mri-builtin":
                return build_encoder(p.mri)
            weights = _checked_weights(p, "mri_weights", p.mri_weights, p.mri)
            return build_encoder(p.mri, weights=weights, config=p.mri_config, device=self.device)
        if p.report == "hashing-tfidf":
            return build_encoder(p.report)
        return build_encoder(p.report, device=self.device)
