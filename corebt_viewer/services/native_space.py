"""Native-space cases: rigid co-registration to the reference sequence, stored beside the case.

For when the scanner coordinates of a case's sequences disagree (a patient who moved
between series, a sequence exported with another origin). Each sequence is registered
rigidly to the reference (T1c by default) with SimpleITK; the transform, its residual and
the provenance are written to ``<cohort>/.corebt/registration/<case>/<role>_to_<ref>.json``
(and an ITK ``.tfm`` file other tools read). The original files are never modified.
:func:`load_registered_study` loads the case onto the reference grid through them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.progress import ProgressCallback, report

FORMAT = "corebt-registration/1"


def registration_dir(cohort_root: str | Path, case_id: str) -> Path:
    """``<cohort>/.corebt/registration/<case id>`` (the id made safe as a folder name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).strip(".") or "case"
    return Path(cohort_root) / ".corebt" / "registration" / safe


def file_identity(path: Path) -> dict:
    """What identifies a source file's version: path, size, modification time."""
    stat = Path(path).stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass(frozen=True)
class CaseRegistration:
    """Transforms of one case: role -> 4x4 RAS matrix, plus notes on stale or bad ones."""

    reference: str
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def coregister_case(
    *,
    cohort_root: str | Path,
    case,
    reference: str = "t1c",
    threads: int | None = None,
    progress: ProgressCallback | None = None,
) -> CaseRegistration:
    """Register every other sequence of `case` rigidly to `reference`; write the results.

    Raises
    ------
    InputError
        The case has no `reference` sequence, or a file cannot be read.
    """
    import SimpleITK as sitk

    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.io.nifti import load_volume
    from corebt_viewer.io.registration import register_rigid

    ref_seq = Sequence(reference)
    if ref_seq not in case.mri:
        raise InputError(None, f"case {case.patient_id} has no {reference} to register to")
    fixed = load_volume(case.mri[ref_seq], ref_seq)
    others = [s for s in case.sequences if s != ref_seq]
    folder = registration_dir(cohort_root, case.patient_id)
    folder.mkdir(parents=True, exist_ok=True)
    out = CaseRegistration(reference)
    for done, seq in enumerate(others):
        report(
            progress,
            done,
            len(others),
            f"{case.patient_id}: {seq.value} -> {reference}",
            "register",
        )
        moving = load_volume(case.mri[seq], seq)
        result = register_rigid(
            (fixed.data, fixed.affine), (moving.data, moving.affine), threads=threads
        )
        record = {
            "format": FORMAT,
            "case": case.patient_id,
            "role": seq.value,
            "reference": reference,
            "direction": "reference world (RAS mm) -> this sequence's world",
            **result.as_dict(),
            "method": "SimpleITK rigid (Euler 3D), Mattes MI, 3 levels",
            "simpleitk": sitk.Version.VersionString(),
            "sources": {
                seq.value: file_identity(moving.path),
                reference: file_identity(fixed.path),
            },
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        path = folder / f"{seq.value}_to_{reference}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, path)
        lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ result.matrix @ np.diag([-1.0, -1.0, 1.0, 1.0])
        tfm = sitk.AffineTransform(3)
        tfm.SetMatrix(tuple(lps[:3, :3].ravel()))
        tfm.SetTranslation(tuple(lps[:3, 3]))
        sitk.WriteTransform(tfm, str(folder / f"{seq.value}_to_{reference}.tfm"))
        out.matrices[seq.value] = result.matrix
        out.records[seq.value] = record
    report(progress, len(others), len(others), f"{case.patient_id}: registered", "register")
    return out


def read_case_registration(
    *, cohort_root: str | Path, case, reference: str = "t1c"
) -> CaseRegistration:
    """The stored transforms of `case` whose source files are unchanged.

    A transform whose sequence or reference file changed since it was computed is not
    used; a note says so (run the registration again).
    """
    folder = registration_dir(cohort_root, case.patient_id)
    out = CaseRegistration(reference)
    for seq in case.sequences:
        path = folder / f"{seq.value}_to_{reference}.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text())
            matrix = np.asarray(record["matrix_ras"], float).reshape(4, 4)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(path, f"unreadable registration record ({exc})") from None
        stale = [
            role
            for role, ident in record.get("sources", {}).items()
            if not Path(ident["path"]).is_file() or file_identity(Path(ident["path"])) != ident
        ]
        if stale:
            out.notes.append(
                f"{path.name}: {', '.join(stale)} changed since registration; not used"
            )
            continue
        out.matrices[seq.value] = matrix
        out.records[seq.value] = record
    return out


def load_registered_study(*, cohort_root: str | Path, case, reference: str = "t1c"):
    """The case's MRI on the reference grid through its stored rigid transforms (if any).

    Returns
    -------
    MRIStudy
        With a note per registered sequence (rotation, residual) and per stale record.
    """
    from corebt_viewer.io.nifti import load_case_mri

    reg = read_case_registration(cohort_root=cohort_root, case=case, reference=reference)
    study = load_case_mri(case, reference=reference, transforms=reg.matrices)
    for role, record in reg.records.items():
        if role in study.notes:
            study.notes[role] += (
                f"; rigid registration: rotation {record['rotation_deg']:.2f} deg, "
                f"MI {record['metric_before']:.3f} -> {record['metric_after']:.3f}"
            )
    for i, note in enumerate(reg.notes):
        study.notes[f"registration{i}"] = note
    return study


def checkerboard(reference: np.ndarray, other: np.ndarray, *, tiles: int = 8) -> np.ndarray:
    """QC image: squares alternating between two volumes on one grid (each scaled 0-1).

    Works on a 2-D slice or a 3-D volume (the squares tile the first two axes and
    alternate along the third). Misalignment shows as broken edges between squares.
    """
    a, b = _unit(reference), _unit(other)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    grids = np.indices(a.shape[:2]) if a.ndim >= 2 else np.indices(a.shape)
    cells = [(g * tiles) // max(n, 1) for g, n in zip(grids, a.shape[:2], strict=False)]
    pick = (sum(cells) % 2).astype(bool)
    if a.ndim == 3:
        pick = pick[..., None] ^ ((np.arange(a.shape[2]) * tiles // a.shape[2]) % 2).astype(bool)
    return np.where(pick, b, a).astype(np.float32)


def edge_overlay(reference: np.ndarray, other: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """QC image: RGB of the reference in grey with the other volume's edges in red.

    Returns
    -------
    ndarray
        float32, shape ``reference.shape + (3,)``, values 0-1.
    """
    from skimage import feature

    base = _unit(reference)
    other = _unit(other)
    if base.shape != other.shape:
        raise ValueError(f"shapes differ: {base.shape} vs {other.shape}")
    if other.ndim == 2:
        edges = feature.canny(other, sigma=sigma)
    else:
        edges = np.stack(
            [feature.canny(other[..., k], sigma=sigma) for k in range(other.shape[2])], axis=-1
        )
    rgb = np.repeat(base[..., None], 3, axis=-1)
    rgb[edges] = (1.0, 0.0, 0.0)
    return rgb.astype(np.float32)


def _unit(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, np.float32)
    inside = data[data != 0]
    if inside.size == 0:
        return np.zeros_like(data)
    lo, hi = np.percentile(inside, [0.5, 99.5])
    return np.clip((data - lo) / max(hi - lo, 1e-6), 0, 1)
