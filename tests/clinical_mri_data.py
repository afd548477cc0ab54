"""Small native-space test data made from the real case TCGA-DU-7294 (never copied as is).

The four sequences and the mask are downsampled to 4 mm (60x60x39 voxels) once per test
session; helpers write them under other names, onto other grids (rotated, other voxel
sizes, shifted origins, other axis orders) and with known rigid displacements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from corebt_viewer.core.segmentation import LabelConvention, from_canonical
from corebt_viewer.io.nifti import load_segmentation, load_volume
from corebt_viewer.io.resample import isotropic_grid, resample_to_grid

ROLES = {"t1": "t1_bet", "t1c": "t1c_bet", "t2": "t2_bet", "flair": "fla_bet"}


@dataclass(frozen=True)
class SmallCase:
    """The real case at 4 mm: role -> float32 RAS array, the mask, the common affine."""

    volumes: dict[str, np.ndarray]
    seg: np.ndarray  # canonical labels 0-3
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return next(iter(self.volumes.values())).shape


def make_small_case(real_dir: Path, spacing: float = 4.0) -> SmallCase:
    volumes = {}
    affine = shape = None
    for role, suffix in ROLES.items():
        vol = load_volume(real_dir / f"TCGA-DU-7294_{suffix}.nii.gz")
        if affine is None:
            shape, affine = isotropic_grid(vol.shape, vol.affine, spacing)
        volumes[role] = resample_to_grid(vol.data, vol.affine, shape, affine)
    seg = load_segmentation(real_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz")
    labels = resample_to_grid(seg.labels, seg.affine, shape, affine, order=0)
    return SmallCase(volumes, labels, affine)


def write_volume(path: Path, data: np.ndarray, affine: np.ndarray, dtype=np.float32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data).astype(dtype), affine), str(path))
    return path


def write_mask(path: Path, labels: np.ndarray, affine: np.ndarray) -> Path:
    file_labels = from_canonical(labels, LabelConvention.BRATS_2021, dtype=np.uint8)
    return write_volume(path, file_labels, affine, np.uint8)


def other_grid(
    shape, affine, *, angles=(0.0, 0.0, 0.0), spacing=(4.0, 4.0, 4.0), shift=(0, 0, 0), flip=False
):
    """A grid over the same field of view: rotated, other voxel size, shifted, flipped axes."""
    from corebt_viewer.io.registration import rigid_matrix

    affine = np.asarray(affine, float)
    centre = affine @ np.r_[(np.asarray(shape) - 1) / 2, 1.0]
    size = [
        int(np.ceil(n * abs(affine[i, i]) / s)) + 4
        for i, (n, s) in enumerate(zip(shape, spacing, strict=True))
    ]
    rot = rigid_matrix(angles, (0, 0, 0))[:3, :3]
    axes = rot @ np.diag(spacing)
    if flip:
        axes = axes @ np.diag([-1.0, -1.0, 1.0])  # LPS-like voxel order
    new = np.eye(4)
    new[:3, :3] = axes
    new[:3, 3] = centre[:3] - axes @ ((np.asarray(size) - 1) / 2) + np.asarray(shift, float)
    return tuple(size), new


_CACHE: dict[str, SmallCase] = {}


def small_case_from(shared_data: Path) -> SmallCase:
    """The 4 mm case, made once per session."""
    if "case" not in _CACHE:
        _CACHE["case"] = make_small_case(shared_data / "mri" / "TCGA-DU-7294")
    return _CACHE["case"]
