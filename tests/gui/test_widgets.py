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
