"""corebt coregister: rigid transforms written beside the case, used when loading, stale ones not."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.core.case import Case
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.nifti import load_case_mri
from corebt_viewer.io.registration import rigid_matrix
from corebt_viewer.io.resample import resample_to_grid
from corebt_viewer.services.native_space import load_registered_study, registration_dir
from tests.clinical_mri_data import small_case_from, write_volume


@pytest.fixture(scope="module")
def small(shared_data):
    return small_case_from(shared_data)


def corr(a, b) -> float:
    inside = (a > 0) | (b > 0)
    return float(np.corrcoef(a[inside], b[inside])[0, 1])


def test_coregister_writes_transforms_and_loading_uses_them(tmp_path, small, capsys):
    centre = small.affine @ np.r_[(np.asarray(small.shape) - 1) / 2, 1.0]
    moved = rigid_matrix((0.0, 0.0, 8.0), (6.0, -5.0, 4.0), centre[:3])  # the patient moved
    case_dir = tmp_path / "P1"
    t1c = write_volume(case_dir / "t1c.nii.gz", small.volumes["t1c"], small.affine)
    displaced = resample_to_grid(
        small.volumes["t1c"],
        small.affine,
        small.shape,
        small.affine,
        transform=np.linalg.inv(moved),
    )
    # a second T1c acquisition standing in for the T1 (same contrast: the truth is exact)
    t1 = write_volume(case_dir / "t1.nii.gz", displaced, small.affine)
    case = Case("P1", mri={Sequence.T1: t1, Sequence.T1C: t1c})
    before = load_case_mri(case).volumes[Sequence.T1].data
    assert corr(before, small.volumes["t1c"]) < 0.8  # scanner coordinates disagree
    assert main(["coregister", str(tmp_path), "--threads", "2"]) == 0
    out = capsys.readouterr().out
    said = re.search(r"P1 t1 -> t1c: rotation ([0-9.]+) deg", out)
    assert said and abs(float(said.group(1)) - 8.0) < 1.0, out  # the truth: 8 degrees
    record_path = registration_dir(tmp_path, "P1") / "t1_to_t1c.json"
    record = json.loads(record_path.read_text())
    assert record["metric_after"] < record["metric_before"]
    assert (record_path.with_suffix(".tfm")).is_file()
    study = load_registered_study(cohort_root=tmp_path, case=case)
    after = study.volumes[Sequence.T1].data
    assert corr(after, small.volumes["t1c"]) > 0.97
    note = study.notes["t1"]
    angle = re.search(r"rotation ([0-9.]+)", note)
    assert "registration transform" in note and abs(float(angle.group(1)) - 8.0) < 1.0
    os.utime(t1, ns=(1, 1))  # the source changed: the transform is not used, and it is said
    stale = load_registered_study(cohort_root=tmp_path, case=case)
    assert "changed since registration; not used" in stale.notes["registration0"]
    assert corr(stale.volumes[Sequence.T1].data, small.volumes["t1c"]) < 0.8
