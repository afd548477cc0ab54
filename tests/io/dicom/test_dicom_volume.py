"""Volumes from DICOM series match the project's reading of the source NIfTI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom import (
    derived_nifti_path,
    read_series_volume,
    scan_folder,
    write_derived_nifti,
)
from corebt_viewer.io.nifti import load_volume


@pytest.fixture(scope="module")
def scan(case_folder):
    return scan_folder(case_folder.folder)


@pytest.mark.parametrize(
    "key",
    [
        "t1",  # classic axial, misleading names
        "t1c",  # enhanced multi-frame, frames shuffled, rescaled
        "t2",  # classic coronal, two folders, hex names
        "flair",  # classic oblique (10 degrees)
    ],
)
def test_volume_and_affine_round_trip_against_the_nifti(case_folder, scan, key):
    volume = read_series_volume(scan.find(case_folder.uids[key]), Sequence(key))
    expected = load_volume(case_folder.truth[key])
    assert volume.data.dtype == np.float32 and volume.data.flags.c_contiguous
    assert volume.shape == expected.shape
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-4)
    np.testing.assert_array_equal(volume.data, expected.data)
    assert volume.voxel_size == pytest.approx(expected.voxel_size)
    assert volume.sequence is Sequence(key)


def test_world_coordinates_land_on_the_same_source_voxels(case_folder, scan, real_mri_dir):
    import nibabel as nib

    source = nib.load(real_mri_dir / "TCGA-DU-7294_t2_bet.nii.gz")
    src = np.asarray(source.dataobj)
    volume = read_series_volume(scan.find(case_folder.uids["t2"]))
    rng = np.random.default_rng(1)
    ijk = rng.integers(0, volume.shape, size=(200, 3))
    world = (volume.affine @ np.c_[ijk, np.ones(len(ijk))].T)[:3]
    src_ijk = np.linalg.inv(source.affine) @ np.r_[world, np.ones((1, len(ijk)))]
    src_idx = np.round(src_ijk[:3]).astype(int)
    np.testing.assert_allclose(src_ijk[:3], src_idx, atol=1e-4)
    np.testing.assert_array_equal(volume.data[tuple(ijk.T)], src[tuple(src_idx)])
    assert volume.data.max() > 0


def test_derived_nifti_keeps_voxels_and_records_provenance(case_folder, scan, tmp_path):
    series = scan.find(case_folder.uids["t1c"])
    volume = read_series_volume(series, Sequence.T1C)
    before = {p: p.stat().st_mtime_ns for p in series.files}
    path = derived_nifti_path(tmp_path, "case01", "t1c")
    write_derived_nifti(volume, series, path, source_folder=case_folder.folder)
    assert path == tmp_path / ".corebt" / "dicom" / "case01" / "t1c.nii.gz"
    again = load_volume(path)
    np.testing.assert_array_equal(again.data, volume.data)
    np.testing.assert_allclose(again.affine, volume.affine, atol=1e-5)
    prov = json.loads(path.with_name("t1c.json").read_text())
    assert prov["series"]["uid"] == series.uid
    assert prov["source_files"] == ["deep/er/T2_export.dcm"]
    assert prov["sequence"] == "t1c" and prov["created"]
    assert {p: p.stat().st_mtime_ns for p in series.files} == before
