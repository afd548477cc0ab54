"""Paint limited to an intensity range of the sequence in view (Slicer's "editable intensity").

napari's own brush, fill and polygon do the painting (so each stroke stays one undo step);
:class:`IntensityLimit` narrows each stroke's mask to the voxels whose intensity lies in
the range, through the paint hook of :mod:`corebt_viewer.gui._napari_compat`. Erasing
(label 0) is not limited. :class:`IntensityBox` is the panel's group box that sets it up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from corebt_viewer.gui import _napari_compat as compat


class IntensityLimit:
    """Restrict one labels layer's strokes to voxels of `image()` within ``[low, high]``."""

    def __init__(self, layer, image: Callable[[], np.ndarray | None], low: float, high: float):
        self.layer = layer
        self.image = image
        self.low, self.high = sorted((float(low), float(high)))
        compat.hook_labels_paint(layer, self._paint)

    def _paint(
        self, original, slice_key, mask, new_label, dims_to_paint, refresh=True, region_data=None
    ):
        image = self.image()
        layer = self.layer
        if new_label == 0 or image is None or image.shape != layer.data.shape:
            return original(slice_key, mask, new_label, dims_to_paint, refresh, region_data)
        extra = tuple(d for d in range(layer.ndim) if d not in dims_to_paint)
        if extra:  # give the mask (and region) the painted slab's full dimensions
            mask = np.expand_dims(mask, extra)
            if region_data is not None:
                region_data = np.expand_dims(region_data, extra)
        values = np.asarray(image[slice_key])
        mask = mask & (values >= self.low) & (values <= self.high)
        return original(slice_key, mask, new_label, list(range(layer.ndim)), refresh, region_data)

    def remove(self) -> None:
        compat.unhook_labels_paint(self.layer)


class IntensityBox(QGroupBox):
    """The "Limit paint to an intensity range" box: a range slider over the sequence in view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Limit paint to an intensity range", parent)
        from superqt import QLabeledDoubleRangeSlider

        self.setCheckable(True)
        self.setChecked(False)
        self.limit: IntensityLimit | None = None
        self._layer = None
        self._image_layer: Callable[[], object] = lambda: None
        self._source_id: int | None = None  # the image the slider's range came from
        inner = QVBoxLayout(self)
        self.source = QLabel("Sequence in view")
        self.source.setStyleSheet("color: #9a9a9a;")
        self.slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0.0, 1.0)
        self.slider.setValue((0.0, 1.0))
        self.slider.valueChanged.connect(self._on_range)
        inner.addWidget(self.source)
        inner.addWidget(self.slider)
        for widget in (self.source, self.slider):
            widget.setVisible(False)
            self.toggled.connect(widget.setVisible)
        self.toggled.connect(self._apply)

    def attach(self, layer, image_layer: Callable[[], object]) -> None:
        """Limit `layer`'s strokes (when the box is checked) by the image `image_layer()`."""
        self._layer, self._image_layer = layer, image_layer
        self._apply(self.isChecked())

    def detach(self) -> None:
        self._remove()
        self._layer = None
        self._image_layer = lambda: None

    def set_on(self, on: bool) -> None:
        if self.isChecked() != on:
            self.setChecked(on)  # toggled -> _apply
        else:
            self._apply(on)

    def refresh_source(self) -> None:
        """The sequence in view changed: take the range from it (when the limit is on)."""
        if self.isChecked():
            self._apply(True)

    def set_range(self, low: float, high: float) -> None:
        self.slider.setValue((float(low), float(high)))
        self._on_range((low, high))

    def _image_data(self) -> np.ndarray | None:
        layer, image = self._layer, self._image_layer()
        data = getattr(image, "data", None) if image is not None and layer is not None else None
        if data is None or getattr(data, "shape", None) != layer.data.shape:
            return None
        return data

    def _remove(self) -> None:
        if self.limit is not None:
            self.limit.remove()
            self.limit = None

    def _apply(self, on: bool) -> None:
        self._remove()
        if not on or self._layer is None:
            return
        image, data = self._image_layer(), self._image_data()
        if data is None:
            self.source.setText("No sequence on this grid in view: not limited")
            return
        self.source.setText(f"Range of {getattr(image, 'name', 'sequence')} (the sequence in view)")
        lo, hi = (float(v) for v in getattr(image, "contrast_limits_range", (0.0, 1.0)))
        hi = hi if hi > lo else lo + 1.0
        current = tuple(self.slider.value())
        new_source = self._source_id != id(data)
        self._source_id = id(data)
        self.slider.blockSignals(True)
        self.slider.setRange(lo, hi)
        if new_source or not (lo <= current[0] < current[1] <= hi):
            self.slider.setValue(
                tuple(float(v) for v in getattr(image, "contrast_limits", (lo, hi)))
            )
        self.slider.blockSignals(False)
        low, high = self.slider.value()
        try:
            self.limit = IntensityLimit(self._layer, self._image_data, low, high)
        except compat.NapariCompatError as exc:
            self.source.setText(f"Not available: {exc}")

    def _on_range(self, value) -> None:
        if self.limit is not None:
            self.limit.low, self.limit.high = sorted(float(v) for v in value)
