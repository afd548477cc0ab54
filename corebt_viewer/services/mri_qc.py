"""Quality check of a native-space case, Qt-free: what was moved onto the reference, and how.

:func:`case_qc` loads a case onto its reference grid (through the stored rigid
registrations, when there are any) and lists each sequence that was resampled or
registered, with the note of what was done and the registration's transform and residual.
:func:`qc_slice` makes the QC picture of one slice: a checkerboard of the sequence and the
reference, or the sequence's edges in red over the reference (the arrays of
:mod:`corebt_viewer.services.native_space`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError

KINDS = ("checkerboard", "edges")


@dataclass(frozen=True)
class QcEntry:
    """One sequence moved onto the reference grid.

    Attributes
    ----------
    role : str
        Sequence value (``"t1"``...).
    note : str
        What was done on loading (resampled from which grid, through which transform).
    transform : ndarray or None
        4x4 RAS matrix (reference world -> this sequence's world) of its registration.
    residual : str
        The registration's metric before and after, rotation and stop reason ("" without).
    """

    role: str
    note: str
    transform: np.ndarray | None = None
    residual: str = ""

    def lines(self) -> list[str]:
        """The entry as text lines for a view or a log."""
        out = [f"{self.role}: {self.note}"]
        if self.transform is not None:
            rows = ["  [" + "  ".join(f"{v:9.4f}" for v in row) + "]" for row in self.transform]
            out += ["  registration transform (reference world -> sequence world, RAS mm):"]
            out += rows
        if self.residual:
            out.append(f"  residual: {self.residual}")
        return out


@dataclass(frozen=True)
class CaseQc:
    """The QC of one case.

    Attributes
    ----------
    case : str
    reference : str
        Role whose grid the others were moved onto.
    study : MRIStudy
        The case on the reference grid.
    entries : tuple of QcEntry
        Sequences resampled or registered, in canonical order.
    notes : tuple of str
        Other notes (reference chosen, stale registrations, the mask) and load errors.
    """

    case: str
    reference: str
    study: object
    entries: tuple[QcEntry, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(e.role for e in self.entries)

    def entry(self, role: str) -> QcEntry:
        for e in self.entries:
            if e.role == role:
                return e
        raise KeyError(f"{role} was not moved onto the {self.reference} grid")

    def text(self) -> str:
        """Everything known about what was done, as plain text."""
        lines = [f"Case {self.case}: reference grid {self.reference}"]
        for e in self.entries:
            lines += e.lines()
        if not self.entries:
            lines.append("every sequence is on the reference grid as stored: nothing was moved")
        lines += self.notes
        return "\n".join(lines)


def _residual(record: dict) -> str:
    parts = []
    if "metric_before" in record and "metric_after" in record:
        parts.append(
            f"{record.get('metric', 'metric')} {record['metric_before']:.4f} -> "
            f"{record['metric_after']:.4f}"
        )
    if "rotation_deg" in record:
        parts.append(f"rotation {record['rotation_deg']:.2f} deg")
    if record.get("iterations") is not None:
        parts.append(f"{record['iterations']} iterations")
    if record.get("stop"):
        parts.append(f"stop: {record['stop']}")
    return "; ".join(parts)


def case_qc(*, case, cohort_root: str | Path, reference: str = "t1c") -> CaseQc:
    """Load `case` onto the reference grid and describe each sequence moved onto it.

    Parameters
    ----------
    case : Case
    cohort_root : path-like
        The cohort whose ``.corebt/registration/<case>/`` holds stored transforms.
    reference : str
        The reference sequence (``"t1c"`` default).

    Raises
    ------
    InputError
        The case has no MRI that loads, or a stored registration record is unreadable.
    """
    from corebt_viewer.services.native_space import load_registered_study, read_case_registration

    study = load_registered_study(cohort_root=cohort_root, case=case, reference=reference)
    if not study.volumes:
        detail = "; ".join(f"{r}: {m}" for r, m in study.errors.items()) or "no MRI"
        raise InputError(None, f"case {case.patient_id}: no MRI sequence loaded ({detail})")
    reg = read_case_registration(cohort_root=cohort_root, case=case, reference=reference)
    roles = [s.value for s in study.volumes]
    ref = reference if reference in roles else next(r for r in roles if r not in study.notes)
    entries = []
    for role in roles:
        if role == ref or role not in study.notes:
            continue
        record = reg.records.get(role)
        matrix = reg.matrices.get(role)
        entries.append(
            QcEntry(role, study.notes[role], matrix, _residual(record) if record else "")
        )
    other = [f"{k}: {v}" for k, v in study.notes.items() if k not in roles]
    other += [f"{k}: not loaded: {v}" for k, v in study.errors.items()]
    return CaseQc(case.patient_id, ref, study, tuple(entries), tuple(other))


def qc_slice(
    qc: CaseQc, role: str, *, kind: str = "checkerboard", index: int | None = None, tiles: int = 8
) -> np.ndarray:
    """The QC picture of axial slice `index` (default: the middle) of `role` on the reference.

    Returns
    -------
    ndarray
        ``checkerboard``: float32 (x, y) in 0-1; ``edges``: float32 (x, y, 3) RGB.

    Raises
    ------
    ValueError
        Unknown `kind`, or a role the study does not hold.
    """
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.services.native_space import checkerboard, edge_overlay

    if kind not in KINDS:
        raise ValueError(f"unknown QC kind {kind!r} ({', '.join(KINDS)})")
    volumes = qc.study.volumes
    try:
        ref, other = volumes[Sequence(qc.reference)].data, volumes[Sequence(role)].data
    except (KeyError, ValueError):
        raise ValueError(f"{role!r} is not a loaded sequence of case {qc.case}") from None
    depth = ref.shape[2]
    k = depth // 2 if index is None else int(np.clip(index, 0, depth - 1))
    a, b = np.asarray(ref[:, :, k]), np.asarray(other[:, :, k])
    if kind == "checkerboard":
        return checkerboard(a, b, tiles=tiles)
    return edge_overlay(a, b)


def dicom_source_folder(case, cohort_root: str | Path) -> Path | None:
    """The DICOM folder a case's derived NIfTI files were read from, or ``None``.

    A DICOM case's sequences are ``<cohort>/.corebt/dicom/<case>/<seq>.nii.gz``, each with
    a provenance JSON beside it naming the source folder.

    Raises
    ------
    InputError
        A derived file's provenance JSON is missing or unreadable.
    """
    import json

    base = (Path(cohort_root) / ".corebt" / "dicom").resolve()
    for path in case.mri.values():
        path = Path(path)
        if base not in path.resolve().parents:
            continue
        side = path.with_name(path.name.removesuffix(".nii.gz") + ".json")
        try:
            return Path(json.loads(side.read_text())["source_folder"])
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(side, f"unreadable DICOM provenance ({exc})") from None
    return None
