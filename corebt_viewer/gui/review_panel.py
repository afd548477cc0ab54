"""Review of the open case: status, reviewer, notes, and "next case to review".

Each field is written alone with compare-and-set (:meth:`ReviewDB.set_field`): an edit is
written only over the value this panel last read, so a change another annotator made
meanwhile is shown under the notes, never overwritten.
"""

from __future__ import annotations

import getpass
import logging

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.review import CaseReview, ReviewStatus

log = logging.getLogger("corebt_viewer.gui")

STATUS_COLOURS = {
    ReviewStatus.NOT_STARTED: "#9a9a9a",
    ReviewStatus.IN_PROGRESS: "#4aa3ff",
    ReviewStatus.DONE: "#3fbf5f",
    ReviewStatus.FLAGGED: "#ff8a3d",
}


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return ""


class ReviewPanel(QWidget):
    """Edit the review of one case in the cohort's review database.

    Signals
    -------
    review_changed(str, str)
        Case id and status title after a change was written.
    next_case_requested(str)
        The next unfinished case (the viewer opens it).
    """

    review_changed = Signal(str, str)
    next_case_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = None
        self.case_ids: list[str] = []
        self.case_id: str | None = None
        self._loading = False
        #: the review as last read or written here: the values each write expects to find
        self.base: CaseReview | None = None
        self.conflict = QLabel("")
        self.conflict.setWordWrap(True)
        self.conflict.setStyleSheet("color: #ff8a3d;")
        self.conflict.setVisible(False)

        self.status_combo = QComboBox()
        for status in ReviewStatus:
            self.status_combo.addItem(status.title)
        self.status_combo.setToolTip("Review status of this case (saved at once)")
        self.status_combo.currentIndexChanged.connect(self._on_status)
        self.reviewer_edit = QLineEdit(default_reviewer())
        self.reviewer_edit.setPlaceholderText("Your name")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Notes on this case…")
        self.notes_edit.setMaximumHeight(70)
        self.save_button = QPushButton("Save notes")
        self.save_button.clicked.connect(self.commit)
        self.next_button = QPushButton("Next case to review ▸")
        self.next_button.setToolTip("Open the next case not started or in progress")
        self.next_button.clicked.connect(self.go_next)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Status", self.status_combo)
        form.addRow("Reviewer", self.reviewer_edit)
        form.addRow("Notes", self.notes_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.conflict)
        layout.addLayout(buttons)
        self.setEnabled(False)

    # ------------------------------------------------------------------ data
    def set_database(self, db, case_ids: list[str]) -> None:
        """Use `db` (a :class:`~corebt_viewer.io.review_db.ReviewDB`) for the cohort's cases."""
        self.db = db
        self.case_ids = list(case_ids)

    @property
    def reviewer(self) -> str:
        return self.reviewer_edit.text().strip()

    def show_case(self, case_id: str | None) -> None:
        """Load the review of `case_id` (None: no case)."""
        self.case_id = case_id
        self.base = None
        self._show_conflict([])
        self.setEnabled(case_id is not None and self.db is not None)
        if case_id is None or self.db is None:
            return
        review = self.db.get(case_id)
        self.base = review
        self._loading = True
        try:
            self.status_combo.setCurrentIndex(list(ReviewStatus).index(review.status))
            self.notes_edit.setPlainText(review.notes)
            if review.reviewer and not self.reviewer:
                self.reviewer_edit.setText(review.reviewer)
        finally:
            self._loading = False
        self._colour(review.status)

    def status(self) -> ReviewStatus:
        return list(ReviewStatus)[max(self.status_combo.currentIndex(), 0)]

    def set_status(self, status: ReviewStatus | str) -> None:
        self.status_combo.setCurrentIndex(list(ReviewStatus).index(ReviewStatus.parse(status)))

    def _colour(self, status: ReviewStatus) -> None:
        self.status_combo.setStyleSheet(
            f"QComboBox {{ border-left: 6px solid {STATUS_COLOURS[status]}; }}"
        )

    def _on_status(self, _index: int) -> None:
        self._colour(self.status())
        if not self._loading:
            self._write({"status": self.status().value})

    def commit(self) -> None:
        """Write the notes and reviewer, each only if it changed here."""
        if self.case_id is None or self.db is None or self.base is None:
            return
        changes = {}
        if self.notes_edit.toPlainText() != self.base.notes:
            changes["notes"] = self.notes_edit.toPlainText()
        if self.reviewer and self.reviewer != self.base.reviewer:
            changes["reviewer"] = self.reviewer
        if changes:
            self._write(changes)

    def _write(self, changes: dict[str, str]) -> None:
        """Write each changed field over the value last read; report the ones another
        annotator changed meanwhile (theirs stays in the database, ours in the panel)."""
        if self.case_id is None or self.db is None or self.base is None:
            return
        conflicts = []
        try:
            for field, value in changes.items():
                expected = getattr(self.base, field)
                expected = expected.value if isinstance(expected, ReviewStatus) else expected
                result = self.db.set_field(self.case_id, field, value, expected=expected)
                if not result.written:
                    conflicts.append((field, result.theirs))
                # what is in the database now is what the next write expects
                self.base = result.review
        except Exception as exc:  # noqa: BLE001 - shown, never a crash
            log.warning("review database: %s", exc)
            self._show_conflict([], f"Could not save the review: {exc}")
            return
        self._show_conflict(conflicts)
        self.review_changed.emit(self.case_id, self.base.status.title)

    def _show_conflict(self, conflicts: list[tuple[str, str]], error: str = "") -> None:
        lines = [error] if error else []
        for field, theirs in conflicts:
            shown = theirs if field != "status" else ReviewStatus.parse(theirs).title
            lines.append(
                f"Another reviewer changed the {field} meanwhile to: {shown!r}. Yours is "
                "kept here, not saved; save again to replace theirs."
            )
        self.conflict.setText("\n".join(lines))
        self.conflict.setVisible(bool(lines))

    def go_next(self) -> str | None:
        """Emit the next case to review after the open one; None when all are finished."""
        if self.db is None or not self.case_ids:
            return None
        self.commit()
        nxt = self.db.next_case(self.case_ids, after=self.case_id)
        if nxt is None:
            self.next_button.setText("All cases reviewed ✓")
        elif nxt != self.case_id:
            self.next_case_requested.emit(nxt)
        return nxt
