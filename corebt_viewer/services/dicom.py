"""DICOM cases for the CLI and the GUI: scan a patient folder, confirm the series, read.

Keyword-only, Qt-free functions. A case's assignment is read from
``<cohort>/.corebt/dicom/<case>/assignment.json`` when it exists (the user's choice wins),
and proposed by the rules otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import MRI_SEQUENCES, Sequence
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report
from corebt_viewer.core.volume import Volume
from corebt_viewer.io.dicom.assignment import (
    Assignment,
    assignment_path,
    change_assignment,
    load_assignment,
    propose_assignment,
    save_assignment,
)
from corebt_viewer.io.dicom.series import DicomScan


@dataclass(frozen=True)
class DicomCase:
    """A scanned DICOM patient folder and its series assignment.

    Attributes
    ----------
    case : str
    folder : Path
    scan : DicomScan
    assignment : Assignment
    assignment_file : Path
        Where the assignment is (or would be) saved.
    saved : bool
        True when the assignment was read from `assignment_file`.
    """

    case: str
    folder: Path
    scan: DicomScan
    assignment: Assignment
    assignment_file: Path
    saved: bool


@dataclass(frozen=True)
class DicomVolumes:
    """Volumes read for the assigned sequences, and what could not be read.

    Attributes
    ----------
    volumes : dict of Sequence -> Volume
        Each on its own native grid (RAS), in T1, T1c, T2, FLAIR order.
    errors : dict of str -> str
        Sequence value -> why it is missing (unassigned, conflict, unreadable series).
    derived : dict of Sequence -> Path
        Derived NIfTI files written (with ``write_nifti``).
    """

    volumes: dict[Sequence, Volume] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    derived: dict[Sequence, Path] = field(default_factory=dict)


def open_dicom_case(
    *,
    folder: str | Path,
    cohort_root: str | Path,
    case: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DicomCase:
    """Scan `folder`, check it holds one patient, and get its assignment (saved or proposed).

    Parameters
    ----------
    folder : path-like
        The patient's DICOM folder (any depth).
    cohort_root : path-like
        The cohort folder whose ``.corebt/`` keeps the assignment.
    case : str, optional
        Case id (default: the folder's name).

    Raises
    ------
    InputError
        No DICOM image, several patients in the folder (identities not shown), or a saved
        assignment that is unreadable or names a series the folder no longer has.
    """
    from corebt_viewer.io.dicom.scan import scan_folder

    folder = Path(folder)
    case = case or folder.name
    scan = scan_folder(folder, progress=progress, cancel=cancel)
    scan.check_single_patient()
    path = assignment_path(cohort_root, case)
    if path.exists():
        assignment, saved = load_assignment(path, scan), True
        assignment = replace(assignment, case=case)
    else:
        assignment, saved = propose_assignment(scan, case), False
    return DicomCase(case, folder, scan, assignment, path, saved)


def save_dicom_assignment(
    *, dicom_case: DicomCase, changes: Mapping[Sequence | str, str | int | None] | None = None
) -> DicomCase:
    """Apply the user's `changes` (sequence -> series UID or number, None to clear), save.

    The saved assignment is marked confirmed and wins over the rules from then on.

    Raises
    ------
    InputError
        Unknown sequence or series, or one series given two sequences.
    """
    assignment = change_assignment(dicom_case.assignment, dicom_case.scan, changes or {})
    save_assignment(assignment, dicom_case.scan, dicom_case.assignment_file)
    return replace(dicom_case, assignment=assignment, saved=True)


def _missing_reason(dicom_case: DicomCase, seq: Sequence) -> str:
    conflict = dicom_case.assignment.conflicts.get(seq)
    where = dicom_case.folder
    if conflict:
        names = " and ".join(dicom_case.scan.find(u).label for u in conflict)
        return (
            f"{where}: {seq.title} could be {names}; choose one "
            f"(corebt scan --assign {seq.value}=SERIES_NUMBER)"
        )
    return f"{where}: no series assigned to {seq.title}"


def load_dicom_volumes(
    *,
    dicom_case: DicomCase,
    cohort_root: str | Path | None = None,
    write_nifti: bool = False,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DicomVolumes:
    """Read the assigned series; a series that fails leaves the others usable.

    Parameters
    ----------
    dicom_case : DicomCase
    cohort_root : path-like, optional
        Needed with `write_nifti`: derived files go to ``<root>/.corebt/dicom/<case>/``.
    write_nifti : bool
        Also write each volume as ``<sequence>.nii.gz`` with a provenance JSON beside it.
    """
    from corebt_viewer.io.dicom.export import derived_nifti_path, write_derived_nifti
    from corebt_viewer.io.dicom.volume import read_series_volume

    if write_nifti and cohort_root is None:
        raise ValueError("write_nifti needs cohort_root")
    result = DicomVolumes()
    roles = dicom_case.assignment.roles
    for i, seq in enumerate(MRI_SEQUENCES):
        if cancel is not None and cancel():
            raise Cancelled(f"reading DICOM case {dicom_case.case} cancelled")
        report(progress, i, len(MRI_SEQUENCES), f"reading {seq.title}", "dicom")
        if seq not in roles:
            result.errors[seq.value] = _missing_reason(dicom_case, seq)
            continue
        series = dicom_case.scan.find(roles[seq])
        try:
            volume = read_series_volume(series, seq)
        except InputError as exc:
            result.errors[seq.value] = str(exc)
            continue
        result.volumes[seq] = volume
        if write_nifti:
            target = derived_nifti_path(cohort_root, dicom_case.case, seq.value)
            write_derived_nifti(volume, series, target, source_folder=dicom_case.folder)
            result.derived[seq] = target
    report(progress, len(MRI_SEQUENCES), len(MRI_SEQUENCES), "DICOM volumes read", "dicom")
    return result


def describe_scan(scan: DicomScan) -> list[dict]:
    """The series listing as JSON-ready dicts (allow-listed attributes only)."""
    return [s.to_dict() for s in scan.series]
