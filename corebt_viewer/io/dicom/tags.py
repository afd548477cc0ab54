"""Which DICOM attributes may leave the reader: an allow-list, never a block-list.

Everything the DICOM package exposes (series listings, assignment files, provenance,
error messages) is built from :data:`SAFE_TAGS` alone. Patient and institution attributes
are never copied out of a dataset; :data:`IDENTIFYING_TAGS` exists for tests and for the
patient check, which compares them without ever printing them.
"""

from __future__ import annotations

#: Attributes that describe the acquisition, not the person (keywords as pydicom spells them).
SAFE_TAGS: tuple[str, ...] = (
    "Modality",
    "SOPClassUID",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "ProtocolName",
    "SequenceName",
    "PulseSequenceName",
    "ScanningSequence",
    "SequenceVariant",
    "MRAcquisitionType",
    "ImageType",
    "ContrastBolusAgent",
    "EchoTime",
    "RepetitionTime",
    "InversionTime",
    "FlipAngle",
    "MagneticFieldStrength",
    "Manufacturer",
    "ManufacturerModelName",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "SliceThickness",
    "PixelSpacing",
)

#: Attributes that identify a patient, a visit or a place; never exposed.
IDENTIFYING_TAGS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "OtherPatientIDs",
    "AccessionNumber",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "StationName",
    "DeviceSerialNumber",
    "StudyDate",
    "StudyID",
)


def safe_text(value) -> str:
    """A tag value as plain text: multi-values joined by backslashes, whitespace trimmed."""
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def safe_float(value) -> float | None:
    """A numeric tag value as float, or ``None`` when absent or not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
        if value is None:
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def decimals(ds, keyword: str) -> tuple[float, ...] | None:
    """A decimal-string (DS/IS) attribute as floats, parsed straight from its raw bytes.

    pydicom converts every DS value into a validated ``DSfloat``; for the few geometry
    values read per slice, parsing the raw text is several times faster. Falls back to
    pydicom's converted value when the element is already converted.
    """
    elem = ds.get_item(keyword)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, bytes):
        text = value.decode("ascii", "replace").strip(" \x00")
        if not text:
            return None
        try:
            return tuple(float(part) for part in text.split("\\"))
        except ValueError:
            value = ds[keyword].value  # pydicom's own conversion, and its error
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return tuple(float(v) for v in value)
    return (float(value),)
