"""The mask editor's Tools tab: remove small islands, smooth a region, fill between slices.

Each tool computes in a worker on a copy of the labels and lands as one ``data_setitem``
on the layer (one undo step, one ``paint`` event); if the labels changed meanwhile the
result is refused rather than merged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QWidget

from corebt_viewer.gui.task_runner import LatestOnly
from corebt_viewer.services import mask_editing as me

TOOLS = ("islands", "smooth", "interpolate")


class ToolsTab(QWidget):
    """Tool settings and buttons; :meth:`run` applies a tool to a bound session.

    Signals
    -------
    applied(str, int)
        Tool name and voxels it changed (0: nothing to change, or refused).
    """

    applied = Signal(str, int)

    def __init__(self, runner: LatestOnly, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.target: Callable[[], tuple] = lambda: (None, None, 1, 2)
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        self.islands_ml = QDoubleSpinBox()
        self.islands_ml.setRange(0.001, 50.0)
        self.islands_ml.setDecimals(3)
        self.islands_ml.setValue(0.05)
        self.islands_ml.setSuffix(" mL")
        self.islands_ml.setToolTip("Islands: pieces of any region smaller than this go")
        self.islands_fill = QComboBox()
        self.islands_fill.addItems(["background", "surrounding"])
        self.islands_fill.setToolTip(
            "What removed voxels become: background, or the nearest region"
        )
        islands = QPushButton("Remove small islands")
        islands.clicked.connect(lambda: self.run("islands"))
        grid.addWidget(QLabel("Islands under"), 0, 0)
        grid.addWidget(self.islands_ml, 0, 1)
        grid.addWidget(QLabel("become"), 1, 0)
        grid.addWidget(self.islands_fill, 1, 1)
        grid.addWidget(islands, 2, 0, 1, 2)
        self.smooth_method = QComboBox()
        self.smooth_method.addItems(["gaussian", "median", "opening", "closing"])
        self.smooth_method.setToolTip("Smoothing filter")
        self.smooth_sigma = QDoubleSpinBox()
        self.smooth_sigma.setRange(0.2, 5.0)
        self.smooth_sigma.setValue(1.0)
        self.smooth_sigma.setSuffix(" mm")
        self.smooth_sigma.setToolTip("Gaussian width")
        smooth = QPushButton("Smooth selected region")
        smooth.clicked.connect(lambda: self.run("smooth"))
        grid.addWidget(self.smooth_method, 3, 0)
        grid.addWidget(self.smooth_sigma, 3, 1)
        grid.addWidget(smooth, 4, 0, 1, 2)
        interp = QPushButton("Fill between slices (selected region)")
        interp.setToolTip(
            "Draw the region on a few slices of the current plane, then interpolate the "
            "slices between them"
        )
        interp.clicked.connect(lambda: self.run("interpolate"))
        grid.addWidget(interp, 5, 0, 1, 2)
        self.status = QLabel("Each tool is one undoable step.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9a9a9a;")
        grid.addWidget(self.status, 6, 0, 1, 2)
        grid.setRowStretch(7, 1)
        self.buttons = [islands, smooth, interp]

    def function(self, name: str, *, region: int, voxel_size, axis: int) -> Callable:
        """The tool `name` with the tab's settings, as labels -> new labels."""
        voxel_size = tuple(voxel_size)
        if name == "islands":
            fill = "surrounding" if self.islands_fill.currentIndex() == 1 else "background"
            ml = self.islands_ml.value()
            return lambda a: me.remove_small_islands(a, min_ml=ml, voxel_size=voxel_size, fill=fill)
        if name == "smooth":
            method, sigma = self.smooth_method.currentText(), self.smooth_sigma.value()
            return lambda a: me.smooth_region(
                a, region, method=method, sigma_mm=sigma, voxel_size=voxel_size
            )
        if name == "interpolate":
            return lambda a: me.fill_between_slices(a, region, axis=axis, voxel_size=voxel_size)
        raise ValueError(f"unknown tool {name!r}; expected one of {TOOLS}")

    def run(self, name: str) -> None:
        """Run a tool on ``target()`` = (session, layer, region, slice axis) in a worker."""
        session, layer, region, axis = self.target()
        if session is None or layer is None:
            return
        function = self.function(name, region=region, voxel_size=session.voxel_size, axis=axis)
        before = session.labels.copy()
        for button in self.buttons:
            button.setEnabled(False)
        self.status.setText("Working…")

        def task(progress, cancelled):
            return me.label_edit(before, function(before))

        self.runner.run(
            task,
            name=f"mask tool {name}",
            on_result=lambda edit: self._apply(name, edit, layer),
            on_failed=lambda message: self.status.setText(f"Failed: {message}"),
            on_done=lambda: [b.setEnabled(True) for b in self.buttons],
        )

    def _apply(self, name: str, edit: me.LabelEdit, layer) -> None:
        session, current, _region, _axis = self.target()
        if session is None or current is not layer:
            return
        if edit.n_changed and not np.array_equal(layer.data[edit.indices], edit.previous):
            self.status.setText("The mask changed while the tool ran: run it again.")
            self.applied.emit(name, 0)
            return
        if edit.n_changed:
            layer.data_setitem(edit.indices, edit.values)  # one undo step, emits paint
            self.status.setText(f"{edit.n_changed:,} voxels changed (Undo reverts)")
        else:
            self.status.setText("Nothing to change.")
        self.applied.emit(name, edit.n_changed)
