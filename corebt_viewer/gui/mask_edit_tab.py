"""The mask editor's Edit tab: label, mode, brush, 2D / 3D, preserve, intensity range.

The tab is a view of an :class:`~corebt_viewer.services.mask_settings.EditSettings`: a
click sets the setting, and every change of the setting, from this tab or from napari's
keys on the canvas (through the layer binding), shows here.
"""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.segmentation import REGIONS
from corebt_viewer.gui.mask_intensity import IntensityBox
from corebt_viewer.gui.mask_stats import hex_colour
from corebt_viewer.services.mask_settings import BRUSH_RANGE, EditSettings

MODE_BUTTONS = (("pan_zoom", "Pan", "Move and zoom (no editing)"),
                ("paint", "Paint", "Paint the selected region"),
                ("erase", "Erase", "Erase to background"),
                ("fill", "Fill", "Flood-fill the connected area under the click"))  # fmt: skip
LABEL_TITLES = {0: "Background (erases)", **{int(r): r.title for r in REGIONS}}


def _button(text: str, tip: str = "", checkable: bool = True) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    return button


class EditTab(QWidget):
    """Controls bound to `settings` both ways.

    Signals
    -------
    undo_requested(), redo_requested()
    """

    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, settings: EditSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        grid = QVBoxLayout(self)
        grid.setContentsMargins(2, 4, 2, 2)
        grid.addLayout(self._label_row())
        grid.addLayout(self._mode_row())
        grid.addLayout(self._brush_form())
        self.intensity = IntensityBox()
        grid.addWidget(self.intensity)
        grid.addStretch(1)
        settings.changed.connect(self._show)
        for name, value in settings.as_dict().items():
            self._show(name, value)

    def _label_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.label_group = QButtonGroup(self)
        self.label_buttons: dict[int, QToolButton] = {}
        for region in REGIONS:
            button = _button(region.short, f"Paint {region.title} (label {int(region)})")
            button.setMinimumWidth(42)
            colour = hex_colour(region.colour)
            button.setStyleSheet(
                f"QToolButton {{ border-left: 8px solid {colour}; padding: 3px 6px; }}"
                f"QToolButton:checked {{ background: {colour}; color: black; font-weight: bold; }}"
            )
            self.label_group.addButton(button, int(region))
            row.addWidget(button)
            self.label_buttons[int(region)] = button
        self.label_group.idClicked.connect(self.choose_label)
        self.label_name = QLabel("")
        self.label_name.setMinimumWidth(20)
        self.label_name.setStyleSheet("color: #c8c8c8;")
        row.addWidget(self.label_name)
        row.addStretch(1)
        return row

    def _mode_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for i, (mode, text, tip) in enumerate(MODE_BUTTONS):
            button = _button(text, tip)
            self.mode_group.addButton(button, i)
            row.addWidget(button)
            self.mode_buttons[mode] = button
        self.mode_group.idClicked.connect(lambda i: self.settings.set("mode", MODE_BUTTONS[i][0]))
        row.addStretch(1)
        self.undo_button = _button(
            "↶", "Undo the last stroke or tool (Ctrl+Z on the canvas)", False
        )
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button = _button("↷", "Redo (Ctrl+Shift+Z on the canvas)", False)
        self.redo_button.clicked.connect(self.redo_requested)
        row.addWidget(self.undo_button)
        row.addWidget(self.redo_button)
        return row

    def _brush_form(self) -> QFormLayout:
        form = QFormLayout()
        brush_row = QHBoxLayout()
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(*BRUSH_RANGE)
        self.brush_slider.setToolTip("Brush diameter ([ and ] on the canvas)")
        self.brush_label = QLabel("")
        self.brush_label.setMinimumWidth(40)
        self.brush_slider.valueChanged.connect(lambda v: self.settings.set("brush_size", v))
        brush_row.addWidget(self.brush_slider, 1)
        brush_row.addWidget(self.brush_label)
        form.addRow("Brush", brush_row)
        dim_row = QHBoxLayout()
        self.dim_group = QButtonGroup(self)
        self.edit_2d = _button("2D  this slice", "Brush and fill act on the slice in view only")
        self.edit_3d = _button("3D  ball", "Brush and fill reach the neighbouring slices too")
        for i, button in enumerate((self.edit_2d, self.edit_3d)):
            self.dim_group.addButton(button, i)
            dim_row.addWidget(button)
        self.dim_group.idClicked.connect(lambda i: self.settings.set("edit_3d", i == 1))
        dim_row.addStretch(1)
        form.addRow("Edit in", dim_row)
        self.dim_warning = QLabel("3D editing also changes slices you do not see")
        self.dim_warning.setStyleSheet("color: #ffb347;")
        self.dim_warning.hide()
        form.addRow("", self.dim_warning)
        self.preserve_check = QCheckBox("Preserve other regions")
        self.preserve_check.setToolTip(
            "Paint only over background, never over another region (B on the canvas)"
        )
        self.preserve_check.toggled.connect(lambda on: self.settings.set("preserve_labels", on))
        form.addRow("", self.preserve_check)
        return form

    def choose_label(self, label: int) -> None:
        """Select `label` (a click on its button); erasing turns into painting."""
        self.settings.set("label", label)
        if self.settings.mode == "erase":
            self.settings.set("mode", "paint")

    def _show(self, name: str, value) -> None:
        """A setting changed (here, or on the canvas): show it."""
        if name == "label":
            self.label_name.setText(LABEL_TITLES.get(int(value), f"label {value}"))
            button = self.label_buttons.get(int(value))
            self.label_group.setExclusive(button is not None)
            if button is not None:
                button.setChecked(True)
            else:  # background: no region button is checked
                for other in self.label_buttons.values():
                    other.setChecked(False)
        elif name == "brush_size":
            if self.brush_slider.value() != value:
                self.brush_slider.setValue(int(value))
            self.brush_label.setText(f"{value} px")
        elif name == "edit_3d":
            (self.edit_3d if value else self.edit_2d).setChecked(True)
            self.dim_warning.setVisible(bool(value))
        elif name == "preserve_labels":
            if self.preserve_check.isChecked() != value:
                self.preserve_check.setChecked(bool(value))
        elif name == "mode":
            button = self.mode_buttons.get(str(value))
            self.mode_group.setExclusive(button is not None)
            if button is not None:
                button.setChecked(True)
            else:  # a napari mode without a button here (pick, polygon)
                for other in self.mode_buttons.values():
                    other.setChecked(False)
