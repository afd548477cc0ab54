"""The assignment file: saved under .corebt, honoured by later reads, checked on load."""

from __future__ import annotations

import json

import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom import (
    assignment_path,
    change_assignment,
    load_assignment,
    propose_assignment,
    save_assignment,
    scan_folder,
)


@pytest.fixture(scope="module")
def scan(case_folder):
    return scan_folder(case_folder.folder)


def test_saved_changes_are_what_a_later_load_returns(case_folder, scan, tmp_path):
    proposed = propose_assignment(scan, "case01")
    changed = change_assignment(proposed, scan, {"t1": 9, Sequence.FLAIR: None})
    assert changed.roles[Sequence.T1] == case_folder.uids["derived"]
    assert Sequence.FLAIR not in changed.roles and changed.confirmed
    path = save_assignment(changed, scan, assignment_path(tmp_path, "case 01/x"))
    assert path == tmp_path / ".corebt" / "dicom" / "case_01_x" / "assignment.json"
    doc = json.loads(path.read_text())
    assert doc["roles"]["t1"] == case_folder.uids["derived"] and doc["roles"]["flair"] is None
    statuses = {e["number"]: e["status"] for e in doc["series"]}
    assert statuses == {1: "skipped", 2: "unassigned", 3: "t1c", 4: "t2", 5: "unassigned", 9: "t1"}
    loaded = load_assignment(path, scan)
    assert loaded.roles == changed.roles and loaded.confirmed
    assert loaded.reasons[case_folder.uids["derived"]] == "T1 chosen by the user"


def test_a_series_given_two_sequences_or_unknown_names_are_refused(scan):
    proposed = propose_assignment(scan, "case01")
    with pytest.raises(InputError, match="series 2 'AX T1 SE' is assigned to two sequences"):
        change_assignment(proposed, scan, {"t2": "2"})
    with pytest.raises(InputError, match="unknown sequence 'dwi'"):
        change_assignment(proposed, scan, {"dwi": "2"})
    with pytest.raises(InputError, match="no DICOM series with UID or number 77"):
        change_assignment(proposed, scan, {"t2": 77})


def test_a_saved_series_that_is_gone_is_one_clear_error(scan, tmp_path):
    path = save_assignment(propose_assignment(scan, "c"), scan, tmp_path / "a.json")
    doc = json.loads(path.read_text())
    doc["roles"]["t2"] = "1.2.3.999"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"assigns T2 to series 1\.2\.3\.999, which .* no longer"):
        load_assignment(path, scan)
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot read the DICOM assignment"):
        load_assignment(path, scan)
