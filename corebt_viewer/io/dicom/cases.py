"""DICOM patient folders as cases of a cohort: found by content, read into derived NIfTI.

A folder is a DICOM MRI case when its tree holds MR DICOM images and no NIfTI file (the
cohort folder itself only when DICOM images lie directly in it). Its series are assigned
to T1 / T1c / T2 / FLAIR by the saved assignment (``.corebt/dicom/<case>/assignment.json``)
or, when none is saved, by the rules; each assigned series is read once into
``<cohort>/.corebt/dicom/<case>/<sequence>.nii.gz`` with its provenance JSON beside it,
and rewritten only when the assignment or the series' files change. The rest of the app
(manifest, ``load_case_mri``, embedding, the viewer) then reads plain NIfTI files, on the
series' native grids, resampled onto the reference grid like any native-space NIfTI.

Messages name series by number and description only, never by a patient attribute.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import MRI_SEQUENCES

NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: DICOM files whose modality is read when deciding whether a folder is an MRI case.
MAX_LOOKED = 200


@dataclass(frozen=True)
class DicomCaseFiles:
    """What a DICOM case folder gives a cohort.

    Attributes
    ----------
    case : str
    folder : Path
    files : dict of str -> (Path, str)
        Role (``"t1"``...) -> (derived NIfTI file, why this series).
    unused : list of (Path, str)
        Series (their folder) and files left out, with the reason.
    problems : list of (str or None, str)
        (role, message) for ambiguities and series that cannot be read; role ``None``
        when the whole folder is unusable (then `files` is empty).
    """

    case: str
    folder: Path
    files: dict[str, tuple[Path, str]] = field(default_factory=dict)
    unused: list[tuple[Path, str]] = field(default_factory=list)
    problems: list[tuple[str | None, str]] = field(default_factory=list)


def _dicom_modality(path: Path) -> str | None:
    """Modality of a file with the DICOM preamble, ``""`` when it has none, else ``None``."""
    try:
        with open(path, "rb") as fh:
            if fh.read(132)[128:132] != b"DICM":
                return None
    except OSError:
        return None
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"])
    except Exception:  # noqa: BLE001 - an unreadable header is judged later, by the scan
        return ""
    return str(ds.get("Modality", "") or "").upper()


def is_dicom_case_folder(folder: Path, names: list[str], *, is_root: bool) -> bool:
    """Whether `folder` (whose files are `names`) is one DICOM MRI patient folder.

    The cohort folder (`is_root`) qualifies only with DICOM images directly in it; another
    folder with DICOM images anywhere below it. A tree holding a NIfTI file never does;
    the first DICOM files (up to 200) must include an MR image, so whole-slide (SM) and
    CT folders are left alone.
    """
    if any(n.lower().endswith(NIFTI_SUFFIXES) for n in names):
        return False
    looked, has_mr = _look_for_mr(folder, names, 0)
    if is_root and not looked:
        return False
    for sub, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if any(f.lower().endswith(NIFTI_SUFFIXES) for f in files):
            return False
        if sub != str(folder) and not has_mr and looked < MAX_LOOKED:
            looked, has_mr = _look_for_mr(Path(sub), sorted(files), looked)
    return has_mr


def _look_for_mr(folder: Path, names: list[str], looked: int) -> tuple[int, bool]:
    """Read modalities until an MR image; returns (DICOM files looked at, MR found)."""
    for name in names:
        modality = _dicom_modality(folder / name)
        if modality is None:
            continue
        looked += 1
        if modality == "MR":
            return looked, True
        if looked >= MAX_LOOKED:
            break
    return looked, False


def find_dicom_case_folders(root: str | Path) -> list[Path]:
    """The DICOM MRI case folders under `root` (hidden folders skipped), in walk order."""
    root = Path(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        names = sorted(n for n in filenames if not n.startswith("."))
        if is_dicom_case_folder(here, names, is_root=here == root):
            found.append(here)
            dirnames[:] = []
    return found


def _up_to_date(target: Path, series, folder: Path) -> bool:
    """Whether `target` was derived from exactly these files of `series`."""
    side = target.with_name(target.name.removesuffix(".nii.gz") + ".json")
    if not target.is_file() or not side.is_file():
        return False
    try:
        doc = json.loads(side.read_text())
    except (OSError, ValueError):
        return False
    files = [os.path.relpath(p, folder) for p in series.files]
    return doc.get("series", {}).get("uid") == series.uid and doc.get("source_files") == files


def _said(exc: InputError, folder: Path) -> str:
    """The error's problem, with its file relative to the case `folder` (already named)."""
    if exc.path is None or exc.path == folder:
        return exc.problem
    return f"{os.path.relpath(exc.path, folder)}: {exc.problem}"


