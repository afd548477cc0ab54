"""Discovery of real folders: every naming style, ambiguities, unmatched files, scan and info."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.discovery import scan_folder
from corebt_viewer.io.manifest import read_cohort
from corebt_viewer.io.nifti import load_case_mri
from tests.clinical_mri_data import small_case_from, write_mask, write_volume

#: style -> (folder, role -> file name); every style must give one case with 4 sequences + mask
STYLES = {
    "plain folder": (
        "P01",
        {"t1": "t1", "t1c": "t1ce", "t2": "t2", "flair": "flair", "seg": "seg"},
    ),
    "bids-like": (
        "P02",
        {
            "t1": "P02_T1w",
            "t1c": "P02_T1gd",
            "t2": "P02_T2w",
            "flair": "P02_FLAIR",
            "seg": "P02_tumor",
        },
    ),
    "tcia bet": (
        "TCGA-XX-0001",
        {
            "t1": "TCGA-XX-0001_t1_bet",
            "t1c": "TCGA-XX-0001_t1c_bet",
            "t2": "TCGA-XX-0001_t2_bet",
            "flair": "TCGA-XX-0001_fla_bet",
            "seg": "TCGA-XX-0001_seg_fusion_mav",
        },
    ),
    "brats2021": (
        "BraTS2021_00003",
        {
            "t1": "BraTS2021_00003_t1",
            "t1c": "BraTS2021_00003_t1ce",
            "t2": "BraTS2021_00003_t2",
            "flair": "BraTS2021_00003_flair",
            "seg": "BraTS2021_00003_seg",
        },
    ),
    "brats2023": (
        "BraTS-GLI-00004-000",
        {
            "t1": "BraTS-GLI-00004-000-t1n",
            "t1c": "BraTS-GLI-00004-000-t1c",
            "t2": "BraTS-GLI-00004-000-t2w",
            "flair": "BraTS-GLI-00004-000-t2f",
            "seg": "BraTS-GLI-00004-000-seg",
        },
    ),
    "series numbers": (
        "P05",
        {"t1": "3_T1_pre", "t1c": "7_t1_post_gad", "t2": "5_t2", "flair": "9_T2F", "seg": "mask"},
    ),
    "contrast words": (
        "P06",
        {
            "t1": "p06-t1-native",
            "t1c": "p06-t1-contrast",
            "t2": "p06-t2w",
            "flair": "p06-fla",
            "seg": "p06-label",
        },
    ),
}


@pytest.fixture(scope="module")
def small(shared_data):
    return small_case_from(shared_data)


def write_style(root: Path, folder: str, names: dict[str, str], small, flat: bool = False) -> None:
    base = root if flat else root / folder
    for role, name in names.items():
        if role == "seg":
            write_mask(base / f"{name}.nii.gz", small.seg, small.affine)
        else:
            write_volume(base / f"{name}.nii.gz", small.volumes[role], small.affine, np.int16)


def test_every_style_gives_one_complete_case(tmp_path: Path, small):
    for folder, names in STYLES.values():
        write_style(tmp_path, folder, names, small)
    # files prefixed with the case id, all in one flat folder with two cases
    for pid in ("FLAT1", "FLAT2"):
        write_style(
            tmp_path / "flat",
            pid,
            {r: f"{pid}_{w}" for r, w in STYLES["plain folder"][1].items()},
            small,
            flat=True,
        )
    scan = scan_folder(tmp_path)
    assert scan.problems == [] and scan.unmatched == ()
    expected = sorted([folder for folder, _ in STYLES.values()] + ["FLAT1", "FLAT2"])
    assert list(scan.cohort.ids) == expected
    for case in scan.cohort:
        assert case.has_complete_mri and case.segmentation is not None, case
        assert set(scan.choices[case.patient_id]) == {"t1", "t1c", "t2", "flair", "seg"}
    for style, (folder, names) in STYLES.items():
        case = scan.cohort[folder]
        for role, name in names.items():
            path = case.segmentation if role == "seg" else case.mri[Sequence(role)]
            assert path.name == f"{name}.nii.gz", (style, role)
    why = scan.choices["P05"]["t1c"].reason
    assert "t1_post_gad" in why and "named after the folder 'P05'" in why
    study = load_case_mri(scan.cohort["TCGA-XX-0001"])
    assert study.sequences == (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR)
    assert not study.errors and not study.notes


def test_real_tcia_folder_is_one_case_with_four_sequences(shared_data):
    scan = scan_folder(shared_data / "mri")
    (case,) = scan.cohort
    assert case.patient_id == "TCGA-DU-7294" and case.has_complete_mri
    assert case.mri[Sequence.FLAIR].name == "TCGA-DU-7294_fla_bet.nii.gz"
    assert case.segmentation.name == "TCGA-DU-7294_seg_fusion_mav.nii.gz"


def test_ambiguity_names_both_files_and_unmatched_files_are_listed(tmp_path: Path, small):
    write_style(tmp_path, "P1", {"t1": "t1", "t2": "t2", "flair": "flair"}, small)
    write_volume(tmp_path / "P1" / "T1w.nii.gz", small.volumes["t1"], small.affine)
    write_volume(tmp_path / "P1" / "localizer.nii.gz", small.volumes["t2"], small.affine)
    (tmp_path / "P1" / "dicom_header.json").write_text("{}")
    scan = scan_folder(tmp_path)
    (problem,) = scan.problems
    assert problem.role == "t1" and problem.patient_id == "P1"
    assert "T1w.nii.gz" in problem.problem and "t1.nii.gz" in problem.problem
    assert Sequence.T1 not in scan.cohort["P1"].mri  # neither is guessed
    reasons = {u.path.name: u.reason for u in scan.unmatched}
    assert "no sequence or mask word" in reasons["localizer.nii.gz"]
    assert "not an MRI" in reasons["dicom_header.json"]
    assert "ambiguous t1" in reasons["T1w.nii.gz"]
    with pytest.raises(Exception, match="two files for t1"):
        read_cohort(tmp_path)  # strict opening refuses; scan and info list it


def test_scan_writes_the_manifest_round_trip_and_info_explains(tmp_path: Path, small, capsys):
    folder, names = STYLES["tcia bet"]
    write_style(tmp_path, folder, names, small)
    write_style(tmp_path, "P01", STYLES["plain folder"][1], small)
    (tmp_path / "P01" / "notes.docx").write_bytes(b"x")
    assert main(["scan", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "notes.docx -- not an MRI" in out and not (tmp_path / "manifest.csv").exists()
    assert main(["scan", str(tmp_path), "--write-manifest"]) == 0
    manifest = tmp_path / "manifest.csv"
    from_manifest = read_cohort(tmp_path)
    from_names = scan_folder(tmp_path).cohort
    assert from_manifest.manifest == manifest and from_manifest.ids == from_names.ids
    for a, b in zip(from_manifest, from_names, strict=True):
        assert dict(a.mri) == dict(b.mri) and a.segmentation == b.segmentation
    assert "TCGA-XX-0001/TCGA-XX-0001_fla_bet.nii.gz" in manifest.read_text()  # relative paths
    manifest.write_text(manifest.read_text() + "# edited\n")
    assert main(["scan", str(tmp_path), "--write-manifest"]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err and "# edited" in manifest.read_text()
    assert main(["scan", str(tmp_path), "--write-manifest", "--force"]) == 0
    assert "# edited" not in manifest.read_text()
    manifest.unlink()
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cases: 2" in out and "  TCGA-XX-0001" in out
    assert "flair  TCGA-XX-0001/TCGA-XX-0001_fla_bet.nii.gz -- word 'fla' names flair" in out
