"""The three-plane MRI layout: axial, coronal and sagittal canvases with a linked crosshair.

Each plane is its own napari canvas (a ``QtViewer`` on a ``ViewerModel``, as in napari's
multiple-viewer example) showing the main canvas's current sequence and mask, sharing
their arrays (mask edits show at once). Every pane follows one
:class:`~corebt_viewer.core.crosshair.Crosshair`: a click in a pane moves it, and the
other panes (and the main canvas, see :mod:`corebt_viewer.gui.mri_tools`) go to its slices.
The fourth cell shows the tumour's surfaces in 3D with the crosshair's lines
(:mod:`corebt_viewer.gui.surface_pane`), as in Slicer's four-up layout; a line under the
grid says where the crosshair is.

The panes draw only while the layout is shown (hidden canvases cost no frames).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QGridLayout, QLabel, QWidget

from corebt_viewer.core.crosshair import Crosshair
from corebt_viewer.gui import layers as L
from corebt_viewer.gui._napari_compat import overlay_lines
from corebt_viewer.gui.surface_pane import SurfacePane
from corebt_viewer.gui.widgets import new_napari_canvas, plain_canvas_overlays

PLANE_NAMES = ("axial", "coronal", "sagittal")


class PlanePane:
    """One plane: a napari canvas with an image, the mask and the crosshair lines."""

    def __init__(self, plane: str, crosshair: Crosshair):
        self.plane = plane
        self.crosshair = crosshair
        self.viewer, self.qt_viewer = new_napari_canvas(plane)
        plain_canvas_overlays(self.viewer)
        overlay = self.viewer.canvas.overlays.text
        overlay.text, overlay.color, overlay.font_size = plane.capitalize(), "white", 10
        overlay.position, overlay.visible = "top_left", True
        self.image = self.labels = self.lines = None
        self._applying = False
        # slicing axis of this plane (the world axis not on screen)
        self.axis = L.PLANES[plane][0]

    # ------------------------------------------------------------------ content
    def show(self, image_layer, labels_layer) -> None:
        """Show `image_layer`'s data (and `labels_layer`'s mask, when given) in this plane."""
        kwargs = {
            "name": image_layer.name,
            "scale": image_layer.scale,
            "translate": image_layer.translate,
            "contrast_limits": image_layer.contrast_limits,
            "units": image_layer.units,
        }
        if self.image is None:
            self.image = self.viewer.add_image(
                image_layer.data, colormap="gray", interpolation2d="linear", **kwargs
            )
            self.image.name_overlay.box = False
        else:
            L.replace_image_data(self.image, image_layer.data, kwargs)
        if labels_layer is not None:
            lkw = {"scale": labels_layer.scale, "translate": labels_layer.translate}
            if self.labels is None:
                self.labels = self.viewer.add_labels(
                    labels_layer.data, colormap=labels_layer.colormap, opacity=0.45, **lkw
                )
            else:
                L.replace_labels_data(self.labels, labels_layer.data, lkw)
            self.labels.visible = True
        elif self.labels is not None:
            self.labels.visible = False
        if self.lines is None:
            self.lines = CrosshairLines(self.qt_viewer)
        self.viewer.layers.selection.active = self.image
        dims = self.viewer.dims
        dims.order = tuple(L.PLANES[self.plane])
        self.viewer.camera.orientation2d = L.RADIOLOGICAL_2D
        self.viewer.reset_view()
        self.follow(self.crosshair.position)

    def follow(self, position) -> None:
        """Go to the crosshair's slice and draw its two lines through `position`."""
        if self.image is None:
            return
        self._applying = True
        try:
            point = list(self.viewer.dims.point)
            point[-3:] = position
            self.viewer.dims.point = tuple(point)
        finally:
            self._applying = False
        self.lines.set_lines(self._line_data(position), self.viewer.dims.displayed[-2:])

    def _line_data(self, position) -> list[np.ndarray]:
        extent = self.image.extent.world  # (min, max) x 3 world axes, mm
        lines = []
        for axis in L.PLANES[self.plane][1:]:
            start, end = np.array(position, float), np.array(position, float)
            start[axis], end[axis] = extent[0][axis], extent[1][axis]
            lines.append(np.stack([start, end]))
        return lines


class CrosshairLines:
    """The crosshair's two lines, drawn straight into the canvas's vispy scene.

    A napari Shapes layer would do, but each change of its data makes napari recompute
    the dims of every layer and re-slice the layer: about 40 ms per pane per click with
    software OpenGL, against well under one for a vispy line. This reaches into napari's
    private canvas (:func:`_napari_compat.overlay_lines`); a test checks the lines are drawn.
    """

    def __init__(self, qt_viewer):
        self.node = overlay_lines(qt_viewer, L.CROSSHAIR_COLOUR)
        self.segments = np.zeros((2, 2, 3))

    def set_lines(self, lines: list[np.ndarray], displayed) -> None:
        """Draw `lines` (each 2 x 3 world points) on the plane showing world axes
        `displayed` (row axis, column axis); vispy's scene is (x=column, y=row)."""
        self.segments = np.asarray(lines, float)
        row, col = displayed
        pos = self.segments.reshape(-1, 3)[:, [col, row]]
        self.node.set_data(pos=pos.astype(np.float32))


class ThreePlaneView(QWidget):
    """Axial, coronal and sagittal panes and the 3D surfaces (2x2 grid), a read-out below.

    Parameters
    ----------
    crosshair : Crosshair
    workers : WorkerPool
        Where the 3D pane meshes the mask.
    """

    def __init__(self, crosshair: Crosshair, workers, parent: QWidget | None = None):
        super().__init__(parent)
        self.crosshair = crosshair
        self.panes = {plane: PlanePane(plane, crosshair) for plane in PLANE_NAMES}
        self.surface = SurfacePane(workers)
        self.readout = QLabel("Click a plane to move the crosshair.")
        self.readout.setWordWrap(True)
        self.readout.setStyleSheet("padding: 8px;")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(3)
        for (row, col), plane in zip(((0, 0), (0, 1), (1, 0)), PLANE_NAMES, strict=True):
            grid.addWidget(self.panes[plane].qt_viewer, row, col)
        grid.addWidget(self.surface.qt_viewer, 1, 1)
        grid.addWidget(self.readout, 2, 0, 1, 2)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)
        crosshair.connect(self._on_crosshair)

    def show_layers(self, image_layer, labels_layer) -> None:
        for pane in self.panes.values():
            pane.show(image_layer, labels_layer)
        self.surface.show(labels_layer)
        self.surface.follow(self.crosshair.position)

    def set_contrast(self, limits) -> None:
        for pane in self.panes.values():
            if pane.image is not None:
                pane.image.contrast_limits = limits

    def refresh_mask(self) -> None:
        for pane in self.panes.values():
            if pane.labels is not None:
                pane.labels.refresh()
        self.surface.mask_edited()

    def _on_crosshair(self, position, source) -> None:
        for pane in self.panes.values():
            pane.follow(position)
        self.surface.follow(position)
        x, y, z = position
        self.readout.setText(f"Crosshair at ({x:.1f}, {y:.1f}, {z:.1f}) mm (RAS).")
