"""The pathology report: read-only text with find (Ctrl+F, Enter / Shift+Enter)."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor, QTextCharFormat, QTextCursor, QTextDocument
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class ReportView(QWidget):
    """Read-only report text with a find bar that highlights every match."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setPlaceholderText("No report.")
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("Find in report (Ctrl+F)")
        self.find_edit.setClearButtonEnabled(True)
        self.find_edit.textChanged.connect(self._highlight)
        self.find_edit.returnPressed.connect(self.find_next)
        self.count_label = QLabel("")
        self.count_label.setStyleSheet("color: #9a9a9a;")
        prev_button, next_button = QToolButton(), QToolButton()
        prev_button.setArrowType(Qt.ArrowType.UpArrow)
        next_button.setArrowType(Qt.ArrowType.DownArrow)
        prev_button.setToolTip("Previous match (Shift+Enter)")
        next_button.setToolTip("Next match (Enter)")
        prev_button.clicked.connect(self.find_previous)
        next_button.clicked.connect(self.find_next)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("<b>Report</b>"))
        row.addWidget(self.find_edit, 1)
        row.addWidget(self.count_label)
        row.addWidget(prev_button)
        row.addWidget(next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.text, 1)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.find_previous()
            return
        super().keyPressEvent(event)

    def set_report(self, text: str | None, *, message: str = "") -> None:
        """Show `text`; with ``None`` show `message` (no report, or why it cannot be read)."""
        if text is None:
            self.text.setPlainText("")
            self.text.setPlaceholderText(message or "No report for this case.")
        else:
            self.text.setPlainText(text)
        self._highlight()

    def focus_find(self) -> None:
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def matches(self) -> int:
        return len(self.text.extraSelections())

    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindFlag.FindBackward)

    def _find(self, flags) -> bool:
        needle = self.find_edit.text()
        if not needle:
            return False
        if self.text.find(needle, flags):
            return True
        cursor = self.text.textCursor()  # wrap around
        backward = bool(flags & QTextDocument.FindFlag.FindBackward)
        cursor.movePosition(
            QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start
        )
        self.text.setTextCursor(cursor)
        return self.text.find(needle, flags)

    def _highlight(self, *_) -> None:
        needle = self.find_edit.text()
        selections = []
        if needle:
            fmt = QTextCharFormat()
            fmt.setBackground(QColor("#f0c000"))
            fmt.setForeground(QColor("#000000"))
            doc = self.text.document()
            cursor = doc.find(needle)
            while not cursor.isNull() and len(selections) < 5000:
                sel = QTextEdit.ExtraSelection()
                sel.cursor = cursor
                sel.format = fmt
                selections.append(sel)
                cursor = doc.find(needle, cursor)
        self.text.setExtraSelections(selections)
        self.count_label.setText(f"{len(selections)} found" if needle else "")
