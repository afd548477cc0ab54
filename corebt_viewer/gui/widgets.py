"""Small shared widgets: a message pane, a colour legend, a titled tool row."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget


class MessagePane(QLabel):
    """Centred, word-wrapped message shown in place of a canvas (missing or unreadable data)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(
            "QLabel { color: #c8c8c8; background: #1e1e1e; font-size: 13px; padding: 24px; }"
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)


class Legend(QWidget):
    """A row of colour swatches with names."""

    def __init__(self, entries: list[tuple[str, str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for short, title, colour in entries:
            swatch = QLabel()
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background: {colour}; border: 1px solid #444;")
            label = QLabel(f"{title} ({short})")
            label.setToolTip(title)
            layout.addWidget(swatch)
            layout.addWidget(label)
        layout.addStretch(1)


class Banner(QLabel):
    """A thin notice line above a canvas (missing sequences, files that failed)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet("QLabel { color: #ffd479; padding: 2px 4px; }")
        self.hide()

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))
