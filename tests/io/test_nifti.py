"""NIfTI reader: real TCGA case, reorientation, grid checks, corrupt files, labels."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.case import Case
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.segmentation import LabelConvention, Region
from corebt_viewer.io.nifti import (
    check_same_grid,
    grid_mismatch,
    load_case_mri,
    load_segmentation,
    load_volume,
    read_header,
    read_label_values,
    save_segmentation,
)

REAL_FILES = {
    Sequence.T1: "TCGA-DU-7294_t1_bet.nii.gz",
    Sequence.T1C: "TCGA-DU-7294_t1c_bet.nii.gz",
    Sequence.T2: "TCGA-DU-7294_t2_bet.nii.gz",
    Sequence.FLAIR: "TCGA-DU-7294_fla_bet.nii.gz",
}
REAL_SEG = "TCGA-DU-7294_seg_fusion_mav.nii.gz"


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def oblique_affine() -> np.ndarray:
    theta = np.deg2rad(70)
    rot = np.array(
        [[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]]
    )
    # LPS-like axes, rotated, anisotropic voxels
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([-1.5, -0.8, 2.0])
    affine[:3, 3] = [10.0, -5.0, 3.0]
    return affine


# --- the real TCGA case -------------------------------------------------------------


def test_real_sequences_load_in_ras(real_mri_dir: Path):
    raw = nib.load(str(real_mri_dir / REAL_FILES[Sequence.T1C]))
    assert nib.aff2axcodes(raw.affine) == ("L", "P", "S")
    vol = load_volume(real_mri_dir / REAL_FILES[Sequence.T1C], Sequence.T1C)
    assert vol.sequence is Sequence.T1C
    assert vol.data.dtype == np.float32
    assert vol.shape == (240, 240, 155)
    assert vol.voxel_size == (1.0, 1.0, 1.0)
    assert nib.aff2axcodes(vol.affine) == ("R", "A", "S")
    # LPS -> RAS flips the first two axes; the world position of every voxel is kept
    np.testing.assert_array_equal(vol.data, np.asarray(raw.dataobj)[::-1, ::-1, :])
    ijk = np.array([10, 20, 30, 1])
    raw_ijk = np.array([239 - 10, 239 - 20, 30, 1])
    np.testing.assert_allclose(vol.affine @ ijk, raw.affine @ raw_ijk)


def test_real_segmentation_old_convention(real_mri_dir: Path):
    seg = load_segmentation(real_mri_dir / REAL_SEG)
    assert seg.convention is LabelConvention.BRATS_2021
    assert seg.labels.dtype == np.uint8
    assert seg.labels.shape == (240, 240, 155)
    raw = np.asarray(nib.load(str(real_mri_dir / REAL_SEG)).dataobj)[::-1, ::-1, :]
    np.testing.assert_array_equal(seg.labels == Region.OEDEMA, raw == 2)
    volumes = seg.volumes_ml()
    assert volumes[Region.OEDEMA] == pytest.approx(np.count_nonzero(raw == 2) / 1000)
    assert volumes[Region.NECROTIC_CORE] > 1.0


def test_real_case_study_and_headers_agree(real_mri_dir: Path):
    case = Case(
        "TCGA-DU-7294",
        mri={seq: real_mri_dir / name for seq, name in REAL_FILES.items()},
        segmentation=real_mri_dir / REAL_SEG,
    )
    study = load_case_mri(case)
    assert study.errors == {}
    assert study.sequences == (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR)
    assert study.segmentation is not None
    header = read_header(case.mri[Sequence.FLAIR])
    assert header.shape == study.volumes[Sequence.FLAIR].shape
    np.testing.assert_allclose(header.affine, study.volumes[Sequence.FLAIR].affine)
    assert header.axcodes == ("L", "P", "S")
    check_same_grid([read_header(p).grid for _, p in case.files()])


# --- generated files -------------------------------------------------------------------


def test_oblique_lps_volume_matches_nibabel_canonical(tmp_path: Path, rng):
    data = rng.normal(size=(5, 6, 7)).astype(np.float32)
    path = write_nifti(tmp_path / "obl.nii.gz", data, oblique_affine())
    vol = load_volume(path)
    expected = nib.as_closest_canonical(nib.load(str(path)))
    assert nib.aff2axcodes(vol.affine) == ("R", "A", "S")
    assert vol.shape == expected.shape == (6, 5, 7)
    np.testing.assert_allclose(vol.affine, expected.affine)
    np.testing.assert_array_equal(vol.data, expected.get_fdata(dtype=np.float32))
    assert vol.voxel_size == pytest.approx((0.8, 1.5, 2.0))
    header = read_header(path)
    assert header.shape == vol.shape
    np.testing.assert_allclose(header.affine, vol.affine)


def test_scaled_int_volume_is_float32_with_scaling(tmp_path: Path):
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    img.header.set_slope_inter(0.5, 10)
    nib.save(img, str(tmp_path / "s.nii"))
    vol = load_volume(tmp_path / "s.nii")
    assert vol.data.dtype == np.float32
    assert vol.data[1, 2, 3] == pytest.approx(23 * 0.5 + 10)


def test_mismatched_grids_name_both_files(tmp_path: Path):
    a = write_nifti(tmp_path / "a_t1.nii.gz", np.zeros((4, 4, 4), np.int16))
    b = write_nifti(tmp_path / "b_t2.nii.gz", np.zeros((4, 4, 5), np.int16))
    shifted = np.eye(4)
    shifted[:3, 3] = [0, 0, 2.0]
    c = write_nifti(tmp_path / "c_flair.nii.gz", np.zeros((4, 4, 4), np.int16), shifted)
    ha, hb, hc = (read_header(p) for p in (a, b, c))
    with pytest.raises(InputError) as info:
        check_same_grid([ha.grid, hb.grid])
    assert info.value.path == b
    assert "a_t1.nii.gz" in str(info.value) and "4x4x5 vs 4x4x4" in str(info.value)
    problem = grid_mismatch(ha.grid, hc.grid)
    assert problem is not None and "origin differs by 2 mm" in problem
    zoomed = np.diag([1.0, 1.0, 1.5, 1.0])
    assert "voxel size" in grid_mismatch(ha.grid, (c, (4, 4, 4), zoomed))
    assert grid_mismatch(ha.grid, (c, (4, 4, 4), np.eye(4) + 1e-5)) is None


def test_same_world_grid_in_other_orientation_matches(tmp_path: Path, rng):
    data = rng.integers(0, 100, size=(4, 5, 6)).astype(np.int16)
    ras = np.diag([2.0, 2.0, 2.0, 1.0])
    a = write_nifti(tmp_path / "ras.nii.gz", data, ras)
    lps = ras.copy()
    lps[0, 0] = lps[1, 1] = -2.0
    lps[0, 3] = lps[1, 3] = 2.0 * 3  # same world extent, axes reversed
    lps[1, 3] = 2.0 * 4
    b = write_nifti(tmp_path / "lps.nii.gz", data[::-1, ::-1, :].copy(), lps)
    check_same_grid([read_header(a).grid, read_header(b).grid])
    np.testing.assert_array_equal(load_volume(a).data, load_volume(b).data)


def test_case_study_keeps_good_files_and_explains_bad(tmp_path: Path):
    good = np.ones((4, 4, 4), np.int16)
    t1 = write_nifti(tmp_path / "t1.nii.gz", good)
    t2 = write_nifti(tmp_path / "t2.nii.gz", good)
    flair = write_nifti(tmp_path / "flair.nii.gz", np.ones((4, 4, 3), np.int16))
    t1c = tmp_path / "t1c.nii.gz"
    t1c.write_bytes(b"not a nifti file")
    seg = write_nifti(tmp_path / "seg.nii.gz", np.full((4, 4, 4), 4, np.uint8))
    case = Case(
        "P1",
        mri={Sequence.T1: t1, Sequence.T1C: t1c, Sequence.T2: t2, Sequence.FLAIR: flair},
        segmentation=seg,
    )
    study = load_case_mri(case, resample=False)
    assert study.sequences == (Sequence.T1, Sequence.T2)
    assert set(study.errors) == {"t1c", "flair"}
    assert "4x4x3 vs 4x4x4" in study.errors["flair"]
    assert str(t1c) in study.errors["t1c"]
    assert study.segmentation is not None
    assert np.all(study.segmentation.labels == Region.ENHANCING)
    resampled = load_case_mri(case)  # by default the FLAIR is resampled, and it is said
    assert resampled.sequences == (Sequence.T1, Sequence.T2, Sequence.FLAIR)
    assert set(resampled.errors) == {"t1c"} and "flair" in resampled.notes
    assert "4x4x3" in resampled.notes["flair"] and resampled.volumes[Sequence.FLAIR].shape == (
        4,
        4,
        4,
    )


def test_truncated_gzip_is_caught_from_the_header_check(tmp_path: Path, rng):
    path = write_nifti(tmp_path / "t.nii.gz", rng.normal(size=(30, 30, 30)).astype(np.float32))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError) as info:
        read_header(path)
    assert info.value.path == path
    assert "truncated" in info.value.problem or "corrupt" in info.value.problem
    with pytest.raises(InputError, match="voxel data"):
        load_volume(path)


def test_truncated_uncompressed_file(tmp_path: Path):
    path = write_nifti(tmp_path / "t.nii", np.zeros((10, 10, 10), np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated"):
        read_header(path)


def test_multi_member_gzip_is_not_a_false_alarm(tmp_path: Path, rng):
    plain = write_nifti(tmp_path / "p.nii", rng.normal(size=(8, 8, 8)).astype(np.float32))
    blob = plain.read_bytes()
    two = tmp_path / "two.nii.gz"
    two.write_bytes(gzip.compress(blob[:700]) + gzip.compress(blob[700:]))
    assert read_header(two).shape == (8, 8, 8)
    np.testing.assert_array_equal(load_volume(two).data, load_volume(plain).data)


def test_gzip_volume_is_inflated_in_one_call(tmp_path: Path, rng, monkeypatch):
    # Python's chunked gzip reader holds the GIL between chunks and starved the UI thread
    data = rng.normal(size=(64, 60, 50)).astype(np.float32)
    scaled = nib.Nifti1Image(np.arange(60, dtype=np.int16).reshape(3, 4, 5), np.eye(4))
    scaled.header.set_slope_inter(2.0, 1.0)
    nib.save(scaled, str(tmp_path / "scaled.nii.gz"))
    gz = write_nifti(tmp_path / "v.nii.gz", data, oblique_affine())
    expected = nib.as_closest_canonical(nib.load(str(gz))).get_fdata(dtype=np.float32)
    chunked = []
    read = gzip.GzipFile.read

    def counted_read(self, *args):
        out = read(self, *args)
        chunked.append(len(out))
        return out

    monkeypatch.setattr(gzip.GzipFile, "read", counted_read)
    np.testing.assert_array_equal(load_volume(gz).data, expected)
    assert sum(chunked) < 4096, "voxels read through Python's gzip module"  # the header only
    assert load_volume(tmp_path / "scaled.nii.gz").data[2, 3, 4] == pytest.approx(59 * 2.0 + 1.0)
    _, values = read_label_values(tmp_path / "scaled.nii.gz")
    assert values == {2 * v + 1 for v in range(60)}


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\x1f\x8b\x08garbage", "not a readable NIfTI"), (b"plain text", "not a readable NIfTI")],
)
def test_garbage_files(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / "bad.nii.gz"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        load_volume(path)


def test_missing_and_wrong_kind(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        load_volume(tmp_path / "nope.nii.gz")
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="not a NIfTI"):
        load_volume(tmp_path / "x.png")
    four_d = write_nifti(tmp_path / "4d.nii.gz", np.zeros((3, 3, 3, 2), np.float32))
    with pytest.raises(InputError, match="expected a 3-D volume"):
        read_header(four_d)
    single = write_nifti(tmp_path / "4d1.nii.gz", np.zeros((3, 3, 3, 1), np.float32))
    assert load_volume(single).shape == (3, 3, 3)


@pytest.mark.parametrize(
    ("values", "message"),
    [([0, 1, 5], r"unknown label value\(s\) \[5\]"), ([0, 3, 4], "3 and 4 both")],
)
def test_unknown_labels_are_errors(tmp_path: Path, values, message):
    data = np.zeros((4, 4, 4), np.uint8)
    data.flat[: len(values)] = values
    path = write_nifti(tmp_path / "seg.nii.gz", data)
    with pytest.raises(InputError, match=message) as info:
        load_segmentation(path)
    assert info.value.path == path
    assert read_label_values(path)[1] == set(values)


def test_float_labels_must_be_integers(tmp_path: Path):
    data = np.zeros((4, 4, 4), np.float32)
    data[0, 0, 0] = 1.5
    with pytest.raises(InputError, match="non-integer"):
        load_segmentation(write_nifti(tmp_path / "f.nii.gz", data))
    data[0, 0, 0] = 2.0
    seg = load_segmentation(write_nifti(tmp_path / "g.nii.gz", data))
    assert seg.labels[0, 0, 0] == Region.OEDEMA


def test_brats2023_mask_round_trips_in_file_orientation(tmp_path: Path, rng):
    data = rng.integers(0, 4, size=(5, 6, 7)).astype(np.int16)  # 0-3: BraTS 2023
    ref = write_nifti(tmp_path / "mask.nii.gz", data, oblique_affine())
    seg = load_segmentation(ref)
    assert seg.convention is LabelConvention.BRATS_2023
    edited = seg.labels.copy()
    edited[0, 0, 0] = Region.ENHANCING
    out = save_segmentation(
        tmp_path / "out" / "mask_edit.nii.gz",
        edited,
        reference=ref,
        convention=seg.convention,
    )
    written = nib.load(str(out))
    original = nib.load(str(ref))
    np.testing.assert_allclose(written.affine, original.affine)
    assert written.get_data_dtype() == np.int16
    back = load_segmentation(out)
    np.testing.assert_array_equal(back.labels, edited)
    # untouched voxels keep their file values, in the file's own voxel order
    changed = np.asarray(written.dataobj) != data
    assert changed.sum() <= 1
    assert not list(out.parent.glob(".*tmp*"))


def test_save_without_reference_uses_affine_and_convention(tmp_path: Path):
    labels = np.zeros((3, 3, 3), np.uint8)
    labels[1, 1, 1] = Region.ENHANCING
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    out = save_segmentation(
        tmp_path / "m.nii.gz", labels, convention=LabelConvention.BRATS_2021, affine=affine
    )
    raw = np.asarray(nib.load(str(out)).dataobj)
    assert raw.dtype == np.uint8 and raw[1, 1, 1] == 4
    assert load_segmentation(out).voxel_size == (1.0, 1.0, 2.0)
    with pytest.raises(InputError, match="does not fit"):
        save_segmentation(tmp_path / "n.nii.gz", np.zeros((2, 2, 2)), reference=out)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (np.array([0, 4, 4, 1], np.uint8), {0, 1, 4}),
        (np.array([0, 1000, -3], np.int16), {-3, 0, 1000}),
        (np.array([True, False]), {0, 1}),
        (np.array([2.0, 0.0]), {0, 2}),
        (np.array([], np.uint8), set()),
    ],
)
def test_label_values(data, expected):
    from corebt_viewer.io.nifti import label_values

    assert label_values(data) == expected


def test_parallel_and_serial_study_loading_agree(real_mri_dir: Path):
    case = Case(
        "TCGA-DU-7294",
        mri={Sequence.T2: real_mri_dir / REAL_FILES[Sequence.T2]},
        segmentation=real_mri_dir / REAL_SEG,
    )
    serial = load_case_mri(case, workers=1)
    parallel = load_case_mri(case, workers=2)
    np.testing.assert_array_equal(
        serial.volumes[Sequence.T2].data, parallel.volumes[Sequence.T2].data
    )
    np.testing.assert_array_equal(serial.segmentation.labels, parallel.segmentation.labels)


def test_deep_check_finds_corruption_inside_a_file_of_the_right_size(tmp_path: Path, rng):
    path = write_nifti(tmp_path / "c.nii.gz", rng.normal(size=(20, 20, 20)).astype(np.float32))
    blob = bytearray(path.read_bytes())
    middle = len(blob) // 2
    blob[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(blob))
    assert read_header(path).shape == (20, 20, 20)  # the cheap check cannot see it
    with pytest.raises(InputError, match="corrupt"):
        read_header(path, deep=True)
