"""Scanning a patient folder: series found by content at any depth, grouped, classified."""

from __future__ import annotations

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom import classify, has_dicom_files, propose_assignment, scan_folder


def test_series_are_grouped_by_uid_whatever_the_file_names(case_folder):
    scan = scan_folder(case_folder.folder)
    by_uid = {s.uid: s for s in scan.series}
    assert set(by_uid) == set(case_folder.uids.values())
    assert [s.number for s in scan.series] == [1, 2, 3, 4, 5, 9]
    t1, t1c = by_uid[case_folder.uids["t1"]], by_uid[case_folder.uids["t1c"]]
    assert (len(t1.files), t1.n_frames, t1.enhanced) == (30, 30, False)
    assert (len(t1c.files), t1c.n_frames, t1c.enhanced) == (1, 30, True)
    assert t1c.contrast_agent == "Gadovist"
    assert (t1c.echo_time, t1c.repetition_time, t1c.inversion_time) == (3.0, 2000.0, 900.0)
    t2 = by_uid[case_folder.uids["t2"]]
    assert {p.parent.name for p in t2.files} == {"a", "b"}  # one series over two folders
    assert [(p.name, r) for p, r in scan.skipped] == [("README.txt", "not a DICOM file")]
    assert scan.n_patients == 1
    assert has_dicom_files(case_folder.folder)


def test_rules_assign_the_four_sequences_and_skip_with_reasons(case_folder):
    scan = scan_folder(case_folder.folder)
    assignment = propose_assignment(scan, "case01")
    uids = case_folder.uids
    assert assignment.roles == {
        Sequence.T1: uids["t1"],
        Sequence.T1C: uids["t1c"],
        Sequence.T2: uids["t2"],
        Sequence.FLAIR: uids["flair"],
    }
    assert set(assignment.skipped) == {uids["localizer"], uids["derived"]}
    assert "LOCALIZER" in assignment.reasons[uids["localizer"]]
    assert "DERIVED" in assignment.reasons[uids["derived"]]
    assert "ContrastBolusAgent" in assignment.reasons[uids["t1c"]]
    assert "FLAIR timing" in assignment.reasons[uids["flair"]]
    assert not assignment.conflicts


def test_two_candidates_for_one_sequence_are_a_conflict_not_a_choice(case_folder):
    from dataclasses import replace

    scan = scan_folder(case_folder.folder)
    twin = replace(scan.series[1], uid="1.2.3.4", number=12, description="SAG T1 SE")
    scan = replace(scan, series=(*scan.series, twin))
    assignment = propose_assignment(scan, "case01")
    assert Sequence.T1 not in assignment.roles
    assert assignment.conflicts[Sequence.T1] == (case_folder.uids["t1"], "1.2.3.4")
    assert "series 12 'SAG T1 SE'" in assignment.reasons["1.2.3.4"]
    assert classify(twin).sequence is Sequence.T1


def test_a_folder_without_dicom_is_one_clear_error(tmp_path):
    import pytest

    from corebt_viewer.core.errors import InputError

    (tmp_path / "notes.txt").write_text("x")
    assert not has_dicom_files(tmp_path)
    with pytest.raises(InputError, match="no DICOM image found among 1 files"):
        scan_folder(tmp_path)
