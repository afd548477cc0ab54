"""Review services: save a corrected real mask, read-only originals, new masks, status."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.review import ReviewStatus
from corebt_viewer.core.segmentation import Region
from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_cohort
from corebt_viewer.io.review_db import ReviewDB
from corebt_viewer.services import review as rv
from corebt_viewer.services.mask_editing import edit_stats

SEG = "TCGA-DU-7294_seg_fusion_mav.nii.gz"
T1 = "TCGA-DU-7294_t1_bet.nii.gz"


def write_cohort(root: Path, rows: list[dict[str, str]]) -> Path:
    lines = [",".join(MANIFEST_COLUMNS)]
    lines += [",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS) for row in rows]
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root / "manifest.csv"


@pytest.fixture
def cohort_root(real_mri_dir: Path, tmp_path: Path) -> Path:
    """Three cases: a writable copy of the real mask, the read-only original, no mask."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(real_mri_dir / SEG, data / SEG)
    shutil.copyfile(real_mri_dir / T1, data / T1)
    write_cohort(
        tmp_path,
        [
            {"patient_id": "A", "t1": f"data/{T1}", "seg": f"data/{SEG}"},
            {"patient_id": "B", "t1": str(real_mri_dir / T1), "seg": str(real_mri_dir / SEG)},
            {"patient_id": "C", "t1": f"data/{T1}"},
        ],
    )
    return tmp_path


def test_save_correction_of_real_mask(cohort_root: Path):
    cohort = read_cohort(cohort_root)
    loc = rv.mask_location(cohort_root=cohort.root, case=cohort["A"])
    assert loc.folder == cohort_root / "data" and loc.has_original
    before = hashlib.sha256(loc.original.read_bytes()).hexdigest()
    seg = rv.load_mask_version(location=loc)
    labels = seg.labels.copy()
    labels[100:105, 100:105, 70:75] = Region.ENHANCING  # "paint"
    stats = edit_stats(seg.labels, labels, seg.voxel_size)
    assert stats.regions[Region.ENHANCING].volume_ml == pytest.approx(0.125)

    rv.autosave_mask(location=loc, labels=labels)
    assert rv.find_mask_recovery(location=loc) is not None
    saved = rv.save_mask_version(
        cohort_root=cohort.root, case_id="A", location=loc, labels=labels, author="ana"
    )

    assert saved.version.path == cohort_root / "data" / "TCGA-DU-7294_seg_fusion_mav.v001.nii.gz"
    assert saved.voxels_changed == 125
    assert hashlib.sha256(loc.original.read_bytes()).hexdigest() == before
    np.testing.assert_array_equal(
        nib.load(saved.version.path).affine, nib.load(loc.original).affine
    )
    assert rv.find_mask_recovery(location=loc) is None  # saved: nothing to recover
    assert rv.current_mask_version(location=loc) == saved.version
    np.testing.assert_array_equal(rv.load_mask_version(location=loc).labels, labels)
    with ReviewDB.for_cohort(cohort.root) as db:
        (record,) = db.mask_versions("A")
        assert record.file == "data/TCGA-DU-7294_seg_fusion_mav.v001.nii.gz"
        assert (
            record.sha256
            == saved.sha256
            == hashlib.sha256(saved.version.path.read_bytes()).hexdigest()
        )
        assert record.author == "ana" and record.is_current
        assert db.get("A").status is ReviewStatus.IN_PROGRESS

    # Back to the original, then to the version again: only pointers change.
    rv.make_mask_version_current(cohort_root=cohort.root, case_id="A", location=loc, version=None)
    assert rv.current_mask_version(location=loc).is_original
    with ReviewDB.for_cohort(cohort.root) as db:
        assert db.current_mask_version("A") is None
    rv.make_mask_version_current(
        cohort_root=cohort.root, case_id="A", location=loc, version=saved.version
    )
    np.testing.assert_array_equal(rv.load_mask_version(location=loc).labels, labels)
    assert hashlib.sha256(loc.original.read_bytes()).hexdigest() == before


def test_read_only_original_gets_versions_in_cohort_folder(cohort_root: Path, real_mri_dir: Path):
    cohort = read_cohort(cohort_root)
    loc = rv.mask_location(cohort_root=cohort.root, case=cohort["B"])
    assert loc.original == real_mri_dir / SEG
    if loc.folder == real_mri_dir:
        pytest.skip("the shared data folder is writable here")
    assert loc.folder == cohort_root / ".corebt" / "masks" / "B"
    labels = rv.load_mask_version(location=loc).labels.copy()
    labels[labels == Region.OEDEMA] = 0
    saved = rv.save_mask_version(
        cohort_root=cohort.root, case_id="B", location=loc, labels=labels, author="bo"
    )
    assert saved.version.path.parent == loc.folder
    assert [v.label for v in rv.list_mask_versions(location=loc)] == ["original", "v001"]
    np.testing.assert_array_equal(rv.load_mask_version(location=loc).labels, labels)


def test_case_without_mask_gets_a_new_one(cohort_root: Path):
    cohort = read_cohort(cohort_root)
    loc = rv.mask_location(cohort_root=cohort.root, case=cohort["C"])
    assert not loc.has_original and loc.reference.name == T1
    assert rv.load_mask_version(location=loc) is None
    labels = np.zeros((240, 240, 155), np.uint8)
    labels[60:70, 60:70, 60:70] = Region.NECROTIC_CORE
    saved = rv.save_mask_version(
        cohort_root=cohort.root, case_id="C", location=loc, labels=labels, author="ana"
    )
    assert saved.voxels_changed == 1000
    assert saved.version.path.name == "C_seg.v001.nii.gz"
    np.testing.assert_array_equal(
        nib.load(saved.version.path).affine, nib.load(loc.reference).affine
    )
    np.testing.assert_array_equal(rv.load_mask_version(location=loc).labels, labels)


def test_status_table_csv_and_next_case(cohort_root: Path):
    assert rv.next_case_to_review(cohort=cohort_root) == "A"
    rv.set_review_status(cohort_root=cohort_root, case_id="A", status="done", reviewer="ana")
    rv.set_review_status(cohort_root=cohort_root, case_id="B", status="flagged", notes="motion")
    assert rv.next_case_to_review(cohort=cohort_root) == "C"
    assert rv.next_case_to_review(cohort=cohort_root, after="C") == "C"
    states = rv.review_states(cohort=cohort_root)
    assert [s.status.value for s in states.values()] == ["done", "flagged", "not_started"]
    assert [r["case_id"] for r in rv.review_table(cohort=cohort_root)] == ["A", "B", "C"]
    out = rv.export_review_csv(cohort=cohort_root, out=cohort_root / "exports" / "review.csv")
    assert out.read_text().splitlines()[2].startswith("B,flagged,,motion")
