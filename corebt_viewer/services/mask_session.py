"""The editing state of one case's mask, without any GUI.

A :class:`MaskSession` is what a viewer holds between opening a case and leaving it: the
original labels, the working labels (the array a napari Labels layer edits in place), the
version they came from, an :class:`~corebt_viewer.services.mask_settings.EditHistory` that
says whether there are unsaved edits, and the actions Ctrl+S, autosave, restore after a
crash, reopen a version and make it current. Each action goes through
:mod:`corebt_viewer.services.review`, so the CLI, scripts and the GUI behave the same.

Whoever changes :attr:`MaskSession.labels` tells :attr:`MaskSession.history` (the viewer's
layer binding does it on every stroke, undo and redo; :meth:`MaskSession.apply` and
:meth:`MaskSession.replace_labels` do it themselves): "unsaved edits" is then a position
test, not a comparison of two whole volumes on every stroke.

Autosave is split for viewers: :meth:`MaskSession.autosave_snapshot` copies the labels
(milliseconds, on the caller's thread) and :meth:`MaskSession.write_autosave` compresses
and writes the copy (any thread); a snapshot taken before a save or a discard is dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.case import Case
from corebt_viewer.core.segmentation import LabelConvention, convention_line
from corebt_viewer.io import mask_recovery as mr
from corebt_viewer.io import mask_versions as mv
from corebt_viewer.io.review_db import ReviewDB
from corebt_viewer.services import review as rv
from corebt_viewer.services.mask_editing import EditStats, LabelEdit, edit_stats
from corebt_viewer.services.mask_settings import EditHistory


@dataclass(frozen=True)
class AutosaveSnapshot:
    """A copy of unsaved labels to write to the recovery file (see :meth:`write_autosave`)."""

    labels: np.ndarray
    base: Path | None
    epoch: int
    revision: int


class MaskSession:
    """Edit one case's mask safely.

    Parameters
    ----------
    cohort_root : path-like
    case : Case
    author : str
        Recorded with every saved version.
    db : ReviewDB, optional
        An open review database (default: opened per action).

    Attributes
    ----------
    labels : ndarray of uint8
        The working canonical labels; edit them in place (give this very array to the
        viewer's labels layer).
    original_labels : ndarray of uint8
        The original mask (zeros for a case without one).
    voxel_size : tuple of float
    affine : ndarray
    base : MaskVersion or None
        The version the working labels started from (None for a brand-new mask).
    location : MaskLocation
    history : EditHistory
        Edits since the labels were opened or saved; tell it about every change.
    """

    def __init__(
        self, *, cohort_root: str | Path, case: Case, author: str = "", db: ReviewDB | None = None
    ):
        from corebt_viewer.io.nifti import read_header

        self.cohort_root = Path(cohort_root)
        self.case = case
        self.author = author
        self.db = db
        self.location = rv.mask_location(cohort_root=cohort_root, case=case)
        header = read_header(self.location.reference)
        self.voxel_size = header.voxel_size
        self.affine = header.affine
        self.convention: LabelConvention | None = None
        #: the convention in words, with the evidence (an assumption says so); "" without mask
        self.convention_text = ""
        self.convention_assumed = False
        if self.location.has_original:
            original = mv.read_mask(self.location.original, declared=case.seg_convention)
            self.original_labels = original.labels
            self.convention = original.convention
            self.convention_text = convention_line(
                original.convention, original.convention_source, original.convention_note
            )
            self.convention_assumed = original.convention_source == "assumed"
        else:
            self.original_labels = np.zeros(header.shape, np.uint8)
        self.original_labels.flags.writeable = False
        self.base: mv.MaskVersion | None = None
        self.labels = np.zeros(header.shape, np.uint8)
        self.history = EditHistory()
        # recovery writes and removals are serialised; a save, discard or open starts a new
        # epoch, and a snapshot of an older epoch is never written
        self._recovery_lock = threading.Lock()
        self._epoch = 0
        self.open_version(None)

    # ------------------------------------------------------------------ state

    @property
    def case_id(self) -> str:
        return self.case.patient_id

    @property
    def has_unsaved_edits(self) -> bool:
        """True when edits were made since the labels were opened or saved (and not undone)."""
        return self.history.dirty

    def stats(self) -> EditStats:
        """Volumes, changed voxels and Dice of the working labels against the original."""
        return edit_stats(self.original_labels, self.labels, self.voxel_size)

    def apply(self, edit: LabelEdit) -> None:
        """Apply a tool's edit to the working labels (for callers without a viewer)."""
        edit.apply(self.labels)
        if edit.n_changed:
            self.history.edited()

    def replace_labels(self, labels: np.ndarray) -> None:
        """Put `labels` into the working labels, in place, as one edit."""
        if labels.shape != self.labels.shape:
            raise ValueError(f"labels {labels.shape} do not fit the mask {self.labels.shape}")
        self.labels[...] = labels
        self.history.edited()

    def _new_epoch(self, *, clean: bool) -> None:
        with self._recovery_lock:
            self._epoch += 1
        self.history.reset(clean=clean)

    # ------------------------------------------------------------------ versions

    def versions(self) -> list[mv.MaskVersion]:
        """The original and every saved version, oldest first."""
        return rv.list_mask_versions(location=self.location)

    def open_version(self, version: mv.MaskVersion | Path | None) -> None:
        """Load a version (None: the current one) into the working labels, in place.

        Unsaved edits are dropped: ask the user first (:attr:`has_unsaved_edits`).
        """
        seg = rv.load_mask_version(
            location=self.location, version=version, convention=self.convention
        )
        if seg is None:
            self.labels[...] = 0
            self.base = None
        else:
            self.labels[...] = seg.labels
            if version is None:
                self.base = rv.current_mask_version(location=self.location)
            elif isinstance(version, mv.MaskVersion):
                self.base = version
            else:
                known = {v.path: v for v in self.versions()}
                self.base = known.get(Path(version), mv.MaskVersion(-1, Path(version)))
        self._saved = self.labels.copy()  # what "discard" goes back to
        self._new_epoch(clean=True)

    def make_current(self, version: mv.MaskVersion | None) -> mv.MaskVersion:
        """Make a version (None: the original) the one the case uses; no mask file changes."""
        return rv.make_mask_version_current(
            cohort_root=self.cohort_root,
            case_id=self.case_id,
            location=self.location,
            version=version,
            db=self.db,
        )

    def save(self) -> rv.SavedMask:
        """Ctrl+S: write the working labels as a new version, record it, make it current."""
        with self._recovery_lock:  # no autosave lands between the save and its cleanup
            self._epoch += 1
            saved = rv.save_mask_version(
                cohort_root=self.cohort_root,
                case_id=self.case_id,
                location=self.location,
                labels=self.labels,
                author=self.author,
                original_labels=self.original_labels,
                convention=self.convention,
                db=self.db,
            )
        self.base = saved.version
        self._saved = self.labels.copy()
        self.history.mark_clean()
        return saved

    def discard_edits(self) -> None:
        """Go back to the last opened or saved labels and forget the recovery file."""
        self.labels[...] = self._saved
        with self._recovery_lock:
            self._epoch += 1
            rv.discard_mask_recovery(location=self.location)
        self.history.reset(clean=True)

    # ------------------------------------------------------------------ crash recovery

    def autosave(self) -> Path | None:
        """Write unsaved edits to the recovery file; None when there is nothing unsaved."""
        snapshot = self.autosave_snapshot()
        return None if snapshot is None else self.write_autosave(snapshot)

    def autosave_snapshot(self, out: np.ndarray | None = None) -> AutosaveSnapshot | None:
        """A copy of the unsaved labels to autosave (None: nothing unsaved).

        `out`, an array of the labels' shape and dtype that no write is using, receives
        the copy (a reused buffer costs no fresh pages: about 1 ms for a whole brain).
        """
        if not self.has_unsaved_edits:
            return None
        if out is not None and out.shape == self.labels.shape and out.dtype == self.labels.dtype:
            np.copyto(out, self.labels)
            labels = out
        else:
            labels = self.labels.copy()
        return AutosaveSnapshot(
            labels,
            self.base.path if self.base is not None else None,
            self._epoch,
            self.history.revision,
        )

    def write_autosave(self, snapshot: AutosaveSnapshot) -> Path | None:
        """Compress and write `snapshot` to the recovery file (safe from a worker thread).

        Returns None, writing nothing, when the labels were saved, discarded or reopened
        since the snapshot was taken.
        """
        with self._recovery_lock:
            if snapshot.epoch != self._epoch:
                return None
            return rv.autosave_mask(
                location=self.location, labels=snapshot.labels, base=snapshot.base
            )

    def recovery(self) -> mr.Recovery | None:
        """Edits autosaved before a crash, when they differ from what is open now."""
        found = rv.find_mask_recovery(location=self.location)
        if (
            found is None
            or found.labels.shape != self.labels.shape
            or np.array_equal(found.labels, self.labels)
        ):
            return None
        return found

    def restore_recovery(self) -> bool:
        """Put the autosaved edits into the working labels (they stay unsaved until saved)."""
        found = self.recovery()
        if found is None:
            return False
        self.labels[...] = found.labels
        self._new_epoch(clean=False)
        return True
