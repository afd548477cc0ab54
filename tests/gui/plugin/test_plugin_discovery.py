"""The case reader opens any folder discovery reads: TCGA-style, plain names, DICOM."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.gui.plugin.readers import get_case_reader, read_case

pytest.importorskip("pydicom")

CROP = (slice(60, 180, 6), slice(60, 180, 6), slice(40, 120, 8))  # 20 x 20 x 10
NAMES = {"t1": "t1", "t1c": "t1c", "t2": "t2", "flair": "fla"}


@pytest.fixture(scope="module")
def small_real(real_mri_dir):
    """Cropped, strided copies of the real TCGA-DU-7294 sequences: sequence -> image."""
    import nibabel as nib

    return {
        key: nib.load(real_mri_dir / f"TCGA-DU-7294_{suffix}_bet.nii.gz").slicer[CROP]
        for key, suffix in NAMES.items()
    }


def _sequences(layers):
    return [lay[1]["metadata"]["corebt"]["sequence"] for lay in layers if lay[2] == "image"]


def test_tcga_and_plain_folders_open(tmp_path, small_real):
    import nibabel as nib

    tcga = tmp_path / "TCGA-AB-0001"
    plain = tmp_path / "patient7"
    for folder in (tcga, plain):
        folder.mkdir()
    for key, img in small_real.items():
        nib.save(img, tcga / f"TCGA-AB-0001_{NAMES[key]}_bet.nii.gz")
        nib.save(img, plain / f"{'t1ce' if key == 't1c' else key}.nii.gz")
    for folder, case in ((tcga, "TCGA-AB-0001"), (plain, "patient7")):
        assert get_case_reader(str(folder)) is read_case
        layers = read_case(str(folder))
        assert _sequences(layers) == ["t1", "t1c", "t2", "flair"]
        assert {lay[1]["metadata"]["corebt"]["case"] for lay in layers} == {case}


def test_dicom_folder_opens(tmp_path, small_real):
    from tests.io.dicom._dicom_writer import write_classic

    folder = tmp_path / "pacs_export"
    meta = {
        "t1": {"description": "AX T1", "te": 12.0, "tr": 500.0},
        "t1c": {"description": "AX T1 POST", "agent": "Gadovist", "te": 12.0, "tr": 500.0},
        "t2": {"description": "AX T2", "te": 100.0, "tr": 4000.0},
        "flair": {"description": "AX FLAIR", "te": 120.0, "tr": 9000.0, "ti": 2500.0},
    }
    for number, (key, img) in enumerate(small_real.items(), start=2):
        data = np.asarray(img.dataobj).astype(np.int16)
        write_classic(folder, data, img.affine, name=lambda k, n=number: f"x{n}_{k}",
                      number=number, **meta[key])  # fmt: skip
    assert get_case_reader(str(folder)) is read_case
    layers = read_case(str(folder))
    assert _sequences(layers) == ["t1", "t1c", "t2", "flair"]
    assert {lay[1]["metadata"]["corebt"]["case"] for lay in layers} == {"pacs_export"}
    assert (folder / ".corebt/dicom/pacs_export/t1c.json").is_file()  # provenance kept
