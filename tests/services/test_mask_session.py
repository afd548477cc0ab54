"""MaskSession: the whole edit, autosave, crash, restore, save, reopen cycle on a real case."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.segmentation import Region
from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_cohort
from corebt_viewer.io.review_db import ReviewDB
from corebt_viewer.services.mask_editing import brush_indices, label_edit, remove_small_islands
from corebt_viewer.services.mask_session import MaskSession

SEG = "TCGA-DU-7294_seg_fusion_mav.nii.gz"
T1C = "TCGA-DU-7294_t1c_bet.nii.gz"


@pytest.fixture
def cohort(real_mri_dir: Path, tmp_path: Path):
    for name in (SEG, T1C):
        shutil.copyfile(real_mri_dir / name, tmp_path / name)
    lines = [",".join(MANIFEST_COLUMNS)]
    for row in (
        {"patient_id": "TCGA-DU-7294", "t1c": T1C, "seg": SEG},
        {"patient_id": "NEW", "t1c": T1C},
    ):
        lines.append(",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS))
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    return read_cohort(tmp_path)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_edit_crash_restore_save_reopen(cohort):
    from corebt_viewer.io.nifti import load_volume

    case = cohort["TCGA-DU-7294"]
    original_sha = sha(case.segmentation)
    session = MaskSession(cohort_root=cohort.root, case=case, author="ana")
    assert session.base.is_original and not session.has_unsaved_edits
    assert session.autosave() is None  # nothing to autosave yet
    before = session.stats()
    assert before.changed_voxels == 0

    image = load_volume(cohort.root / T1C).data
    centre = (150, 130, 70)
    low, high = np.percentile(image[image > 0], [40, 90])
    painted = session.labels.copy()
    brush = brush_indices(painted.shape, centre, 15, dims=(0, 1))
    keep = (image[brush] >= low) & (image[brush] <= high)
    painted[tuple(i[keep] for i in brush)] = int(Region.ENHANCING)
    session.apply(label_edit(session.labels, painted))
    after = session.stats()
    assert session.has_unsaved_edits
    assert after.regions[Region.ENHANCING].volume_ml > before.regions[Region.ENHANCING].volume_ml
    assert after.changed_voxels > 0
    edited = session.labels.copy()
    assert session.autosave() is not None

    # "Crash": a fresh session on the same case finds the autosaved edits.
    again = MaskSession(cohort_root=cohort.root, case=case, author="ana")
    assert not again.has_unsaved_edits and again.recovery() is not None
    assert again.restore_recovery()
    np.testing.assert_array_equal(again.labels, edited)

    saved = again.save()
    assert not again.has_unsaved_edits and again.recovery() is None
    assert saved.version.label == "v001" and saved.voxels_changed == after.changed_voxels
    assert sha(case.segmentation) == original_sha
    np.testing.assert_array_equal(
        nib.load(saved.version.path).affine, nib.load(case.segmentation).affine
    )

    reopened = MaskSession(cohort_root=cohort.root, case=case)
    assert reopened.base == saved.version
    np.testing.assert_array_equal(reopened.labels, edited)
    reopened.make_current(None)
    assert MaskSession(cohort_root=cohort.root, case=case).base.is_original
    labels_array = reopened.labels
    reopened.open_version(saved.version)  # in place: a viewer layer holding the array sees it
    assert reopened.labels is labels_array
    np.testing.assert_array_equal(labels_array, edited)
    with ReviewDB.for_cohort(cohort.root) as db:
        assert [v.author for v in db.mask_versions(case.patient_id)] == ["ana"]


def test_discard_and_new_mask(cohort):
    session = MaskSession(cohort_root=cohort.root, case=cohort["TCGA-DU-7294"])
    session.replace_labels(remove_small_islands(session.labels, min_voxels=10_000))
    assert session.has_unsaved_edits
    session.autosave()
    session.discard_edits()
    assert not session.has_unsaved_edits and session.recovery() is None

    new = MaskSession(cohort_root=cohort.root, case=cohort["NEW"], author="bo")
    assert new.base is None and not new.labels.any()
    new.labels[100:110, 100:110, 60:70] = Region.OEDEMA
    saved = new.save()
    assert saved.voxels_changed == 1000 and saved.version.path.name == "NEW_seg.v001.nii.gz"
    assert MaskSession(cohort_root=cohort.root, case=cohort["NEW"]).labels.sum() == 2000


def test_snapshot_taken_before_a_save_or_discard_is_never_written(cohort):
    """The autosave's copy is written in a worker: a save or a discard that happens
    meanwhile must not be followed by a recovery file of older edits."""
    session = MaskSession(cohort_root=cohort.root, case=cohort["TCGA-DU-7294"])
    session.replace_labels(remove_small_islands(session.labels, min_voxels=10_000))
    snapshot = session.autosave_snapshot()
    session.discard_edits()
    assert session.write_autosave(snapshot) is None and session.recovery() is None
    session.replace_labels(remove_small_islands(session.labels, min_voxels=10_000))
    snapshot = session.autosave_snapshot(out=np.empty_like(session.labels))
    assert snapshot.labels is not session.labels
    session.save()
    assert session.write_autosave(snapshot) is None and session.recovery() is None
    session.history.undone()  # unsaved again: a fresh snapshot is written
    assert session.write_autosave(session.autosave_snapshot()) is not None


def test_the_convention_and_its_evidence_are_stated(cohort):
    """The real mask holds labels 0-2 only: BraTS 2021 is assumed, and the session says so
    with the reason; with a label 3 the file itself says 2023."""
    case = cohort["TCGA-DU-7294"]
    image = nib.load(case.segmentation)
    data = np.asarray(image.dataobj).copy()
    assert set(np.unique(data).astype(int)) == {0, 1, 2}  # no enhancing tumour: ambiguous
    assumed = MaskSession(cohort_root=cohort.root, case=case)
    assert assumed.convention_assumed
    assert assumed.convention_text.startswith("BraTS 2021 (enhancing tumour = 4), assumed: ")
    assert "seg_convention" in assumed.convention_text
    data[tuple(np.argwhere(data == 1)[0])] = 3
    nib.save(nib.Nifti1Image(data, image.affine, image.header), case.segmentation)
    session = MaskSession(cohort_root=cohort.root, case=case)
    assert not session.convention_assumed
    assert (
        session.convention_text == "BraTS 2023 (enhancing tumour = 3), from the labels in the file"
    )
    assert MaskSession(cohort_root=cohort.root, case=cohort["NEW"]).convention_text == ""
