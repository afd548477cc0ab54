"""Cohort manifests: parsing, labels of Table 1, paths, problems, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.errors import InputError, ManifestError
from corebt_viewer.core.modalities import Modality, Sequence
from corebt_viewer.io.manifest import (
    MANIFEST_COLUMNS,
    CohortProblem,
    read_cohort,
    read_manifest,
    write_manifest,
)

HEADER = ",".join(MANIFEST_COLUMNS)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_columns_are_the_contract():
    assert MANIFEST_COLUMNS == (
        "patient_id",
        "level1",
        "subtype",
        "who_grade",
        "t1",
        "t1c",
        "t2",
        "flair",
        "seg",
        "slides",
        "report",
    )


def test_relative_absolute_and_multiple_slides(tmp_path: Path):
    for name in ("P1/t1.nii.gz", "P1/seg.nii.gz", "P1/a.svs", "P1/b (2).ndpi", "P1/r.txt"):
        touch(tmp_path / name)
    outside = touch(tmp_path.parent / f"{tmp_path.name}-outside" / "t2.nii.gz")
    (tmp_path / "manifest.csv").write_text(
        f"{HEADER}\n"
        f"P1,GBM / IDH-wt HGG,GBM,4,P1/t1.nii.gz,,{outside},,P1/seg.nii.gz,"
        f'"P1/a.svs; P1/b (2).ndpi",P1/r.txt\n'
        "P2,oligodendroglioma,,III,,,,,,,\n"
        "P3,,,,,,,,,,\n"
    )
    cohort = read_cohort(tmp_path)
    assert cohort.ids == ("P1", "P2", "P3")
    assert cohort.root == tmp_path and cohort.manifest == tmp_path / "manifest.csv"
    p1 = cohort["P1"]
    assert p1.mri == {Sequence.T1: tmp_path / "P1/t1.nii.gz", Sequence.T2: outside}
    assert p1.slides == (tmp_path / "P1/a.svs", tmp_path / "P1/b (2).ndpi")
    assert p1.segmentation == tmp_path / "P1/seg.nii.gz"
    assert p1.report == tmp_path / "P1/r.txt"
    assert p1.modalities == {Modality.MRI, Modality.WSI, Modality.REPORT}
    assert p1.labels == CaseLabels("GBM / IDH-wt HGG", "GBM", 4)
    assert cohort["P2"].labels == CaseLabels("Oligodendroglioma", None, 3)
    assert not cohort["P3"].labels.is_labelled


def test_every_problem_reported_with_row_and_file(tmp_path: Path):
    touch(tmp_path / "ok.nii.gz")
    (tmp_path / "manifest.csv").write_text(
        f"{HEADER},colour\n"
        "A,Ependymoma,,2,ok.nii.gz,,,,,,,\n"
        "B,Oligodendroglioma,Pilocytic,5,missing.nii.gz,,,,,,,\n"
        ",,,,,,,,,,,\n"
        ",GBM / IDH-wt HGG,,,,,,,,,,\n"
        "A,,,,,,,,,,,\n"
        "C,,recurrent,,,,,,,,,\n"
        "D,,GBM,,,,,,,,,\n"
    )
    cohort, problems = read_manifest(tmp_path / "manifest.csv", strict=False)
    assert all(isinstance(p, CohortProblem) for p in problems)
    lines = [(p.row, p.patient_id, p.role, p.problem) for p in problems]
    assert lines[0][0] == 1 and "unknown column 'colour'" in lines[0][3]
    assert (2, "A", "level1") == lines[1][:3] and "'Ependymoma' is not a Level-1 class" in lines[1][
        3
    ]
    assert (3, "B", "subtype") == lines[2][:3] and "not a subtype of 'Oligodendroglioma'" in lines[
        2
    ][3]
    assert (3, "B", "who_grade") == lines[3][:3]
    missing = problems[4]
    assert (missing.row, missing.role, missing.problem) == (3, "t1", "file not found")
    assert missing.path == tmp_path / "missing.nii.gz"
    assert str(missing) == f"{tmp_path / 'manifest.csv'}:3: B t1 {missing.path}: file not found"
    # line 4 is blank: skipped without a problem
    assert lines[5][:3] == (5, None, None) and "empty patient_id" in lines[5][3]
    assert lines[6][:2] == (6, "A") and "duplicate patient_id (first on line 2)" in lines[6][3]
    assert lines[7][:3] == (7, "C", "subtype") and "no single subtype" in lines[7][3]
    assert len(problems) == 8
    # the usable part is kept: labels that parsed, files that exist
    assert cohort.ids == ("A", "B", "C", "D")
    assert cohort["A"].labels == CaseLabels(None, None, 2)
    assert cohort["B"].mri == {} and cohort["B"].labels.level1 == "Oligodendroglioma"
    assert cohort["D"].labels == CaseLabels("GBM / IDH-wt HGG", "GBM")  # inferred
    with pytest.raises(ManifestError, match="and 7 more problems"):
        read_manifest(tmp_path / "manifest.csv")


def test_manifest_without_patient_id_or_rows(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,t1\nA,x\n")
    with pytest.raises(ManifestError, match="no 'patient_id' column"):
        read_cohort(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER + "\n")
    with pytest.raises(ManifestError, match="lists no cases"):
        read_cohort(empty)
    with pytest.raises(InputError, match="no such file"):
        read_cohort(tmp_path / "absent.csv")


def test_semicolon_delimited_excel_export_with_bom(tmp_path: Path):
    touch(tmp_path / "s1.svs")
    text = "patient_id;level1;slides\nP1;Oligodendroglioma;s1.svs\n"
    (tmp_path / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    cohort = read_cohort(tmp_path / "manifest.csv")
    assert cohort["P1"].slides == (tmp_path / "s1.svs",)


def test_write_then_read_round_trip(tmp_path: Path):
    files = {
        name: touch(tmp_path / "data" / name)
        for name in ("t1.nii.gz", "flair.nii.gz", "s a.svs", "s[2].ndpi", "r.txt")
    }
    outside = touch(tmp_path.parent / f"{tmp_path.name}-ext" / "seg.nii.gz")
    cohort = Cohort(
        root=tmp_path,
        cases=(
            Case(
                "P1",
                mri={Sequence.T1: files["t1.nii.gz"], Sequence.FLAIR: files["flair.nii.gz"]},
                segmentation=outside,
                slides=(files["s a.svs"], files["s[2].ndpi"]),
                report=files["r.txt"],
                labels=CaseLabels("IDH-mutant Astrocytoma", "Astrocytoma, IDH-mutant", 3),
            ),
            Case("P2"),
        ),
    )
    path = write_manifest(cohort, tmp_path / "manifest.csv")
    text = path.read_text()
    assert "data/t1.nii.gz" in text and str(outside) in text and str(tmp_path) + "/data" not in text
    again, problems = read_manifest(path, strict=False)
    assert problems == []
    assert again.cases == cohort.cases


def test_relative_manifest_path_gives_absolute_cohort(tmp_path: Path, monkeypatch):
    touch(tmp_path / "a" / "t1.nii.gz")
    (tmp_path / "manifest.csv").write_text(f"{HEADER}\nP1,,,,a/t1.nii.gz,,,,,,\n")
    monkeypatch.chdir(tmp_path)
    cohort = read_cohort("manifest.csv")
    assert cohort.root == tmp_path and cohort.root.is_absolute()
    assert cohort["P1"].mri[Sequence.T1] == tmp_path / "a" / "t1.nii.gz"
    assert read_cohort(".").manifest == tmp_path / "manifest.csv"
