"""Fixtures of the io tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REAL_SEG = "TCGA-DU-7294_seg_fusion_mav.nii.gz"


@pytest.fixture
def real_seg(real_mri_dir: Path, tmp_path: Path) -> Path:
    """The real TCGA-DU-7294 mask (BraTS 2021 convention, LPS voxel order) in tmp_path."""
    dest = tmp_path / REAL_SEG
    shutil.copyfile(real_mri_dir / REAL_SEG, dest)
    return dest
