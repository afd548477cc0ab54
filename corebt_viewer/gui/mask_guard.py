"""Never lose a mask edit: autosave timer, crash recovery offer, ask before leaving a case.

The :class:`MaskGuard` watches the open :class:`~corebt_viewer.services.mask_session.MaskSession`:
every few seconds it writes unsaved edits to the case's recovery file; when a case with a
recovery file opens it offers to restore it; before the viewer switches case or closes it
asks what to do with unsaved edits (save, discard or stay). The questions go through a
:class:`Prompts` object, so tests (and scripts) answer them without a dialog.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import QMessageBox, QWidget

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

    Signals
    -------
    autosaved(str)
        Path of the recovery file just written.
    labels_replaced()
        The working labels changed outside the layer's history (restore, discard):
        the layer must redraw and forget its undo steps.
    saved(object)
        A :class:`~corebt_viewer.services.review.SavedMask` written on leaving.
    """

    autosaved = Signal(str)
    labels_replaced = Signal()
    saved = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        interval_ms: int = AUTOSAVE_MS,
        prompts: Prompts | None = None,
    ):
        super().__init__(parent)
        self._parent = parent
        self.prompts = prompts or Prompts()
        self.session = None
        self.dirty = False  # edits since the last autosave (cheap check for the timer)
        self.last_error = ""
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.autosave)

    # ------------------------------------------------------------------ session
    def watch(self, session) -> None:
        """Guard `session` (None: nothing open) and start the autosave timer."""
        self.session = session
        self.dirty = False
        if session is None:
            self.timer.stop()
        else:
            self.timer.start()

    def mark_edited(self, *_) -> None:
        """Note an edit (connect to ``layer.events.paint``)."""
        self.dirty = True

    def autosave(self) -> str | None:
        """Write unsaved edits to the recovery file now; returns its path, or None."""
        session = self.session
        if session is None or not self.dirty:
            return None
        self.dirty = False
        try:
            path = session.autosave()
        except Exception as exc:  # noqa: BLE001 - autosave must never break editing
            self.last_error = str(exc)
            log.warning("autosave of %s failed: %s", session.case_id, exc)
            return None
        if path is None:
            return None
        self.autosaved.emit(str(path))
        return str(path)

    def offer_recovery(self) -> bool:
        """Ask to restore autosaved edits of the open case; True when restored."""
        session = self.session
        if session is None:
            return False
        try:
            found = session.recovery()
        except Exception as exc:  # noqa: BLE001 - an unreadable recovery file is skipped
            log.warning("recovery file of %s unreadable: %s", session.case_id, exc)
            return False
        if found is None:
            return False
        if self.prompts.restore_recovery(self._parent, session.case_id, found.saved_at):
            restored = session.restore_recovery()
            self.dirty = restored
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
            self.dirty = False
            self.saved.emit(saved)
            return True
        if answer is Answer.DISCARD:
            session.discard_edits()
            self.dirty = False
            self.labels_replaced.emit()
            return True
        return False

    def stop(self) -> None:
        """Stop autosaving (the window closes)."""
        self.timer.stop()
        self.session = None
