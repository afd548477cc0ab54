"""Case review services for the CLI and the GUI: mask versions, recovery, review state.

Keyword-only functions on plain data. Mask versions go beside the original mask when its
folder is writable, else into ``<cohort>/.corebt/masks/<case>/`` (same names), so
read-only data folders still get corrected masks and the original is never written.
Every saved version is recorded in the cohort's review database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.review import CaseReview, MaskVersionRecord, ReviewStatus
from corebt_viewer.core.segmentation import LabelConvention, Segmentation
from corebt_viewer.io import mask_recovery as mr
from corebt_viewer.io import mask_versions as mv
from corebt_viewer.io.review_db import ReviewDB


def as_cohort(cohort: Cohort | str | Path) -> Cohort:
    """A Cohort, reading a manifest or folder when given a path."""
    if isinstance(cohort, Cohort):
        return cohort
    from corebt_viewer.io.manifest import read_cohort

    return read_cohort(cohort)


def open_review_db(*, cohort_root: str | Path) -> ReviewDB:
    """The review database of the cohort in `cohort_root` (created when absent)."""
    return ReviewDB.for_cohort(cohort_root)


@contextmanager
def _db(cohort_root: str | Path, db: ReviewDB | None) -> Iterator[ReviewDB]:
    if db is not None:
        yield db
        return
    owned = open_review_db(cohort_root=cohort_root)
    try:
        yield owned
    finally:
        owned.close()


def _safe_name(case_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", case_id) or "case"


def _writable(folder: Path) -> bool:
    """True for a folder we may add files to (a folder without write bits counts as read-only,
    even for root, who could write anyway)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return folder.is_dir() and bool(mode & 0o222) and os.access(folder, os.W_OK | os.X_OK)


# --------------------------------------------------------------------------- mask files


@dataclass(frozen=True)
class MaskLocation:
    """Where a case's mask and its versions are.

    Attributes
    ----------
    original : Path
        The original mask (may not exist: a case without one gets a new mask).
    folder : Path
        Folder of the versions, the current-version pointer and the recovery file.
    reference : Path
        File whose grid and header the versions copy (the original, else an MRI image).
    """

    original: Path
    folder: Path
    reference: Path

    @property
    def has_original(self) -> bool:
        return self.original.is_file()


def mask_location(*, cohort_root: str | Path, case: Case) -> MaskLocation:
    """Where the mask of `case` and its versions live (see the module notes).

    Raises
    ------
    InputError
        A case with neither a mask nor any MRI sequence.
    """
    root = Path(cohort_root)
    fallback = root / ".corebt" / "masks" / _safe_name(case.patient_id)
    if case.segmentation is not None:
        original = Path(case.segmentation)
        reference = original
    else:
        if not case.mri:
            raise InputError(None, f"case {case.patient_id} has no MRI to draw a mask on")
        reference = Path(case.mri[case.sequences[0]])
        original = reference.with_name(f"{_safe_name(case.patient_id)}_seg.nii.gz")
    folder = original.parent if _writable(original.parent) else fallback
    if folder == fallback and case.segmentation is None:
        original = fallback / original.name
    return MaskLocation(original, folder, reference)


def list_mask_versions(*, location: MaskLocation) -> list[mv.MaskVersion]:
    """The original (when it exists) and every saved version, oldest first."""
    return mv.list_versions(location.original, directory=location.folder)


def current_mask_version(*, location: MaskLocation) -> mv.MaskVersion | None:
    """The version in use (the original unless another was made current); None if no mask."""
    version = mv.current_version(location.original, directory=location.folder)
    return version if version.path.is_file() else None


def load_mask_version(
    *,
    location: MaskLocation,
    version: mv.MaskVersion | Path | None = None,
    convention: LabelConvention | None = None,
) -> Segmentation | None:
    """Open a version (default the current one) as canonical labels; None when there is none.

    `convention` is the original's (read from it when omitted): a version's own values
    cannot always tell it.
    """
    if version is None:
        version = current_mask_version(location=location)
        if version is None:
            return None
    path = version.path if isinstance(version, mv.MaskVersion) else Path(version)
    if convention is None and location.has_original and path != location.original:
        convention = mv.read_mask(location.original).convention
    return mv.read_mask(path, convention=convention)


@dataclass(frozen=True)
class SavedMask:
    """Result of :func:`save_mask_version`."""

    version: mv.MaskVersion
    sha256: str
    voxels_changed: int
    record: MaskVersionRecord


