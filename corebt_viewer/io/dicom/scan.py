"""Find the DICOM images of a folder tree (any depth, any file names) and group them.

Headers are read with pydicom, stopping before the pixel data. Files are recognised by
their content (the ``DICM`` preamble), never by their names. Whatever is not used is
listed in :attr:`DicomScan.skipped` with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report
from corebt_viewer.io.dicom.series import DicomScan, DicomSeries
from corebt_viewer.io.dicom.tags import safe_float, safe_text

#: SOP class of DICOMDIR files (directory records, no image).
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"


def _walk(folder: Path) -> list[Path]:
    """Every file under `folder` except the project's own ``.corebt`` folders, sorted."""
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".corebt")
        files.extend(Path(root) / n for n in names)
    return sorted(files)


def _first_group_item(ds, keyword: str):
    """First item of a functional group, per-frame first then shared, or ``None``."""
    for holder in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        groups = ds.get(holder)
        if groups:
            seq = groups[0].get(keyword)
            if seq:
                return seq[0]
    return None


def _enhanced_timing(ds) -> tuple[float | None, float | None, float | None]:
    echo = _first_group_item(ds, "MREchoSequence")
    timing = _first_group_item(ds, "MRTimingAndRelatedParametersSequence")
    modifier = _first_group_item(ds, "MRModifierSequence")
    te = safe_float(echo.get("EffectiveEchoTime")) if echo is not None else None
    tr = safe_float(timing.get("RepetitionTime")) if timing is not None else None
    ti = safe_float(modifier.get("InversionTimes")) if modifier is not None else None
    return te, tr, ti


def _enhanced_agent(ds) -> str:
    agents = ds.get("ContrastBolusAgentSequence") or []
    names = [safe_text(item.get("CodeMeaning")) for item in agents]
    return ", ".join(n for n in names if n)


def _header_summary(ds) -> dict:
    """The allow-listed facts of one file that the series listing needs."""
    n_frames = int(safe_float(ds.get("NumberOfFrames")) or 1)
    enhanced = "PerFrameFunctionalGroupsSequence" in ds or n_frames > 1
    if enhanced:
        te, tr, ti = _enhanced_timing(ds)
        agent = safe_text(ds.get("ContrastBolusAgent")) or _enhanced_agent(ds)
        sequence_name = safe_text(ds.get("PulseSequenceName") or ds.get("SequenceName"))
        scanning = safe_text(ds.get("EchoPulseSequence") or ds.get("ScanningSequence"))
    else:
        te = safe_float(ds.get("EchoTime"))
        tr = safe_float(ds.get("RepetitionTime"))
        ti = safe_float(ds.get("InversionTime"))
        agent = safe_text(ds.get("ContrastBolusAgent"))
        sequence_name = safe_text(ds.get("SequenceName"))
        scanning = safe_text(ds.get("ScanningSequence"))
    number = safe_float(ds.get("SeriesNumber"))
    image_type = ds.get("ImageType") or []
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    return {
        "number": None if number is None else int(number),
        "description": safe_text(ds.get("SeriesDescription")),
        "protocol": safe_text(ds.get("ProtocolName")),
        "sequence_name": sequence_name,
        "scanning_sequence": scanning,
        "sequence_variant": safe_text(ds.get("SequenceVariant")),
        "acquisition_type": safe_text(ds.get("MRAcquisitionType")),
        "image_type": tuple(safe_text(v).upper() for v in image_type),
        "modality": safe_text(ds.get("Modality")),
        "contrast_agent": agent,
        "echo_time": te,
        "repetition_time": tr,
        "inversion_time": ti,
        "rows": int(ds.get("Rows") or 0),
        "columns": int(ds.get("Columns") or 0),
        "enhanced": enhanced,
        "n_frames": n_frames,
    }


def _raw_value(ds, keyword: str) -> bytes:
    """An element's stored bytes, without pydicom's conversion (whose validation warnings
    would quote the value in the log)."""
    elem = ds.get_item(keyword)
    if elem is None:
        return b""
    value = elem.value
    return value.strip(b" \x00") if isinstance(value, bytes) else str(value).encode()


