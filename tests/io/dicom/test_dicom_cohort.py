"""DICOM cases in a cohort: discovery, `corebt scan`, the manifest, loading and embedding."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
from _dicom_writer import SECRETS, write_classic

from corebt_viewer.cli.main import main
from corebt_viewer.core.modalities import Modality, Sequence
from corebt_viewer.io.discovery import scan_folder
from corebt_viewer.io.manifest import read_manifest
from corebt_viewer.io.nifti import load_case_mri


@pytest.fixture()
def cohort(tmp_path, case_folder, sources):
    """One plain-named NIfTI case and one DICOM case (misleading names, a localizer)."""
    root = tmp_path / "cohort"
    plain = root / "plain01"
    plain.mkdir(parents=True)
    for key, name in (("t1", "t1"), ("t1c", "t1ce"), ("t2", "t2w"), ("flair", "flair")):
        nib.save(sources[key].image, plain / f"{name}.nii.gz")
    shutil.copytree(case_folder.folder, root / "pacs_b")
    return root


def test_scan_lists_the_nifti_and_the_dicom_case(cohort, capsys):
    assert main(["scan", str(cohort)]) == 0
    out = capsys.readouterr().out
    assert f"{cohort}: 2 case(s)" in out
    assert "  plain01\n" in out and "  pacs_b\n" in out
    assert "t1c    .corebt/dicom/pacs_b/t1c.nii.gz -- DICOM series 3 'AX 3D'" in out
    assert "(30 images, enhanced)" in out and "proposed by the rules" in out
    assert "series 1 '3-plane loc': skipped: ImageType says LOCALIZER" in out
    assert "series 9 'T1 MPR COR': skipped: derived image" in out
    assert "README.txt -- DICOM case pacs_b: not a DICOM file" in out
    assert not any(secret in out for secret in SECRETS)
    provenance = json.loads((cohort / ".corebt/dicom/pacs_b/t1c.json").read_text())
    assert provenance["series"]["number"] == 3
    assert not any(secret in json.dumps(provenance) for secret in SECRETS)


def test_dicom_case_loads_like_native_nifti(cohort, case_folder):
    case = scan_folder(cohort).cohort["pacs_b"]
    assert set(case.mri) == set(Sequence)
    study = load_case_mri(case)
    assert not study.errors and list(study.volumes) == list(Sequence)
    t1c = nib.as_closest_canonical(nib.load(case_folder.truth["t1c"]))
    for volume in study.volumes.values():  # all on the T1c grid
        assert volume.shape == t1c.shape
        assert np.allclose(volume.affine, t1c.affine, atol=1e-3)
    assert "onto the t1c grid" in study.notes["flair"]  # the oblique FLAIR was resampled
    truth = np.asarray(t1c.dataobj, np.float32)
    assert np.allclose(study.volumes[Sequence.T1C].data, truth, atol=1e-3)


def test_assign_is_saved_and_honoured_by_later_reads(cohort, capsys):
    args = ["scan", str(cohort), "--assign", "flair=2", "--assign", "t1=5"]
    assert main([*args, "--case", "pacs_b"]) == 0
    out = capsys.readouterr().out
    assert "assignment saved" in out or "(assignment saved" in out
    choices = scan_folder(cohort).choices["pacs_b"]
    assert "series 2 'AX T1 SE'" in choices["flair"].reason
    assert "chosen by the user; saved assignment" in choices["flair"].reason
    assert "series 5 'Brain 7'" in choices["t1"].reason
    flair = json.loads((cohort / ".corebt/dicom/pacs_b/flair.json").read_text())
    assert flair["series"]["number"] == 2  # the derived file follows the new choice


def test_write_manifest_then_embed_the_dicom_case(cohort, tmp_path, capsys):
    assert main(["scan", str(cohort), "--write-manifest"]) == 0
    loaded, problems = read_manifest(cohort, strict=False)
    assert not problems and loaded["pacs_b"].mri[Sequence.T2].name == "t2.nii.gz"
    text = (cohort / "manifest.csv").read_text()
    assert "pacs_b,,,,.corebt/dicom/pacs_b/t1.nii.gz," in text
    status = main(
        [
            "embed", str(cohort), "--modalities", "mri", "--report-encoder", "hashing-tfidf",
            "--device", "cpu", "--workers", "1", "--cache-dir", str(tmp_path / "cache"),
        ]
    )  # fmt: skip
    assert status == 0
    from corebt_viewer.services.embedding import load_cohort_embeddings

    out = capsys.readouterr().out
    assert "failures: 0" in out
    embeddings = load_cohort_embeddings(cohort=cohort, profile=None, cache_dir=tmp_path / "cache")
    assert set(embeddings) == {"plain01", "pacs_b"}
    parts = embeddings["pacs_b"].parts[Modality.MRI]
    assert parts.labels == ("t1", "t1c", "t2", "flair")  # the four DICOM series
    assert np.isfinite(embeddings["pacs_b"].vectors[Modality.MRI]).all()


def test_bad_dicom_cases_are_reported_per_case_and_the_rest_goes_on(cohort, sources, capsys):
    t1, t2 = sources["t1"], sources["t2"]
    gap = cohort / "gap_case"
    write_classic(gap, t1.data[:, :, :8], t1.affine, number=2, description="AX T1", te=12.0,
                  tr=500.0, skip={4})  # fmt: skip
    write_classic(gap / "t2", t2.data[:, :, :6], t2.affine, number=4, description="AX T2",
                  te=100.0, tr=4000.0)  # fmt: skip
    mixed = cohort / "mixed_case"
    write_classic(mixed / "a", t1.data[:, :, :4], t1.affine, number=2, description="AX T1")
    write_classic(mixed / "b", t2.data[:, :, :4], t2.affine, number=4, description="AX T2",
                  patient={"PatientID": "OTHER-77", "PatientName": "Other^Person"})  # fmt: skip
    spaced = cohort / "spacing_case"
    lps_z = [0.0, 4.0, 8.0, 12.0, 17.0, 21.0]
    positions = [[-t1.affine[0, 3], -t1.affine[1, 3], z] for z in lps_z]
    write_classic(spaced, t1.data[:, :, :6], t1.affine, number=2, description="AX T1",
                  te=12.0, tr=500.0, positions=positions)  # fmt: skip
    assert main(["scan", str(cohort), "--write-manifest"]) == 2
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith("problem:")]
    assert len(problems) == 3, problems
    text = "\n".join(problems)
    assert "gap_case" in text and "series 2 'AX T1' is missing slices" in text
    assert "mixed_case" in text and "holds images of 2 different patients" in text
    assert "spacing_case" in text and "inconsistent slice spacing" in text
    assert "Other^Person" not in out and "OTHER-77" not in out
    loaded, _ = read_manifest(cohort, strict=False)
    assert set(loaded.ids) == {"plain01", "pacs_b", "gap_case"}
    assert set(loaded["gap_case"].mri) == {Sequence.T2}  # the readable series stays usable


def test_two_series_for_one_role_is_an_error_naming_both(tmp_path, sources, capsys):
    t1 = sources["t1"]
    case = tmp_path / "cohort" / "twice"
    for number, folder in ((3, "x"), (6, "y")):
        write_classic(case / folder, t1.data[:, :, :5], t1.affine, number=number,
                      description="AX T1 POST", agent="Gd", te=12.0, tr=500.0)  # fmt: skip
    assert main(["scan", str(case.parent)]) == 2
    out = capsys.readouterr().out
    assert (
        "twice t1c" in out
        and "two series for T1c: series 3 'AX T1 POST' and series 6 'AX T1 POST'; neither is used"
        in out
    )
    assert main(["scan", str(case.parent), "--assign", "t1c=6"]) == 0
    capsys.readouterr()
    choice = scan_folder(case.parent).choices["twice"]["t1c"]
    assert "series 6 'AX T1 POST'" in choice.reason


def test_a_saved_change_reaches_the_manifest_files_at_once(cohort):
    from corebt_viewer.services.dicom import open_dicom_case, save_dicom_assignment

    assert main(["scan", str(cohort), "--write-manifest"]) == 0
    dicom_case = open_dicom_case(folder=cohort / "pacs_b", cohort_root=cohort)
    saved = save_dicom_assignment(dicom_case=dicom_case, changes={"t2": None, "t1": 5, "flair": 2})
    assert saved.removed == {"t2": "no series assigned to T2"}
    loaded, problems = read_manifest(cohort, strict=False)
    assert [p.role for p in problems] == ["t2"]  # the old T2 file is gone, not read silently
    t1 = json.loads((cohort / ".corebt/dicom/pacs_b/t1.json").read_text())
    assert t1["series"]["number"] == 5
