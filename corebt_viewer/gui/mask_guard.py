"""Never lose a mask edit: autosave timer, crash recovery offer, ask before leaving a case.

The :class:`MaskGuard` watches the open :class:`~corebt_viewer.services.mask_session.MaskSession`:
every few seconds, when the labels changed since the last autosave, it copies them (a few
ms on the UI thread) and a worker compresses and writes the copy to the case's recovery
file; when a case with a
recovery file opens it offers to restore it; before the viewer switches case or closes it
asks what to do with unsaved edits (save, discard or stay). The questions go through a
:class:`Prompts` object, so tests (and scripts) answer them without a dialog.
"""

from __future__ import annotations

import logging
from enum import StrEnum

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import QMessageBox, QWidget

from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.gui.task_runner import LatestOnly
from corebt_viewer.gui.workers import Worker, WorkerPool

log = logging.getLogger("corebt_viewer.gui")

#: Default autosave period (milliseconds).
AUTOSAVE_MS = 5000


class Answer(StrEnum):
    """What to do with unsaved edits."""

    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class Prompts:
    """The guard's questions as Qt dialogs; replace with :class:`FixedPrompts` in tests."""

    def unsaved_edits(self, parent: QWidget | None, case_id: str) -> Answer:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved mask edits")
        box.setText(f"The mask of <b>{case_id}</b> has unsaved edits.")
        box.setInformativeText(
            "Save them as a new version (the original stays untouched), or discard them?"
        )
        save = box.addButton("Save version", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard edits", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Stay", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(save)
        box.exec()
        clicked = box.clickedButton()
        if clicked is save:
            return Answer.SAVE
        if clicked is discard:
            return Answer.DISCARD
        return Answer.CANCEL

    def restore_recovery(self, parent: QWidget | None, case_id: str, saved_at: str) -> bool:
        when = saved_at.replace("T", " ")[:19] if saved_at else "an earlier session"
        answer = QMessageBox.question(
            parent,
            "Recover unsaved edits",
            f"Unsaved mask edits of <b>{case_id}</b> were autosaved ({when} UTC) and never "
            "saved, perhaps because the app closed unexpectedly.<br><br>Restore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes


class FixedPrompts(Prompts):
    """Prompts answered in advance (tests, scripts); records what was asked."""

    def __init__(self, unsaved: Answer | str = Answer.CANCEL, restore: bool = True):
        self.unsaved = Answer(unsaved)
        self.restore = restore
        self.asked: list[tuple[str, str]] = []  # (question, case id)

    def unsaved_edits(self, parent, case_id):
        self.asked.append(("unsaved", case_id))
        return self.unsaved

    def restore_recovery(self, parent, case_id, saved_at):
        self.asked.append(("recovery", case_id))
        return self.restore


class MaskGuard(QObject):
    """Autosave, recovery and leave-confirmation for the open mask session.

    Parameters
    ----------
    parent : QWidget, optional
        Parent of the dialogs.
    interval_ms : int
        Autosave period.
    prompts : Prompts, optional
        Who answers the questions (default: dialogs).
    runner : LatestOnly, optional
        Where the recovery file is written (default: a pool of the guard's own).

    Signals
    -------
    autosaved(str)
        Path of the recovery file just written.
    autosave_failed(str)
        Why the recovery file could not be written (the edits are still unsaved).
    labels_replaced()
        The working labels changed outside the layer's history (restore, discard):
        the layer must redraw and forget its undo steps.
    saved(object)
        A :class:`~corebt_viewer.services.review.SavedMask` written on leaving.
    """

    autosaved = Signal(str)
    autosave_failed = Signal(str)
    labels_replaced = Signal()
    saved = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        interval_ms: int = AUTOSAVE_MS,
        prompts: Prompts | None = None,
        runner: LatestOnly | None = None,
    ):
        super().__init__(parent)
        self._parent = parent
        self.prompts = prompts or Prompts()
        self.runner = runner or LatestOnly(WorkerPool(self, max_threads=1))
        self.session = None
        self._autosaved_revision: int | None = None
        self._buffer: np.ndarray | None = None  # the background autosave's reused copy
        self.last_error = ""
        self.recovery_problem: str | None = None  # the open case's unreadable recovery file
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.autosave_in_background)

    # ------------------------------------------------------------------ session
    def watch(self, session) -> None:
        """Guard `session` (None: nothing open) and start the autosave timer."""
        self.session = session
        self.runner.drop()  # a write in flight belongs to the previous session
        if session is None:
            self._autosaved_revision = None
            self._buffer = None
            self.timer.stop()
        else:
            self._autosaved_revision = session.history.revision
            self.timer.start()

    @property
    def dirty(self) -> bool:
        """Unsaved edits made since the last autosave (a counter test, no volume compare)."""
        session = self.session
        return (
            session is not None
            and session.has_unsaved_edits
            and session.history.revision != self._autosaved_revision
        )

    def autosave(self) -> str | None:
        """Write unsaved edits to the recovery file now, here; returns its path, or None."""
        session = self.session
        if not self.dirty:
            return None
        snapshot = session.autosave_snapshot()
        self._autosaved_revision = snapshot.revision
        try:
            path = session.write_autosave(snapshot)
        except Exception as exc:  # noqa: BLE001 - shown to the user; editing goes on
            self._failed(session, str(exc))
            return None
        return self._written(path)

    def autosave_in_background(self) -> Worker | None:
        """The timer's autosave: copy the labels here, compress and write in a worker."""
        session = self.session
        if not self.dirty or self.runner.busy:  # (so no write is reading the buffer)
            return None
        if self._buffer is None or self._buffer.shape != session.labels.shape:
            self._buffer = np.empty_like(session.labels)
        snapshot = session.autosave_snapshot(out=self._buffer)
        self._autosaved_revision = snapshot.revision

        def task(progress, cancelled):
            return session.write_autosave(snapshot)

        return self.runner.run(
            task,
            name=f"autosaving the mask of {session.case_id}",
            on_result=self._written,
            on_failed=lambda message: self._failed(session, message),
        )

    def _written(self, path) -> str | None:
        if path is None:  # saved or discarded meanwhile: nothing was written
            return None
        self.last_error = ""
        self.autosaved.emit(str(path))
        return str(path)

    def _failed(self, session, message: str) -> None:
        self.last_error = message
        self._autosaved_revision = None  # try again at the next tick
        log.warning("autosave of %s failed: %s", session.case_id, message)
        self.autosave_failed.emit(message)

    def offer_recovery(self) -> bool:
        """Ask to restore autosaved edits of the open case; True when restored."""
        session = self.session
        if session is None:
            return False
        self.recovery_problem = None
        try:
            found = session.recovery()
        except CoreBTError as exc:
            log.warning("recovery file of %s unreadable: %s", session.case_id, exc)
            self.recovery_problem = f"{exc}; the file is left in place"
            return False
        if found is None:
            return False
        if self.prompts.restore_recovery(self._parent, session.case_id, found.saved_at):
            restored = session.restore_recovery()
            if restored:
                self.labels_replaced.emit()
            return restored
        session.discard_edits()
        self.labels_replaced.emit()
        return False

    def confirm_leave(self) -> bool:
        """Before switching case or closing: True when it is safe to leave the case."""
        session = self.session
        if session is None or not session.has_unsaved_edits:
            return True
        answer = Answer(self.prompts.unsaved_edits(self._parent, session.case_id))
        if answer is Answer.SAVE:
            saved = session.save()
            self.saved.emit(saved)
            return True
        if answer is Answer.DISCARD:
            session.discard_edits()
            self.labels_replaced.emit()
            return True
        return False

    def stop(self) -> None:
        """Stop autosaving (the window closes)."""
        self.timer.stop()
        self.runner.drop()
        self.session = None
