"""The slide canvas's overlays (tile grid, heat map) and slide problems, by slide FILE.

Overlays and problems are keyed by the slide's file name, never by its index among the
slides that embedded: when one slide of a case fails, no map moves onto its neighbour.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt

from corebt_viewer.gui import layers as L


class SlideOverlays:
    """Overlay and problem methods of :class:`~corebt_viewer.gui.slide_canvas.SlideCanvas`
    (a mixin: it uses the canvas's viewer, chooser, layers, checks and ``paths``)."""

    def set_overlays(self, overlays: dict[str, tuple[L.TileMap | None, L.TileMap | None]]) -> None:
        """Per slide FILE name: (tissue tile map, contribution map); ``None`` where unknown."""
        self.overlays = dict(overlays)
        self._apply_overlays()

    def _apply_overlays(self, *_) -> None:
        self._fill_overlays()
        self._show_overlays()
        self.stain.refresh()

    def _wanted_overlays(self) -> tuple[bool, bool]:
        """Whether to show the tile grid and the heat map of the current slide."""
        grid, heat = self.overlays.get(self.current_name(), (None, None))
        showing = self.slide_layer is not None and self.slide_layer.visible
        return (
            showing and grid is not None and self.grid_check.isChecked(),
            showing and heat is not None and self.heat_check.isChecked(),
        )

    def _fill_overlays(self) -> None:
        """Put the current slide's overlays that are to be shown in their layers."""
        grid, heat = self.overlays.get(self.current_name(), (None, None))
        self.grid_check.setEnabled(grid is not None)
        self.heat_check.setEnabled(heat is not None)
        mpp = self.reader.mpp if self.reader is not None else None
        want_grid, want_heat = self._wanted_overlays()
        if want_grid:
            data, kwargs = L.tile_grid_layer(grid, mpp)
            if self.grid_layer is None:
                self.grid_layer = self.viewer.add_labels(data, **kwargs)
                self.grid_layer.contour = 1
            elif not _shows(self.grid_layer, data, kwargs):
                L.replace_labels_data(self.grid_layer, data, kwargs)
        if want_heat:
            data, kwargs = L.heatmap_layer(heat, mpp)
            if self.heat_layer is None:
                self.heat_layer = self.viewer.add_image(data, **kwargs)
            elif not _shows(self.heat_layer, data, kwargs):  # each swap re-renders
                L.replace_image_data(self.heat_layer, data, kwargs)

    def _show_overlays(self) -> None:
        want_grid, want_heat = self._wanted_overlays()
        with L.one_scene_update(self.qt_viewer):
            if self.grid_layer is not None:
                L.set_visible(self.grid_layer, want_grid)
            if self.heat_layer is not None:
                L.set_visible(self.heat_layer, want_heat)
        active = self.viewer.layers.selection.active
        if self.slide_layer is not None and (active is None or active not in self.tool_layers):
            self.viewer.layers.selection.active = self.slide_layer  # not while drawing

    def current_name(self) -> str:
        """File name of the slide chosen ("" when none)."""
        index = self.chooser.currentIndex()
        return self.paths[index].name if 0 <= index < len(self.paths) else ""

    def set_problems(self, problems: dict[str, str]) -> None:
        """Mark slides that failed (by file name) in the chooser, with their message."""
        if dict(problems) == self.problems:
            return  # (each prediction refresh passes them: changing nothing costs nothing)
        self.problems = dict(problems)
        for index, path in enumerate(self.paths):
            problem = self.problems.get(path.name)
            text = f"⚠ {path.name}" if problem else path.name
            if self.chooser.itemText(index) != text:
                self.chooser.setItemText(index, text)
                self.chooser.setItemData(index, problem or str(path), Qt.ItemDataRole.ToolTipRole)
        self._show_problem()

    def _show_problem(self) -> None:
        """The chosen slide's problem, on the canvas (and as the chooser's tooltip)."""
        problem = self.problems.get(self.current_name())
        self.chooser.setToolTip(
            f"{self.current_name()}: {problem}" if problem else "Slide of this case (PgUp / PgDn)"
        )
        overlay = self.viewer.canvas.overlays.text
        if problem:
            overlay.text = f"{self.current_name()}: {problem}"
            overlay.position = "top_left"
            overlay.color = "#ffb454"
            overlay.font_size = 11
        if overlay.visible != bool(problem):
            overlay.visible = bool(problem)


def _shows(layer, data: np.ndarray, kwargs: dict) -> bool:
    """Whether `layer` already holds `data` at the placement in `kwargs`."""
    current = np.asarray(layer.data)
    if current.shape != data.shape or not np.array_equal(current, data):
        return False
    return all(
        np.allclose(getattr(layer, key), kwargs[key])
        for key in ("scale", "translate")
        if key in kwargs
    )


def placeholder_map() -> L.TileMap:
    """A one-cell, 1-micron tile map: a hidden overlay that leaves the view's extent alone."""
    return L.tile_map(np.zeros((1, 2)), np.ones(1), tile_size=1)
