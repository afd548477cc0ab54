"""Write DICOM MR series from a (x, y, z) array and its RAS affine, for the tests.

Classic (one file per slice, MR Image Storage) and Enhanced MR (one multi-frame file with
per-frame functional groups). Every file carries distinctive patient attributes so the
tests can check they never come out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as Seq
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"

#: Identifying values that must never appear in anything the reader exposes.
PATIENT = {
    "PatientName": "Zyxwvut^Qwertyuiop",
    "PatientID": "PID-98765-XYZ",
    "PatientBirthDate": "19010203",
    "AccessionNumber": "ACC-55555-QQ",
    "InstitutionName": "Hospital Of Nowhere Secretville",
    "ReferringPhysicianName": "Doctor^Hushhush",
}
SECRETS = ("Zyxwvut", "Qwertyuiop", "PID-98765", "19010203", "ACC-55555", "Secretville", "Hushhush")


def geometry(affine: np.ndarray):
    """Row direction, column direction, PixelSpacing and slice vector (all LPS)."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.asarray(affine, float)
    d0, d1 = np.linalg.norm(lps[:3, 0]), np.linalg.norm(lps[:3, 1])
    orientation = [*(lps[:3, 0] / d0), *(lps[:3, 1] / d1)]
    return orientation, [float(d1), float(d0)], lps[:3, 2], lps[:3, 3]


def _base(sop_class: str, series_uid: str, meta: dict, patient: dict) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = meta.get("study_uid", "1.2.826.0.1.3680043.8.498.1")
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.2"
    for key, value in {**PATIENT, **patient}.items():
        setattr(ds, key, value)
    ds.Modality = "MR"
    ds.SeriesNumber = meta.get("number", 1)
    ds.SeriesDescription = meta.get("description", "")
    if meta.get("protocol"):
        ds.ProtocolName = meta["protocol"]
    ds.ImageType = list(meta.get("image_type", ("ORIGINAL", "PRIMARY", "M", "NONE")))
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    return ds


def write_classic(
    folder: Path,
    data: np.ndarray,
    affine: np.ndarray,
    *,
    name: Callable[[int], str] = lambda k: f"IM{k:04d}",
    patient: dict | None = None,
    skip: set[int] = frozenset(),
    positions: list | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
    **meta,
) -> str:
    """One file per slice (name(k) may hold sub-folders); returns the SeriesInstanceUID."""
    uid = meta.pop("uid", None) or generate_uid()
    orientation, spacing, step, origin = geometry(affine)
    for k in range(data.shape[2]):
        if k in skip:
            continue
        ds = _base(MR_IMAGE, uid, meta, patient or {})
        for tag, key in (("EchoTime", "te"), ("RepetitionTime", "tr"), ("InversionTime", "ti")):
            if meta.get(key) is not None:
                setattr(ds, tag, meta[key])
        if meta.get("agent"):
            ds.ContrastBolusAgent = meta["agent"]
        if meta.get("sequence_name"):
            ds.SequenceName = meta["sequence_name"]
        ds.InstanceNumber = k + 1
        pos = origin + k * step if positions is None else np.asarray(positions[k], float)
        ds.ImagePositionPatient = [round(float(v), 6) for v in pos]
        ds.ImageOrientationPatient = [round(float(v), 8) for v in orientation]
        ds.PixelSpacing = [round(v, 6) for v in spacing]
        ds.SliceThickness = round(float(np.linalg.norm(step)), 6)
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        plane = np.ascontiguousarray(data[:, :, k].T.astype("<i2"))
        ds.Rows, ds.Columns = plane.shape
        ds.PixelData = plane.tobytes()
        path = Path(folder) / name(k)
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
    return uid


def _item(**values) -> Dataset:
    item = Dataset()
    for key, value in values.items():
        setattr(item, key, value)
    return item


def write_enhanced(
    path: Path,
    data: np.ndarray,
    affine: np.ndarray,
    *,
    patient: dict | None = None,
    order: np.ndarray | None = None,
    slope: float = 1.0,
    intercept: float = 0.0,
    syntax: str = ExplicitVRLittleEndian,
    per_frame_orientation: bool = False,
    **meta,
) -> str:
    """One Enhanced MR file; frames stored in `order` (a permutation of the slices).

    With `per_frame_orientation`, orientation and pixel spacing sit in every frame's
    groups instead of the shared ones.
    """
    uid = meta.pop("uid", None) or generate_uid()
    orientation, spacing, step, origin = geometry(affine)
    n = data.shape[2]
    order = np.arange(n) if order is None else np.asarray(order)
    ds = _base(ENHANCED_MR, uid, meta, patient or {})
    ds.NumberOfFrames = n
    ds.PulseSequenceName = meta.get("sequence_name", "")
    ds.Rows, ds.Columns = data.shape[1], data.shape[0]
    ds.file_meta.TransferSyntaxUID = syntax

    def geometry_groups():
        return dict(
            PlaneOrientationSequence=Seq(
                [_item(ImageOrientationPatient=[round(float(v), 8) for v in orientation])]
            ),
            PixelMeasuresSequence=Seq(
                [_item(PixelSpacing=spacing, SliceThickness=float(np.linalg.norm(step)))]
            ),
        )

    shared = _item(
        **({} if per_frame_orientation else geometry_groups()),
        PixelValueTransformationSequence=Seq(
            [_item(RescaleSlope=slope, RescaleIntercept=intercept, RescaleType="US")]
        ),
        MRTimingAndRelatedParametersSequence=Seq([_item(RepetitionTime=meta.get("tr", 500.0))]),
    )
    if meta.get("ti"):
        shared.MRModifierSequence = Seq([_item(InversionTimes=[meta["ti"]])])
    ds.SharedFunctionalGroupsSequence = Seq([shared])
    frames = []
    for k in order:
        pos = origin + int(k) * step
        frames.append(
            _item(
                PlanePositionSequence=Seq(
                    [_item(ImagePositionPatient=[round(float(v), 6) for v in pos])]
                ),
                FrameContentSequence=Seq([_item(InStackPositionNumber=int(k) + 1, StackID="1")]),
                MREchoSequence=Seq([_item(EffectiveEchoTime=meta.get("te", 10.0))]),
                **(geometry_groups() if per_frame_orientation else {}),
            )
        )
    ds.PerFrameFunctionalGroupsSequence = Seq(frames)
    if meta.get("agent"):
        ds.ContrastBolusAgentSequence = Seq(
            [_item(CodeValue="C-17800", CodingSchemeDesignator="SRT", CodeMeaning=meta["agent"])]
        )
    planes = np.stack([data[:, :, int(k)].T for k in order]).astype("<i2")
    ds.PixelData = np.ascontiguousarray(planes).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return uid


def read_back(path: Path) -> Dataset:
    return pydicom.dcmread(path)
