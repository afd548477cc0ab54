"""The DICOM service and the `corebt scan` hook (kept here, beside the DICOM test data)."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from _dicom_writer import SECRETS, write_classic

from corebt_viewer.cli.dicom_scan import run_dicom_scan
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.services.dicom import (
    load_dicom_volumes,
    open_dicom_case,
    save_dicom_assignment,
)


def test_scan_hook_lists_saves_and_a_later_open_honours_the_choice(case_folder, tmp_path):
    out = io.StringIO()
    status = run_dicom_scan(folder=case_folder.folder, cohort_root=tmp_path, out=out)
    text = out.getvalue()
    assert status == 0
    assert "case01: DICOM folder" in text and "proposed by the rules, not saved" in text
    assert "     3  T1c         30 images (enhanced)  AX 3D" in text
    assert "skipped file README.txt: not a DICOM file" in text
    assert not (tmp_path / ".corebt").exists()
    out = io.StringIO()
    status = run_dicom_scan(
        folder=case_folder.folder, cohort_root=tmp_path, assign=["flair="], out=out
    )
    assert status == 1 and "not assigned: FLAIR" in out.getvalue()
    case = open_dicom_case(folder=case_folder.folder, cohort_root=tmp_path)
    assert case.saved and case.assignment.confirmed
    assert Sequence.FLAIR not in case.assignment.roles
    result = load_dicom_volumes(dicom_case=case)
    assert list(result.volumes) == [Sequence.T1, Sequence.T1C, Sequence.T2]
    assert result.errors == {"flair": f"{case_folder.folder}: no series assigned to FLAIR"}


def test_volumes_are_read_and_written_as_derived_nifti(case_folder, tmp_path):
    case = open_dicom_case(folder=case_folder.folder, cohort_root=tmp_path, case="P1")
    progress = []
    result = load_dicom_volumes(
        dicom_case=case, cohort_root=tmp_path, write_nifti=True, progress=progress.append
    )
    assert not result.errors and list(result.volumes) == list(Sequence)
    assert result.derived[Sequence.T2] == tmp_path / ".corebt/dicom/P1/t2.nii.gz"
    assert result.derived[Sequence.T2].with_suffix("").with_suffix(".json").exists()
    assert progress[-1].done == progress[-1].total == 4


def test_a_broken_series_leaves_the_others_usable(tmp_path, sources):
    t1, t2 = sources["t1"], sources["t2"]
    write_classic(
        tmp_path / "d" / "a", t1.data[:, :, :6], t1.affine, number=2, description="AX T1", skip={3}
    )
    write_classic(tmp_path / "d" / "b", t2.data[:, :, :6], t2.affine, number=3, description="AX T2")
    case = open_dicom_case(folder=tmp_path / "d", cohort_root=tmp_path)
    result = load_dicom_volumes(dicom_case=case)
    assert list(result.volumes) == [Sequence.T2]
    assert "series 2 'AX T1' is missing slices" in result.errors["t1"]
    assert result.errors["t1c"].endswith("no series assigned to T1c")


def test_nothing_identifying_leaves_the_reader(case_folder, tmp_path, caplog, capsys, sources):
    caplog.set_level(logging.DEBUG)
    run_dicom_scan(folder=case_folder.folder, cohort_root=tmp_path, save=True)
    case = open_dicom_case(folder=case_folder.folder, cohort_root=tmp_path)
    case = save_dicom_assignment(dicom_case=case, changes={"t1": "2"})
    result = load_dicom_volumes(dicom_case=case, cohort_root=tmp_path, write_nifti=True)
    texts = [capsys.readouterr().out, caplog.text, repr(case), repr(result.errors)]
    texts += [p.read_text() for p in (tmp_path / ".corebt").rglob("*.json")]
    texts += [repr(v) for v in case.scan.series]
    # errors: mixed patients, and a bad series
    t1 = sources["t1"]
    mixed = tmp_path / "mixed"
    write_classic(mixed / "a", t1.data[:, :, :3], t1.affine, number=1, description="A")
    write_classic(
        mixed / "b",
        t1.data[:, :, :3],
        t1.affine,
        number=2,
        description="B",
        patient={"PatientID": "ZZ-OTHER-77", "PatientName": "Otherperson^Yy"},
    )
    with pytest.raises(InputError) as err:
        open_dicom_case(folder=mixed, cohort_root=tmp_path)
    texts.append(str(err.value))
    assert "2 different patients" in texts[-1]
    for text in texts:
        for secret in (*SECRETS, "ZZ-OTHER", "Otherperson"):
            assert secret not in text
    assert len(texts) > 8 and all(isinstance(t, str) for t in texts)
    assert json.loads((tmp_path / ".corebt/dicom/case01/t1.json").read_text())["series"]
    assert np.isfinite(result.volumes[Sequence.T1].data).all()
