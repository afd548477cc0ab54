"""The fourth pane of the three-plane layout: the tumour's surfaces in 3D, as in Slicer's four-up.

The mask's regions are meshed off the UI thread (:func:`~corebt_viewer.services.surfaces.
region_meshes`, the same surfaces the mask panel's 3D tab shows and exports) whenever the
pane is shown with a mask that changed since its last meshes; edits made while the layout is
open are meshed again once painting pauses. The volume's outline and the crosshair's three
lines are drawn in the same scene, so the pane says where the planes cut the tumour.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QTimer

from corebt_viewer.gui import layers as L
from corebt_viewer.gui._napari_compat import overlay_lines
from corebt_viewer.gui.widgets import new_napari_canvas, plain_canvas_overlays

#: ms after the last paint stroke before the surfaces are meshed again
REMESH_AFTER_MS = 1500
#: ms the crosshair rests before the 3D lines follow it: scrolling through slices redraws
#: the planes at every step, the 3D scene (about as costly as the three planes) once
FOLLOW_AFTER_MS = 100
OUTLINE_COLOUR = "#7f7f7f"


class SurfacePane:
    """A 3D napari canvas with the mask's region surfaces, the volume outline and crosshair.

    Parameters
    ----------
    workers : WorkerPool
        The window's pool; meshing runs there (the latest request wins).
    """

    def __init__(self, workers):
        self.workers = workers
        self.viewer, self.qt_viewer = new_napari_canvas("3D")
        plain_canvas_overlays(self.viewer)
        self.viewer.canvas.overlays.scale_bar.visible = False
        self.viewer.dims.ndisplay = 3
        self.overlay = overlay = self.viewer.canvas.overlays.text
        overlay.color, overlay.font_size = "white", 10
        overlay.position, overlay.visible = "top_left", True
        self.labels_layer = None
        self.layers: list = []  # napari Surface layers on show
        self.meshes: list = []
        self.status = ""
        self._stale = True  # the mask changed since the meshes on show
        self._meshed = None  # the array last meshed
        self._lines = self._outline = None
        self._position = None
        self.crosshair_segments: np.ndarray | None = None  # 3 lines x 2 world points
        self._remesh = QTimer(self.qt_viewer)
        self._remesh.setSingleShot(True)
        self._remesh.setInterval(REMESH_AFTER_MS)
        self._remesh.timeout.connect(self.update_surfaces)
        self._follow = QTimer(self.qt_viewer)
        self._follow.setSingleShot(True)
        self._follow.setInterval(FOLLOW_AFTER_MS)
        self._follow.timeout.connect(self.draw_crosshair)

    # ------------------------------------------------------------------ content
    def show(self, labels_layer) -> None:
        """Show the surfaces of `labels_layer`'s mask (``None``: the case has no mask)."""
        # a case switch may keep the layer and give it the next case's array
        changed = labels_layer is not self.labels_layer or (
            labels_layer is not None and labels_layer.data is not self._meshed
        )
        self.labels_layer = labels_layer
        if labels_layer is None:
            self._clear()
            for node in (self._lines, self._outline):
                if node is not None:  # the previous case's lines, drawn as nothing
                    node.set_data(pos=np.zeros((2, 3), np.float32))
            self.crosshair_segments = None
            self._say("3D: no mask, so no tumour surfaces")
            return
        if changed or self._stale:
            self.update_surfaces()

    def mask_edited(self) -> None:
        """The mask was painted: mesh it again once painting pauses."""
        self._stale = True
        if self.labels_layer is not None and self.qt_viewer.isVisible():
            self._remesh.start()

    def update_surfaces(self) -> None:
        """Mesh the mask as it is now, in the pool (replacing any meshing still running)."""
        layer = self.labels_layer
        if layer is None:
            return
        self._remesh.stop()
        self._stale = False
        self._meshed = layer.data
        labels = np.array(layer.data, copy=True)
        voxel_size = tuple(abs(float(s)) for s in layer.scale[-3:])

        def task(progress, cancelled):
            from corebt_viewer.services.surfaces import region_meshes

            return region_meshes(labels, voxel_size=voxel_size, space="voxel", progress=progress)

        self._say("3D: extracting the tumour surfaces…")
        self.workers.submit(
            task,
            name="3D surfaces",
            key=f"surface-pane-{id(self)}",
            done=lambda meshes, lay=layer: self._on_meshes(meshes, lay),
            failed=lambda message, _detail: self._say(f"3D: surfaces failed: {message}"),
        )

    def _on_meshes(self, meshes: list, labels_layer) -> None:
        from napari.layers import Surface

        from corebt_viewer.gui.surface_view import surface_layer_kwargs

        if labels_layer is not self.labels_layer:
            return  # another case opened meanwhile
        self._clear()
        self.meshes = list(meshes)
        for mesh in self.meshes:
            layer = Surface((mesh.vertices, mesh.faces), **surface_layer_kwargs(mesh, labels_layer))
            self.viewer.layers.append(layer)
            self.layers.append(layer)
        self._draw_outline(labels_layer)
        if self.meshes:
            self._say("3D\n" + "\n".join(f"{m.region.short} {m.volume_ml:.1f} mL" for m in meshes))
        else:
            self._say("3D: the mask is empty, so no tumour surface")
        self.frame_volume()
        self.draw_crosshair()

    def frame_volume(self) -> None:
        """Look at the whole volume from the front (anterior), superior up, as Slicer does,
        turned a little so the depth shows."""
        if self.labels_layer is None:
            return
        low, high = self._extent(self.labels_layer)
        camera = self.viewer.camera
        # from the front, a little from the right and above (RAS world axes)
        camera.set_view_direction((-0.35, -1, -0.3), up_direction=(0, 0, 1))
        camera.center = tuple((low + high) / 2)
        native = self.qt_viewer.canvas.native
        fit = min(native.width(), native.height()) / (1.15 * float(np.max(high - low)))
        if fit > 0:
            camera.zoom = fit

    def _clear(self) -> None:
        for layer in self.layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.layers, self.meshes = [], []

    def _say(self, text: str) -> None:
        self.status = text
        self.overlay.text = text

    # ------------------------------------------------------------------ scene lines
    def _scene(self, segments: np.ndarray) -> np.ndarray:
        """World points (n x 3, napari axis order) to vispy scene points (reversed axes)."""
        return np.asarray(segments, float).reshape(-1, 3)[:, ::-1].astype(np.float32)

    def _extent(self, labels_layer) -> np.ndarray:
        return np.asarray(labels_layer.extent.world, float)[:, -3:]  # (min, max) x 3 axes

    def _draw_outline(self, labels_layer) -> None:
        low, high = self._extent(labels_layer)
        corners = np.array(
            [[(low, high)[i >> k & 1][k] for k in range(3)] for i in range(8)], float
        )
        edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
        if self._outline is None:
            self._outline = overlay_lines(self.qt_viewer, OUTLINE_COLOUR, ndim=3)
        self._outline.set_data(pos=self._scene(corners[np.array(edges)]))

    def follow(self, position) -> None:
        """Move the crosshair's 3D lines to `position` once the crosshair rests."""
        self._position = tuple(position)
        self._follow.start()

    def draw_crosshair(self) -> None:
        """Draw the crosshair's three lines, each across the volume, through its position."""
        self._follow.stop()
        position = self._position
        if self.labels_layer is None or position is None:
            return
        low, high = self._extent(self.labels_layer)
        segments = []
        for axis in range(3):
            start, end = np.array(position, float), np.array(position, float)
            start[axis], end[axis] = low[axis], high[axis]
            segments.append((start, end))
        if self._lines is None:
            self._lines = overlay_lines(self.qt_viewer, L.CROSSHAIR_COLOUR, ndim=3)
        self.crosshair_segments = np.asarray(segments)
        self._lines.set_data(pos=self._scene(self.crosshair_segments))
