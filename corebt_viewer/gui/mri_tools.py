"""MRI reading tools of the main window: the linked crosshair and three-plane layout,
window/level by dragging and by preset, the voxel read-out, the mm ruler and RANO.

One :class:`MriTools` per window (``window.mri_tools``), attached to the MRI canvas from
outside so the canvas keeps its own job. The logic lives Qt-free in
:mod:`corebt_viewer.core.crosshair`, :mod:`corebt_viewer.core.window_level` and
:mod:`corebt_viewer.services.mri_measure`; here it is wired to napari's mouse callbacks.

Mouse, on any MRI canvas: a click (press and release without moving) moves the crosshair;
Ctrl + right-drag sets window (horizontal) and level (vertical). napari's own left-drag
pan and right-drag zoom stay as they are (vispy's camera ignores drags with a modifier).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QObject
from qtpy.QtWidgets import QLabel

from corebt_viewer.core.crosshair import Crosshair
from corebt_viewer.core.window_level import (
    PRESETS,
    brain_sample,
    drag_window_level,
    next_preset,
    preset_limits,
)
from corebt_viewer.gui.three_plane import ThreePlaneView
from corebt_viewer.services.mri_measure import describe_probe, line_length_mm

LAYOUTS = ("single", "three")
MEASURE_COLOUR = "#00e5ff"


class MriTools(QObject):
    """Crosshair, layouts, window/level, read-out, ruler and RANO for ``window.mri``."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.mri = mri = window.mri
        self.crosshair = Crosshair()
        self.three_plane: ThreePlaneView | None = None  # built on first use (1.3 s here)
        self.layout = "single"
        self.presets: dict = {}  # Sequence -> name of the preset in use
        self.measure_layer = None
        self.rano = None
        self._connected: set[int] = set()
        self._applying = False
        self.probe_label = QLabel("")
        window.statusBar().addPermanentWidget(self.probe_label)
        self._attach(mri.viewer, main=True)
        self.crosshair.connect(self._follow_main)
        mri.viewer.dims.events.point.connect(self._main_scrolled)
        mri.viewer.layers.selection.events.active.connect(self._on_active_layer)
        mri.mosaic_button.toggled.connect(self._on_mosaic)
        mri.study_shown.connect(self._on_study_shown)

    # ------------------------------------------------------------------ actions
    def handlers(self) -> dict:
        return {
            "three_plane": lambda: self.set_layout("single" if self.layout == "three" else "three"),
            "window_preset": self.next_preset,
            "window_reset": lambda: self.apply_preset(None),
            "ruler": lambda: self.set_ruler(not self.ruler_on),
            "clear_rulers": self.clear_measurements,
            "rano": self.measure_rano,
        }

    def set_layout(self, layout: str) -> None:
        """``"single"``: the MRI canvas (single or mosaic); ``"three"``: three planes."""
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
        mri = self.mri
        if layout == "three" and not mri.present:
            self._say("No MRI to show in three planes.")
            return
        self.layout = layout
        if layout == "three":
            if mri.mosaic:
                mri.set_mosaic(False)
            self._show_panes()
            mri.stack.setCurrentWidget(self._ensure_three_plane())
            for pane in self.three_plane.panes.values():
                pane.viewer.reset_view()
        elif mri.present:
            mri.stack.setCurrentWidget(mri.qt_viewer)

    def _ensure_three_plane(self) -> ThreePlaneView:
        if self.three_plane is None:
            view = ThreePlaneView(self.crosshair, self.window.workers)
            for pane in view.panes.values():
                self._attach(pane.viewer, main=False)
                pane.viewer.dims.events.point.connect(lambda _e, p=pane: self._pane_scrolled(p))
            self.mri.stack.addWidget(view)
            self.three_plane = view
        return self.three_plane

    def _show_panes(self) -> None:
        mri = self.mri
        image = mri.image_layers.get(mri.sequence)
        if image is None:
            return
        self._ensure_three_plane().show_layers(image, mri.labels_layer if mri.has_mask else None)

    # ------------------------------------------------------------------ window / level
    def current_image(self):
        return self.mri.image_layers.get(self.mri.sequence) if self.mri.present else None

    def apply_preset(self, name: str | None) -> None:
        """Set the current sequence's window to preset `name` (None: its default)."""
        layer, seq = self.current_image(), self.mri.sequence
        if layer is None or seq not in self.mri.present:
            self._say("No sequence shown to window.")
            return
        preset = next(p for p in PRESETS[seq] if name is None or p.name == name)
        layer.contrast_limits = preset_limits(layer.data, preset)
        self.presets[seq] = preset.name
        lo, hi = layer.contrast_limits
        self._say(f"{seq.title} window: {preset.name} ({lo:.4g} to {hi:.4g})")

    def next_preset(self) -> None:
        seq = self.mri.sequence
        self.apply_preset(next_preset(seq, self.presets.get(seq)).name)

    def _window_level_drag(self, viewer, event):
        layer = self.current_image()
        if layer is None:
            return
        sample = brain_sample(layer.data, max_voxels=200_000)
        span = float(np.ptp(sample)) if sample.size else 1.0
        start, origin = tuple(layer.contrast_limits), np.asarray(event.pos, float)
        event.handled = True
        yield
        while event.type == "mouse_move":
            dx, dy = np.asarray(event.pos, float) - origin
            limits = drag_window_level(start, dx, dy, span=span)
            layer.contrast_limits = limits
            self._say(f"{self.mri.sequence.title} window {limits[0]:.4g} to {limits[1]:.4g}")
            event.handled = True
            yield
        self.presets.pop(self.mri.sequence, None)

    # ------------------------------------------------------------------ mouse
    def _attach(self, viewer, *, main: bool) -> None:
        tools = self

        def on_drag(viewer, event):
            if event.button == 2 and "Control" in event.modifiers:
                yield from tools._window_level_drag(viewer, event)
                return
            if event.button != 1 or event.modifiers:
                return
            active = viewer.layers.selection.active
            if main and active is not None and getattr(active, "mode", "pan_zoom") != "pan_zoom":
                return  # painting, drawing a ruler...: not a crosshair click
            position, moved = tuple(event.position), False
            yield
            while event.type == "mouse_move":
                moved = True
                yield
            if not moved and viewer.dims.ndisplay == 2:
                tools.crosshair.set(position[-3:], source=viewer)

        def on_move(viewer, event):
            tools._probe(event.position)

        viewer.mouse_drag_callbacks.append(on_drag)
        viewer.mouse_move_callbacks.append(on_move)

    def _probe(self, position) -> None:
        mri = self.mri
        reference = self.current_image()
        if reference is None or len(position) < 3:
            return
        voxel = np.round(reference.world_to_data(position[-3:])).astype(int)
        shape = reference.data.shape
        if np.any(voxel < 0) or np.any(voxel >= shape):
            self.probe_label.setText("")
            return
        index = tuple(int(v) for v in voxel)
        values = {
            seq.title: float(mri.image_layers[seq].data[index])
            for seq in mri.present
            if mri.image_layers[seq].data.shape == shape
        }
        label = None
        if mri.has_mask and mri.labels_layer is not None:
            label = int(mri.labels_layer.data[index])
        world = tuple(float(v) for v in np.asarray(position[-3:]))
        self.probe_label.setText(describe_probe(values, label, index, world))

    # ------------------------------------------------------------------ crosshair
    def _follow_main(self, position, source) -> None:
        viewer = self.mri.viewer
        if source is viewer or not self.mri.present:
            return
        self._applying = True
        try:
            point = list(viewer.dims.point)
            point[-3:] = position
            viewer.dims.point = tuple(point)
        finally:
            self._applying = False

    def _main_scrolled(self, _event=None) -> None:
        viewer = self.mri.viewer
        if self._applying or not self.mri.present or viewer.dims.ndisplay != 2:
            return
        axis = viewer.dims.not_displayed[0]
        self.crosshair.set_axis(axis, viewer.dims.point[axis], source=viewer)

    def _pane_scrolled(self, pane) -> None:
        if pane._applying or pane.image is None:
            return
        self.crosshair.set_axis(pane.axis, pane.viewer.dims.point[pane.axis], source=pane.viewer)

    # ------------------------------------------------------------------ case and sequence
    def _on_study_shown(self, case_id: str) -> None:
        mri = self.mri
        self.clear_measurements()
        if not mri.present:
            self.layout = "single"
            return
        for layer in mri.image_layers.values():
            if id(layer) not in self._connected:
                self._connected.add(id(layer))
                layer.events.contrast_limits.connect(
                    lambda _e, lay=layer: self._contrast_changed(lay)
                )
        labels = mri.labels_layer
        if labels is not None and id(labels) not in self._connected:
            self._connected.add(id(labels))
            labels.events.paint.connect(
                lambda _e: self.three_plane and self.three_plane.refresh_mask()
            )
        # a case opens with its sequence's default window (the first preset): W goes on
        self.presets = {seq: PRESETS[seq][0].name for seq in mri.present}
        self._applying = True
        try:
            self.crosshair.set(tuple(mri.viewer.dims.point)[-3:], source=mri.viewer)
        finally:
            self._applying = False
        if self.layout == "three":
            self.set_layout("three")

    def _contrast_changed(self, layer) -> None:
        if layer is self.current_image() and self.layout == "three":
            self.three_plane.set_contrast(layer.contrast_limits)

    def _on_active_layer(self, _event=None) -> None:
        if self.layout == "three" and self.mri.present:
            active = self.mri.viewer.layers.selection.active
            if active is self.current_image():
                self._show_panes()

    def _on_mosaic(self, on: bool) -> None:
        if on and self.layout == "three":
            self.set_layout("single")
        if self.measure_layer is not None:
            self.measure_layer.visible = not on and len(self.measure_layer.data) > 0

    # ------------------------------------------------------------------ ruler and RANO
    @property
    def ruler_on(self) -> bool:
        layer = self.measure_layer
        return layer is not None and layer.mode == "add_line"

    def _ensure_measure_layer(self):
        if self.measure_layer is None:
            layer = self.mri.viewer.add_shapes(
                ndim=3,
                name="Measurements (mm)",
                edge_color=MEASURE_COLOUR,
                edge_width=1.0,
                features={"kind": np.array([], dtype=object), "length": np.array([], float)},
                feature_defaults={"kind": "", "length": 0.0},
                text={
                    "string": "{kind}{length:.1f} mm",
                    "color": MEASURE_COLOUR,
                    "size": 10,
                    "anchor": "upper_left",  # LD and PD share a centre: labels apart
                },
            )
            layer.events.data.connect(self._update_lengths)
            self.measure_layer = layer
        return self.measure_layer

    def _update_lengths(self, _event=None) -> None:
        layer = self.measure_layer
        lengths = [line_length_mm(s[0], s[-1]) for s in layer.data]  # layer in world mm
        kinds = list(layer.features["kind"]) if len(layer.features) == len(lengths) else None
        kinds = kinds or [""] * len(lengths)
        layer.features = {"kind": np.array(kinds, dtype=object), "length": np.array(lengths)}
        layer.refresh_text()

    def set_ruler(self, on: bool) -> None:
        """Draw rulers (lines, in mm) on the plane in view; their lengths are labelled."""
        mri = self.mri
        if on:
            if not mri.present:
                self._say("No MRI to measure.")
                return
            if self.layout == "three":
                self.set_layout("single")
            if mri.mosaic:
                mri.set_mosaic(False)
            layer = self._ensure_measure_layer()
            layer.visible = True
            mri.viewer.layers.selection.active = layer
            layer.mode = "add_line"
            self._say("Ruler: drag a line on the image (U again to stop).")
        elif self.measure_layer is not None:
            self.measure_layer.mode = "pan_zoom"
            image = self.current_image()
            if image is not None:
                mri.viewer.layers.selection.active = image

    def clear_measurements(self) -> None:
        self.rano = None
        if self.measure_layer is not None:
            self.measure_layer.mode = "pan_zoom"
            self.measure_layer.data = []
            self.measure_layer.visible = False

    def measure_rano(self) -> None:
        """Compute the RANO diameters and region volumes in a worker, then draw them."""
        mri = self.mri
        labels = mri.labels_layer
        if not mri.present or not mri.has_mask or labels is None:
            self._say("RANO needs a tumour mask: this case has none.")
            return
        mask, voxel = np.array(labels.data, copy=True), tuple(float(s) for s in labels.scale)
        case_id = mri.case_id

        def task(progress, cancelled):
            from corebt_viewer.services.mri_measure import measure_rano

            return measure_rano(mask, voxel)

        self.window.workers.submit(
            task,
            name="RANO measurement",
            key="rano",
            done=lambda result: self._show_rano(result, case_id),
            failed=lambda msg, _detail: self._say(f"RANO measurement failed: {msg}"),
        )

    def _show_rano(self, result, case_id) -> None:
        if case_id != self.mri.case_id:
            return  # the case changed meanwhile
        self.rano = result
        if result is None:
            self._say("The mask is empty: nothing to measure.")
            return
        labels = self.mri.labels_layer
        scale, translate = np.asarray(labels.scale), np.asarray(labels.translate)
        lines = [
            ends * scale + translate for ends in (result.longest_ends, result.perpendicular_ends)
        ]
        if self.layout == "three":
            self.set_layout("single")
        if self.mri.mosaic:
            self.mri.set_mosaic(False)
        self.mri.set_view("axial")
        layer = self._ensure_measure_layer()
        layer.data = []
        layer.add_lines(lines)
        layer.features = {
            "kind": np.array(["LD ", "PD "], dtype=object),
            "length": np.array([result.longest_mm, result.perpendicular_mm]),
        }
        layer.refresh_text()
        layer.visible = True
        centre = lines[0].mean(axis=0)
        self.crosshair.set(tuple(centre), source="rano")
        volumes = ", ".join(f"{k} {v:.1f} mL" for k, v in result.volumes_ml.items())
        self._say(f"{result.text()}  ·  {volumes}", 30000)
        if self.three_plane is not None:
            self.three_plane.readout.setText(f"{result.text()}\n{volumes}")

    def _say(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)
