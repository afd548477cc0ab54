"""DICOM test folders written from the real TCGA-DU-7294 NIfTI files (cropped, 4x strided)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pydicom")

from _dicom_writer import write_classic, write_enhanced  # noqa: E402

CROP = (slice(40, 200, 4), slice(40, 200, 4), slice(20, 140, 4))  # 40 x 40 x 30


@dataclass
class Source:
    """A cropped sequence: its NIfTI image (the truth) and int16 voxels."""

    image: object
    data: np.ndarray
    affine: np.ndarray


def rotation_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return rot


@pytest.fixture(scope="session")
def sources(real_mri_dir: Path) -> dict[str, Source]:
    import nibabel as nib

    out = {}
    for key, suffix in (("t1", "t1"), ("t1c", "t1c"), ("t2", "t2"), ("flair", "fla")):
        img = nib.load(real_mri_dir / f"TCGA-DU-7294_{suffix}_bet.nii.gz").slicer[CROP]
        data = np.asarray(img.dataobj).astype(np.int16)
        out[key] = Source(nib.Nifti1Image(data, img.affine), data, img.affine.copy())
    return out


@dataclass
class CaseFolder:
    folder: Path
    truth: dict[str, Path]  # sequence -> truth NIfTI file (what the DICOM series must read as)
    uids: dict[str, str]  # name -> SeriesInstanceUID


@pytest.fixture(scope="session")
def case_folder(tmp_path_factory, sources) -> CaseFolder:
    """A patient folder: four sequences stored four ways, a localizer, a derived series."""
    import nibabel as nib

    root = tmp_path_factory.mktemp("dicom")
    folder = root / "cohort" / "case01"
    truth_dir = root / "truth"
    truth_dir.mkdir()
    uids, truth = {}, {}
    s = sources
    uids["t1"] = write_classic(
        folder,
        s["t1"].data,
        s["t1"].affine,
        name=lambda k: f"study/x/flair_{k:03d}.dcm",
        number=2,
        description="AX T1 SE",
        te=12.0,
        tr=500.0,
    )
    order = np.random.default_rng(0).permutation(s["t1c"].data.shape[2])
    uids["t1c"] = write_enhanced(
        folder / "deep" / "er" / "T2_export.dcm",
        s["t1c"].data,
        s["t1c"].affine,
        order=order,
        number=3,
        description="AX 3D",
        protocol="t1_mprage_tra",
        agent="Gadovist",
        te=3.0,
        tr=2000.0,
        ti=900.0,
        slope=0.5,
        intercept=-10.0,
    )
    coronal = s["t2"].data.transpose(0, 2, 1)
    uids["t2"] = write_classic(
        folder,
        coronal,
        s["t2"].affine[:, [0, 2, 1, 3]],
        name=lambda k: f"{'ab'[k % 2]}/{(k * 7919) % 10007:05x}",
        number=4,
        description="COR T2 TSE",
        te=100.0,
        tr=4000.0,
    )
    oblique = rotation_z(10.0) @ s["flair"].affine
    uids["flair"] = write_classic(
        folder,
        s["flair"].data,
        oblique,
        name=lambda k: f"a/b/c/IMG{k}",
        number=5,
        description="Brain 7",
        te=120.0,
        tr=9000.0,
        ti=2500.0,
    )
    loc = s["t1"].data[:, :, 10:13]
    uids["localizer"] = write_classic(
        folder,
        loc,
        s["t1"].affine,
        name=lambda k: f"t1/loc{k}.dcm",
        number=1,
        description="3-plane loc",
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
        te=2.0,
        tr=8.0,
    )
    uids["derived"] = write_classic(
        folder,
        s["t1"].data[:, :, :5],
        s["t1"].affine,
        name=lambda k: f"t1c/{k}.dcm",
        number=9,
        description="T1 MPR COR",
        image_type=("DERIVED", "SECONDARY", "MPR"),
    )
    (folder / "README.txt").write_text("exported from PACS\n")
    for key in ("t1", "t1c", "t2"):
        truth[key] = truth_dir / f"{key}.nii.gz"
        img = s[key].image
        if key == "t1c":
            img = nib.Nifti1Image(s[key].data * 0.5 - 10.0, s[key].affine)
        nib.save(img, truth[key])
    truth["flair"] = truth_dir / "flair.nii.gz"
    nib.save(nib.Nifti1Image(s["flair"].data, oblique), truth["flair"])
    return CaseFolder(folder, truth, uids)
