"""Cohort services: the keyword-only entry points the CLI and GUI share."""

from __future__ import annotations

from pathlib import Path

import pytest

from corebt_viewer.core.progress import Progress
from corebt_viewer.io.manifest import MANIFEST_COLUMNS
from corebt_viewer.services.cohort import summarise, validate


def test_summarise_and_validate(tmp_path: Path, svs_path: Path):
    (tmp_path / "r.txt").write_text("Glioblastoma, CNS WHO grade 4.")
    rows = [
        f"A,GBM / IDH-wt HGG,GBM,4,,,,,,{svs_path},r.txt",
        "B,Oligodendroglioma,,2,,,,,,,r.txt",
        "C,Pilocytic,,,,,,,,,r.txt",
        "D,,,,,,,,,,missing.txt",
    ]
    (tmp_path / "manifest.csv").write_text(
        ",".join(MANIFEST_COLUMNS) + "\n" + "\n".join(rows) + "\n"
    )
    summary = summarise(path=tmp_path)
    assert summary.n_cases == 4
    assert summary.modality_counts["wsi"] == 1 and summary.modality_counts["report"] == 3
    assert summary.class_counts["level1"]["GBM / IDH-wt HGG"] == 1
    assert summary.class_counts["level1"]["unlabelled"] == 2  # C (bad class) and D
    assert summary.class_counts["who_grade"] == {
        "Grade <=2": 1,
        "Grade 3": 0,
        "Grade 4": 1,
        "unlabelled": 2,
    }
    assert [p.role for p in summary.problems] == ["level1", "report"]
    events: list[Progress] = []
    problems = validate(path=tmp_path / "manifest.csv", progress=events.append)
    assert [(p.patient_id, p.role) for p in problems] == [
        ("C", "level1"),
        ("D", "report"),
        ("D", None),
    ]
    assert events and events[-1].stage == "validate"
    with pytest.raises(TypeError):
        validate(tmp_path)  # keyword-only
