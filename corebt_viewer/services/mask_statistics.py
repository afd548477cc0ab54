"""Statistics of an edited mask against its original: region volumes, changes, Dice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corebt_viewer.core.segmentation import REGIONS, Region


def _voxel_ml(voxel_size: Sequence[float]) -> float:
    return float(np.prod(voxel_size)) / 1000.0


@dataclass(frozen=True)
class RegionStats:
    """Volume, change and agreement of one region (or of the whole tumour)."""

    name: str
    volume_ml: float
    original_ml: float
    added_voxels: int
    removed_voxels: int
    dice: float

    @property
    def changed_voxels(self) -> int:
        return self.added_voxels + self.removed_voxels


@dataclass(frozen=True)
class EditStats:
    """Per-region comparison of an edited mask with the original.

    Attributes
    ----------
    regions : dict
        Region -> RegionStats.
    whole_tumour : RegionStats
        All tumour labels together.
    changed_voxels : int
        Voxels whose label differs (any change, including between regions).
    changed_ml : float
    """

    regions: dict[Region, RegionStats]
    whole_tumour: RegionStats
    changed_voxels: int
    changed_ml: float

    def rows(self) -> list[RegionStats]:
        """Table rows: the three regions, then the whole tumour."""
        return [*self.regions.values(), self.whole_tumour]


def _dice(a: int, b: int, both: int) -> float:
    return 1.0 if a + b == 0 else 2.0 * both / (a + b)


def edit_stats(original: np.ndarray, current: np.ndarray, voxel_size: Sequence[float]) -> EditStats:
    """Region volumes (mL), changed voxels and Dice against the original, in one pass.

    Parameters
    ----------
    original, current : ndarray
        Canonical label arrays of the same shape (labels 0-3).
    voxel_size : sequence of float
        Millimetres per voxel.

    Returns
    -------
    EditStats
        Dice is 1.0 for a region empty in both masks.

    Examples
    --------
    >>> a = np.zeros((4, 4, 4), np.uint8); a[1:3, 1:3, 1:3] = 2
    >>> b = a.copy(); b[1, 1, 1] = 0
    >>> s = edit_stats(a, b, (1, 1, 1))
    >>> s.changed_voxels, round(s.regions[Region.OEDEMA].dice, 3)
    (1, 0.933)
    """
    if original.shape != current.shape:
        raise ValueError(f"masks differ in shape: {original.shape} vs {current.shape}")
    if original.size and (
        min(original.min(), current.min()) < 0 or max(original.max(), current.max()) > 3
    ):
        raise ValueError("masks must hold canonical labels 0-3")
    pair = original.astype(np.uint8) * np.uint8(4)
    pair += current.astype(np.uint8, copy=False)
    table = np.bincount(pair.ravel(), minlength=16).reshape(4, 4)  # [original, current]
    voxel_ml = _voxel_ml(voxel_size)
    regions = {}
    for region in REGIONS:
        r = int(region)
        before, after, both = int(table[r].sum()), int(table[:, r].sum()), int(table[r, r])
        regions[region] = RegionStats(
            region.title,
            after * voxel_ml,
            before * voxel_ml,
            after - both,
            before - both,
            _dice(before, after, both),
        )
    tumour_before = int(table[1:].sum())
    tumour_after = int(table[:, 1:].sum())
    tumour_both = int(table[1:, 1:].sum())
    whole = RegionStats(
        "Whole tumour",
        tumour_after * voxel_ml,
        tumour_before * voxel_ml,
        tumour_after - tumour_both,
        tumour_before - tumour_both,
        _dice(tumour_before, tumour_after, tumour_both),
    )
    changed = int(table.sum() - np.trace(table))
    return EditStats(regions, whole, changed, changed * voxel_ml)
