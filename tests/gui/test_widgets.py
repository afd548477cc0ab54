"""Shared pieces of the canvases' panes."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QWidget

from corebt_viewer.gui import widgets
from corebt_viewer.gui.widgets import SOFTWARE_RENDERERS, make_canvas_native, opengl_renderer

pytestmark = pytest.mark.gui


def qt_viewer_in_a_window(qtbot):
    from napari.components import ViewerModel
    from napari.qt import QtViewer
    from qtpy.QtWidgets import QVBoxLayout

    window = QWidget()
    qt_viewer = QtViewer(ViewerModel())
    QVBoxLayout(window).addWidget(qt_viewer)
    qtbot.addWidget(window)
    return window, qt_viewer


def test_the_renderer_under_xvfb_is_software(qtbot):
    renderer = opengl_renderer().lower()
    assert any(name in renderer for name in SOFTWARE_RENDERERS), renderer


def test_only_the_canvas_gets_a_native_window(qtbot, monkeypatch):
    monkeypatch.delenv("COREBT_NATIVE_CANVAS", raising=False)
    window, qt_viewer = qt_viewer_in_a_window(qtbot)
    assert make_canvas_native(qt_viewer)
    window.show()
    qtbot.waitExposed(window)
    canvas = qt_viewer.canvas.native
    assert canvas.internalWinId()  # composes alone: the window keeps raster painting
    assert not qt_viewer.internalWinId()  # its parents are not made native too
    assert not window.testAttribute(Qt.WidgetAttribute.WA_NativeWindow)


@pytest.mark.parametrize(
    ("renderer", "choice", "native"),
    [
        ("NVIDIA H100 PCIe/PCIe/SSE2", "", False),  # a GPU composes for free: Qt's default
        ("NVIDIA H100 PCIe/PCIe/SSE2", "1", True),
        ("llvmpipe (LLVM 15.0.6, 256 bits)", "0", False),
    ],
)
def test_native_canvas_by_renderer_or_choice(qtbot, monkeypatch, renderer, choice, native):
    monkeypatch.setattr(widgets, "opengl_renderer", lambda: renderer)
    monkeypatch.setenv("COREBT_NATIVE_CANVAS", choice)
    window, qt_viewer = qt_viewer_in_a_window(qtbot)
    assert make_canvas_native(qt_viewer) is native
    assert qt_viewer.canvas.native.testAttribute(Qt.WidgetAttribute.WA_NativeWindow) is native


def test_a_pane_bar_moves_what_does_not_fit_to_its_overflow_menu(qtbot):
    from qtpy.QtWidgets import QCheckBox

    bar = widgets.PaneBar()
    boxes = [QCheckBox(f"Overlay number {i}") for i in range(8)]
    for box in boxes[:2]:
        bar.addWidget(box)
    bar.add_stretch()
    for box in boxes[2:]:
        bar.addWidget(box)
    qtbot.addWidget(bar)
    bar.resize(420, 30)
    bar.show()
    qtbot.waitExposed(bar)
    qtbot.wait(50)
    hidden = bar.hidden_widgets()
    assert hidden and hidden == boxes[len(boxes) - len(hidden) :], "overflow is not from the right"
    for box in boxes:
        if box not in hidden:
            assert box.width() >= box.sizeHint().width(), "a control was squeezed"
    bar.resize(3000, 30)
    qtbot.wait(50)
    assert bar.hidden_widgets() == []


def test_the_legend_names_every_region_and_wraps_between_them(qtbot):
    legend = widgets.Legend([("NCR", "Necrotic core", "#ff0000"), ("ED", "Oedema", "#00ff00")])
    qtbot.addWidget(legend)
    assert legend.names == ["Necrotic core (NCR)", "Oedema (ED)"]
    assert legend.heightForWidth(120) > legend.heightForWidth(1000)
    assert "Necrotic&nbsp;core&nbsp;(NCR)" in legend.text()
