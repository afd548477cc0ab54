"""Cohort validation opens every file and reports one problem per finding."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.progress import Progress
from corebt_viewer.io.manifest import MANIFEST_COLUMNS, CohortProblem
from corebt_viewer.io.validate import validate_cohort


def nifti(path: Path, shape=(6, 6, 6), value=1, dtype=np.int16, affine=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.full(shape, value, dtype)
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def manifest(folder: Path, rows: list[dict[str, str]]) -> Path:
    lines = [",".join(MANIFEST_COLUMNS)]
    for row in rows:
        lines.append(",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS))
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def good_case(folder: Path, pid: str) -> dict[str, str]:
    row = {"patient_id": pid, "level1": "Oligodendroglioma", "who_grade": "2"}
    for seq in ("t1", "t1c", "t2", "flair"):
        row[seq] = str(nifti(folder / pid / f"{seq}.nii.gz").relative_to(folder))
    row["seg"] = str(
        nifti(folder / pid / "seg.nii.gz", value=2, dtype=np.uint8).relative_to(folder)
    )
    report = folder / pid / "report.txt"
    report.write_text("Oligodendroglioma, CNS WHO grade 2.")
    row["report"] = str(report.relative_to(folder))
    return row


def test_clean_cohort_with_real_files(tmp_path: Path, real_mri_dir: Path, svs_path, ndpi_path):
    rows = [good_case(tmp_path, "G1")]
    rows.append(
        {
            "patient_id": "TCGA-DU-7294",
            "t1": str(real_mri_dir / "TCGA-DU-7294_t1_bet.nii.gz"),
            "t1c": str(real_mri_dir / "TCGA-DU-7294_t1c_bet.nii.gz"),
            "t2": str(real_mri_dir / "TCGA-DU-7294_t2_bet.nii.gz"),
            "flair": str(real_mri_dir / "TCGA-DU-7294_fla_bet.nii.gz"),
            "seg": str(real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz"),
            "slides": f"{svs_path};{ndpi_path}",
        }
    )
    events: list[Progress] = []
    assert validate_cohort(manifest(tmp_path, rows), progress=events.append) == []
    assert events[-1].done == events[-1].total == 2


def test_one_problem_per_broken_file(tmp_path: Path, svs_path: Path):
    rows = [good_case(tmp_path, f"P{i}") for i in range(7)]
    # P1: the FLAIR sits on another grid (the other three + mask agree)
    rows[1]["flair"] = str(nifti(tmp_path / "P1" / "flair2.nii.gz", shape=(6, 6, 5)))
    # P2: the mask holds an unknown label
    rows[2]["seg"] = str(nifti(tmp_path / "P2" / "seg2.nii.gz", value=7, dtype=np.uint8))
    # P3: a truncated sequence
    t2 = tmp_path / "P3" / "t2.nii.gz"
    nifti(t2, shape=(20, 20, 20), value=0, dtype=np.float32)
    t2.write_bytes(t2.read_bytes()[:-30])
    # P4: an unreadable slide beside a good one
    junk = tmp_path / "P4" / "junk.svs"
    junk.write_bytes(b"\x00" * 4096)
    rows[4]["slides"] = f"{svs_path};P4/junk.svs"
    # P5: a bad class name and a missing file
    rows[5]["level1"] = "Medulloblastoma"
    rows[5]["t1c"] = "P5/nowhere.nii.gz"
    # P6: the mask is shifted by 3 mm
    shifted = np.eye(4)
    shifted[:3, 3] = [3, 0, 0]
    rows[6]["seg"] = str(
        nifti(tmp_path / "P6" / "seg2.nii.gz", value=1, dtype=np.uint8, affine=shifted)
    )
    problems = validate_cohort(manifest(tmp_path, rows), workers=2)
    assert all(isinstance(p, CohortProblem) for p in problems)
    found = [(p.row, p.patient_id, p.role) for p in problems]
    assert found == [
        (3, "P1", "flair"),
        (4, "P2", "seg"),
        (5, "P3", "t2"),
        (6, "P4", "slide"),
        (7, "P5", "level1"),
        (7, "P5", "t1c"),
        (8, "P6", "seg"),
    ]
    text = [str(p) for p in problems]
    assert "grid differs from t1.nii.gz: shape 6x6x5 vs 6x6x6" in text[0]
    assert "unknown label value(s) [7]" in text[1]
    assert "truncated" in text[2] and str(t2) in text[2]
    assert "not a slide format" in text[3] and str(junk) in text[3]
    assert "'Medulloblastoma' is not a Level-1 class" in text[4]
    assert "file not found" in text[5] and "nowhere.nii.gz" in text[5]
    assert "origin differs by 3 mm" in text[6]
    serial = validate_cohort(tmp_path / "manifest.csv", workers=1)
    assert [str(p) for p in serial] == text


@pytest.mark.parametrize("content", ["", "   \n"])
def test_empty_report_and_fileless_row(tmp_path: Path, content: str):
    row = good_case(tmp_path, "A")
    (tmp_path / row["report"]).write_text(content)
    problems = validate_cohort(manifest(tmp_path, [row, {"patient_id": "B", "who_grade": "4"}]))
    assert [(p.patient_id, p.role) for p in problems] == [("A", "report"), ("B", None)]
    assert "report is empty" in problems[0].problem
    assert "no usable file" in problems[1].problem


def test_deep_validation_decompresses_sequences(tmp_path: Path, rng):
    row = good_case(tmp_path, "A")
    flair = tmp_path / row["flair"]
    data = rng.normal(size=(6, 6, 6)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(flair))
    blob = bytearray(flair.read_bytes())
    blob[len(blob) // 2 : len(blob) // 2 + 32] = bytes(32)
    flair.write_bytes(bytes(blob))
    path = manifest(tmp_path, [row])
    assert validate_cohort(path) == []
    (problem,) = validate_cohort(path, deep=True)
    assert problem.role == "flair" and "corrupt" in problem.problem
