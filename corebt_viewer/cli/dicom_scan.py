"""The DICOM part of ``corebt scan``: list a patient folder's series, set and save roles.

Not a command of its own: ``cmd_scan`` (or any command) calls :func:`add_dicom_arguments`
on its parser and :func:`run_dicom_scan` for each DICOM case folder it finds.
Everything printed comes from allow-listed DICOM attributes; patient tags never appear.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO


def add_dicom_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--assign SEQ=SERIES`` (repeatable) and ``--save-assignment``."""
    parser.add_argument(
        "--assign",
        action="append",
        default=[],
        metavar="SEQ=SERIES",
        help="DICOM: give sequence SEQ (t1, t1c, t2, flair) the series with this number or "
        "UID (empty SERIES clears it); implies --save-assignment",
    )
    parser.add_argument(
        "--save-assignment",
        action="store_true",
        help="DICOM: save the series assignment to <cohort>/.corebt/dicom/<case>/",
    )


def parse_assign(items: list[str]) -> dict[str, str | None]:
    """``["t1=3", "flair="]`` -> ``{"t1": "3", "flair": None}``.

    Raises
    ------
    InputError
        An item without ``=``.
    """
    from corebt_viewer.core.errors import InputError

    changes: dict[str, str | None] = {}
    for item in items:
        if "=" not in item:
            raise InputError(None, f"--assign {item!r}: expected SEQ=SERIES, e.g. t1c=5")
        key, value = item.split("=", 1)
        changes[key.strip().lower()] = value.strip() or None
    return changes


def format_dicom_case(dicom_case) -> list[str]:
    """Lines describing a :class:`~corebt_viewer.services.dicom.DicomCase`."""
    scan, assignment = dicom_case.scan, dicom_case.assignment
    source = "saved" if dicom_case.saved else "proposed by the rules, not saved"
    lines = [
        f"{dicom_case.case}: DICOM folder {dicom_case.folder}, {len(scan.series)} series "
        f"(assignment {source}: {dicom_case.assignment_file})"
    ]
    for s in scan.series:
        role = assignment.role_of(s.uid)
        status = role.title if role else "skipped" if s.uid in assignment.skipped else "-"
        kind = "enhanced" if s.enhanced else "classic"
        number = "?" if s.number is None else str(s.number)
        lines.append(
            f"  {number:>4}  {status:<8} {s.n_frames:>5} images ({kind})  "
            f"{s.description or s.protocol or '(no description)'}"
        )
        lines.append(f"        {assignment.reasons.get(s.uid, '')}")
    for seq, uids in assignment.conflicts.items():
        names = " or ".join(scan.find(u).label for u in uids)
        lines.append(f"  {seq.title}: ambiguous, {names}; choose with --assign {seq.value}=N")
    for path, reason in scan.skipped:
        lines.append(f"  skipped file {path.relative_to(scan.folder)}: {reason}")
    return lines


def run_dicom_scan(
    *,
    folder: str | Path,
    cohort_root: str | Path,
    case: str | None = None,
    assign: list[str] | None = None,
    save: bool = False,
    out: TextIO | None = None,
) -> int:
    """List the series of a DICOM case folder; apply ``--assign`` and save when asked.

    Returns
    -------
    int
        0 when all four sequences are assigned, 1 when some are not (listed).

    Raises
    ------
    InputError
        Unreadable folder, several patients, bad ``--assign``, bad saved assignment.
    """
    from corebt_viewer.core.modalities import MRI_SEQUENCES
    from corebt_viewer.services.dicom import open_dicom_case, save_dicom_assignment

    out = out or sys.stdout
    dicom_case = open_dicom_case(folder=folder, cohort_root=cohort_root, case=case)
    changes = parse_assign(assign or [])
    if changes or save:
        dicom_case = save_dicom_assignment(dicom_case=dicom_case, changes=changes)
    for line in format_dicom_case(dicom_case):
        print(line, file=out)
    missing = [s.title for s in MRI_SEQUENCES if s not in dicom_case.assignment.roles]
    if missing:
        print(f"  not assigned: {', '.join(missing)}", file=out)
    return 1 if missing else 0
