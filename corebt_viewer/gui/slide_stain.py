"""The tile grid's "Stain-normalised" toggle: the view's tissue tiles as the encoder sees them.

When on, the tissue tiles inside the view are Macenko-normalised in a worker
(:func:`~corebt_viewer.services.stain_preview.stain_preview`) and drawn over the slide; the
view is recomputed when panning or zooming settles. The label beside the toggle says how
many tiles were normalised, to which reference, and whether the open model's embedding
profile normalises its tiles (otherwise the picture is a preview of the option).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QCheckBox, QLabel

from corebt_viewer.gui import layers as L
from corebt_viewer.gui.task_runner import LatestOnly

#: Quiet time after the last pan or zoom before the view is recomputed.
SETTLE_MS = 300


class StainPreviewControl(QObject):
    """The toggle, its label and its image layer on a slide canvas.

    Parameters
    ----------
    canvas : SlideCanvas
        Gives ``viewer``, ``reader``, ``overlays`` and ``current_name()``.
    workers : WorkerPool
    """

    def __init__(self, canvas, workers):
        super().__init__(canvas)
        self.canvas = canvas
        self.runner = LatestOnly(workers)
        self.layer = None
        self.last = None  # the StainPreview shown
        self._shown_for: tuple | None = None  # (reader, grid, view) last computed
        self.model_normalises: bool | None = None  # None: no model open
        self.check = QCheckBox("Stain-normalised")
        self.check.setToolTip(
            "Show the view's tissue tiles Macenko-normalised, as the tile encoder reads "
            "them when the embedding profile normalises stain (Alt+T)"
        )
        self.check.setEnabled(False)
        self.check.toggled.connect(self.refresh)
        self.label = QLabel("")
        self.label.setStyleSheet("color: #9a9a9a;")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self._compute)
        camera = canvas.viewer.camera
        camera.events.center.connect(self._view_moved)
        camera.events.zoom.connect(self._view_moved)

    # ------------------------------------------------------------------ state
    def set_model_normalises(self, normalises: bool | None) -> None:
        """Whether the open model's profile normalises stain (None: no model)."""
        self.model_normalises = normalises
        self._say()

    def grid(self):
        """The current slide's tissue tile map, or None."""
        return self.canvas.overlays.get(self.canvas.current_name(), (None, None))[0]

    def available(self) -> bool:
        layer = self.canvas.slide_layer
        shown = layer is not None and layer.visible and self.canvas.reader is not None
        return shown and self.grid() is not None

    def refresh(self, *_) -> None:
        """Follow the slide, its grid and the toggle (the canvas calls this on changes)."""
        self.check.setEnabled(self.available() or self.check.isChecked())
        if self.check.isChecked() and self.available():
            self._compute()
        else:
            self.runner.drop()
            self.timer.stop()
            self._hide()
            self.last = None
            self._shown_for = None
            self._say()

    def toggle(self) -> None:
        if self.check.isEnabled():
            self.check.toggle()

    # ------------------------------------------------------------------ work
    def _view_moved(self, *_) -> None:
        if self.check.isChecked() and self.available():
            self.timer.start()

    def view_rect(self) -> tuple[float, float, float, float]:
        """The level-0 pixels on screen: (x0, y0, x1, y1)."""
        viewer, reader = self.canvas.viewer, self.canvas.reader
        step = float(reader.mpp) if reader.mpp else 1.0
        cy, cx = viewer.camera.center[-2:]
        height, width = viewer.canvas.size  # the canvas's pixels
        zoom = max(float(viewer.camera.zoom), 1e-9)
        half_w, half_h = width / zoom / 2, height / zoom / 2
        return ((cx - half_w) / step, (cy - half_h) / step, (cx + half_w) / step,
                (cy + half_h) / step)  # fmt: skip

    def _compute(self) -> None:
        from corebt_viewer.services.stain_preview import stain_preview

        if not (self.check.isChecked() and self.available()):
            return
        reader, grid, view = self.canvas.reader, self.grid(), self.view_rect()
        last = self._shown_for
        same = last is not None and last[0] is reader and last[1] is grid and last[2] == view
        if same and self.layer is not None and self.layer.visible:
            return  # the same slide, grid and view (another overlay was toggled)
        self._shown_for = (reader, grid, view)
        tissue = np.isfinite(grid.values)
        name = self.canvas.current_name()
        self.label.setText("Normalising the tiles in view…")

        def task(progress, cancelled):
            return stain_preview(
                reader=reader, tissue=tissue, tile_size=grid.tile_size,
                grid_origin=grid.origin, view=view, cancelled=cancelled,
            )  # fmt: skip

        self.runner.run(
            task,
            name=f"stain-normalising the tiles of {name}",
            on_result=lambda preview, r=reader: self._show(preview, r),
            on_failed=lambda message: self.label.setText(f"Stain normalisation failed: {message}"),
        )

    def _show(self, preview, reader) -> None:
        if reader is not self.canvas.reader or not self.check.isChecked():
            return
        self.last = preview
        if preview is None:
            self._hide()
            self._say()
            return
        step = float(reader.mpp) if reader.mpp else 1.0
        ds = preview.downsample
        x0, y0 = preview.origin
        kwargs = {
            "scale": (ds * step, ds * step),
            # a preview pixel covers level-0 pixels [x0 + j ds, x0 + (j+1) ds)
            "translate": ((y0 + (ds - 1) / 2) * step, (x0 + (ds - 1) / 2) * step),
        }
        if self.layer is None:
            layers = self.canvas.viewer.layers
            self.layer = self.canvas.viewer.add_image(
                preview.rgba, rgb=True, name="Stain-normalised tiles", **kwargs
            )
            # just above the slide: the tile grid, heat map and regions stay on top
            layers.move(layers.index(self.layer), layers.index(self.canvas.slide_layer) + 1)
        else:
            L.replace_image_data(self.layer, preview.rgba, kwargs)
            L.set_visible(self.layer, True)
        self._say()

    def _hide(self) -> None:
        if self.layer is not None:
            L.set_visible(self.layer, False)

    def _say(self) -> None:
        if not self.check.isChecked() or self.last is None:
            self.label.setText("")
            return
        text = self.last.summary()
        if self.model_normalises is False:
            text += "; the open model reads the tiles as scanned: this is a preview"
        elif self.model_normalises:
            text += "; as the open model's profile does"
        self.label.setText(text)
