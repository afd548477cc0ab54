"""Guard against PySide6 6.12's ``none_dealloc`` bug (each repaint lowered None's refcount)."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.gui


def test_repaints_do_not_leak_none_references(qapp, qtbot):
    from qtpy.QtGui import QPainter
    from qtpy.QtWidgets import QWidget

    class Painted(QWidget):
        painted = 0

        def paintEvent(self, event):  # noqa: N802 - Qt override
            painter = QPainter(self)
            painter.drawLine(0, 0, self.width(), self.height())
            painter.end()
            self.painted += 1

    widget = Painted()
    widget.resize(64, 64)
    qtbot.addWidget(widget)
    widget.show()
    # repaint() paints only an exposed window; under Xvfb the map can lag behind show().
    qtbot.waitExposed(widget)
    qapp.processEvents()
    start = widget.painted
    before = sys.getrefcount(None)
    for _ in range(6000):
        if widget.painted - start >= 3000:
            break
        widget.repaint()
        qapp.processEvents()
    after = sys.getrefcount(None)
    painted = widget.painted - start
    widget.close()
    assert painted >= 3000, f"only {painted} repaints reached paintEvent"
    assert after >= before - 50, f"None lost {before - after} references over {painted} repaints"
