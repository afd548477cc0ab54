"""The slide canvas's tools in one place: regions, minimap, magnification, ruler, heat map label.

:class:`SlideTools` is created by the main window (one line) and gives the window's action
table its handlers (:meth:`SlideTools.handlers`), so every tool is on the keyboard and in
the Help list (:mod:`corebt_viewer.gui.shortcuts`).
"""

from __future__ import annotations

from qtpy.QtCore import QObject
from qtpy.QtWidgets import QLabel

from corebt_viewer.gui.slide_navigation import Minimap, Ruler, magnification_text, objective_power
from corebt_viewer.gui.slide_regions import SlideRegions

#: The heat map check box's text when the values are an occlusion attribution.
APPROXIMATE_HEAT = "Heat map (approximate: occlusion)"


class SlideTools(QObject):
    """Tools of a :class:`~corebt_viewer.gui.main_window.MainWindow`'s slide canvas."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        canvas = self.canvas = window.slides
        self.regions = SlideRegions(window)
        self.minimap = Minimap()
        self.minimap.centre_requested.connect(self.centre_on)
        self.ruler_text = QLabel("Ruler: — (Alt+U, then drag on the slide)")
        self.ruler_text.setStyleSheet("color: #ffd400;")
        where = self.regions.panel.where
        self.where_text = QLabel("")  # the magnification again: the bar may fold it away
        where.addWidget(self.where_text)
        where.addWidget(self.minimap)
        where.addWidget(self.ruler_text)
        self.magnification = QLabel("")
        self.magnification.setStyleSheet("color: #9a9a9a;")
        self.magnification.setToolTip(
            "Scanner objective (slide metadata) and the magnification on screen now"
        )
        canvas.bar.addWidget(self.magnification)
        self.ruler: Ruler | None = None
        self.objective: float | None = None
        self._heat_text = canvas.heat_check.text()
        self._prediction = None
        camera = canvas.viewer.camera
        camera.events.zoom.connect(self._on_camera)
        camera.events.center.connect(self._on_camera)
        canvas.slide_shown.connect(self._on_slide_shown)
        window.session.events.prediction_changed.connect(self._on_prediction)

    # ------------------------------------------------------------------ the slide
    def _mpp(self) -> float | None:
        reader = self.canvas.reader
        return reader.mpp if reader is not None else None

    def _showing(self) -> bool:
        canvas = self.canvas
        return (
            canvas.reader is not None
            and canvas.slide_layer is not None
            and (canvas.slide_layer.visible)
        )

    def _on_slide_shown(self, _name: str) -> None:
        self._show_heat_label()
        if not self._showing():
            self.objective = None
            self.magnification.setText("")
            self.where_text.setText("")
            self.minimap.set_slide(None, 1, 1)
            if self.ruler is not None:
                self.ruler.layer.visible = False
            return
        reader = self.canvas.reader
        self.objective = objective_power(reader.info().properties)
        self._ensure_ruler().place(reader.mpp)
        width, height = reader.dimensions
        self.minimap.set_slide(None, width, height)
        self.window.workers.submit(
            lambda progress, cancelled: reader.thumbnail(256),
            name="slide overview",
            key="slide-minimap",
            done=lambda thumb, r=reader: self._on_thumbnail(r, thumb),
            failed=lambda message, _d: self.regions.notify(f"No overview: {message}"),
        )
        self._on_camera()

    def _on_thumbnail(self, reader, thumbnail) -> None:
        if reader is self.canvas.reader:
            self.minimap.set_slide(thumbnail, *reader.dimensions)
            self._on_camera()

    def _ensure_ruler(self) -> Ruler:
        if self.ruler is None:
            self.regions._ensure_layer()  # the ruler sits above the regions
            self.ruler = Ruler(self.canvas.viewer, on_measure=self.ruler_text.setText)
            self.canvas.tool_layers.append(self.ruler.layer)
        return self.ruler

    def _on_camera(self, _event=None) -> None:
        if not self._showing():
            return
        camera, mpp = self.canvas.viewer.camera, self._mpp()
        text = magnification_text(self.objective, mpp, camera.zoom)
        self.magnification.setText(text)
        self.where_text.setText(f"Magnification: {text}")
        step = mpp or 1.0
        cy, cx = camera.center[-2:]
        h, w = self.canvas.viewer.canvas.size
        half_w, half_h = w / camera.zoom / 2, h / camera.zoom / 2
        self.minimap.set_view(
            (cx - half_w) / step, (cy - half_h) / step, (cx + half_w) / step, (cy + half_h) / step
        )

    def centre_on(self, x: float, y: float) -> None:
        """Centre the slide view on level-0 (x, y)."""
        step = self._mpp() or 1.0
        camera = self.canvas.viewer.camera
        self.canvas._on_user_moves()  # no re-fit on the next resize: the user moved
        camera.center = (*camera.center[:-2], y * step, x * step)

    def toggle_minimap(self) -> None:
        self.minimap.setVisible(not self.minimap.isVisible())

    def start_ruler(self) -> None:
        if not self._showing():
            self.regions.notify("No slide to measure")
            return
        self._ensure_ruler().activate()
        self.regions.panel.tool_group.setExclusive(False)
        for button in self.regions.panel.tool_buttons.values():
            button.setChecked(False)
        self.regions.panel.tool_group.setExclusive(True)
        self.canvas.qt_viewer.canvas.native.setFocus()

    # ------------------------------------------------------------------ heat map label
    def _on_prediction(self, state) -> None:
        self._prediction = state.prediction
        self._show_heat_label()

    def approximate(self) -> bool:
        """Whether the current slide's heat map is an occlusion attribution."""
        name = self.canvas.current_name()
        contributions = getattr(self._prediction, "tile_contributions", ()) or ()
        return any(t.approximate for t in contributions if t.slide == name)

    def _show_heat_label(self) -> None:
        check = self.canvas.heat_check
        if self.approximate():
            check.setText(APPROXIMATE_HEAT)
            check.setToolTip(
                "Per-tile contribution, approximate: the slide encoder is not linear, so each "
                "value is the drop of the pathology term when the tile's block is left out "
                "(occlusion), shared among the block's tiles (H)"
            )
        elif check.text() != self._heat_text:
            check.setText(self._heat_text)
            check.setToolTip(
                "Per-tile contribution to the predicted class: red for, blue against (H)"
            )

    # ------------------------------------------------------------------ keyboard
    def handlers(self) -> dict:
        """Action name -> handler, for :func:`corebt_viewer.gui.window_actions.handlers`."""
        regions = self.regions
        table = {
            f"regions_{tool}": (lambda t=tool: regions.set_tool(t))
            for tool in ("pan", "select", "vertices", "polygon", "rectangle", "freehand", "brush")
        }
        table.update(
            {
                "regions_next_class": regions.next_class,
                "regions_delete": regions.delete_selected,
                "regions_undo": regions.undo,
                "regions_redo": regions.redo,
                "regions_save": regions.save,
                "regions_import": regions.choose_import,
                "slide_ruler": self.start_ruler,
                "minimap": self.toggle_minimap,
            }
        )
        return table

    def close(self) -> None:
        self.regions.close()
