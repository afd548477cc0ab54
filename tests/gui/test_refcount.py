"""Guard against PySide6 6.12's ``none_dealloc`` bug (each repaint lowered None's refcount)."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.gui


def test_repaints_do_not_leak_none_references(qapp):
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
    widget.show()
    qapp.processEvents()
    before = sys.getrefcount(None)
    for _ in range(3000):
        widget.repaint()
        qapp.processEvents()
    after = sys.getrefcount(None)
    widget.close()
    assert widget.painted >= 3000
    assert after >= before - 50, f"None lost {before - after} references over 3000 repaints"
