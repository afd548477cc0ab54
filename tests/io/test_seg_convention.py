"""The BraTS label convention comes from evidence: manifest, then labels, then the file
name's layout; an assumption is stated; a 2023 file is never written with label 4."""

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.segmentation import LabelConvention, Region, decide_convention
from corebt_viewer.io import mask_versions as mv


def write_mask(path, values):
    data = np.zeros((6, 5, 4), dtype=np.uint8)
    for i, v in enumerate(values):
        data[i, 1:3, 1:3] = v
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    return path


def test_a_2023_mask_without_enhancing_tumour_saved_after_painting_it_holds_3(tmp_path):
    original = write_mask(tmp_path / "BraTS-GLI-00001-000-seg.nii.gz", [1, 2])
    seg = mv.read_mask(original)
    assert seg.convention is LabelConvention.BRATS_2023 and seg.convention_source == "layout"
    labels = seg.labels.copy()
    labels[4, 1:3, 1:3] = int(Region.ENHANCING)  # paint enhancing tumour
    saved = mv.save_version(labels, original=original, convention=seg.convention)
    values = set(np.unique(np.asarray(nib.load(str(saved.version.path)).dataobj)).tolist())
    assert values == {0, 1, 2, 3}
    # with no convention given, the file's own evidence (its 2023 name) is used
    again = mv.encode_mask_like(labels, original)
    (tmp_path / "again.nii.gz").write_bytes(again)
    assert 4 not in np.unique(np.asarray(nib.load(str(tmp_path / "again.nii.gz")).dataobj))


def test_evidence_order_and_the_stated_assumption(tmp_path):
    plain = write_mask(tmp_path / "case_seg.nii.gz", [1, 2])
    seg = mv.read_mask(plain)
    assert seg.convention is LabelConvention.BRATS_2021 and seg.convention_source == "assumed"
    assert "assumed" in seg.convention_note and "seg_convention" in seg.convention_note
    declared = mv.read_mask(plain, declared="brats2023")
    assert declared.convention is LabelConvention.BRATS_2023
    assert declared.convention_source == "manifest" and not declared.convention_note
    assert decide_convention({0, 4}, file_name="x-seg.nii.gz").source == "labels"
    with_4 = write_mask(tmp_path / "four_seg.nii.gz", [1, 4])
    with pytest.raises(InputError, match="declares brats2023"):
        mv.read_mask(with_4, declared="brats2023")


def test_validate_states_the_assumption_and_reads_the_column(tmp_path, capsys):
    from corebt_viewer.cli.main import main

    write_mask(tmp_path / "a_seg.nii.gz", [1, 2])
    write_mask(tmp_path / "b_seg.nii.gz", [1, 2])
    (tmp_path / "report.txt").write_text("report text\n")
    (tmp_path / "manifest.csv").write_text(
        "patient_id,seg,report,seg_convention\n"
        "A,a_seg.nii.gz,report.txt,\n"
        "B,b_seg.nii.gz,report.txt,brats2023\n"
    )
    assert main(["validate", str(tmp_path)]) == 0
    err = capsys.readouterr().err  # notes go to stderr: stdout has one line per problem
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "a_seg.nii.gz" in notes[0] and "BraTS 2021 assumed" in notes[0]
