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
    assert volume.data.dtype == np.float32
    assert min(volume.data.strides) > 0 and volume.data.base.flags.c_contiguous  # no flips left
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


def test_per_slice_rescale_lands_on_the_right_slices(sources, tmp_path):
    import nibabel as nib
    import pydicom
    from _dicom_writer import write_classic

    t2 = sources["t2"]
    data, affine = t2.data[:, :12, :].transpose(0, 2, 1), t2.affine[:, [0, 2, 1, 3]]
    write_classic(tmp_path / "s", data, affine, number=4, description="COR T2", te=90.0)
    for k in range(data.shape[2]):
        path = tmp_path / "s" / f"IM{k:04d}"
        ds = pydicom.dcmread(path)
        ds.RescaleSlope, ds.RescaleIntercept = k + 1, -k
        ds.save_as(path)
    truth = data * (np.arange(data.shape[2]) + 1.0) - np.arange(data.shape[2])
    nib.save(nib.Nifti1Image(truth.astype(np.float32), affine), tmp_path / "t.nii.gz")
    volume = read_series_volume(scan_folder(tmp_path / "s").series[0])
    expected = load_volume(tmp_path / "t.nii.gz")
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-4)
    np.testing.assert_array_equal(volume.data, expected.data)


@pytest.mark.parametrize("syntax", ["implicit", "explicit", "deflated"])
@pytest.mark.parametrize("per_frame_orientation", [False, True])
@pytest.mark.parametrize("raw_groups", [True, False])
@pytest.mark.parametrize("mapped", [True, False])
def test_enhanced_variants_read_the_same(
    sources, tmp_path, monkeypatch, syntax, per_frame_orientation, raw_groups, mapped
):
    """Implicit/explicit/deflated VR, shared/per-frame geometry, raw-bytes and pydicom
    group reads, pixel data memory-mapped from the file or read with the dataset."""
    import nibabel as nib
    from _dicom_writer import write_enhanced
    from pydicom.uid import (
        DeflatedExplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
    )

    import corebt_viewer.io.dicom.pixels as pixels_module
    import corebt_viewer.io.dicom.volume as volume_module

    calls, maps = [], []
    real = volume_module.raw_frame_values
    real_pixels = volume_module.frame_pixels

    def spy(ds, n):
        calls.append(n)
        return real(ds, n) if raw_groups else None

    def pixels_spy(*args):
        arr = real_pixels(*args)
        maps.append(isinstance(arr.base, np.memmap))
        return arr

    monkeypatch.setattr(volume_module, "raw_frame_values", spy)
    monkeypatch.setattr(volume_module, "frame_pixels", pixels_spy)
    # 10 frames of 240 x 240 int16 (1.1 MB): under the real threshold, over this one
    monkeypatch.setattr(pixels_module, "DEFER_BYTES", 2**10 if mapped else 2**30)
    t1c = sources["t1c"]
    data = t1c.data[:, :, 5:15]
    affine = t1c.affine.copy()
    affine[:3, 3] += 5 * affine[:3, 2]
    write_enhanced(
        tmp_path / "e" / "x",
        data,
        affine,
        order=np.arange(10)[::-1],
        number=3,
        description="T1 POST",
        slope=2.0,
        intercept=1.0,
        syntax={
            "implicit": ImplicitVRLittleEndian,
            "explicit": ExplicitVRLittleEndian,
            "deflated": DeflatedExplicitVRLittleEndian,
        }[syntax],
        per_frame_orientation=per_frame_orientation,
    )
    nib.save(nib.Nifti1Image(data * 2.0 + 1.0, affine), tmp_path / "t.nii.gz")
    volume = read_series_volume(scan_folder(tmp_path / "e").series[0])
    expected = load_volume(tmp_path / "t.nii.gz")
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-4)
    np.testing.assert_array_equal(volume.data, expected.data)
    assert calls == [10]
    # a deflated file's offsets are in the inflated stream: never mapped
    assert maps == [mapped and syntax != "deflated"]
    if raw_groups:
        assert real(pydicom_read(tmp_path / "e" / "x"), 10) is not None


def pydicom_read(path):
    import pydicom

    return pydicom.dcmread(path)
