"""Per-modality standardisation of embeddings with training-set statistics.

``z = (e - mean) / std`` is affine, so a linear probe of ``z`` is a linear probe of ``e``
with folded weights; :mod:`corebt_viewer.fusion.explain` relies on this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Lower bound on a feature's standard deviation (constant features are only centred).
MIN_STD = 1e-6


@dataclass(frozen=True)
class Standardiser:
    """Mean and standard deviation of one modality's embedding dimensions.

    Attributes
    ----------
    mean, std : ndarray (dim,), float32
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray) -> Standardiser:
        """Statistics of the rows of `vectors` (n_cases, dim); at least one row."""
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError("need a non-empty (n_cases, dim) array to standardise")
        std = x.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(x.mean(axis=0).astype(np.float32), std.astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Standardise one vector (dim,) or rows (n, dim); returns float32."""
        x = np.asarray(vectors, dtype=np.float32)
        if x.shape[-1] != self.dim:
            raise ValueError(
                f"embedding has {x.shape[-1]} dimensions; the model expects {self.dim}"
            )
        return (x - self.mean) / self.std

    def to_json(self) -> dict[str, list[float]]:
        """Plain lists (float32 values survive the JSON round trip exactly)."""
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_json(cls, data: dict) -> Standardiser:
        return cls(
            np.asarray(data["mean"], dtype=np.float32), np.asarray(data["std"], dtype=np.float32)
        )
