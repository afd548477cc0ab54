"""The mask editor's 3D tab: tumour surfaces, mesh export and the case summary button."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QGroupBox, QPushButton, QVBoxLayout, QWidget


class OutputsTab(QWidget):
    """Signals ``summary_requested()`` when "Export case summary" is pressed."""

    summary_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from corebt_viewer.gui.surface_view import SurfacePanel

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        box = QGroupBox("Tumour surfaces")
        inner = QVBoxLayout(box)
        self.surfaces = SurfacePanel()
        inner.addWidget(self.surfaces)
        layout.addWidget(box)
        self.summary_button = QPushButton("Export case summary (PDF + PNG)…")
        self.summary_button.setToolTip(
            "One page: key MRI slice with the mask, slides with the heat map, prediction, "
            "modality weights, ablation table and region volumes"
        )
        self.summary_button.clicked.connect(self.summary_requested)
        layout.addWidget(self.summary_button)
        layout.addStretch(1)
