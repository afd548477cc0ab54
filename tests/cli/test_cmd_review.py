"""``corebt review``: print, set, export, next; bad input exits 2 with a message."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.io.manifest import MANIFEST_COLUMNS
from corebt_viewer.io.review_db import ReviewDB


@pytest.fixture
def cohort(real_mri_dir: Path, tmp_path: Path) -> Path:
    t1 = real_mri_dir / "TCGA-DU-7294_t1_bet.nii.gz"
    lines = [",".join(MANIFEST_COLUMNS)]
    for pid in ("P1", "P2", "P3"):
        row = {"patient_id": pid, "t1": str(t1)}
        lines.append(",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS))
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_review_prints_sets_and_exports(cohort: Path, capsys):
    assert main(["review", str(cohort)]) == 0
    out = capsys.readouterr().out
    assert "P1" in out and "3 cases: 3 not started, 0 in progress, 0 done, 0 flagged" in out

    assert (
        main(
            [
                "review",
                str(cohort),
                "--set",
                "P2",
                "--status",
                "done",
                "--reviewer",
                "ana",
                "--notes",
                "ok, clean",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("P2: done (ana)")
    assert "1 done" in out and "2 not started" in out

    csv_path = cohort / "review.csv"
    assert main(["review", str(cohort / "manifest.csv"), "--csv", str(csv_path)]) == 0
    assert f"wrote {csv_path}" in capsys.readouterr().out
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["case_id"], r["status"], r["reviewer"], r["notes"]) for r in rows] == [
        ("P1", "not_started", "", ""),
        ("P2", "done", "ana", "ok, clean"),
        ("P3", "not_started", "", ""),
    ]
    assert main(["review", str(cohort), "--next"]) == 0
    assert capsys.readouterr().out.strip() == "P1"
    with ReviewDB.for_cohort(cohort) as db:
        assert db.get("P2").reviewer == "ana"


def test_review_bad_input_exits_2(cohort: Path, capsys):
    assert main(["review", str(cohort), "--set", "NOPE", "--status", "done"]) == 2
    assert "no case 'NOPE'" in capsys.readouterr().err
    assert main(["review", str(cohort), "--set", "P1"]) == 2
    assert "--set needs" in capsys.readouterr().err
    assert main(["review", str(cohort), "--status", "done"]) == 2
    assert main(["review", str(cohort / "missing")]) == 2
    with pytest.raises(SystemExit):
        main(["review", str(cohort), "--set", "P1", "--status", "finished"])


def test_review_command_in_a_subprocess(cohort: Path):
    run = subprocess.run(
        [sys.executable, "-m", "corebt_viewer.cli.main", "review", str(cohort), "--next"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "P1"
