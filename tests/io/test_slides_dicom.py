"""DICOM whole-slide images: a folder of instances opens as one slide, in a manifest, in
discovery and through open_slide (OpenSlide 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.discovery import discover_cohort
from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_manifest
from corebt_viewer.io.slides import open_slide
from corebt_viewer.io.slides.dicom import find_dicom_wsi_file, is_dicom_folder
from tests.io.dicom_wsi import write_dicom_wsi


@pytest.fixture(scope="module")
def svs_pixels(svs_path):
    with open_slide(svs_path) as slide:  # a 1024 x 768 piece of it, tissue included
        return slide.read_region((600, 900), 0, (1024, 768)), slide.mpp


@pytest.fixture(scope="module")
def dicom_folder(svs_pixels, tmp_path_factory) -> Path:
    """Real Aperio pixels written as a 2-level DICOM-WSI series (pydicom, JPEG frames)."""
    image, mpp = svs_pixels
    return write_dicom_wsi(tmp_path_factory.mktemp("dicom") / "CMU-1-dicom", image, mpp=mpp)


def _non_wsi_dicom(path: Path) -> Path:
    """A DICOM file that is not a slide (a secondary-capture header without pixels)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, generate_uid()
    ds.Modality = "OT"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_openslide_opens_the_dicom_folder_through_our_reader(dicom_folder, svs_pixels):
    image, mpp = svs_pixels
    with open_slide(dicom_folder) as slide:
        assert slide.vendor == "dicom" and slide.path == dicom_folder
        assert slide.dimensions == (image.shape[1], image.shape[0])
        assert slide.level_count == 2 and slide.mpp == pytest.approx(mpp)
        region = slide.read_region((500, 300), 0, (300, 300)).astype(int)
        assert (
            np.abs(region - image[300:600, 500:800]).mean() < 8
        )  # JPEG round trip (a shift of one pixel: > 10)
        assert slide.read_region((0, 0), 1, (64, 64)).shape == (64, 64, 3)
    # one file of the series opens the whole series too
    with open_slide(find_dicom_wsi_file(dicom_folder)) as slide:
        assert slide.level_count == 2


def test_folders_that_are_not_dicom_slides_are_refused_by_name(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: a folder, not a slide"):
        open_slide(empty)
    other = _non_wsi_dicom(tmp_path / "ct" / "a.dcm").parent
    assert is_dicom_folder(other) and find_dicom_wsi_file(other) is None
    with pytest.raises(InputError, match="none is a whole-slide image"):
        open_slide(other)


def test_manifest_and_discovery_take_a_dicom_folder_as_a_slide(dicom_folder, tmp_path):
    cohort_root = tmp_path / "cohort"
    case_dir = cohort_root / "BraTS2021_00009"
    shutil.copytree(dicom_folder, case_dir / "BraTS2021_00009_wsi")
    (case_dir / "BraTS2021_00009_t1.nii.gz").write_bytes(b"")  # named only: discovery
    (case_dir / "BraTS2021_00009_notes").mkdir()  # a plain folder is not a slide
    cohort, problems = discover_cohort(cohort_root)
    assert problems == []
    assert [p.name for p in cohort["BraTS2021_00009"].slides] == ["BraTS2021_00009_wsi"]

    lines = [",".join(MANIFEST_COLUMNS)]
    for pid, slide in (("P1", dicom_folder), ("P2", case_dir / "BraTS2021_00009_notes")):
        row = {"patient_id": pid, "slides": str(slide)}
        lines.append(",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    cohort, problems = read_manifest(manifest, strict=False)
    assert cohort["P1"].slides == (dicom_folder,)
    (problem,) = problems
    assert problem.patient_id == "P2" and "folder without DICOM files" in problem.problem
