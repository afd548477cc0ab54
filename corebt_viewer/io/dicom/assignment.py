"""Which series of a DICOM folder plays which role, proposed by the rules, kept as JSON.

The file ``<cohort>/.corebt/dicom/<case>/assignment.json`` holds the choice; once it
exists it wins over the rules (the user may have changed it), and a series it names must
still be in the folder. The file holds only allow-listed attributes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import MRI_SEQUENCES, Sequence
from corebt_viewer.io.dicom.rules import classify
from corebt_viewer.io.dicom.series import DicomScan

FORMAT = "corebt-dicom-assignment"
VERSION = 1


@dataclass(frozen=True)
class Assignment:
    """Series UID per sequence, with the reasons, for one case.

    Attributes
    ----------
    case : str
    roles : dict of Sequence -> str
        Series UID of each assigned sequence (missing sequences are absent).
    reasons : dict of str -> str
        Series UID -> why it was assigned, skipped or left out.
    conflicts : dict of Sequence -> tuple of str
        Sequences that several series could play: left unassigned for the user to choose.
    skipped : tuple of str
        UIDs of localizer, derived and non-structural series.
    confirmed : bool
        True once the user has saved or edited it.
    """

    case: str
    roles: dict[Sequence, str]
    reasons: dict[str, str]
    conflicts: dict[Sequence, tuple[str, ...]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    confirmed: bool = False

    def role_of(self, uid: str) -> Sequence | None:
        return next((seq for seq, u in self.roles.items() if u == uid), None)


def _safe_name(case: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(case)).strip("._")
    return name or "case"


def assignment_path(cohort_root: str | Path, case: str) -> Path:
    """``<cohort_root>/.corebt/dicom/<case>/assignment.json``."""
    return Path(cohort_root) / ".corebt" / "dicom" / _safe_name(case) / "assignment.json"


def propose_assignment(scan: DicomScan, case: str) -> Assignment:
    """Apply the rules of :mod:`~corebt_viewer.io.dicom.rules` to every series.

    A sequence that exactly one series plays is assigned; one that several could play is a
    conflict (none of them is chosen silently).
    """
    candidates: dict[Sequence, list[str]] = {}
    reasons, skipped = {}, []
    for series in scan.series:
        result = classify(series)
        reasons[series.uid] = result.reason
        if result.skipped:
            skipped.append(series.uid)
        elif result.sequence is not None:
            candidates.setdefault(result.sequence, []).append(series.uid)
    roles = {seq: uids[0] for seq, uids in candidates.items() if len(uids) == 1}
    conflicts = {seq: tuple(uids) for seq, uids in candidates.items() if len(uids) > 1}
    for seq, uids in conflicts.items():
        names = ", ".join(scan.find(u).label for u in uids)
        for uid in uids:
            reasons[uid] += f"; not chosen: {seq.title} is claimed by {names}"
    ordered = {seq: roles[seq] for seq in MRI_SEQUENCES if seq in roles}
    return Assignment(case, ordered, reasons, conflicts, tuple(skipped))


def change_assignment(
    assignment: Assignment, scan: DicomScan, changes: Mapping[Sequence | str, str | int | None]
) -> Assignment:
    """The assignment with the user's `changes` (sequence -> series UID or number, or None).

    Raises
    ------
    InputError
        Unknown sequence or series, or one series given two sequences.
    """
    roles = dict(assignment.roles)
    reasons = dict(assignment.reasons)
    conflicts = dict(assignment.conflicts)
    for key, value in changes.items():
        try:
            seq = key if isinstance(key, Sequence) else Sequence(str(key).strip().lower())
        except ValueError:
            raise InputError(
                scan.folder, f"unknown sequence {key!r} (t1, t1c, t2, flair)"
            ) from None
        conflicts.pop(seq, None)
        if value is None or str(value).strip() == "":
            roles.pop(seq, None)
            continue
        series = scan.find(value)
        roles[seq] = series.uid
        reasons[series.uid] = f"{seq.title} chosen by the user"
    doubled = {u for u in roles.values() if list(roles.values()).count(u) > 1}
    if doubled:
        label = scan.find(next(iter(doubled))).label
        raise InputError(scan.folder, f"{label} is assigned to two sequences")
    ordered = {seq: roles[seq] for seq in MRI_SEQUENCES if seq in roles}
    return replace(assignment, roles=ordered, reasons=reasons, conflicts=conflicts, confirmed=True)


def assignment_to_json(assignment: Assignment, scan: DicomScan) -> dict:
    """The JSON document (allow-listed attributes only)."""
    series = []
    for s in scan.series:
        role = assignment.role_of(s.uid)
        status = role.value if role else "skipped" if s.uid in assignment.skipped else "unassigned"
        series.append(
            {**s.to_dict(), "status": status, "reason": assignment.reasons.get(s.uid, "")}
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "case": assignment.case,
        "confirmed": assignment.confirmed,
        "roles": {seq.value: assignment.roles.get(seq) for seq in MRI_SEQUENCES},
        "conflicts": {seq.value: list(u) for seq, u in assignment.conflicts.items()},
        "series": series,
    }


def save_assignment(assignment: Assignment, scan: DicomScan, path: str | Path) -> Path:
    """Write the assignment as JSON (atomically); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(assignment_to_json(assignment, scan), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def load_assignment(path: str | Path, scan: DicomScan) -> Assignment:
    """Read a saved assignment and check it against the folder as scanned now.

    Raises
    ------
    InputError
        Unreadable or malformed file, or a series it names that the folder no longer has.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read the DICOM assignment ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(path, f"not a DICOM assignment file (format is not {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise InputError(path, f"assignment version {doc.get('version')!r}; expected {VERSION}")
    known = {s.uid for s in scan.series}
    roles = {}
    for key, uid in (doc.get("roles") or {}).items():
        try:
            seq = Sequence(key)
        except ValueError:
            raise InputError(path, f"unknown sequence {key!r}") from None
        if uid is None:
            continue
        if uid not in known:
            raise InputError(
                path, f"assigns {seq.title} to series {uid}, which {scan.folder} no longer holds"
            )
        roles[seq] = uid
    reasons = {e["uid"]: e.get("reason", "") for e in doc.get("series", []) if "uid" in e}
    skipped = tuple(
        e["uid"] for e in doc.get("series", []) if e.get("status") == "skipped" and "uid" in e
    )
    for uid in known - reasons.keys():
        reasons[uid] = "not in the saved assignment (new in the folder since); unassigned"
    conflicts = {Sequence(k): tuple(v) for k, v in (doc.get("conflicts") or {}).items()}
    return Assignment(
        case=str(doc.get("case", "")),
        roles={seq: roles[seq] for seq in MRI_SEQUENCES if seq in roles},
        reasons=reasons,
        conflicts=conflicts,
        skipped=skipped,
        confirmed=bool(doc.get("confirmed", False)),
    )
