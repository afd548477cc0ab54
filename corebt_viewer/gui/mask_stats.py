"""The mask editor's live table: region volumes, changed voxels and Dice against the original.

:class:`StatsScheduler` recomputes a moment after the last stroke, in a worker on a copy of
the labels (painting goes on meanwhile), and keeps only the newest result;
:class:`StatsTable` shows it.
"""

from __future__ import annotations

import time

from qtpy.QtCore import QObject, Qt, QTimer, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.segmentation import REGIONS
from corebt_viewer.gui.task_runner import LatestOnly
from corebt_viewer.services import mask_editing as me

STATS_DELAY_MS = 250


def hex_colour(colour) -> str:
    r, g, b = (int(round(c * 255)) for c in colour[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


class StatsTable(QWidget):
    """Region rows (and whole tumour) x mL, original mL, changed voxels, Dice."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        table = QTableWidget(len(REGIONS) + 1, 5)
        table.setHorizontalHeaderLabels(["Region", "mL", "Orig.", "Δ vox", "Dice"])
        tips = (
            "Volume of the edited mask (millilitres)",
            "Volume in the original mask (mL)",
            "Voxels added plus removed, against the original",
            "Dice overlap with the original",
        )
        for col, tip in enumerate(tips, start=1):
            table.horizontalHeaderItem(col).setToolTip(tip)
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        names = [(r.short, r.title, hex_colour(r.colour)) for r in REGIONS]
        names.append(("WT", "Whole tumour", "#dddddd"))
        for row, (short, title, colour) in enumerate(names):
            item = QTableWidgetItem(f"■ {title.replace('Enhancing tumour', 'Enhancing')}")
            item.setToolTip(f"{title} ({short})")
            item.setForeground(QColor(colour))
            table.setItem(row, 0, item)
            for col in range(1, 5):
                cell = QTableWidgetItem("–")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, cell)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        height = table.horizontalHeader().sizeHint().height() + 4
        height += sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(height)
        self.table = table
        self.changed_label = QLabel("")
        self.changed_label.setWordWrap(True)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(table)
        col.addWidget(self.changed_label)

    def show_stats(self, stats: me.EditStats) -> None:
        for row, region in enumerate(stats.rows()):
            values = (
                f"{region.volume_ml:.2f}",
                f"{region.original_ml:.2f}",
                f"{region.changed_voxels:,}",
                f"{region.dice:.3f}",
            )
            for col, text in enumerate(values, start=1):
                self.table.item(row, col).setText(text)
        self.changed_label.setText(
            f"Changed against the original: {stats.changed_voxels:,} voxels "
            f"({stats.changed_ml:.2f} mL)"
        )


class StatsScheduler(QObject):
    """Compute :func:`~corebt_viewer.services.mask_editing.edit_stats` off the UI thread.

    Signals
    -------
    computed(object, float)
        The :class:`~corebt_viewer.services.mask_editing.EditStats` and its cost in ms.
    """

    computed = Signal(object, float)

    def __init__(self, runner: LatestOnly, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.session = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(STATS_DELAY_MS)
        self._timer.timeout.connect(self.compute)

    def watch(self, session) -> None:
        self.session = session
        self._timer.stop()
        self.runner.drop()

    def schedule(self, now: bool = False) -> None:
        if self.session is None:
            return
        if now:
            self._timer.stop()
            self.compute()
        else:
            self._timer.start()

    def compute(self) -> None:
        session = self.session
        if session is None:
            return
        labels = session.labels.copy()  # a snapshot: painting goes on meanwhile
        original, voxel_size = session.original_labels, session.voxel_size

        def task(progress, cancelled):
            start = time.perf_counter()
            stats = me.edit_stats(original, labels, voxel_size)
            return stats, (time.perf_counter() - start) * 1000.0

        self.runner.run(task, name="mask statistics", on_result=lambda r: self.computed.emit(*r))

    def compute_now(self) -> me.EditStats | None:
        """Compute on the UI thread (tests, screenshots); a result in flight is dropped."""
        if self.session is None:
            return None
        self.runner.drop()
        stats = self.session.stats()
        self.computed.emit(stats, 0.0)
        return stats
