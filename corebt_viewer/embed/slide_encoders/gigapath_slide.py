"""Prov-GigaPath's slide encoder behind the project's encoder interface.

``GigaPathSlideEncoder(weights).encode(features, coords)`` turns a slide's tile features
(N x 1536, Prov-GigaPath tile embeddings, in the order of the feature file) and their
level-0 coordinates into one 768-d slide vector. It runs in float32 on a CPU and under
bf16 autocast on CUDA, with no flash-attn (see :mod:`.dilated_attention`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError

#: Output choices: the official pipeline's ``last_layer_embed`` is the default.
DEFAULT_LAYER = "last_layer_embed"


class GigaPathSlideEncoder:
    """Prov-GigaPath slide encoder (LongNet, dilated attention) on CPU or GPU.

    Parameters
    ----------
    weights : path
        The official ``slide_encoder.pth`` (or a file in its layout).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    layer : str
        Which hidden state becomes the slide vector: ``"last_layer_embed"`` (default; the
        official pipeline's output), ``"encoder_out"`` (with the encoder's final
        LayerNorm) or ``"layer_<i>"`` (TRIDENT keeps ``"layer_11"``).
    max_chunk_elements : int, optional
        Bound on one chunk of attention scores (default 2**25 on CPU, 2**28 on CUDA).
    precision : str
        ``"auto"`` (bf16 autocast on CUDA, float32 on CPU) or ``"float32"``.

    Attributes
    ----------
    name : str
    dim : int
        768.
    device : str
    depth : int
        Layers in the checkpoint.
    """

    name = "gigapath-slide"
    dim = 768

    def __init__(
        self,
        weights,
        *,
        device: str = "auto",
        layer: str = DEFAULT_LAYER,
        max_chunk_elements: int | None = None,
        precision: str = "auto",
    ):
        from corebt_viewer.embed.cache import file_fingerprint
        from corebt_viewer.embed.slide_encoders.checkpoint import load_slide_model

        if weights is None:
            raise InputError(
                None,
                "the gigapath slide encoder needs --slide-weights: the official "
                "slide_encoder.pth (it is never downloaded)",
            )
        weights = Path(weights).expanduser()
        model = load_slide_model(weights)
        self._setup(model, device, layer, max_chunk_elements, precision)
        self.weights_id = file_fingerprint(weights)
        self.weights_name = weights.name

    @classmethod
    def from_model(
        cls,
        model,
        *,
        device: str = "auto",
        layer: str = DEFAULT_LAYER,
        weights_id: str = "in-memory",
        max_chunk_elements: int | None = None,
        precision: str = "auto",
    ) -> GigaPathSlideEncoder:
        """Wrap a model already built (tests and benchmarks with random weights)."""
        self = cls.__new__(cls)
        self._setup(model, device, layer, max_chunk_elements, precision)
        self.weights_id = weights_id
        self.weights_name = None
        return self

    def _setup(self, model, device, layer, max_chunk_elements, precision) -> None:
        from corebt_viewer.embed.encoders.devices import resolve_device
        from corebt_viewer.embed.slide_encoders.longnet import parse_layer

        self.depth = int(model.depth)
        try:
            parse_layer(layer, self.depth)
        except ValueError as exc:
            raise InputError(None, str(exc)) from exc
        self.layer = layer
        try:
            self.device = resolve_device(device)
        except ValueError as exc:
            raise InputError(None, str(exc)) from exc
        self.model = model.eval().to(self.device)
        cuda = self.device.startswith("cuda")
        if max_chunk_elements is None:
            max_chunk_elements = 1 << 28 if cuda else 1 << 25
        self.model.set_chunk_elements(max_chunk_elements)
        if precision not in ("auto", "float32"):
            raise InputError(None, f"precision must be auto or float32, not {precision!r}")
        self._autocast = cuda and precision == "auto"
        self.precision = "bfloat16-autocast" if self._autocast else "float32"

    def settings(self) -> dict:
        """JSON-able record of what determines the vectors (keys a cache)."""
        model = self.model
        attention = model.encoder.layers[0].self_attn if model.depth else None
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": self.weights_id,
            "weights_file": self.weights_name,
            "layer": self.layer,
            "depth": self.depth,
            "global_pool": True,
            "segment_lengths": list(attention.segment_lengths) if attention else [],
            "dilation_ratios": list(attention.dilation_ratios) if attention else [],
            "precision": self.precision,
        }

    def encode(self, features, coords, *, tile_size_level0: float = 256, source=None) -> np.ndarray:
        """Slide vector of one slide.

        Parameters
        ----------
        features : array (N, 1536), float
            Prov-GigaPath tile features, in the feature file's order (the order matters).
        coords : array (N, 2)
            Level-0 x, y of the tiles.
        tile_size_level0 : float
            Level-0 side of a 256-px tile at 0.5 um/px (256 at 20x, 512 at 40x).
        source : path, optional
            Named in error messages.

        Returns
        -------
        ndarray (768,), float32
        """
        from corebt_viewer.embed.slide_encoders.positions import position_index

        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != 1536:
            raise InputError(
                source, f"tile features must be N x 1536 (Prov-GigaPath), got {features.shape}"
            )
        if len(coords) != len(features):
            raise InputError(
                source, f"{len(features)} feature rows but {len(coords)} coordinate rows"
            )
        if not np.all(np.isfinite(features)):
            raise InputError(source, "tile features contain NaN or infinite values")
        positions = position_index(coords, tile_size_level0=tile_size_level0, source=source)
        return self.encode_positions(features, positions)

    def encode_positions(self, features, positions) -> np.ndarray:
        """Slide vector from features and already-checked position-table rows."""
        import torch

        with torch.inference_mode():
            x = torch.as_tensor(np.ascontiguousarray(features, dtype=np.float32))
            x = x.to(self.device)
            pos = torch.as_tensor(np.ascontiguousarray(positions, dtype=np.int64))
            if self._autocast:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    out = self.model.embed(x, pos, layer=self.layer)
            else:
                out = self.model.embed(x, pos, layer=self.layer)
            return out.float().cpu().numpy()
