"""The Qt-free MRI QC of a native-space case: what was moved, how, and its QC pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corebt_viewer.core.case import Case
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.registration import rigid_matrix
from corebt_viewer.io.resample import resample_to_grid
from corebt_viewer.services.mri_qc import case_qc, dicom_source_folder, qc_slice
from corebt_viewer.services.native_space import file_identity, registration_dir
from tests.clinical_mri_data import other_grid, small_case_from, write_volume


@pytest.fixture(scope="module")
def small(shared_data):
    return small_case_from(shared_data)


def native_case(folder, small) -> Case:
    """T1c on the base grid, T1 rotated 15 deg at 3 mm, T2 on the base grid, FLAIR shifted."""
    paths = {"t1c": write_volume(folder / "t1c.nii.gz", small.volumes["t1c"], small.affine)}
    paths["t2"] = write_volume(folder / "t2.nii.gz", small.volumes["t2"], small.affine)
    shape, affine = other_grid(small.shape, small.affine, angles=(0, 0, 15), spacing=(3, 3, 3))
    data = resample_to_grid(small.volumes["t1"], small.affine, shape, affine)
    paths["t1"] = write_volume(folder / "t1.nii.gz", data, affine)
    shape, affine = other_grid(small.shape, small.affine, shift=(2, 0, 0), flip=True)
    data = resample_to_grid(small.volumes["flair"], small.affine, shape, affine)
    paths["flair"] = write_volume(folder / "flair.nii.gz", data, affine)
    return Case(folder.name, mri={Sequence(k): v for k, v in paths.items()})


def test_qc_lists_resampled_sequences_with_their_notes(tmp_path, small):
    case = native_case(tmp_path / "P1", small)
    qc = case_qc(case=case, cohort_root=tmp_path)
    assert qc.reference == "t1c"
    assert qc.roles == ("t1", "flair")  # T2 shares the T1c grid: nothing to check
    assert "resampled" in qc.entry("t1").note and "scanner coordinates" in qc.entry("t1").note
    assert qc.entry("t1").transform is None and qc.entry("t1").residual == ""
    text = qc.text()
    assert "t1: resampled (trilinear) from" in text and "flair: resampled" in text
    with pytest.raises(KeyError):
        qc.entry("t2")


def test_qc_pictures_are_the_checkerboard_and_the_edges(tmp_path, small):
    qc = case_qc(case=native_case(tmp_path / "P1", small), cohort_root=tmp_path)
    ref = qc.study.volumes[Sequence.T1C].data
    k = ref.shape[2] // 2
    board = qc_slice(qc, "t1", kind="checkerboard", index=k, tiles=4)
    assert board.shape == ref.shape[:2] and board.dtype == np.float32
    tile = ref.shape[0] // 4
    other = qc.study.volumes[Sequence.T1].data[:, :, k]
    # tile (1, 1) is the reference, the next one along x the other sequence (both 0-1)
    one, two = slice(tile, 2 * tile), slice(2 * tile, 3 * tile)
    assert np.corrcoef(board[one, one].ravel(), ref[one, one, k].ravel())[0, 1] > 0.99
    assert np.corrcoef(board[two, one].ravel(), other[two, one].ravel())[0, 1] > 0.99
    assert np.corrcoef(board[two, one].ravel(), ref[two, one, k].ravel())[0, 1] < 0.99
    edges = qc_slice(qc, "flair", kind="edges")
    assert edges.shape == (*ref.shape[:2], 3)
    red = (edges[..., 0] == 1) & (edges[..., 1] == 0)
    assert 20 < red.sum() < red.size / 2  # FLAIR's edges drawn over the grey reference
    with pytest.raises(ValueError, match="unknown QC kind"):
        qc_slice(qc, "t1", kind="blend")


def test_qc_shows_a_stored_registration_transform_and_residual(tmp_path, small):
    case = native_case(tmp_path / "P1", small)
    matrix = rigid_matrix((0.0, 0.0, 3.0), (1.0, -2.0, 0.5))
    record = {
        "format": "corebt-registration/1",
        "matrix_ras": matrix.tolist(),
        "rotation_deg": 3.0,
        "metric": "Mattes mutual information (lower is better)",
        "metric_before": -0.41,
        "metric_after": -0.72,
        "iterations": 57,
        "stop": "converged",
        "sources": {
            "t1": file_identity(case.mri[Sequence.T1]),
            "t1c": file_identity(case.mri[Sequence.T1C]),
        },
    }
    folder = registration_dir(tmp_path, "P1")
    folder.mkdir(parents=True)
    (folder / "t1_to_t1c.json").write_text(json.dumps(record))
    qc = case_qc(case=case, cohort_root=tmp_path)
    entry = qc.entry("t1")
    np.testing.assert_allclose(entry.transform, matrix)
    assert "through its registration transform" in entry.note
    assert "-0.4100 -> -0.7200" in entry.residual and "rotation 3.00 deg" in entry.residual
    assert "registration transform" in qc.text() and "stop: converged" in qc.text()


def test_qc_of_a_case_without_mri_says_so(tmp_path):
    bad = tmp_path / "t1c.nii.gz"
    bad.write_bytes(b"not a nifti")
    with pytest.raises(InputError, match="no MRI sequence loaded"):
        case_qc(case=Case("X", mri={Sequence.T1C: bad}), cohort_root=tmp_path)


def test_dicom_source_folder_reads_the_provenance(tmp_path):
    derived = tmp_path / ".corebt" / "dicom" / "c1" / "t1.nii.gz"
    derived.parent.mkdir(parents=True)
    derived.write_bytes(b"")
    case = Case("c1", mri={Sequence.T1: derived})
    with pytest.raises(InputError, match="unreadable DICOM provenance"):
        dicom_source_folder(case, tmp_path)
    derived.with_name("t1.json").write_text(json.dumps({"source_folder": "/x/c1"}))
    assert str(dicom_source_folder(case, tmp_path)) == "/x/c1"
    plain = Case("c2", mri={Sequence.T1: tmp_path / "t1.nii.gz"})
    assert dicom_source_folder(plain, tmp_path) is None


def test_qc_of_a_case_on_one_grid_says_nothing_was_moved(tmp_path, small):
    t1c = write_volume(tmp_path / "c" / "t1c.nii.gz", small.volumes["t1c"], small.affine)
    t2 = write_volume(tmp_path / "c" / "t2.nii.gz", small.volumes["t2"], small.affine)
    qc = case_qc(case=Case("c", mri={Sequence.T1C: t1c, Sequence.T2: t2}), cohort_root=tmp_path)
    assert qc.roles == ()
    assert "nothing was moved" in qc.text()
