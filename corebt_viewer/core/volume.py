"""An MRI volume in canonical (RAS) orientation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.segmentation import Segmentation


def voxel_size_of(affine) -> tuple[float, float, float]:
    """Voxel size (mm) along each array axis of a voxel-to-world affine."""
    columns = np.asarray(affine, float)[:3, :3]
    return tuple(float(z) for z in np.sqrt((columns**2).sum(axis=0)))


@dataclass(frozen=True)
class Volume:
    """One MRI sequence on its voxel grid.

    Attributes
    ----------
    data : ndarray
        Intensities indexed (x, y, z) in RAS+ canonical orientation (first axis runs
        left to right, second posterior to anterior, third inferior to superior).
    affine : ndarray
        4x4 voxel-to-world affine (mm, RAS).
    voxel_size : tuple of float
        Voxel size in mm along the three array axes.
    sequence : Sequence or None
    path : Path or None
        Source file.
    """

    data: np.ndarray
    affine: np.ndarray
    voxel_size: tuple[float, float, float]
    sequence: Sequence | None = None
    path: Path | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape[:3])

    def window(self, mask: np.ndarray | None = None, low: float = 0.5, high: float = 99.5):
        """Display window from percentiles of the voxels inside `mask` (default: non-zero).

        Returns
        -------
        (float, float)
            Contrast limits; ``(0, 1)`` for an empty volume.
        """
        inside = self.data[mask] if mask is not None else self.data[self.data != 0]
        if inside.size == 0:
            return (0.0, 1.0)
        lo, hi = np.percentile(inside, [low, high])
        if hi <= lo:
            hi = lo + 1.0
        return (float(lo), float(hi))


@dataclass(frozen=True)
class MRIStudy:
    """The MRI of one case as loaded: the volumes that could be read, on one shared grid.

    Attributes
    ----------
    volumes : dict of Sequence -> Volume
        Sequences that loaded and share the study's grid, in canonical order.
    segmentation : Segmentation or None
        The tumour mask, when the case has one that loaded and matches the grid.
    errors : dict of str -> str
        Role (``"t1"``, ``"seg"``...) -> message for each file that failed to load or
        sits on another grid, so a viewer can show the rest and say what is missing.
    notes : dict of str -> str
        Role -> what was done to it on loading (resampled from its native grid onto the
        reference grid...), for the viewer and ``corebt info`` to show.
    """

    volumes: dict[Sequence, Volume] = field(default_factory=dict)
    segmentation: Segmentation | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def sequences(self) -> tuple[Sequence, ...]:
        return tuple(self.volumes)

    @property
    def reference(self) -> Volume | None:
        """The first loaded volume (its grid is the study's grid), or ``None``."""
        return next(iter(self.volumes.values()), None)

    @property
    def is_empty(self) -> bool:
        return not self.volumes and self.segmentation is None
