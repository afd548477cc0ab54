"""3D surfaces of the tumour regions on the MRI canvas, and their export as meshes.

Meshes are extracted off the UI thread with VTK (:mod:`corebt_viewer.services.surfaces`)
in voxel coordinates and shown as napari Surface layers that share the mask layer's
``scale`` and ``translate``, so they sit exactly on the images in millimetres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qtpy.QtCore import QThreadPool, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.gui.workers import Worker, release

SURFACE_PREFIX = "Surface "


def surface_layer_kwargs(mesh, labels_layer) -> dict:
    """napari Surface keyword arguments placing a voxel-space mesh on the mask's grid."""
    colours = np.tile(np.asarray(mesh.colour, np.float32), (len(mesh.vertices), 1))
    return {
        "name": f"{SURFACE_PREFIX}{mesh.region.short}",
        "vertex_colors": colours,
        "scale": tuple(labels_layer.scale),
        "translate": tuple(labels_layer.translate),
        "units": tuple(str(u) for u in labels_layer.units),
        "opacity": 0.85,
        "shading": "smooth",
        "blending": "translucent_no_depth" if mesh.region.short == "ED" else "translucent",
        "metadata": {"region": int(mesh.region), "volume_ml": mesh.volume_ml},
    }


class SurfacePanel(QWidget):
    """Buttons to show the regions as 3D surfaces and to export them.

    Call :meth:`set_target` with the MRI canvas's viewer and mask layer when a case opens.

    Signals
    -------
    surfaces_shown(list)
        The :class:`~corebt_viewer.services.surfaces.RegionMesh` list now on the canvas.
    exported(list)
        Paths written by :meth:`export`.
    """

    surfaces_shown = Signal(list)
    exported = Signal(list)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = None
        self.labels_layer = None
        self.case_id = ""
        self.meshes: list = []
        self.layers: list = []
        self._workers: list[Worker] = []
        self.show_button = QPushButton("Show 3D surfaces")
        self.show_button.setToolTip("Smooth surfaces of the regions (VTK), in the 3D view")
        self.show_button.clicked.connect(self.show_surfaces)
        self.hide_button = QPushButton("Hide")
        self.hide_button.clicked.connect(self.remove_surfaces)
        self.format_combo = QComboBox()
        self.format_combo.addItems(["stl", "vtp", "obj"])
        self.format_combo.setToolTip("Mesh format: STL (printing), VTP (VTK), OBJ")
        self.export_button = QPushButton("Export meshes…")
        self.export_button.clicked.connect(self.choose_export)
        self.world_check = QCheckBox("Scanner coordinates (RAS mm)")
        self.world_check.setChecked(True)
        self.world_check.setToolTip(
            "Export in the scanner's millimetres (lines up with the NIfTI in other tools)"
        )
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9a9a9a;")
        row = QHBoxLayout()
        row.addWidget(self.show_button)
        row.addWidget(self.hide_button)
        row.addStretch(1)
        export_row = QHBoxLayout()
        export_row.addWidget(self.format_combo)
        export_row.addWidget(self.export_button)
        export_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addLayout(export_row)
        layout.addWidget(self.world_check)
        layout.addWidget(self.status)

    def set_target(self, viewer, labels_layer, case_id: str, affine=None) -> None:
        """Draw on `viewer`, meshing `labels_layer`'s data (the case's working mask)."""
        self.remove_surfaces()
        self.viewer = viewer
        self.labels_layer = labels_layer
        self.case_id = case_id
        self.affine = affine
        self.meshes = []
        self.status.setText("")

    def _voxel_size(self) -> tuple[float, ...]:
        return tuple(abs(float(s)) for s in self.labels_layer.scale)

    def _mesh_task(self, space: str):
        labels = np.array(self.labels_layer.data, copy=True)
        voxel_size, affine = self._voxel_size(), self.affine

        def task(progress, cancelled):
            from corebt_viewer.services.surfaces import region_meshes

            return region_meshes(
                labels, voxel_size=voxel_size, affine=affine, space=space, progress=progress
            )

        return task

    def show_surfaces(self) -> None:
        """Mesh the mask in a worker, then show the surfaces in 3D."""
        if self.viewer is None or self.labels_layer is None:
            return
        self.show_button.setEnabled(False)
        self.status.setText("Extracting surfaces…")
        worker = Worker(self._mesh_task("voxel"), name="tumour surfaces")
        worker.signals.finished.connect(self._on_meshes)
        worker.signals.failed.connect(self._on_failed)
        worker.signals.done.connect(lambda: self.show_button.setEnabled(True))
        self._run(worker)

    def _run(self, worker: Worker) -> None:
        pool = self._window_pool()
        if pool is not None:  # the window's one pool: Cancel, the indicator and close see it
            pool.start(worker)
            return
        self._workers.append(worker)
        worker.signals.done.connect(lambda w=worker: (self._workers.remove(w), release(w)))
        QThreadPool.globalInstance().start(worker)  # a panel on its own (tests, the plugin)

    def _window_pool(self):
        """The ``workers`` pool of the window this panel sits in, if it has one."""
        widget = self.parentWidget()
        while widget is not None:
            pool = getattr(widget, "workers", None)
            if pool is not None and hasattr(pool, "submit"):
                return pool
            widget = widget.parentWidget()
        return None

    def _on_failed(self, message: str, _detail: str = "") -> None:
        self.status.setText(f"Failed: {message}")
        self.failed.emit(message)

    def _on_meshes(self, meshes: list) -> None:
        from napari.layers import Surface

        self.remove_surfaces()
        self.meshes = list(meshes)
        if not self.meshes:
            self.status.setText("The mask is empty: no surface to show.")
            self.surfaces_shown.emit([])
            return
        for mesh in self.meshes:
            layer = Surface(
                (mesh.vertices, mesh.faces), **surface_layer_kwargs(mesh, self.labels_layer)
            )
            self.viewer.layers.append(layer)
            self.layers.append(layer)
        self.viewer.dims.ndisplay = 3
        text = ", ".join(f"{m.region.short} {m.volume_ml:.1f} mL" for m in self.meshes)
        self.status.setText(f"Surfaces: {text}")
        self.surfaces_shown.emit(self.meshes)

    def remove_surfaces(self) -> None:
        if self.viewer is not None:
            for layer in self.layers:
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
        self.layers = []

    def export(self, folder: str | Path, fmt: str = "stl") -> list[Path]:
        """Write one mesh per region to `folder` (synchronous; the mask as it is now)."""
        from corebt_viewer.services.surfaces import export_region_meshes

        space = "world" if self.world_check.isChecked() and self.affine is not None else "mm"
        meshes = self._mesh_task(space)(None, lambda: False)
        paths = export_region_meshes(meshes, folder, stem=self.case_id or "mask", fmt=fmt)
        self.status.setText(f"Wrote {len(paths)} meshes to {folder}")
        self.exported.emit(paths)
        return paths

    def choose_export(self) -> None:
        if self.labels_layer is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the region meshes to")
        if folder:
            try:
                self.export(folder, self.format_combo.currentText())
            except Exception as exc:  # noqa: BLE001 - shown, never a crash
                self._on_failed(str(exc))
