"""``corebt validate`` and ``corebt info`` on real and broken cohorts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.io.manifest import MANIFEST_COLUMNS


def write_manifest(folder: Path, rows: list[dict[str, str]]) -> Path:
    lines = [",".join(MANIFEST_COLUMNS)]
    lines += [",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS) for row in rows]
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def real_row(real_mri_dir: Path, svs_path: Path, ndpi_path: Path) -> dict[str, str]:
    files = {
        "t1": "TCGA-DU-7294_t1_bet.nii.gz",
        "t1c": "TCGA-DU-7294_t1c_bet.nii.gz",
        "t2": "TCGA-DU-7294_t2_bet.nii.gz",
        "flair": "TCGA-DU-7294_fla_bet.nii.gz",
        "seg": "TCGA-DU-7294_seg_fusion_mav.nii.gz",
    }
    row = {key: str(real_mri_dir / name) for key, name in files.items()}
    row.update(
        patient_id="TCGA-DU-7294",
        level1="IDH-mutant Astrocytoma",
        subtype="Astrocytoma, IDH-mutant",
        who_grade="II",
        slides=f"{svs_path};{ndpi_path}",
    )
    return row


def test_real_files_validate_and_summarise(tmp_path: Path, real_row, capsys):
    path = write_manifest(tmp_path, [real_row])
    assert main(["validate", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["validate", "--deep", "--quiet", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cases: 1" in out and "slides in total" in out
    assert "IDH-mutant Astrocytoma" in out and "Grade <=2" in out
    assert main(["info", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cases"] == 1
    assert data["modalities"]["slides_total"] == 2
    assert data["classes"]["lgg_hgg"] == {"LGG": 1, "HGG": 0, "unlabelled": 0}
    assert data["sequences"] == {"t1": 1, "t1c": 1, "t2": 1, "flair": 1}


def test_broken_manifest_one_line_per_problem_exit_2(tmp_path: Path, real_row):
    small = tmp_path / "small"
    small.mkdir()
    for name, shape in (("t1", (5, 5, 5)), ("t1c", (5, 5, 4))):
        nib.save(
            nib.Nifti1Image(np.zeros(shape, np.int16), np.eye(4)), str(small / f"{name}.nii.gz")
        )
    seg = np.zeros((240, 240, 155), np.uint8)
    seg[100, 100, 70] = 9
    affine = nib.load(real_row["t1"]).affine
    nib.save(nib.Nifti1Image(seg, affine), str(small / "seg9.nii.gz"))
    (small / "broken.ndpi").write_bytes(b"II*\x00" + b"\xff" * 500)
    rows = [
        real_row,
        {**real_row, "patient_id": "missing-file", "t2": str(small / "gone.nii.gz")},
        {"patient_id": "grid", "t1": "small/t1.nii.gz", "t1c": "small/t1c.nii.gz"},
        {**real_row, "patient_id": "label", "seg": "small/seg9.nii.gz"},
        {**real_row, "patient_id": "slide", "slides": "small/broken.ndpi"},
        {**real_row, "patient_id": "class", "level1": "Glioblastomaa"},
    ]
    path = write_manifest(tmp_path, rows)
    result = subprocess.run(
        [sys.executable, "-m", "corebt_viewer.cli.main", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5, result.stdout
    expected = [
        (3, "missing-file t2", "gone.nii.gz: file not found"),
        (4, "grid t1c", "grid differs from t1.nii.gz: shape 5x5x4 vs 5x5x5"),
        (5, "label seg", "unknown label value(s) [9]"),
        (6, "slide slide", "broken.ndpi: not a slide format OpenSlide can read"),
        (7, "class level1", "'Glioblastomaa' is not a Level-1 class of Table 1"),
    ]
    for line, (row, who, what) in zip(lines, expected, strict=True):
        assert line.removeprefix("note: ").startswith(f"{path}:{row}: {who}"), line
        assert what in line, line
    assert lines[1].startswith("note: ")  # another grid is resampled when loaded: a note
    # the grid note, and one assumed BraTS convention per mask read from its labels alone
    assert "4 problems in 4 rows, 5 notes" in result.stderr
    assert "seg_convention" in result.stderr


def test_missing_cohort_is_a_clear_error(tmp_path: Path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["info", str(tmp_path)]) == 2  # empty folder: no manifest, no BraTS files
    assert "no manifest.csv" in capsys.readouterr().err


def test_brats_2023_folder_without_manifest(tmp_path: Path, capsys):
    case = tmp_path / "BraTS-GLI-00001-000"
    case.mkdir()
    for suffix in ("t1n", "t1c", "t2w", "t2f", "seg"):
        data = np.zeros((4, 4, 4), np.uint8 if suffix == "seg" else np.int16)
        data[1, 1, 1] = 3 if suffix == "seg" else 100  # label 3: BraTS 2023 enhancing
        nib.save(nib.Nifti1Image(data, np.eye(4)), str(case / f"{case.name}-{suffix}.nii.gz"))
    assert main(["validate", str(tmp_path)]) == 0
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(no manifest: files found by their names)" in out and "cases: 1" in out
    assert "t1c    BraTS-GLI-00001-000/BraTS-GLI-00001-000-t1c.nii.gz -- word 't1c'" in out
    assert "complete MRI (4 seq.)       1  (100%)" in out