def save_mask_version(
    *,
    cohort_root: str | Path,
    case_id: str,
    location: MaskLocation,
    labels: np.ndarray,
    author: str,
    original_labels: np.ndarray | None = None,
    convention: LabelConvention | None = None,
    db: ReviewDB | None = None,
    labels_affine: np.ndarray | None = None,
) -> SavedMask:
    """Save edited labels as a new mask version, record it, make it current (Ctrl+S).

    The file is written atomically beside the original (never over it), in the original's
    convention, dtype, header, affine and voxel order; it is recorded in the review database
    with its sha256, author and the voxels that differ from the original; the case's review
    moves to "in progress" if it had not started; the autosaved recovery file is removed.

    Parameters
    ----------
    cohort_root : path-like
    case_id : str
    location : MaskLocation
        From :func:`mask_location`.
    labels : ndarray
        Canonical labels in RAS order.
    author : str
    original_labels : ndarray, optional
        The original mask's canonical labels when already in memory (saves a read).
    convention : LabelConvention, optional
    db : ReviewDB, optional
        An open database (default: open the cohort's for this call).
    labels_affine : ndarray, optional
        Affine of the grid `labels` are on, when that is the case's reference grid and
        not the original mask's (a native-space case): the labels are put back on the
        original's grid (nearest neighbour) before saving.
    """
    if labels_affine is not None:
        from corebt_viewer.io.resample import labels_to_file_grid

        target = location.original if location.has_original else location.reference
        labels = labels_to_file_grid(np.asarray(labels), labels_affine, target)
        original_labels = None  # the caller's copy is on the reference grid: read the file
    if original_labels is None and location.has_original:
        original_labels = mv.read_mask(location.original).labels
    if original_labels is None:
        changed = int(np.count_nonzero(labels))
    else:
        if original_labels.shape != labels.shape:
            raise InputError(
                location.original,
                f"edited mask shape {labels.shape} differs from {original_labels.shape}",
            )
        changed = int(np.count_nonzero(original_labels != labels))
    saved = mv.save_version(
        labels,
        original=location.original,
        reference=location.reference,
        convention=convention,
        directory=location.folder,
    )
    with _db(cohort_root, db) as database:
        record = database.add_mask_version(
            case_id,
            file=saved.version.path,
            sha256=saved.sha256,
            author=author,
            voxels_changed=changed,
        )
        if database.get(case_id).status is ReviewStatus.NOT_STARTED:
            database.update(case_id, status=ReviewStatus.IN_PROGRESS, reviewer=author)
    mr.discard_recovery(location.original, directory=location.folder)
    return SavedMask(saved.version, saved.sha256, changed, record)


def make_mask_version_current(
    *,
    cohort_root: str | Path,
    case_id: str,
    location: MaskLocation,
    version: mv.MaskVersion | Path | None,
    db: ReviewDB | None = None,
) -> mv.MaskVersion:
    """Make a saved version (or the original, with None) the one the case uses.

    Only the pointer file and the database change; no mask file is written.
    """
    if isinstance(version, mv.MaskVersion) and version.is_original:
        version = None
    chosen = mv.set_current_version(location.original, version, directory=location.folder)
    with _db(cohort_root, db) as database:
        recorded = {database.resolve(r.file) for r in database.mask_versions(case_id)}
        if chosen.is_original:
            database.set_current_mask_version(case_id, None)
        elif chosen.path in recorded:
            database.set_current_mask_version(case_id, chosen.path)
    return chosen


def autosave_mask(*, location: MaskLocation, labels: np.ndarray, base: Path | None = None) -> Path:
    """Write unsaved edits to the case's recovery file (atomically); the GUI calls this on a timer."""
    return mr.write_recovery(
        labels, original=location.original, base=base, directory=location.folder
    )


def find_mask_recovery(*, location: MaskLocation) -> mr.Recovery | None:
    """Unsaved edits left by a crash, to offer when the case is opened again."""
    return mr.find_recovery(location.original, directory=location.folder)


def discard_mask_recovery(*, location: MaskLocation) -> bool:
    return mr.discard_recovery(location.original, directory=location.folder)


# --------------------------------------------------------------------------- review state


def set_review_status(
    *,
    cohort_root: str | Path,
    case_id: str,
    status: ReviewStatus | str | None = None,
    reviewer: str | None = None,
    notes: str | None = None,
    append_note: str | None = None,
    db: ReviewDB | None = None,
) -> CaseReview:
    """Update the review of one case (None keeps a field)."""
    with _db(cohort_root, db) as database:
        return database.update(
            case_id, status=status, reviewer=reviewer, notes=notes, append_note=append_note
        )


def review_states(
    *, cohort: Cohort | str | Path, db: ReviewDB | None = None
) -> dict[str, CaseReview]:
    """Review state of every case of the cohort, in cohort order."""
    cohort = as_cohort(cohort)
    with _db(cohort.root, db) as database:
        return database.reviews([c.patient_id for c in cohort])


def review_table(
    *, cohort: Cohort | str | Path, db: ReviewDB | None = None
) -> list[dict[str, object]]:
    """One row per case of the cohort (then recorded cases the cohort lacks)."""
    cohort = as_cohort(cohort)
    with _db(cohort.root, db) as database:
        return database.table([c.patient_id for c in cohort])


def export_review_csv(
    *, cohort: Cohort | str | Path, out: str | Path, db: ReviewDB | None = None
) -> Path:
    """Write the review table of the cohort as CSV."""
    cohort = as_cohort(cohort)
    with _db(cohort.root, db) as database:
        return database.export_csv(out, [c.patient_id for c in cohort])


def next_case_to_review(
    *, cohort: Cohort | str | Path, after: str | None = None, db: ReviewDB | None = None
) -> str | None:
    """The next case (after `after`, wrapping) that is not started or in progress."""
    cohort = as_cohort(cohort)
    with _db(cohort.root, db) as database:
        return database.next_case([c.patient_id for c in cohort], after=after)
