"""Shared pieces of the canvases' panes."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QWidget

from corebt_viewer.gui.widgets import make_canvas_native

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


def test_native_canvas_can_be_switched_off(qtbot, monkeypatch):
    monkeypatch.setenv("COREBT_NATIVE_CANVAS", "0")
    window, qt_viewer = qt_viewer_in_a_window(qtbot)
    assert not make_canvas_native(qt_viewer)
    assert not qt_viewer.canvas.native.testAttribute(Qt.WidgetAttribute.WA_NativeWindow)
