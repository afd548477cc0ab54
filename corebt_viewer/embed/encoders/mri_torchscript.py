"""External MRI encoder: a user's TorchScript module plus a small preprocessing config.

A volumetric encoder (NeuroVFM-style) exported by its owner with ``torch.jit.save`` maps
one preprocessed volume, a tensor ``(1, 1, X, Y, Z)`` float32, to a vector ``(1, dim)`` or
``(dim,)``. The preprocessing is declared in JSON, for example::

    {
      "orientation": "RAS",          # axis codes the model expects (volumes arrive in RAS)
      "spacing": [1.0, 1.0, 1.0],    # resample to this voxel size in mm (null: keep)
      "clip_percentiles": [0.5, 99.5],  # clip intensities of the brain (null: no clipping)
      "normalize": "zscore",         # "zscore" | "minmax" | "none" (over non-zero voxels)
      "size": [160, 192, 160]        # centre crop/pad after resampling (null: keep)
    }

The config is ``<model>.json`` beside the model file, or a path given as ``config``.
Each sequence is encoded on its own; the subject vector is their mean, as for the built-in
encoder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError

_AXES = {"R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)}


@dataclass(frozen=True)
class PreprocessConfig:
    """Preprocessing declared for a TorchScript MRI encoder (see the module docstring)."""

    orientation: str = "RAS"
    spacing: tuple[float, float, float] | None = None
    clip_percentiles: tuple[float, float] | None = (0.5, 99.5)
    normalize: str = "zscore"
    size: tuple[int, int, int] | None = None

    @classmethod
    def from_file(cls, path: Path) -> PreprocessConfig:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(path, f"unreadable encoder config: {exc}") from exc
        known = {"orientation", "spacing", "clip_percentiles", "normalize", "size"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(path, f"unknown config keys {unknown}; known: {sorted(known)}")
        cfg = cls(
            orientation=str(raw.get("orientation", "RAS")).upper(),
            spacing=tuple(map(float, raw["spacing"])) if raw.get("spacing") else None,
            clip_percentiles=tuple(map(float, raw["clip_percentiles"]))
            if raw.get("clip_percentiles")
            else None,
            normalize=str(raw.get("normalize", "zscore")),
            size=tuple(map(int, raw["size"])) if raw.get("size") else None,
        )
        if len(cfg.orientation) != 3 or sorted(
            _AXES[c][0] for c in cfg.orientation if c in _AXES
        ) != [0, 1, 2]:
            raise InputError(
                path, f"orientation {cfg.orientation!r} is not three axis codes like 'RAS' or 'LPI'"
            )
        if cfg.normalize not in ("zscore", "minmax", "none"):
            raise InputError(
                path, f"normalize must be zscore, minmax or none, not {cfg.normalize!r}"
            )
        return cfg

    def as_dict(self) -> dict:
        return {
            "orientation": self.orientation,
            "spacing": self.spacing,
            "clip_percentiles": self.clip_percentiles,
            "normalize": self.normalize,
            "size": self.size,
        }


def reorient_from_ras(data: np.ndarray, voxel_size, orientation: str):
    """Reorder and flip a RAS-ordered array into `orientation` (e.g. ``"LPS"``)."""
    order = [_AXES[c][0] for c in orientation]
    data = np.transpose(data, order)
    for out_axis, code in enumerate(orientation):
        if _AXES[code][1] < 0:
            data = np.flip(data, axis=out_axis)
    return np.ascontiguousarray(data), tuple(voxel_size[i] for i in order)


def preprocess_volume(data: np.ndarray, voxel_size, config: PreprocessConfig):
    """Apply `config` to one RAS volume; returns a float32 torch tensor (1, 1, X, Y, Z)."""
    import torch
    import torch.nn.functional as F

    data, voxel_size = reorient_from_ras(
        np.asarray(data, np.float32), voxel_size, config.orientation
    )
    brain = data != 0
    values = data[brain] if brain.any() else data.ravel()
    if config.clip_percentiles is not None:
        low, high = np.percentile(values, config.clip_percentiles)
        data = np.where(brain, np.clip(data, low, high), 0).astype(np.float32)
        values = data[brain] if brain.any() else data.ravel()
    if config.normalize == "zscore":
        mu, sd = float(values.mean()), float(values.std()) or 1.0
        data = np.where(brain, (data - mu) / sd, 0).astype(np.float32)
    elif config.normalize == "minmax":
        low, high = float(values.min()), float(values.max())
        data = np.where(brain, (data - low) / max(high - low, 1e-6), 0).astype(np.float32)
    x = torch.from_numpy(np.ascontiguousarray(data))[None, None]
    if config.spacing is not None:
        shape = [
            max(1, round(n * v / s))
            for n, v, s in zip(x.shape[2:], voxel_size, config.spacing, strict=True)
        ]
        if list(x.shape[2:]) != shape:
            x = F.interpolate(x, size=shape, mode="trilinear", align_corners=False)
    if config.size is not None:
        pads, slices = [], [slice(None), slice(None)]
        for n, want in zip(x.shape[2:], config.size, strict=True):
            start = max(0, (n - want) // 2)
            slices.append(slice(start, start + min(n, want)))
        x = x[tuple(slices)]
        for n, want in zip(reversed(x.shape[2:]), reversed(config.size), strict=True):
            extra = max(0, want - n)
            pads += [extra // 2, extra - extra // 2]
        if any(pads):
            x = F.pad(x, pads)
    return x.contiguous()


class TorchScriptMRIEncoder:
    """Run a TorchScript volume encoder on each sequence of a study.

    Parameters
    ----------
    weights : path
        The TorchScript file (``torch.jit.save``).
    config : path, optional
        Preprocessing JSON (default: the model path with ``.json``).
    device : str
    """

    name = "mri-torchscript"

    def __init__(self, weights, config=None, device: str = "auto"):
        import torch

        from corebt_viewer.embed.cache import file_fingerprint
        from corebt_viewer.embed.encoders.devices import resolve_device

        if weights is None:
            raise InputError(
                None, "the mri-torchscript encoder needs --mri-weights (a TorchScript file)"
            )
        path = Path(weights)
        if not path.is_file():
            raise InputError(path, "TorchScript model not found")
        if config is not None and not Path(config).is_file():
            raise InputError(Path(config), "MRI encoder config (--mri-config) not found")
        config_path = Path(config) if config else path.with_suffix(".json")
        # no config given and none beside the model: the documented defaults (the profile
        # records that no config was used)
        self.config = (
            PreprocessConfig.from_file(config_path) if config_path.is_file() else PreprocessConfig()
        )
        self.device = resolve_device(device)
        try:
            self.model = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as exc:
            raise InputError(path, f"not a loadable TorchScript module: {exc}") from exc
        self.model_id = file_fingerprint(path)
        self.dim = None

    def settings(self) -> dict:
        return {"name": self.name, "model": self.model_id, "preprocess": self.config.as_dict()}

    def encode_volume(self, data: np.ndarray, voxel_size) -> np.ndarray:
        import torch

        x = preprocess_volume(data, voxel_size, self.config).to(self.device)
        with torch.inference_mode():
            out = self.model(x)
        out = out.detach().float().cpu().numpy().reshape(-1)
        self.dim = out.shape[0]
        return out.astype(np.float32)

    def encode_study(self, study) -> tuple[dict, dict[str, str]]:
        """Vectors of each sequence of an ``MRIStudy`` (no flags)."""
        return {
            seq: self.encode_volume(v.data, v.voxel_size) for seq, v in study.volumes.items()
        }, {}


def build(weights=None, config=None, device: str = "auto") -> TorchScriptMRIEncoder:
    """Registry factory."""
    return TorchScriptMRIEncoder(weights=weights, config=config, device=device)