def _patient_key(ds) -> bytes:
    """What tells patients apart (compared only; never stored, shown or logged)."""
    pid = _raw_value(ds, "PatientID")
    return pid if pid else b"name:" + _raw_value(ds, "PatientName")


def scan_folder(
    folder: str | Path,
    *,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DicomScan:
    """Group the DICOM images under `folder` into series.

    Parameters
    ----------
    folder : path-like
        A patient folder, searched at any depth (``.corebt`` folders excepted).
    progress : callable, optional
        Receives :class:`~corebt_viewer.core.progress.Progress` events (stage ``"dicom"``).
    cancel : callable, optional
        Returns True to stop; the scan then raises :class:`Cancelled`.

    Returns
    -------
    DicomScan
        Series sorted by number, the files skipped with their reasons, and how many
        patients the images belong to (see :meth:`DicomScan.check_single_patient`).

    Raises
    ------
    InputError
        When `folder` is not a folder, or holds no DICOM image at all.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    paths = _walk(folder)
    skipped: list[tuple[Path, str]] = []
    by_series: dict[str, dict] = {}
    seen_instances: dict[tuple[str, str], Path] = {}
    patients: dict[bytes, int] = {}
    for i, path in enumerate(paths):
        if cancel is not None and cancel():
            raise Cancelled(f"scan of {folder} cancelled")
        report(progress, i, len(paths), f"reading DICOM headers {i + 1}/{len(paths)}", "dicom")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except InvalidDicomError:
            skipped.append((path, "not a DICOM file"))
            continue
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            skipped.append((path, f"unreadable DICOM header ({type(exc).__name__})"))
            continue
        sop_class = safe_text(ds.get("SOPClassUID"))
        if sop_class == _DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
            skipped.append((path, "DICOMDIR (directory records, not an image)"))
            continue
        if "Rows" not in ds or "SeriesInstanceUID" not in ds:
            skipped.append((path, f"not an image (SOP class {sop_class or 'unknown'})"))
            continue
        uid = safe_text(ds.SeriesInstanceUID)
        instance = (uid, safe_text(ds.get("SOPInstanceUID")))
        if instance[1] and instance in seen_instances:
            skipped.append(
                (path, f"duplicate of {seen_instances[instance].name} (same SOP instance)")
            )
            continue
        seen_instances[instance] = path
        patient = patients.setdefault(_patient_key(ds), len(patients))
        entry = by_series.get(uid)
        if entry is None:
            entry = by_series[uid] = {**_header_summary(ds), "files": [], "patient": patient}
            entry["n_frames"] = 0
        entry["files"].append(path)
        entry["n_frames"] += int(safe_float(ds.get("NumberOfFrames")) or 1)
    report(progress, len(paths), len(paths), "DICOM headers read", "dicom")
    if not by_series:
        raise InputError(folder, f"no DICOM image found among {len(paths)} files")
    series = [
        DicomSeries(uid=uid, **{**entry, "files": tuple(entry["files"])})
        for uid, entry in by_series.items()
    ]
    series.sort(key=lambda s: (s.number is None, s.number or 0, s.uid))
    return DicomScan(
        folder=folder, series=tuple(series), skipped=tuple(skipped), n_patients=len(patients)
    )


def has_dicom_files(folder: str | Path, *, max_files: int = 200) -> bool:
    """Whether any of the first `max_files` files under `folder` is DICOM (by content).

    Cheap enough for discovery: reads 132 bytes per file and stops at the first hit.
    Only files with the standard 128-byte preamble and ``DICM`` marker count.
    """
    looked = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".corebt")
        for name in sorted(names):
            looked += 1
            if looked > max_files:
                return False
            try:
                with open(Path(root) / name, "rb") as fh:
                    head = fh.read(132)
            except OSError:
                continue
            if head[128:132] == b"DICM":
                return True
    return False
