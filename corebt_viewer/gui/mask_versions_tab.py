"""The mask editor's Versions tab: the original and every saved version, open or make current."""

from __future__ import annotations

from datetime import datetime

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class VersionsTab(QWidget):
    """List of a session's mask versions.

    Signals
    -------
    open_requested(object), make_current_requested(object)
        The :class:`~corebt_viewer.io.mask_versions.MaskVersion` chosen.
    """

    open_requested = Signal(object)
    make_current_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.itemDoubleClicked.connect(lambda _i: self._request(self.open_requested))
        layout.addWidget(self.list)
        row = QHBoxLayout()
        open_button = QPushButton("Open")
        open_button.setToolTip("Load this version into the editor")
        open_button.clicked.connect(lambda: self._request(self.open_requested))
        current_button = QPushButton("Make current")
        current_button.setToolTip("Make this version the case's mask (no file is written)")
        current_button.clicked.connect(lambda: self._request(self.make_current_requested))
        row.addWidget(open_button)
        row.addWidget(current_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.note = QLabel("The original is never modified.")
        self.note.setStyleSheet("color: #9a9a9a;")
        layout.addWidget(self.note)

    def selected(self):
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _request(self, signal) -> None:
        version = self.selected()
        if version is not None:
            signal.emit(version)

    def refresh(self, session) -> None:
        """List `session`'s versions, marking the case's current one and the open one."""
        self.list.clear()
        if session is None:
            return
        from corebt_viewer.services import review as rv

        try:
            versions = session.versions()
            current = rv.current_mask_version(location=session.location)
        except Exception as exc:  # noqa: BLE001 - a broken pointer file is shown, not raised
            self.note.setText(f"Versions unreadable: {exc}")
            return
        base = session.base
        current_path = current.path if current is not None else None
        base_path = base.path if base is not None else None
        for version in versions:
            exists = version.path.exists()
            when = datetime.fromtimestamp(version.path.stat().st_mtime) if exists else None
            text = version.label + (f"  ·  {when:%Y-%m-%d %H:%M}" if when is not None else "")
            marks = []
            if current_path == version.path or (current is None and version.is_original):
                marks.append("current")
            if base_path == version.path or (
                base is None and version.is_original and session.location.has_original
            ):
                marks.append("open")
            if marks:
                text += "  ·  " + ", ".join(marks)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, version)
            tip = str(version.path)
            if version.is_original:
                tip += "\nThe original mask: never modified"
            item.setToolTip(tip)
            self.list.addItem(item)
