"""Write a small DICOM whole-slide image (VL Whole Slide Microscopy Image) with pydicom.

One instance per pyramid level, TILED_FULL, JPEG baseline frames, the series in one folder:
the layout OpenSlide 4 reads. Used by the tests only.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _frames(image: np.ndarray, tile: int) -> list[bytes]:
    from PIL import Image

    height, width = image.shape[:2]
    frames = []
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            block = np.full((tile, tile, 3), 255, np.uint8)
            part = image[y : y + tile, x : x + tile]
            block[: part.shape[0], : part.shape[1]] = part
            buffer = io.BytesIO()
            Image.fromarray(block).save(buffer, format="JPEG", quality=90, subsampling=1)
            frames.append(buffer.getvalue())
    return frames


def write_dicom_wsi(
    folder: Path, image: np.ndarray, *, mpp: float = 0.5, tile: int = 256, levels: int = 2
) -> Path:
    """Write `image` (RGB uint8) as a DICOM-WSI series of `levels` halved levels; returns
    the folder."""
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame_ref = generate_uid(), generate_uid(), generate_uid()
    pyramid = generate_uid()
    current = image
    for level in range(levels):
        height, width = current.shape[:2]
        spacing = mpp * 2**level / 1000.0  # mm
        uid = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = WSI_SOP_CLASS, uid
        meta.TransferSyntaxUID = JPEG_BASELINE
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = WSI_SOP_CLASS, uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID, ds.PyramidUID = frame_ref, pyramid
        ds.Modality, ds.Manufacturer = "SM", "corebt-tests"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
        ds.PatientName, ds.PatientID, ds.StudyID, ds.AccessionNumber = "", "", "", ""
        ds.SeriesNumber, ds.InstanceNumber = 1, level + 1
        ds.ContainerIdentifier = "slide-1"
        ds.DimensionOrganizationType = "TILED_FULL"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "YBR_FULL_422"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.Rows = ds.Columns = tile
        ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = width, height
        ds.TotalPixelMatrixFocalPlanes = ds.NumberOfOpticalPaths = 1
        ds.ImagedVolumeWidth, ds.ImagedVolumeHeight = width * spacing, height * spacing
        ds.ImagedVolumeDepth = 0.001
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.SpecimenLabelInImage, ds.BurnedInAnnotation = "NO", "NO"
        ds.ImageOrientationSlide = [0, -1, 0, -1, 0, 0]
        origin = Dataset()
        origin.XOffsetInSlideCoordinateSystem = origin.YOffsetInSlideCoordinateSystem = 0
        ds.TotalPixelMatrixOriginSequence = [origin]
        path_item = Dataset()
        path_item.OpticalPathIdentifier = "0"
        path_item.IlluminationTypeCodeSequence = [_code("111744", "DCM", "Brightfield")]
        path_item.IlluminationColorCodeSequence = [_code("414298005", "SCT", "Full Spectrum")]
        ds.OpticalPathSequence = [path_item]
        measures = Dataset()
        measures.PixelSpacing = [spacing, spacing]
        measures.SliceThickness = 0.001
        shared = Dataset()
        shared.PixelMeasuresSequence = [measures]
        ds.SharedFunctionalGroupsSequence = [shared]
        frames = _frames(current, tile)
        ds.NumberOfFrames = len(frames)
        ds.PixelData = encapsulate(frames)
        ds["PixelData"].VR = "OB"
        ds.save_as(folder / f"level{level}.dcm", enforce_file_format=True)
        current = np.asarray(Image.fromarray(current).reduce(2))
    return folder
