"""Native space: sequences on other grids resampled onto the reference, registration, masks back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.case import Case
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.nifti import load_case_mri, load_segmentation
from corebt_viewer.io.registration import register_rigid, rigid_matrix, rotation_angle_deg
from corebt_viewer.io.resample import isotropic_grid, resample_to_grid
from tests.clinical_mri_data import other_grid, small_case_from, write_mask, write_volume


@pytest.fixture(scope="module")
def small(shared_data):
    return small_case_from(shared_data)


def brain_corr(a: np.ndarray, b: np.ndarray) -> float:
    inside = (a > 0) & (b > 0)
    return float(np.corrcoef(a[inside], b[inside])[0, 1])


def dice(a, b) -> float:
    return 2 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1)


def native_case(tmp_path: Path, small) -> tuple[Case, dict]:
    """T1c on the common grid; the others rotated, resized, shifted, flipped; mask on a 3 mm grid."""
    grids = {
        "t1": other_grid(small.shape, small.affine, angles=(12, 0, -8), spacing=(3.5, 3.5, 5.0)),
        "t2": other_grid(
            small.shape, small.affine, spacing=(3.0, 3.0, 3.0), shift=(11, -7, 5), flip=True
        ),
        "flair": other_grid(small.shape, small.affine, angles=(0, 20, 0), spacing=(4.0, 4.0, 6.0)),
        "seg": other_grid(small.shape, small.affine, angles=(5, 5, 5), spacing=(3.0, 3.0, 3.0)),
    }
    paths = {"t1c": write_volume(tmp_path / "P" / "t1c.nii.gz", small.volumes["t1c"], small.affine)}
    for role in ("t1", "t2", "flair"):
        shape, affine = grids[role]
        data = resample_to_grid(small.volumes[role], small.affine, shape, affine)
        paths[role] = write_volume(tmp_path / "P" / f"{role}.nii.gz", data, affine)
    shape, affine = grids["seg"]
    labels = resample_to_grid(small.seg, small.affine, shape, affine, order=0)
    paths["seg"] = write_mask(tmp_path / "P" / "seg.nii.gz", labels, affine)
    case = Case(
        "P", mri={Sequence(r): p for r, p in paths.items() if r != "seg"}, segmentation=paths["seg"]
    )
    return case, grids


def test_sequences_on_other_grids_are_resampled_onto_the_t1c_through_scanner_space(tmp_path, small):
    case, _ = native_case(tmp_path, small)
    study = load_case_mri(case)
    assert study.errors == {}
    assert study.sequences == (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR)
    for seq, vol in study.volumes.items():
        assert vol.shape == small.shape and np.allclose(vol.affine, small.affine)
        if seq is not Sequence.T1C:
            # a round trip through a coarser rotated grid: the anatomy is where it was
            assert brain_corr(vol.data, small.volumes[seq.value]) > 0.85, seq
            assert "resampled (trilinear)" in study.notes[seq.value]
    assert "t1c" not in study.notes
    seg = study.segmentation
    assert seg.labels.shape == small.shape and set(np.unique(seg.labels)) <= {0, 1, 2, 3}
    assert dice(seg.labels > 0, small.seg > 0) > 0.8
    assert "nearest neighbour" in study.notes["seg"]
    refused = load_case_mri(case, resample=False)  # the old behaviour stays available
    assert refused.sequences == (Sequence.T1C,) and "grid differs" in refused.errors["t1"]


def test_validate_notes_other_grids_without_failing(tmp_path, small, capsys):
    from corebt_viewer.cli.main import main

    case, _ = native_case(tmp_path, small)
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("note: ") == 4 and "resampled onto the reference grid" in out


def test_rigid_registration_recovers_a_known_transform(small):
    shape, affine = small.shape, small.affine
    centre = affine @ np.r_[(np.asarray(shape) - 1) / 2, 1.0]
    truth = rigid_matrix((4.0, -3.0, 6.0), (5.0, -4.0, 3.0), centre[:3])
    moved_affine = affine.copy()
    moved_affine[:3, 3] += (7.0, -5.0, 9.0)  # and another origin
    moved = resample_to_grid(
        small.volumes["t1c"], affine, shape, moved_affine, transform=np.linalg.inv(truth)
    )
    result = register_rigid((small.volumes["t1c"], affine), (moved, moved_affine), threads=2)
    error = result.matrix @ np.linalg.inv(truth)
    assert rotation_angle_deg(error) < 1.0
    brain = np.argwhere(small.volumes["t1c"] > 0)
    points = np.c_[brain, np.ones(len(brain))] @ affine.T
    miss = np.linalg.norm((points @ result.matrix.T - points @ truth.T)[:, :3], axis=1)
    assert miss.max() < 1.0, miss.max()
    assert result.metric_after < result.metric_before


def test_a_mask_saved_on_the_reference_grid_goes_back_to_the_original_grid(tmp_path, small):
    from corebt_viewer.services.review import mask_location, save_mask_version

    case, grids = native_case(tmp_path, small)
    study = load_case_mri(case)
    edited = study.segmentation.labels.copy()
    edited[edited == 1] = 2
    location = mask_location(cohort_root=tmp_path, case=case)
    saved = save_mask_version(
        cohort_root=tmp_path,
        case_id="P",
        location=location,
        labels=edited,
        author="test",
        labels_affine=study.segmentation.affine,
    )
    version = load_segmentation(saved.version.path)
    original = load_segmentation(case.segmentation)
    assert version.labels.shape == original.labels.shape
    assert np.allclose(version.affine, original.affine)
    assert version.convention == original.convention
    assert not (version.labels == 1).any() and (original.labels == 1).any()
    assert dice(version.labels > 0, original.labels > 0) > 0.85


def test_qc_images(small):
    from corebt_viewer.services.native_space import checkerboard, edge_overlay

    a, b = small.volumes["t1c"], small.volumes["t2"]
    board = checkerboard(a, b, tiles=4)
    assert board.shape == a.shape and 0 <= board.min() and board.max() <= 1
    k = a.shape[2] // 2
    flat = checkerboard(a[..., k], b[..., k], tiles=4)
    assert flat.shape == a.shape[:2]
    overlay = edge_overlay(a[..., k], b[..., k])
    red = (overlay[..., 0] == 1) & (overlay[..., 1] == 0)
    assert overlay.shape == a.shape[:2] + (3,) and red.any()


def test_isotropic_grid_covers_the_field_of_view(small):
    shape, affine = isotropic_grid(small.shape, small.affine, 2.0)
    assert np.allclose(np.diag(affine)[:3], 2.0)
    assert all(abs(n * 2.0 - m * 4.0) <= 2.0 for n, m in zip(shape, small.shape, strict=True))


def test_the_reference_can_be_a_1mm_isotropic_grid(tmp_path):
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    data = np.arange(6 * 6 * 4, dtype=np.float32).reshape(6, 6, 4)
    case = Case("P", mri={Sequence.T1C: write_volume(tmp_path / "t1c.nii.gz", data, affine)})
    study = load_case_mri(case, reference="iso1")
    vol = study.volumes[Sequence.T1C]
    assert vol.voxel_size == (1.0, 1.0, 1.0) and vol.shape == (12, 12, 12)
    assert "1 mm isotropic" in study.notes["t1c"]
    # data is linear in its indices, so trilinear sampling inside it is exact
    i, j, k = np.linalg.solve(affine, vol.affine @ [5, 6, 5, 1])[:3]
    assert np.isclose(vol.data[5, 6, 5], 24 * i + 4 * j + k, atol=1e-3)
