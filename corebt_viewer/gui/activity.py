"""What the workers are doing, in the status bar: text, progress and a cancel button.

Every change to a widget costs a frame of the whole window, and with software OpenGL
(remote desktops, Xvfb) a frame is tens of milliseconds of the UI thread. A case switch
starts and ends half a dozen short tasks; shown one by one they made as many frames. So
the indicator shows work only once it has lasted :attr:`ActivityIndicator.delay_ms`,
redraws at most every :attr:`ActivityIndicator.interval_ms`, keeps the cancel button's
place (no relayout when it comes and goes) and never runs the busy animation of an
indeterminate progress bar, which repaints continuously.
"""

from __future__ import annotations

import time

from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QLabel, QProgressBar, QSizePolicy, QToolButton

IDLE_TEXT = "Ready"
MAX_CHARS = 120


class ActivityIndicator(QObject):
    """Status-bar widgets that follow a :class:`~corebt_viewer.gui.workers.WorkerPool`.

    Connect :meth:`set_busy` to the pool's ``busy_changed`` and :meth:`set_progress` to
    the workers' ``progress`` signals; put :attr:`label`, :attr:`bar` and :attr:`cancel`
    in the status bar.

    Parameters
    ----------
    delay_ms : int
        Work that ends sooner is never shown.
    interval_ms : int
        Least time between two redraws.
    """

    def __init__(self, parent: QObject | None = None, delay_ms: int = 400, interval_ms: int = 250):
        super().__init__(parent)
        self.delay_ms = delay_ms
        self.interval_ms = interval_ms
        self.label = QLabel(IDLE_TEXT)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.bar.setTextVisible(False)
        self.bar.setRange(0, 1)
        self.bar.hide()
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setEnabled(False)
        self._busy = ""
        self._busy_since = 0.0
        self._message = ""
        self._progress: tuple[int, int] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show)

    def set_busy(self, text: str) -> None:
        """The running tasks changed: `text` names them, "" when none is left."""
        if text and not self._busy:
            self._busy_since = time.monotonic()
        if text != self._busy:  # another set of tasks: their own messages will come
            self._message = ""
            self._progress = None
        self._busy = text
        self._schedule()

    def set_progress(self, event) -> None:
        """A worker's :class:`~corebt_viewer.core.progress.Progress` event."""
        if event.message:
            self._message = event.message
        self._progress = (event.done, event.total) if event.total else None
        self._schedule()

    def show_message(self, text: str) -> None:
        """Show `text` now (it stays until the work changes)."""
        self.label.setText(text)

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start(max(self.interval_ms, self._wait_ms()))

    def _wait_ms(self) -> int:
        """How long the current work must still run before it is shown."""
        if not self._busy:
            return 0
        elapsed = (time.monotonic() - self._busy_since) * 1000.0
        return max(0, int(self.delay_ms - elapsed))

    def _show(self) -> None:
        wait = self._wait_ms()
        if wait > 0:  # work that started after the timer did
            self._timer.start(wait)
            return
        text = (self._message or self._busy) if self._busy else IDLE_TEXT
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS] + "…"
        if self.label.text() != text:
            self.label.setText(text)
        self.cancel.setEnabled(bool(self._busy))
        if self._busy and self._progress is not None:
            done, total = self._progress
            if self.bar.maximum() != total:
                self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.bar.show()
        elif self.bar.isVisible():
            self.bar.hide()
