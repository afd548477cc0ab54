"""The slide canvas fits a newly opened slide to the canvas, also on its first showing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        QApplication.processEvents()
        time.sleep(0.005)


def settle(seconds: float) -> None:
    wait_until(lambda s=time.perf_counter() + seconds: time.perf_counter() > s)


def fit_error(canvas) -> tuple[float, float]:
    """(relative zoom error, centre offset in canvas fractions) against a fitted view."""
    layer = canvas.slide_layer
    height, width = (n * s for n, s in zip(layer.data[0].shape[:2], layer.scale, strict=True))
    canvas_h, canvas_w = canvas.qt_viewer.canvas.size
    fitted = 0.95 * min(canvas_w / width, canvas_h / height)
    camera = canvas.viewer.camera
    centre = np.asarray(camera.center[-2:])
    offset = np.abs(centre - (np.asarray([height, width]) / 2 + layer.translate[-2:]))
    return abs(camera.zoom / fitted - 1), float(max(offset * camera.zoom / (canvas_h, canvas_w)))


@pytest.mark.parametrize("switch", [False, True])
def test_slide_is_fitted_when_first_shown_and_on_switch(qtbot, svs_path, ndpi_path, switch):
    """Also when the canvas only gets its final size after the slide is on it (the main
    window laying out its docks while the first case opens)."""
    from corebt_viewer.gui.slide_canvas import SlideCanvas
    from corebt_viewer.gui.workers import WorkerPool

    canvas = SlideCanvas(WorkerPool())
    qtbot.addWidget(canvas)
    canvas.resize(900, 700)
    canvas.show()
    canvas.prepare_layers()
    canvas.show_slides([svs_path, ndpi_path])  # the canvas was hidden behind a message
    wait_until(lambda: canvas.slide_layer is not None and canvas.slide_layer.visible)
    if switch:
        canvas.open_slide(1)
        wait_until(lambda: canvas.slide_layer.name == ndpi_path.name)
    canvas.resize(1300, 950)
    settle(0.5)
    assert canvas.qt_viewer.canvas.size == (
        canvas.qt_viewer.canvas.native.height(),
        canvas.qt_viewer.canvas.native.width(),
    )
    zoom_error, centre_offset = fit_error(canvas)
    assert zoom_error < 0.05 and centre_offset < 0.05
    qtbot.mouseClick(canvas.qt_viewer.canvas.native, Qt.MouseButton.LeftButton)
    canvas.resize(900, 700)  # once the user has moved the view, it stays where they put it
    settle(0.3)
    assert fit_error(canvas)[0] > 0.2
    canvas.fit_view()  # asked again (reset view): fitted again, same slide and size or not
    settle(0.2)
    assert fit_error(canvas)[0] < 0.05
    canvas.close_all()


def test_heat_map_lands_on_its_slide_after_a_failed_one(qtbot, tmp_path, svs_path):
    """Overlays are keyed by the slide's file: slide 1 failed, slide 2 gets its own map,
    and the failed one says why in the chooser and on the canvas."""
    from corebt_viewer.gui import layers as L
    from corebt_viewer.gui.slide_canvas import SlideCanvas
    from corebt_viewer.gui.workers import WorkerPool

    broken = tmp_path / "broken.svs"
    broken.write_bytes(b"not a slide at all")
    canvas = SlideCanvas(WorkerPool())
    qtbot.addWidget(canvas)
    canvas.resize(700, 500)
    canvas.show()
    canvas.prepare_layers()
    coords = np.array([[0, 0], [256, 0], [0, 256]])
    grid = L.tile_map(coords, np.ones(3))
    heat = L.tile_map(coords, np.array([1.0, -1.0, 0.5]), grid.tile_size)
    canvas.show_slides([broken, svs_path])
    wait_until(lambda: "broken.svs" in canvas.problems)  # the first could not be opened
    assert canvas.stack.currentWidget() is canvas.message
    assert "Cannot show slide broken.svs" in canvas.message.text()
    assert canvas.chooser.itemText(0) == "⚠ broken.svs"
    assert "cannot open" in canvas.chooser.itemData(0, Qt.ItemDataRole.ToolTipRole)
    # as the session gives it: by file name (the svs is the FIRST slide that embedded)
    canvas.set_overlays({svs_path.name: (grid, heat)})
    canvas.set_problems({"broken.svs": "cannot read the slide"})
    assert not canvas.heat_check.isEnabled()  # nothing for the broken slide
    canvas.open_slide(1)
    wait_until(lambda: canvas.reader is not None and not canvas.steps.busy)
    assert canvas.heat_check.isEnabled() and canvas.heat_layer.visible
    expected, _ = L.heatmap_layer(heat, canvas.reader.mpp)
    np.testing.assert_array_equal(np.asarray(canvas.heat_layer.data), expected)
    canvas.open_slide(0)
    wait_until(lambda: canvas.stack.currentWidget() is canvas.message)
    assert "broken.svs" in canvas.chooser.toolTip() and "cannot" in canvas.chooser.toolTip()
    canvas.close_all()
