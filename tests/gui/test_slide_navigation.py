"""Where you are on a slide: magnification, minimap, ruler; the heat map's approximate label;
every slide tool on the keyboard, listed in Help, colliding with no other key."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QKeySequence

from corebt_viewer.gui.shortcuts import REGION_SHORTCUTS, SHORTCUTS, shortcuts_html
from corebt_viewer.gui.slide_navigation import effective_magnification, objective_power
from tests.gui.conftest import settle, wait_until
from tests.gui.test_slide_regions import regions_ready


@pytest.fixture(scope="module")
def tools(window):
    window.slide_tools.regions.dock.raise_()
    wait_until(lambda: regions_ready(window), timeout=60)
    window.slides.viewer.reset_view()
    settle(0.3)
    return window.slide_tools


def test_magnification_reads_the_objective_and_follows_the_zoom(window, tools):
    reader = window.slides.reader
    assert objective_power(reader.info().properties) == 20  # the demo slide's AppMag
    camera = window.slides.viewer.camera
    camera.zoom = 1.0 / reader.mpp  # one screen pixel per level-0 pixel: the scan's own
    settle(0.05)
    assert tools.magnification.text().startswith("20× scan · 20.0× now")
    assert tools.where_text.text().endswith(tools.magnification.text())
    camera.zoom = 0.5 / reader.mpp
    settle(0.05)
    assert "10.0× now" in tools.magnification.text()
    assert effective_magnification(None, 0.25, 4.0) == pytest.approx(40.0)  # 10 µm at 1x
    window.slides.viewer.reset_view()


def test_minimap_shows_the_view_and_a_click_moves_it(window, tools, qtbot):
    minimap = tools.minimap
    wait_until(lambda: minimap.pixmap is not None, timeout=20)
    reader = window.slides.reader
    width, height = reader.dimensions
    camera = window.slides.viewer.camera
    camera.zoom = 4.0 / reader.mpp  # a small part of the slide
    settle(0.05)
    rect = minimap.view_rect()
    assert rect is not None and rect.width() < minimap.width() / 2
    # click a quarter of the way in: the view centres there (level-0 -> microns)
    frame = minimap._frame()
    point = QPointF(frame.left() + frame.width() / 4, frame.top() + frame.height() * 3 / 4)
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=point.toPoint())
    cy, cx = camera.center[-2:]
    x, y = minimap.to_level0(point.toPoint().x(), point.toPoint().y())
    assert (cx / reader.mpp, cy / reader.mpp) == pytest.approx((x, y), abs=2)
    assert x == pytest.approx(width / 4, rel=0.05) and y == pytest.approx(height * 3 / 4, rel=0.05)
    moved = minimap.view_rect()
    assert moved.center().x() == pytest.approx(point.x(), abs=2)
    window.slides.viewer.reset_view()


def test_ruler_measures_in_microns(window, tools):
    window.actions["slide_ruler"].trigger()  # Alt+U: the slide's ruler, not the MRI's
    assert not window.mri_tools.ruler_on
    ruler = tools.ruler
    assert window.slides.viewer.layers.selection.active is ruler.layer
    assert ruler.layer.mode == "add_line"
    ruler.layer.add([np.array([[100.0, 100.0], [100.0, 500.0]])], shape_type="line")  # 400 px
    mpp = window.slides.reader.mpp
    assert ruler.lengths()[-1] == pytest.approx(400 * mpp)
    assert tools.ruler_text.text() == f"Ruler: {400 * mpp:.1f} µm"
    assert list(ruler.layer.features["label"])[-1] == f"{400 * mpp:.1f} µm"
    ruler.layer.data = []
    tools.regions.set_tool("pan")


def test_heat_map_says_approximate_for_an_occlusion_map(window, tools):
    from corebt_viewer.core.prediction import TileContributions

    name = window.slides.current_name()
    check = window.slides.heat_check
    plain = tools._heat_text
    tiles = TileContributions(name, 0, np.zeros((1, 2), int), np.zeros(1), approximate=True)
    tools._on_prediction(SimpleNamespace(prediction=SimpleNamespace(tile_contributions=(tiles,))))
    assert check.text() == "Heat map (approximate: occlusion)"
    exact = TileContributions(name, 0, np.zeros((1, 2), int), np.zeros(1), approximate=False)
    tools._on_prediction(SimpleNamespace(prediction=SimpleNamespace(tile_contributions=(exact,))))
    assert check.text() == plain


def _napari_keys() -> set[str]:
    from napari.utils.shortcuts import default_shortcuts

    keys = set()
    for bindings in default_shortcuts.values():
        for binding in bindings:
            keys.add(str(binding).replace("Ctrl", "Ctrl").lower())
    return keys


def test_every_slide_tool_has_a_free_key_listed_in_help(window, tools):
    sequences = [QKeySequence(s.keys).toString() for s in SHORTCUTS]
    assert len(set(sequences)) == len(sequences), "two actions share a key"
    napari_keys = _napari_keys()
    mnemonics = {"f", "c", "m", "p", "v", "h"}  # the menus' Alt+letter
    html = shortcuts_html()
    for shortcut in REGION_SHORTCUTS:
        key = shortcut.keys.lower()
        assert key not in napari_keys, f"{shortcut.keys} is napari's"
        assert not (key.startswith("alt+") and key[4:] in mnemonics), shortcut.keys
        assert shortcut.text in html
        action = window.actions[shortcut.action]
        assert action.shortcut().toString() == QKeySequence(shortcut.keys).toString()
    # the actions do what they say
    window.actions["regions_rectangle"].trigger()
    assert tools.regions.layer.mode == "add_rectangle"
    window.actions["regions_freehand"].trigger()
    assert tools.regions.layer.mode == "add_polygon_lasso"
    window.actions["regions_polygon"].trigger()
    assert tools.regions.layer.mode == "add_polygon"
    window.actions["regions_select"].trigger()
    assert tools.regions.layer.mode == "select"
    before = tools.regions.session.current_class
    window.actions["regions_next_class"].trigger()
    assert tools.regions.session.current_class != before
    tools.regions.set_class(before)
    window.actions["regions_pan"].trigger()
    assert tools.regions.layer.mode == "pan_zoom"
    visible = tools.minimap.isVisible()
    window.actions["minimap"].trigger()
    assert tools.minimap.isVisible() != visible
    window.actions["minimap"].trigger()


def test_a_real_key_press_picks_the_tool(window, tools, qtbot):
    """Alt+R pressed on the slide canvas reaches the window's action, not napari's keymap."""
    from qtpy.QtTest import QTest

    window.raise_()
    window.activateWindow()
    wait_until(window.isActiveWindow, timeout=5)
    native = window.slides.qt_viewer.canvas.native
    native.setFocus()
    tools.regions.set_tool("pan")
    QTest.keyClick(native, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    wait_until(lambda: tools.regions.layer.mode == "add_rectangle", timeout=5)
    QTest.keyClick(native, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    wait_until(lambda: tools.regions.layer.mode == "pan_zoom", timeout=5)


def test_stain_toggle_shows_the_view_s_tiles_normalised(window, tools):
    """Alt+T: the tissue tiles in view, Macenko-normalised as the encoder would read them."""
    stain = window.slides.stain
    wait_until(stain.available, timeout=30)
    assert stain.check.isEnabled() and stain.layer is None
    window.actions["stain"].trigger()
    wait_until(lambda: stain.last is not None and stain.layer is not None, timeout=60)
    first = stain.last
    grid = stain.grid()
    assert 0 < first.tiles <= np.isfinite(grid.values).sum()
    assert first.normalised + first.skipped == first.tiles
    assert (first.rgba[..., 3] == 255).any() and (first.rgba[..., 3] == 0).any()
    assert stain.layer.visible and stain.layer.rgb
    layers = window.slides.viewer.layers  # right above the slide, under grid and heat map
    assert layers.index(stain.layer) == layers.index(window.slides.slide_layer) + 1
    # the demo model reads tiles as scanned: the label says the picture is a preview
    assert "tiles stain-normalised (macenko-2009)" in stain.label.text()
    assert "reads the tiles as scanned" in stain.label.text()
    # zooming in recomputes the view, sharper, once the camera settles
    camera = window.slides.viewer.camera
    camera.zoom = camera.zoom * 4
    wait_until(lambda: stain.last is not first, timeout=60)
    assert stain.last.downsample <= first.downsample and stain.last.tiles <= first.tiles
    window.actions["stain"].trigger()  # off: the layer hides and the label clears
    assert not stain.layer.visible and stain.label.text() == ""
    window.slides.viewer.reset_view()
