"""Tumour regions of the BraTS protocol and their label conventions (numpy only).

Internally a mask uses the *canonical* labels 0 background, 1 necrotic core,
2 oedema, 3 enhancing tumour. Files use one of two conventions:

* BraTS 2021 and older: 1 necrotic core, 2 oedema, 4 enhancing;
* BraTS 2023: 1 necrotic core, 2 oedema, 3 enhancing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, IntEnum

import numpy as np


class Region(IntEnum):
    """Canonical tumour region labels."""

    NECROTIC_CORE = 1
    OEDEMA = 2
    ENHANCING = 3

    @property
    def title(self) -> str:
        return {1: "Necrotic core", 2: "Oedema", 3: "Enhancing tumour"}[int(self)]

    @property
    def short(self) -> str:
        return {1: "NCR", 2: "ED", 3: "ET"}[int(self)]

    @property
    def colour(self) -> tuple[float, float, float, float]:
        """RGBA colour (0-1) as in the BraTS figures: red, green, yellow."""
        return {
            1: (0.86, 0.08, 0.08, 1.0),
            2: (0.10, 0.75, 0.20, 1.0),
            3: (1.00, 0.85, 0.05, 1.0),
        }[int(self)]


REGIONS: tuple[Region, ...] = (Region.NECROTIC_CORE, Region.OEDEMA, Region.ENHANCING)


class LabelConvention(str, Enum):
    """Label convention of a segmentation file."""

    BRATS_2021 = "brats2021"
    BRATS_2023 = "brats2023"

    @property
    def file_labels(self) -> dict[Region, int]:
        """File label value of each region."""
        enhancing = 4 if self is LabelConvention.BRATS_2021 else 3
        return {Region.NECROTIC_CORE: 1, Region.OEDEMA: 2, Region.ENHANCING: enhancing}


class SegmentationLabelError(ValueError):
    """A segmentation holds labels that no BraTS convention knows."""


def detect_convention(labels: np.ndarray | set[int]) -> LabelConvention:
    """Detect the BraTS convention from the label values present.

    Parameters
    ----------
    labels : ndarray or set of int
        A mask, or the set of its values.

    Returns
    -------
    LabelConvention
        ``BRATS_2021`` when label 4 is present, ``BRATS_2023`` when 3 is; a mask with
        only 0-2 is read as ``BRATS_2021`` (the two agree on those labels).

    Raises
    ------
    SegmentationLabelError
        For any value outside {0, 1, 2, 3, 4}, or when both 3 and 4 occur.
    """
    values = (
        set(int(v) for v in np.unique(labels)) if isinstance(labels, np.ndarray) else set(labels)
    )
    unknown = sorted(values - {0, 1, 2, 3, 4})
    if unknown:
        raise SegmentationLabelError(
            f"unknown label value(s) {unknown}: BraTS masks use 0, 1, 2 and 4 (2021) or 3 (2023)"
        )
    if 3 in values and 4 in values:
        raise SegmentationLabelError(
            "labels 3 and 4 both present: neither BraTS 2021 (1, 2, 4) nor 2023 (1, 2, 3)"
        )
    return LabelConvention.BRATS_2023 if 3 in values else LabelConvention.BRATS_2021


#: A mask file named in the BraTS 2023 layout (``<id>-seg.nii.gz``).
LAYOUT_2023 = re.compile(r"-seg\.nii(?:\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ConventionChoice:
    """The convention of a mask file and the evidence it rests on.

    Attributes
    ----------
    convention : LabelConvention
    source : str
        ``"manifest"`` (the ``seg_convention`` column), ``"labels"`` (label 3 or 4 is
        present), ``"layout"`` (a 2023-layout file name) or ``"assumed"``.
    note : str
        For an assumption, the sentence a user must see (empty otherwise).
    """

    convention: LabelConvention
    source: str
    note: str = ""


def decide_convention(
    labels: np.ndarray | set[int],
    *,
    declared: LabelConvention | str | None = None,
    file_name: str | None = None,
) -> ConventionChoice:
    """The convention of a mask from the evidence, strongest first.

    1. `declared` (a manifest's ``seg_convention``): used; labels that contradict it
       (4 in a 2023 file, 3 in a 2021 file) are an error;
    2. the labels, when 3 or 4 is present;
    3. the file name: a 2023-layout name (``...-seg.nii.gz``) is 2023;
    4. otherwise (labels 0-2 only) BraTS 2021 is *assumed*, and the choice says so.

    Raises
    ------
    SegmentationLabelError
        Unknown labels, 3 and 4 together, or labels contradicting `declared`.
    """
    from_labels = detect_convention(labels)
    values = (
        set(int(v) for v in np.unique(labels)) if isinstance(labels, np.ndarray) else set(labels)
    )
    decisive = bool(values & {3, 4})
    if declared is not None:
        declared = LabelConvention(declared)
        if decisive and from_labels is not declared:
            raise SegmentationLabelError(
                f"label {4 if 4 in values else 3} present but the manifest declares "
                f"{declared.value} (enhancing tumour is {declared.file_labels[Region.ENHANCING]})"
            )
        return ConventionChoice(declared, "manifest")
    if decisive:
        return ConventionChoice(from_labels, "labels")
    if file_name is not None and LAYOUT_2023.search(file_name):
        return ConventionChoice(LabelConvention.BRATS_2023, "layout")
    return ConventionChoice(
        LabelConvention.BRATS_2021,
        "assumed",
        "labels 0-2 only (no enhancing tumour), no seg_convention in the manifest and not a "
        "2023-layout file name: BraTS 2021 assumed (enhancing tumour will be saved as 4); "
        "add a seg_convention column (brats2021 or brats2023) to say otherwise",
    )


#: Why the convention is what it is, per :attr:`ConventionChoice.source`.
CONVENTION_SOURCES = {
    "manifest": "from the manifest's seg_convention",
    "labels": "from the labels in the file",
    "layout": "from the BraTS 2023 file layout (-seg.nii.gz)",
    "assumed": "assumed",
}


def convention_line(convention: LabelConvention, source: str, note: str = "") -> str:
    """The mask's convention for people: ``"BraTS 2023 (enhancing tumour = 3), from the
    labels in the file"``; an assumption says so and why (its `note`)."""
    year = convention.value.removeprefix("brats")
    enhancing = convention.file_labels[Region.ENHANCING]
    line = f"BraTS {year} (enhancing tumour = {enhancing}), {CONVENTION_SOURCES[source]}"
    return f"{line}: {note}" if note else line


def to_canonical(mask: np.ndarray, convention: LabelConvention) -> np.ndarray:
    """Map a file mask to canonical labels (uint8)."""
    out = np.zeros(mask.shape, dtype=np.uint8)
    for region, value in convention.file_labels.items():
        out[mask == value] = int(region)
    return out


def from_canonical(mask: np.ndarray, convention: LabelConvention, dtype=np.uint8) -> np.ndarray:
    """Map a canonical mask back to a file convention, in `dtype`."""
    values = set(int(v) for v in np.unique(mask)) - {0, 1, 2, 3}
    if values:
        raise SegmentationLabelError(f"canonical mask holds unknown label(s) {sorted(values)}")
    out = np.zeros(mask.shape, dtype=dtype)
    for region, value in convention.file_labels.items():
        out[mask == int(region)] = value
    return out


def region_volumes_ml(mask: np.ndarray, voxel_size_mm: tuple[float, ...]) -> dict[Region, float]:
    """Volume of each canonical region in millilitres."""
    voxel_ml = float(np.prod(voxel_size_mm)) / 1000.0
    counts = np.bincount(mask.ravel(), minlength=4)
    return {region: float(counts[int(region)]) * voxel_ml for region in REGIONS}


def composite_volumes_ml(mask: np.ndarray, voxel_size_mm: tuple[float, ...]) -> dict[str, float]:
    """BraTS evaluation regions: whole tumour, tumour core, enhancing tumour (mL)."""
    per = region_volumes_ml(mask, voxel_size_mm)
    return {
        "whole_tumour": sum(per.values()),
        "tumour_core": per[Region.NECROTIC_CORE] + per[Region.ENHANCING],
        "enhancing_tumour": per[Region.ENHANCING],
    }


@dataclass(frozen=True)
class Segmentation:
    """A tumour mask on an MRI grid.

    Attributes
    ----------
    labels : ndarray of uint8
        Canonical labels (0-3), in the canonical RAS voxel order of the case.
    convention : LabelConvention
        Convention of the file the mask came from (used when saving).
    convention_source : str
        The evidence for it (see :func:`decide_convention`).
    convention_note : str
        The assumption made, when the evidence was not enough (for the mask panel).
    voxel_size : tuple of float
        Voxel size in millimetres.
    affine : ndarray
        4x4 voxel-to-world (RAS mm) affine.
    """

    labels: np.ndarray
    convention: LabelConvention
    voxel_size: tuple[float, float, float]
    affine: np.ndarray
    convention_source: str = "labels"
    convention_note: str = ""

    def volumes_ml(self) -> dict[Region, float]:
        return region_volumes_ml(self.labels, self.voxel_size)

    def centroid_voxel(self) -> tuple[int, int, int] | None:
        """Centre of the tumour (all regions) in voxel indices, or ``None`` if empty."""
        idx = np.argwhere(self.labels > 0)
        if idx.size == 0:
            return None
        return tuple(int(round(v)) for v in idx.mean(axis=0))
