"""The mask editor dock: correct a case's tumour mask safely, and review the case.

It edits the MRI canvas's labels layer in place (the layer's array *is* the
:class:`~corebt_viewer.services.mask_session.MaskSession`'s working labels), so napari's
own painting, undo and redo apply. Around that it adds what Slicer's Segment Editor and
ITK-SNAP users rely on: a label picker naming the BraTS regions, a visible 2D / 3D edit
switch, paint limited to an intensity range of the sequence in view, remove small islands,
smooth a region and fill between slices (each one undoable step), a live table of region
volumes with changed voxels and Dice against the original, Ctrl+S to a new version (the
original is never written), the versions list, and the case's review.

The table is recomputed off the UI thread, a moment after each stroke; the tools compute
in a worker and apply their result as one ``data_setitem`` (one undo step).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from qtpy.QtCore import Qt, QThreadPool, QTimer, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.segmentation import REGIONS
from corebt_viewer.gui import layers as L
from corebt_viewer.gui.mask_guard import AUTOSAVE_MS, Answer, MaskGuard, Prompts
from corebt_viewer.gui.review_panel import ReviewPanel
from corebt_viewer.gui.workers import Worker
from corebt_viewer.services import mask_editing as me

log = logging.getLogger("corebt_viewer.gui")

MODES = (("pan_zoom", "Pan", "Move and zoom (no editing)"),
         ("paint", "Paint", "Paint the selected region"),
         ("erase", "Erase", "Erase to background"),
         ("fill", "Fill", "Flood-fill the connected area under the click"))  # fmt: skip
TOOLS = ("islands", "smooth", "interpolate")
STATS_DELAY_MS = 250


def _hex(colour) -> str:
    r, g, b = (int(round(c * 255)) for c in colour[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


class IntensityLimit:
    """Restrict a labels layer's brush and fill to voxels within an intensity range.

    napari paints through ``Labels._paint_region_with_mask`` (brush, fill, polygon) and
    records the stroke as one undo step; this wraps that method on one layer instance so
    the stroke's mask keeps only voxels whose intensity in `image()` lies in the range.
    Erasing (label 0) is not limited.
    """

    def __init__(self, layer, image: Callable[[], np.ndarray | None], low: float, high: float):
        self.layer = layer
        self.image = image
        self.low, self.high = sorted((float(low), float(high)))
        self._original = type(layer)._paint_region_with_mask.__get__(layer)
        layer._paint_region_with_mask = self._paint

    def _paint(self, slice_key, mask, new_label, dims_to_paint, refresh=True, region_data=None):
        image = self.image()
        if new_label == 0 or image is None or image.shape != self.layer.data.shape:
            return self._original(slice_key, mask, new_label, dims_to_paint, refresh, region_data)
        extra = tuple(d for d in range(self.layer.ndim) if d not in dims_to_paint)
        if extra:
            mask = np.expand_dims(mask, extra)
            if region_data is not None:
                region_data = np.expand_dims(region_data, extra)
        values = np.asarray(image[slice_key])
        mask = mask & (values >= self.low) & (values <= self.high)
        return self._original(
            slice_key, mask, new_label, list(range(self.layer.ndim)), refresh, region_data
        )

    def remove(self) -> None:
        self.layer.__dict__.pop("_paint_region_with_mask", None)


class MaskEditor(QWidget):
    """Dock widget editing the open case's tumour mask.

    Parameters
    ----------
    prompts : Prompts, optional
        Who answers "unsaved edits?" and "restore?" (default: dialogs).
    autosave_ms : int
        Autosave period.

    Signals
    -------
    saved(object)
        A :class:`~corebt_viewer.services.review.SavedMask` (Ctrl+S).
    stats_shown(object)
        The :class:`~corebt_viewer.services.mask_editing.EditStats` now in the table.
    tool_applied(str, int)
        Tool name and voxels it changed (0: nothing to change).
    mask_created()
        "New mask" was chosen for a case without one (the canvas should show the layer).
    version_opened(str)
        A version was loaded into the working labels.
    summary_requested()
        "Export case summary" was pressed (the window gathers the prediction and slides).
    """

    saved = Signal(object)
    stats_shown = Signal(object)
    tool_applied = Signal(str, int)
    mask_created = Signal()
    version_opened = Signal(str)
    summary_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        autosave_ms: int = AUTOSAVE_MS,
    ):
        super().__init__(parent)
        self.session = None
        self.layer = None
        self.viewer = None
        self._image_layer: Callable[[], object] = lambda: None
        self.db = None
        self.cohort_root: Path | None = None
        self.limit: IntensityLimit | None = None
        self._range_source_id: int | None = None  # the image the slider's range came from
        self.guard = MaskGuard(self, interval_ms=autosave_ms, prompts=prompts)
        self.guard.labels_replaced.connect(self._labels_replaced)
        self.guard.saved.connect(self._on_saved)
        self.guard.autosaved.connect(
            lambda p: self.state_label.setText(f"Autosaved {datetime.now():%H:%M:%S}")
        )
        self.last_stats: me.EditStats | None = None
        self.stats_ms: list[float] = []
        self._stats_token = 0
        self._workers: list[Worker] = []
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_DELAY_MS)
        self._stats_timer.timeout.connect(self._compute_stats)
        self._build()
        self._set_enabled(False)

    # ================================================================== widgets
    def _build(self) -> None:
        self.setStyleSheet(
            "QToolButton:checked { background: #3b6ea8; color: white; border-radius: 3px; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(4)
        self.case_label = QLabel("No case open")
        self.case_label.setStyleSheet("font-weight: bold;")
        self.state_label = QLabel("")
        self.state_label.setStyleSheet("color: #9a9a9a;")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.case_label)
        layout.addWidget(self.state_label)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_edit_tab(), "Edit")
        self.tabs.addTab(self._build_tools_tab(), "Tools")
        self.tabs.addTab(self._build_versions_tab(), "Versions")
        self.review = ReviewPanel()
        self.tabs.addTab(self.review, "Review")
        self.tabs.addTab(self._build_outputs_tab(), "3D")
        self.tabs.setTabToolTip(4, "3D surfaces, mesh export and the case summary")
        layout.addWidget(self.tabs)

        layout.addWidget(self._build_table())
        save_row = QHBoxLayout()
        self.new_button = QPushButton("New mask")
        self.new_button.setToolTip("Start an empty mask for this case (it has none)")
        self.new_button.clicked.connect(self.new_mask)
        self.new_button.hide()
        self.save_button = QPushButton("Save version  (Ctrl+S)")
        self.save_button.setToolTip("Write the edits as a new version beside the original")
        self.save_button.clicked.connect(self.save)
        save_row.addWidget(self.new_button)
        save_row.addStretch(1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)

    def _build_edit_tab(self) -> QWidget:
        tab = QWidget()
        grid = QVBoxLayout(tab)
        grid.setContentsMargins(2, 4, 2, 2)
        # label picker
        labels = QHBoxLayout()
        self.label_group = QButtonGroup(self)
        self.label_buttons: dict[int, QToolButton] = {}
        for region in REGIONS:
            button = QToolButton()
            button.setText(region.short)
            button.setMinimumWidth(42)
            button.setCheckable(True)
            button.setToolTip(f"Paint {region.title} (label {int(region)})")
            colour = _hex(region.colour)
            button.setStyleSheet(
                f"QToolButton {{ border-left: 8px solid {colour}; padding: 3px 6px; }}"
                f"QToolButton:checked {{ background: {colour}; color: black; font-weight: bold; }}"
            )
            self.label_group.addButton(button, int(region))
            labels.addWidget(button)
            self.label_buttons[int(region)] = button
        self.label_buttons[int(REGIONS[0])].setChecked(True)
        self.label_group.idClicked.connect(self.set_label)
        self.label_name = QLabel(REGIONS[0].title)
        self.label_name.setMinimumWidth(20)
        self.label_name.setStyleSheet("color: #c8c8c8;")
        labels.addWidget(self.label_name)
        labels.addStretch(1)
        grid.addLayout(labels)
        # modes
        modes = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for i, (mode, text, tip) in enumerate(MODES):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            self.mode_group.addButton(button, i)
            modes.addWidget(button)
            self.mode_buttons[mode] = button
        self.mode_buttons["pan_zoom"].setChecked(True)
        self.mode_group.idClicked.connect(lambda i: self.set_mode(MODES[i][0]))
        modes.addStretch(1)
        self.undo_button = QToolButton()
        self.undo_button.setText("↶")
        self.undo_button.setToolTip("Undo the last stroke or tool (Ctrl+Z on the canvas)")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("↷")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z on the canvas)")
        self.redo_button.clicked.connect(self.redo)
        modes.addWidget(self.undo_button)
        modes.addWidget(self.redo_button)
        grid.addLayout(modes)
        # brush, preserve, 2D/3D
        form = QFormLayout()
        brush_row = QHBoxLayout()
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(1, 40)
        self.brush_slider.setValue(8)
        self.brush_label = QLabel("8 px")
        self.brush_label.setMinimumWidth(40)
        self.brush_slider.valueChanged.connect(self.set_brush_size)
        brush_row.addWidget(self.brush_slider, 1)
        brush_row.addWidget(self.brush_label)
        form.addRow("Brush", brush_row)
        dim_row = QHBoxLayout()
        self.dim_group = QButtonGroup(self)
        self.edit_2d = QToolButton()
        self.edit_2d.setText("2D  this slice")
        self.edit_3d = QToolButton()
        self.edit_3d.setText("3D  ball")
        for i, button in enumerate((self.edit_2d, self.edit_3d)):
            button.setCheckable(True)
            self.dim_group.addButton(button, i)
            dim_row.addWidget(button)
        self.edit_2d.setChecked(True)
        self.edit_2d.setToolTip("Brush and fill act on the slice in view only")
        self.edit_3d.setToolTip("Brush and fill reach the neighbouring slices too")
        self.dim_group.idClicked.connect(lambda i: self.set_3d(i == 1))
        dim_row.addStretch(1)
        form.addRow("Edit in", dim_row)
        self.dim_warning = QLabel("3D editing also changes slices you do not see")
        self.dim_warning.setStyleSheet("color: #ffb347;")
        self.dim_warning.hide()
        form.addRow("", self.dim_warning)
        self.preserve_check = QCheckBox("Preserve other regions")
        self.preserve_check.setToolTip("Paint only over background, never over another region")
        self.preserve_check.toggled.connect(self.set_preserve)
        form.addRow("", self.preserve_check)
        grid.addLayout(form)
        # intensity range
        box = QGroupBox("Limit paint to an intensity range")
        box.setCheckable(True)
        box.setChecked(False)
        box.toggled.connect(self.set_intensity_limit)
        self.intensity_box = box
        inner = QVBoxLayout(box)
        from superqt import QLabeledDoubleRangeSlider

        self.range_slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.range_slider.setRange(0.0, 1.0)
        self.range_slider.setValue((0.0, 1.0))
        self.range_slider.valueChanged.connect(self._on_range)
        self.range_source = QLabel("Sequence in view")
        self.range_source.setStyleSheet("color: #9a9a9a;")
        inner.addWidget(self.range_source)
        inner.addWidget(self.range_slider)
        for widget in (self.range_source, self.range_slider):
            widget.setVisible(False)
            box.toggled.connect(widget.setVisible)
        grid.addWidget(box)
        grid.addStretch(1)
        return tab

    def _build_tools_tab(self) -> QWidget:
        tab = QWidget()
        grid = QGridLayout(tab)
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
        islands.clicked.connect(lambda: self.apply_tool("islands"))
        grid.addWidget(QLabel("Islands under"), 0, 0)
        grid.addWidget(self.islands_ml, 0, 1)
        grid.addWidget(QLabel("become"), 1, 0)
        grid.addWidget(self.islands_fill, 1, 1)
        grid.addWidget(islands, 2, 0, 1, 2)
        self.smooth_method = QComboBox()
        self.smooth_method.addItems(["gaussian", "median", "opening", "closing"])
        self.smooth_sigma = QDoubleSpinBox()
        self.smooth_sigma.setRange(0.2, 5.0)
        self.smooth_sigma.setValue(1.0)
        self.smooth_sigma.setSuffix(" mm")
        smooth = QPushButton("Smooth selected region")
        smooth.clicked.connect(lambda: self.apply_tool("smooth"))
        self.smooth_method.setToolTip("Smoothing filter")
        self.smooth_sigma.setToolTip("Gaussian width")
        grid.addWidget(self.smooth_method, 3, 0)
        grid.addWidget(self.smooth_sigma, 3, 1)
        grid.addWidget(smooth, 4, 0, 1, 2)
        interp = QPushButton("Fill between slices (selected region)")
        interp.setToolTip(
            "Draw the region on a few slices of the current plane, then interpolate the "
            "slices between them"
        )
        interp.clicked.connect(lambda: self.apply_tool("interpolate"))
        grid.addWidget(interp, 5, 0, 1, 2)
        self.tool_status = QLabel("Each tool is one undoable step.")
        self.tool_status.setWordWrap(True)
        self.tool_status.setStyleSheet("color: #9a9a9a;")
        grid.addWidget(self.tool_status, 6, 0, 1, 2)
        grid.setRowStretch(7, 1)
        self.tool_buttons = [islands, smooth, interp]
        return tab

    def _build_versions_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 4, 4, 4)
        self.versions_list = QListWidget()
        self.versions_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.versions_list.itemDoubleClicked.connect(lambda _i: self.open_selected_version())
        layout.addWidget(self.versions_list)
        row = QHBoxLayout()
        open_button = QPushButton("Open")
        open_button.setToolTip("Load this version into the editor")
        open_button.clicked.connect(self.open_selected_version)
        current_button = QPushButton("Make current")
        current_button.setToolTip("Make this version the case's mask (no file is written)")
        current_button.clicked.connect(self.make_selected_current)
        row.addWidget(open_button)
        row.addWidget(current_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.versions_note = QLabel("The original is never modified.")
        self.versions_note.setStyleSheet("color: #9a9a9a;")
        layout.addWidget(self.versions_note)
        return tab

    def _build_outputs_tab(self) -> QWidget:
        from corebt_viewer.gui.surface_view import SurfacePanel

        tab = QWidget()
        layout = QVBoxLayout(tab)
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
        self.summary_button.clicked.connect(lambda: self.summary_requested.emit())
        layout.addWidget(self.summary_button)
        layout.addStretch(1)
        return tab

    def _build_table(self) -> QWidget:
        table = QTableWidget(len(REGIONS) + 1, 5)
        table.setHorizontalHeaderLabels(["Region", "mL", "Orig.", "Δ vox", "Dice"])
        table.horizontalHeaderItem(1).setToolTip("Volume of the edited mask (millilitres)")
        table.horizontalHeaderItem(2).setToolTip("Volume in the original mask (mL)")
        table.horizontalHeaderItem(3).setToolTip("Voxels added plus removed, against the original")
        table.horizontalHeaderItem(4).setToolTip("Dice overlap with the original")
        table.setWordWrap(False)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        names = [(r.short, r.title, _hex(r.colour)) for r in REGIONS]
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
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(table)
        col.addWidget(self.changed_label)
        return box

    def _set_enabled(self, on: bool) -> None:
        self.tabs.widget(0).setEnabled(on)
        self.tabs.widget(1).setEnabled(on)
        self.save_button.setEnabled(on)

    # ================================================================== binding
    def set_cohort(self, cohort_root: str | Path, case_ids: list[str], db=None) -> None:
        """Use the cohort's review database (opened here unless given)."""
        from corebt_viewer.io.review_db import ReviewDB

        if self.db is not None and db is not self.db:
            self.db.close()
        self.cohort_root = Path(cohort_root)
        self.db = db if db is not None else ReviewDB.for_cohort(cohort_root)
        self.review.set_database(self.db, case_ids)

    def bind(self, session, layer, *, viewer=None, image_layer=None) -> None:
        """Edit `session`'s labels through `layer` (its data becomes ``session.labels``).

        Parameters
        ----------
        session : MaskSession
        layer : napari Labels layer
            The canvas's mask layer; its undo history is cleared.
        viewer : ViewerModel, optional
            To make the layer active while editing and find the slice axis.
        image_layer : callable, optional
            Returns the image layer in view (for the intensity range).
        """
        self.unbind()
        self.session = session
        self.layer = layer
        self.viewer = viewer
        self._image_layer = image_layer or (lambda: None)
        if layer.data is not session.labels:
            L.set_labels_data(layer, session.labels)
        L.reset_labels_history(layer)
        layer.selected_label = self.label_group.checkedId()
        layer.brush_size = self.brush_slider.value()
        layer.n_edit_dimensions = 3 if self.edit_3d.isChecked() else 2
        layer.preserve_labels = self.preserve_check.isChecked()
        layer.mode = "pan_zoom"
        self.mode_buttons["pan_zoom"].setChecked(True)
        layer.events.paint.connect(self._on_paint)
        layer.events.mode.connect(self._on_layer_mode)
        self.guard.watch(session)
        if viewer is not None:
            self.surfaces.set_target(viewer, layer, session.case_id, affine=session.affine)
        self.case_label.setText(f"Mask of {session.case_id}")
        self.review.show_case(session.case_id)
        self.guard.offer_recovery()
        has_mask = session.location.has_original or session.base is not None
        blank = not has_mask and not session.has_unsaved_edits
        self.new_button.setVisible(blank)
        self._set_enabled(not blank)
        if blank:
            self.state_label.setText("No mask yet")
        else:
            self._update_state()
        if self.intensity_box.isChecked():
            self.set_intensity_limit(True)
        self.refresh_versions()
        self._schedule_stats(now=True)

    def unbind(self) -> None:
        """Stop editing the current layer (the layer itself is left to its canvas)."""
        self.review.commit()
        if self.limit is not None:
            self.limit.remove()
            self.limit = None
        if self.layer is not None:
            for event, slot in (("paint", self._on_paint), ("mode", self._on_layer_mode)):
                try:
                    getattr(self.layer.events, event).disconnect(slot)
                except (TypeError, ValueError, RuntimeError):
                    pass
            if self.layer.mode != "pan_zoom":
                self.layer.mode = "pan_zoom"
        self.surfaces.remove_surfaces()
        self.guard.watch(None)
        self.session = None
        self.layer = None
        self._stats_token += 1
        self._set_enabled(False)
        self.case_label.setText("No case open")
        self.review.show_case(None)

    def confirm_leave(self) -> bool:
        """True when the open case may be left (asks about unsaved edits)."""
        self.review.commit()
        return self.guard.confirm_leave()

    # ================================================================== editing settings
    def set_label(self, label: int) -> None:
        self.label_buttons[int(label)].setChecked(True)
        self.label_name.setText(next(r.title for r in REGIONS if int(r) == int(label)))
        if self.layer is not None:
            self.layer.selected_label = int(label)
            if self.layer.mode == "erase":
                self.set_mode("paint")

    def selected_label(self) -> int:
        return self.label_group.checkedId()

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)
        if self.layer is None:
            return
        if mode != "pan_zoom" and not self.layer.visible:
            self.layer.visible = True  # (napari restores the mode it had when hidden)
        self.layer.mode = mode
        if self.viewer is not None:
            if mode != "pan_zoom":
                self.viewer.layers.selection.active = self.layer
            else:
                image = self._image_layer()
                if image is not None:
                    self.viewer.layers.selection.active = image

    def _on_layer_mode(self, event=None) -> None:
        mode = str(self.layer.mode) if self.layer is not None else "pan_zoom"
        if mode in self.mode_buttons and not self.mode_buttons[mode].isChecked():
            self.mode_buttons[mode].setChecked(True)

    def set_brush_size(self, size: int) -> None:
        if self.brush_slider.value() != size:
            self.brush_slider.setValue(size)
        self.brush_label.setText(f"{size} px")
        if self.layer is not None:
            self.layer.brush_size = int(size)

    def set_3d(self, on: bool) -> None:
        (self.edit_3d if on else self.edit_2d).setChecked(True)
        self.dim_warning.setVisible(bool(on))
        if self.layer is not None:
            self.layer.n_edit_dimensions = 3 if on else 2

    def set_preserve(self, on: bool) -> None:
        if self.preserve_check.isChecked() != on:
            self.preserve_check.setChecked(on)
        if self.layer is not None:
            self.layer.preserve_labels = bool(on)

    def _image_data(self) -> np.ndarray | None:
        layer = self._image_layer()
        if layer is None or self.layer is None:
            return None
        data = getattr(layer, "data", None)
        if data is None or getattr(data, "shape", None) != self.layer.data.shape:
            return None
        return data

    def set_intensity_limit(self, on: bool) -> None:
        """Limit paint and fill to the range of the slider in the sequence in view."""
        if self.intensity_box.isChecked() != on:
            self.intensity_box.setChecked(on)
            return
        if self.limit is not None:
            self.limit.remove()
            self.limit = None
        if not on or self.layer is None:
            return
        image = self._image_layer()
        data = self._image_data()
        if data is None:
            self.range_source.setText("No sequence on this grid in view: not limited")
            return
        name = getattr(image, "name", "sequence")
        self.range_source.setText(f"Range of {name} (the sequence in view)")
        lo, hi = (float(v) for v in getattr(image, "contrast_limits_range", (0.0, 1.0)))
        if hi <= lo:
            hi = lo + 1.0
        current = tuple(self.range_slider.value())
        new_source = self._range_source_id != id(data)
        self._range_source_id = id(data)
        self.range_slider.blockSignals(True)
        self.range_slider.setRange(lo, hi)
        if new_source or not (lo <= current[0] < current[1] <= hi):
            low, high = (float(v) for v in getattr(image, "contrast_limits", (lo, hi)))
            self.range_slider.setValue((low, high))
        self.range_slider.blockSignals(False)
        low, high = self.range_slider.value()
        self.limit = IntensityLimit(self.layer, self._image_data, low, high)

    def refresh_intensity_source(self) -> None:
        """The sequence in view changed: take the range from it (when the limit is on)."""
        if self.intensity_box.isChecked():
            self.set_intensity_limit(True)

    def set_intensity_range(self, low: float, high: float) -> None:
        self.range_slider.setValue((float(low), float(high)))
        self._on_range((low, high))

    def _on_range(self, value) -> None:
        if self.limit is not None:
            self.limit.low, self.limit.high = sorted(float(v) for v in value)

    # ================================================================== undo
    def undo(self) -> None:
        if self.layer is not None:
            self.layer.undo()
            self._after_change()

    def redo(self) -> None:
        if self.layer is not None:
            self.layer.redo()
            self._after_change()

    def _on_paint(self, event=None) -> None:
        self._after_change()

    def _after_change(self) -> None:
        self.guard.mark_edited()
        self._update_state()
        self._schedule_stats()

    def _labels_replaced(self) -> None:
        """Labels changed outside the layer (restore, discard, open a version)."""
        if self.layer is not None:
            L.reset_labels_history(self.layer)
            self.layer.refresh()
        self._update_state()
        self._schedule_stats(now=True)

    def _update_state(self) -> None:
        if self.session is None:
            self.state_label.setText("")
            return
        base = self.session.base.label if self.session.base is not None else "new mask"
        if self.session.has_unsaved_edits:
            self.state_label.setText(f"● unsaved edits (from {base})")
            self.state_label.setStyleSheet("color: #ffb347;")
        else:
            self.state_label.setText(f"{base} · saved")
            self.state_label.setStyleSheet("color: #9a9a9a;")

    # ================================================================== statistics
    def _schedule_stats(self, now: bool = False) -> None:
        if self.session is None:
            return
        if now:
            self._stats_timer.stop()
            self._compute_stats()
        else:
            self._stats_timer.start()

    def _compute_stats(self) -> None:
        session = self.session
        if session is None:
            return
        self._stats_token += 1
        token = self._stats_token
        labels = session.labels.copy()  # a snapshot: painting goes on meanwhile
        original, voxel_size = session.original_labels, session.voxel_size

        def task(progress, cancelled):
            start = time.perf_counter()
            stats = me.edit_stats(original, labels, voxel_size)
            return stats, (time.perf_counter() - start) * 1000.0

        self._start(Worker(task, name="mask statistics"), lambda r: self._show_stats(token, r))

    def refresh_stats_now(self) -> me.EditStats | None:
        """Compute and show the table on the UI thread (tests, screenshots)."""
        if self.session is None:
            return None
        self._stats_token += 1
        stats = self.session.stats()
        self._show_stats(self._stats_token, (stats, 0.0))
        return stats

    def _show_stats(self, token: int, result) -> None:
        if token != self._stats_token:
            return
        try:
            self._fill_table(*result)
        except RuntimeError:  # the widget was deleted while the worker ran
            return

    def _fill_table(self, stats: me.EditStats, ms: float) -> None:
        self.stats_ms.append(ms)
        self.last_stats = stats
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
        self._update_state()
        self.stats_shown.emit(stats)

    # ================================================================== tools
    def _start(self, worker: Worker, on_finished) -> Worker:
        self._workers.append(worker)
        worker.signals.finished.connect(on_finished)
        worker.signals.failed.connect(
            lambda message, _detail: self.tool_status.setText(f"Failed: {message}")
        )
        worker.signals.done.connect(lambda w=worker: self._workers.remove(w))
        QThreadPool.globalInstance().start(worker)
        return worker

    def _slice_axis(self) -> int:
        """Axis across the slices in view (2, axial, without a viewer or in 3D)."""
        if self.viewer is None or self.viewer.dims.ndisplay == 3:
            return 2
        return int(self.viewer.dims.order[0])

    def tool_function(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        """The tool `name` with the panel's settings, as labels -> new labels."""
        session = self.session
        voxel_size = tuple(session.voxel_size)
        region = self.selected_label()
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
            axis = self._slice_axis()
            return lambda a: me.fill_between_slices(a, region, axis=axis, voxel_size=voxel_size)
        raise ValueError(f"unknown tool {name!r}; expected one of {TOOLS}")

    def apply_tool(self, name: str) -> None:
        """Run a tool in a worker; its result lands as one undoable step."""
        if self.session is None or self.layer is None:
            return
        function = self.tool_function(name)
        before = self.session.labels.copy()
        token = self._stats_token
        for button in self.tool_buttons:
            button.setEnabled(False)
        self.tool_status.setText("Working…")

        def task(progress, cancelled):
            return me.label_edit(before, function(before))

        worker = self._start(
            Worker(task, name=f"mask tool {name}"), lambda e: self._apply_edit(name, e, token)
        )
        worker.signals.done.connect(lambda: [b.setEnabled(True) for b in self.tool_buttons])

    def _apply_edit(self, name: str, edit: me.LabelEdit, token: int) -> None:
        layer = self.layer
        if layer is None or self.session is None:
            return
        if edit.n_changed and not np.array_equal(layer.data[edit.indices], edit.previous):
            self.tool_status.setText("The mask changed while the tool ran: run it again.")
            self.tool_applied.emit(name, 0)
            return
        if edit.n_changed:
            layer.data_setitem(edit.indices, edit.values)  # one undo step, emits paint
            self.tool_status.setText(f"{edit.n_changed:,} voxels changed (Undo reverts)")
        else:
            self.tool_status.setText("Nothing to change.")
        self.tool_applied.emit(name, edit.n_changed)

    # ================================================================== saving, versions
    def save(self):
        """Ctrl+S: write the working labels as a new version; returns the SavedMask."""
        if self.session is None or not self.save_button.isEnabled():
            return None
        if self.review.reviewer:
            self.session.author = self.review.reviewer
        try:
            saved = self.session.save()
        except Exception as exc:  # noqa: BLE001 - the user sees why, edits stay
            self.state_label.setText(f"Save failed: {exc}")
            self.state_label.setStyleSheet("color: #ff6b6b;")
            log.warning("saving the mask of %s: %s", self.session.case_id, exc)
            return None
        self.guard.dirty = False
        self._on_saved(saved)
        return saved

    def _on_saved(self, saved) -> None:
        self.refresh_versions()
        self._update_state()
        if self.session is not None:
            self.review.show_case(self.session.case_id)
            self.review.review_changed.emit(self.session.case_id, self.review.status().title)
            name = saved.version.path.name
            self.state_label.setText(f"Saved {saved.version.label} · {name}")
        self.saved.emit(saved)

    def new_mask(self) -> None:
        """Start an empty mask for a case that has none."""
        if self.session is None:
            return
        self.new_button.hide()
        self._set_enabled(True)
        if self.layer is not None:
            self.layer.visible = True
        self.set_mode("paint")
        self.state_label.setText("New mask · unsaved")
        self.mask_created.emit()

    def refresh_versions(self) -> None:
        self.versions_list.clear()
        if self.session is None:
            return
        from corebt_viewer.services import review as rv

        try:
            versions = self.session.versions()
            current = rv.current_mask_version(location=self.session.location)
        except Exception as exc:  # noqa: BLE001 - a broken pointer file is shown, not raised
            self.versions_note.setText(f"Versions unreadable: {exc}")
            return
        base = self.session.base
        for version in versions:
            when = (
                datetime.fromtimestamp(version.path.stat().st_mtime)
                if version.path.exists()
                else None
            )
            text = version.label + (f"  ·  {when:%Y-%m-%d %H:%M}" if when is not None else "")
            marks = []
            if (current.path if current is not None else None) == version.path or (
                current is None and version.is_original
            ):
                marks.append("current")
            if (base.path if base is not None else None) == version.path or (
                base is None and version.is_original and self.session.location.has_original
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
            self.versions_list.addItem(item)

    def _selected_version(self):
        item = self.versions_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def open_version(self, version) -> bool:
        """Load `version` into the working labels (asks about unsaved edits first)."""
        if self.session is None:
            return False
        if self.session.has_unsaved_edits:
            answer = Answer(self.guard.prompts.unsaved_edits(self, self.session.case_id))
            if answer is Answer.CANCEL:
                return False
            if answer is Answer.SAVE:
                self.save()
        self.session.open_version(version)
        self.guard.dirty = False
        self._labels_replaced()
        self.refresh_versions()
        self._set_enabled(True)
        self.new_button.hide()
        label = getattr(version, "label", str(version))
        self.version_opened.emit(label)
        return True

    def open_selected_version(self) -> None:
        version = self._selected_version()
        if version is not None:
            self.open_version(version)

    def make_selected_current(self) -> None:
        version = self._selected_version()
        if version is None or self.session is None:
            return
        chosen = self.session.make_current(version)
        self.versions_note.setText(f"{chosen.label} is now the case's mask.")
        self.refresh_versions()

    def shutdown(self) -> None:
        """Window closing: save the review, stop autosaving, close the database."""
        self._stats_token += 1
        self.review.commit()
        self.guard.stop()
        if self.db is not None:
            self.db.close()
            self.db = None
