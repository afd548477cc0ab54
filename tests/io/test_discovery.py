"""BraTS 2021 and 2023 folder layouts without a manifest."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.discovery import discover_cohort, match_brats_name
from corebt_viewer.io.manifest import read_cohort
from corebt_viewer.io.validate import validate_cohort


def write(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BraTS2021_00012_t1.nii.gz", ("brats2021", "BraTS2021_00012", Sequence.T1)),
        ("BraTS2021_00012_t1ce.nii.gz", ("brats2021", "BraTS2021_00012", Sequence.T1C)),
        ("BraTS2021_00012_flair.nii", ("brats2021", "BraTS2021_00012", Sequence.FLAIR)),
        ("BraTS2021_00012_seg.nii.gz", ("brats2021", "BraTS2021_00012", "seg")),
        ("BraTS-GLI-00005-001-t1n.nii.gz", ("brats2023", "BraTS-GLI-00005-001", Sequence.T1)),
        ("BraTS-GLI-00005-001-t1c.nii.gz", ("brats2023", "BraTS-GLI-00005-001", Sequence.T1C)),
        ("BraTS-GLI-00005-001-t2w.nii.gz", ("brats2023", "BraTS-GLI-00005-001", Sequence.T2)),
        ("BraTS-GLI-00005-001-t2f.nii.gz", ("brats2023", "BraTS-GLI-00005-001", Sequence.FLAIR)),
        ("BraTS-GLI-00005-001-seg.nii.gz", ("brats2023", "BraTS-GLI-00005-001", "seg")),
        ("TCGA-DU-7294_t1_bet.nii.gz", None),
        ("notes_t1.txt", None),
    ],
)
def test_names(name, expected):
    assert match_brats_name(name) == expected


def test_both_layouts_with_slides_and_reports(tmp_path: Path):
    volume = np.zeros((4, 4, 4), np.int16)
    for suffix in ("t1", "t1ce", "t2", "flair", "seg"):
        write(tmp_path / "BraTS2021_00001" / f"BraTS2021_00001_{suffix}.nii.gz", volume)
    for suffix in ("t1n", "t2f"):
        write(
            tmp_path / "sub" / "BraTS-GLI-00002-000" / f"BraTS-GLI-00002-000-{suffix}.nii.gz",
            volume,
        )
    (tmp_path / "BraTS2021_00001" / "BraTS2021_00001_HE.svs").write_bytes(b"x")
    (tmp_path / "BraTS2021_00001" / "BraTS2021_00001_report.txt").write_text("text")
    write(tmp_path / ".corebt" / "cache" / "X_t1.nii.gz", volume)  # hidden: ignored
    cohort, problems = discover_cohort(tmp_path)
    assert problems == []
    assert cohort.manifest is None
    assert cohort.ids == ("BraTS-GLI-00002-000", "BraTS2021_00001")
    old = cohort["BraTS2021_00001"]
    assert old.has_complete_mri and old.segmentation.name == "BraTS2021_00001_seg.nii.gz"
    assert old.mri[Sequence.T1C].name == "BraTS2021_00001_t1ce.nii.gz"
    assert [s.name for s in old.slides] == ["BraTS2021_00001_HE.svs"]
    assert old.report.name == "BraTS2021_00001_report.txt"
    new = cohort["BraTS-GLI-00002-000"]
    assert new.sequences == (Sequence.T1, Sequence.FLAIR) and new.segmentation is None
    assert read_cohort(tmp_path).ids == cohort.ids
    (problem,) = validate_cohort(tmp_path)  # the fake slide is caught, nothing else
    assert (problem.row, problem.patient_id, problem.role) == (None, "BraTS2021_00001", "slide")
    assert problem.manifest == tmp_path


def test_duplicates_and_empty_folder(tmp_path: Path):
    volume = np.zeros((2, 2, 2), np.int16)
    write(tmp_path / "a" / "X_t1.nii.gz", volume)
    write(tmp_path / "a" / "X_t1.nii", volume)
    write(tmp_path / "b" / "X_t2.nii.gz", volume)
    cohort, problems = discover_cohort(tmp_path)
    assert cohort.ids == ("X",)
    assert len(problems) == 2
    assert "two files for t1" in problems[0].problem
    assert "two folders" in problems[1].problem
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no manifest.csv and no MRI files"):
        read_cohort(empty)