def read_dicom_case(folder: str | Path, *, cohort_root: str | Path, case: str) -> DicomCaseFiles:
    """Scan a DICOM case folder, apply its assignment, and derive a NIfTI per sequence.

    Bad folders do not raise: their problems are returned, so the rest of a cohort goes on.
    """
    from corebt_viewer.io.dicom.assignment import (
        assignment_path,
        load_assignment,
        propose_assignment,
    )
    from corebt_viewer.io.dicom.export import derived_nifti_path, write_derived_nifti
    from corebt_viewer.io.dicom.scan import scan_folder
    from corebt_viewer.io.dicom.volume import read_series_volume, series_folder

    folder = Path(folder)
    result = DicomCaseFiles(case, folder)
    try:
        scan = scan_folder(folder)
        scan.check_single_patient()
        saved_file = assignment_path(cohort_root, case)
        saved = saved_file.exists()
        if saved:
            assignment = load_assignment(saved_file, scan)
        else:
            assignment = propose_assignment(scan, case)
    except InputError as exc:
        result.problems.append((None, f"DICOM case not read: {_said(exc, folder)}"))
        result.unused.append((folder, f"DICOM case {case} not read (see the problems)"))
        return result
    source = "saved assignment" if saved else "proposed by the rules (confirm: --save-assignment)"
    for series in scan.series:
        role = assignment.role_of(series.uid)
        why = assignment.reasons.get(series.uid, "")
        if role is None:
            status = "skipped" if series.uid in assignment.skipped else "not assigned"
            result.unused.append((series_folder(series), f"{series.label}: {status}: {why}"))
            continue
        target = derived_nifti_path(cohort_root, case, role.value)
        try:
            if not _up_to_date(target, series, folder):
                volume = read_series_volume(series, role)
                write_derived_nifti(volume, series, target, source_folder=folder)
        except InputError as exc:
            result.problems.append((role.value, f"{role.title} not read: {_said(exc, folder)}"))
            result.unused.append((series_folder(series), f"{series.label}: unreadable"))
            continue
        kind = "enhanced" if series.enhanced else "classic"
        result.files[role.value] = (
            target,
            f"DICOM {series.label} ({series.n_frames} images, {kind}): {why}; {source}",
        )
    for seq in MRI_SEQUENCES:
        uids = assignment.conflicts.get(seq)
        if uids:
            names = " and ".join(scan.find(u).label for u in uids)
            result.problems.append(
                (
                    seq.value,
                    f"two series for {seq.title}: {names}; neither is used "
                    f"(choose one: corebt scan --assign {seq.value}=SERIES_NUMBER)",
                )
            )
    for seq in MRI_SEQUENCES:  # an earlier series' file must not be read in its place
        if seq.value not in result.files:
            _remove_derived(derived_nifti_path(cohort_root, case, seq.value))
    result.unused.extend((path, f"DICOM case {case}: {reason}") for path, reason in scan.skipped)
    return result


def _remove_derived(target: Path) -> None:
    for path in (target, target.with_name(target.name.removesuffix(".nii.gz") + ".json")):
        path.unlink(missing_ok=True)


def refresh_derived(
    scan, assignment, *, folder: str | Path, cohort_root: str | Path, case: str
) -> dict[str, str]:
    """Bring the derived files that exist in line with a changed `assignment`.

    Stale files are rewritten from the newly assigned series; those whose sequence is no
    longer assigned, or whose series cannot be read, are removed (a manifest naming them
    then reports a missing file instead of reading the old series).

    Returns
    -------
    dict of str -> str
        Sequence value -> why its derived file was removed.
    """
    from corebt_viewer.io.dicom.export import derived_nifti_path, write_derived_nifti
    from corebt_viewer.io.dicom.volume import read_series_volume

    folder = Path(folder)
    removed = {}
    for seq in MRI_SEQUENCES:
        target = derived_nifti_path(cohort_root, case, seq.value)
        if not target.exists():
            continue
        uid = assignment.roles.get(seq)
        if uid is None:
            _remove_derived(target)
            removed[seq.value] = f"no series assigned to {seq.title}"
            continue
        series = scan.find(uid)
        if _up_to_date(target, series, folder):
            continue
        try:
            volume = read_series_volume(series, seq)
        except InputError as exc:
            _remove_derived(target)
            removed[seq.value] = _said(exc, folder)
            continue
        write_derived_nifti(volume, series, target, source_folder=folder)
    return removed
