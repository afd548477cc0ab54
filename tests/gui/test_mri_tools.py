"""MRI tools in the main window: three planes with a linked crosshair, window/level,
the voxel read-out, the mm ruler, RANO, and their keys."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtTest import QTest

from tests.gui.conftest import grab_array, settle, wait_until

pytestmark = pytest.mark.gui


def canvas_widget(qt_viewer):
    return qt_viewer.canvas.native


def click(qt_viewer, x_frac: float, y_frac: float) -> None:
    widget = canvas_widget(qt_viewer)
    pos = QPoint(int(widget.width() * x_frac), int(widget.height() * y_frac))
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


@pytest.fixture(scope="module")
def tools(window):
    window.mri.steps.flush()
    yield window.mri_tools
    window.mri_tools.set_layout("single")


def test_a_click_in_one_plane_moves_the_others_and_the_mosaic(window, tools):
    tools.set_layout("three")
    assert window.mri.stack.currentWidget() is tools.three_plane
    settle(0.3)
    panes = tools.three_plane.panes
    coronal_before = panes["coronal"].viewer.dims.point
    before = tools.crosshair.position
    click(panes["coronal"].qt_viewer, 0.3, 0.35)
    settle(0.1)
    after = tools.crosshair.position
    assert after != before
    # the coronal pane's own slice (y) did not move; x and z did
    assert after[1] == pytest.approx(coronal_before[1], abs=1e-6)
    assert abs(after[0] - before[0]) > 1 or abs(after[2] - before[2]) > 1
    assert panes["axial"].viewer.dims.point[2] == pytest.approx(after[2], abs=1.0)
    assert panes["sagittal"].viewer.dims.point[0] == pytest.approx(after[0], abs=1.0)
    # the crosshair lines cross at the click and are drawn on screen
    lines = panes["axial"].lines.segments
    assert len(lines) == 2
    assert any(np.allclose(line[:, 0], after[0]) for line in lines)
    assert any(np.allclose(line[:, 1], after[1]) for line in lines)
    settle(0.2)
    rgb = grab_array(panes["axial"].qt_viewer).astype(int)
    assert rgb.std() > 10, "the axial pane rendered blank"
    magenta = (rgb[..., 0] > 200) & (rgb[..., 1] < 120) & (rgb[..., 2] > 180)
    assert magenta.sum() > 100, "the crosshair lines are not drawn (napari canvas changed?)"
    # the main canvas (single view or 2x2 mosaic) is on the same slice
    tools.set_layout("single")
    window.mri.set_mosaic(True)
    assert window.mri.viewer.dims.point[2] == pytest.approx(after[2], abs=1.0)
    # scrolling the main canvas moves the crosshair, and the panes follow
    viewer = window.mri.viewer
    viewer.dims.set_point(2, after[2] + 5)
    assert tools.crosshair.position[2] == pytest.approx(viewer.dims.point[2])
    assert panes["axial"].viewer.dims.point[2] == pytest.approx(viewer.dims.point[2], abs=1.0)
    window.mri.set_mosaic(False)


def test_the_fourth_pane_shows_the_surfaces_and_follows_the_crosshair(window, tools):
    tools.set_layout("three")
    try:
        _check_the_fourth_pane(window, tools)
    finally:
        tools.set_layout("single")


def _check_the_fourth_pane(window, tools):
    from corebt_viewer.core.segmentation import Region
    from corebt_viewer.gui.surface_pane import REMESH_AFTER_MS

    surface = tools.three_plane.surface
    wait_until(lambda: surface.layers and "mL" in surface.status, timeout=60)
    assert surface.viewer.dims.ndisplay == 3
    labels = window.mri.labels_layer.data
    shown = {int(layer.metadata["region"]) for layer in surface.layers}
    assert shown == {int(r) for r in Region if (labels == int(r)).any()}
    settle(0.3)
    rgb = grab_array(surface.qt_viewer).astype(int)
    yellow = (rgb[..., 0] > 150) & (rgb[..., 1] > 120) & (rgb[..., 2] < 110)
    assert yellow.sum() > 200, "the enhancing tumour's surface is not drawn"
    # a click in a plane moves the 3D crosshair's three lines through the new point
    click(tools.three_plane.panes["axial"].qt_viewer, 0.4, 0.6)
    position = np.asarray(tools.crosshair.position)
    wait_until(lambda: np.allclose(surface.crosshair_segments[0, 0, 1:], position[1:]), 5)
    segments = surface.crosshair_segments
    assert segments.shape == (3, 2, 3)
    for axis, (start, end) in enumerate(segments):
        others = [a for a in range(3) if a != axis]
        assert np.allclose(start[others], position[others])
        assert np.allclose(end[others], position[others])
        assert end[axis] - start[axis] > 100  # across the volume
    # painting meshes the mask again once the strokes pause
    surface._remesh.setInterval(50)
    try:
        before = list(surface.layers)
        tools.three_plane.refresh_mask()
        wait_until(lambda: surface.layers and surface.layers[0] is not before[0], timeout=60)
        # another case's mask in the same layer (as a case switch does) is meshed too
        before = list(surface.layers)
        layer = window.mri.labels_layer
        layer.data = layer.data.copy()
        tools._show_panes()
        wait_until(lambda: surface.layers and surface.layers[0] is not before[0], timeout=60)
        # a case without a mask: no surfaces, and the pane says why
        surface.show(None)
        assert surface.layers == [] and "no mask" in surface.status
        assert surface.crosshair_segments is None  # the last case's lines are gone
        surface.show(layer)
        wait_until(lambda: surface.layers and "mL" in surface.status, timeout=60)
        assert surface.crosshair_segments is not None
    finally:
        surface._remesh.setInterval(REMESH_AFTER_MS)


def test_layout_key_and_sequence_follow(window, tools):
    window.actions["three_plane"].trigger()
    assert tools.layout == "three"
    window.actions["sequence_flair"].trigger()
    from corebt_viewer.core.modalities import Sequence

    flair = window.mri.image_layers[Sequence.FLAIR]
    for pane in tools.three_plane.panes.values():
        assert pane.image.data is flair.data
    window.actions["three_plane"].trigger()
    assert tools.layout == "single"
    assert window.mri.stack.currentWidget() is window.mri.qt_viewer


def test_window_level_drag_and_presets(window, tools):
    from corebt_viewer.core.window_level import PRESETS, preset_limits

    layer = tools.current_image()
    seq = window.mri.sequence
    window.actions["window_preset"].trigger()
    second = PRESETS[seq][1]
    assert tuple(layer.contrast_limits) == pytest.approx(preset_limits(layer.data, second))
    window.actions["window_reset"].trigger()
    assert tuple(layer.contrast_limits) == pytest.approx(preset_limits(layer.data, PRESETS[seq][0]))
    zoom = window.mri.viewer.camera.zoom
    start = tuple(layer.contrast_limits)
    widget = canvas_widget(window.mri.qt_viewer)
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    ctrl = Qt.KeyboardModifier.ControlModifier
    QTest.mousePress(widget, Qt.MouseButton.RightButton, ctrl, centre)
    for step in range(1, 6):  # right and up: wider window, higher level
        move = centre + QPoint(12 * step, -8 * step)
        event_move(widget, move, Qt.MouseButton.RightButton, ctrl)
    QTest.mouseRelease(widget, Qt.MouseButton.RightButton, ctrl, centre + QPoint(60, -40))
    lo, hi = layer.contrast_limits
    assert hi - lo > start[1] - start[0]
    assert (hi + lo) / 2 > (start[1] + start[0]) / 2
    assert window.mri.viewer.camera.zoom == pytest.approx(zoom)  # napari did not zoom


def event_move(widget, pos, button, modifiers) -> None:
    """A mouse move with a button held (QTest.mouseMove sends none)."""
    from qtpy.QtCore import QEvent, QPointF
    from qtpy.QtGui import QMouseEvent
    from qtpy.QtWidgets import QApplication

    local = QPointF(pos)
    glob = QPointF(widget.mapToGlobal(pos))
    event = QMouseEvent(
        QEvent.Type.MouseMove, local, glob, Qt.MouseButton.NoButton, button, modifiers
    )
    QApplication.sendEvent(widget, event)


def test_readout_shows_intensity_and_label_in_volume_units(window, tools):
    mri = window.mri
    labels = mri.labels_layer.data
    index = tuple(int(v) for v in np.argwhere(labels > 0)[0])
    world = mri.labels_layer.data_to_world(index)
    tools._probe(tuple(world))
    text = tools.probe_label.text()
    for seq in mri.present:
        value = float(mri.image_layers[seq].data[index])
        assert f"{seq.title} {value:.4g}" in text
    from corebt_viewer.core.segmentation import Region

    assert Region(int(labels[index])).title in text
    assert f"voxel {index}".replace(" (", " (") in text


def test_ruler_measures_in_mm(window, tools):
    window.actions["ruler"].trigger()
    layer = tools.measure_layer
    assert tools.ruler_on and window.mri.viewer.layers.selection.active is layer
    z = window.mri.viewer.dims.point[2]
    layer.add_lines([np.array([[10.0, 20.0, z], [40.0, 60.0, z]])])
    assert layer.features["length"].iloc[-1] == pytest.approx(50.0)
    # the app's Alt+3 shows T2 and leaves napari's Shapes keys alone (3 deletes there)
    layer.selected_data = {len(layer.data) - 1}
    canvas = canvas_widget(window.mri.qt_viewer)
    window.activateWindow()  # window shortcuts fire only in the active window
    assert QTest.qWaitForWindowActive(window, 3000)
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    settle(0.1)
    from corebt_viewer.core.modalities import Sequence

    assert window.mri.sequence is Sequence.T2 and len(layer.data) == 1
    window.actions["sequence_t1c"].trigger()
    QTest.keyClick(canvas, Qt.Key.Key_3)  # napari's own key: the app does not take it
    settle(0.1)
    assert window.mri.sequence is Sequence.T1C
    window.actions["ruler"].trigger()
    assert not tools.ruler_on
    window.actions["clear_rulers"].trigger()
    assert len(layer.data) == 0


def test_rano_on_request_draws_both_diameters(window, tools):
    from corebt_viewer.services.mri_measure import measure_rano

    labels = window.mri.labels_layer
    expected = measure_rano(np.asarray(labels.data), tuple(labels.scale))
    window.actions["rano"].trigger()
    wait_until(lambda: tools.rano is not None, timeout=60)
    layer = tools.measure_layer
    assert len(layer.data) == 2 and layer.visible
    lengths = layer.features["length"].to_numpy()
    assert lengths == pytest.approx([expected.longest_mm, expected.perpendicular_mm])
    measured = [np.linalg.norm(line[1] - line[0]) for line in layer.data]
    assert measured == pytest.approx(lengths, abs=1e-6)  # drawn in mm where they are
    z_world = expected.slice_index * labels.scale[2] + labels.translate[2]
    assert window.mri.viewer.dims.point[2] == pytest.approx(z_world, abs=labels.scale[2])
    assert expected.target in window.statusBar().currentMessage()
