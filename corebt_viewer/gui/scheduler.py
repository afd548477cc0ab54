"""UI-thread scheduling: frames held one turn, and work split into one step per turn.

One :class:`UiScheduler` per window holds what its pacers and step runners share (the
frame held, the turn taken, the runners waiting for a turn); the window owns it and passes
it to its canvases. Nothing is class-level state, so two windows (or two tests) never
wait on each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from qtpy.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal

#: turns a step waits at most for a window's frame (see UiScheduler.frame_waiting)
MAX_FRAME_WAITS = 4


class UiScheduler(QObject):
    """What the frame pacers and step runners of one window share.

    Steps of any runner of this scheduler take turns (one step per event-loop turn), and
    wait for a frame that a pacer of this scheduler holds.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pacers_waiting: set[FramePacer] = set()  # a frame held or on its way
        self.turn_taken = False
        self.runners_waiting: list[StepRunner] = []  # found the turn taken, first come first
        #: work a frame needs done before it draws (preparing changed meshes): a pacer runs
        #: it when it holds the frame, in the turn of the handler that asked for it
        self.before_frame: list[Callable[[], object]] = []
        self._turn_timer = QTimer(self)
        self._turn_timer.setSingleShot(True)
        self._turn_timer.setInterval(0)
        self._turn_timer.timeout.connect(self._end_turn)

    def frame_waiting(self) -> bool:
        """Whether a window's frame is held or about to be painted.

        Steps wait for it: a step run just before the frame froze the window for both (a
        25 ms step and a 40 ms frame with a software renderer).
        """
        for pacer in list(self.pacers_waiting):
            try:
                shown = pacer._window.isVisible()  # noqa: SLF001 - this scheduler's pacer
            except (AttributeError, RuntimeError):  # its window is gone
                shown = False
            if not shown:  # closed or hidden: no frame is coming
                self.pacers_waiting.discard(pacer)
        return bool(self.pacers_waiting)

    def take_turn(self) -> None:
        """Mark this event-loop turn as used by a step until the next turn begins.

        A zero timer started while Qt runs timers fires in the next round of timers at
        the earliest, so it marks the start of the next turn.
        """
        self.turn_taken = True
        self._turn_timer.start()

    def _end_turn(self) -> None:
        """A new turn: the runner that has waited longest runs its step in it."""
        self.turn_taken = False
        while self.runners_waiting:
            runner = self.runners_waiting.pop(0)
            if runner.busy:
                runner._next()  # noqa: SLF001 - the runners' shared schedule
                return


class FramePacer(QObject):
    """Paint a window one event-loop turn after Qt asks, not at once.

    Qt repaints a window in the loop's next pass, right after the handler that changed
    it and before the timers and input that were waiting. With a software renderer a
    frame takes 30-80 ms, so a 40 ms handler and its frame froze the window for their
    sum. Held for one turn, the waiting input and timers run in between; requests made
    meanwhile still give one frame. The scheduler's ``before_frame`` work runs when the
    frame is held, so the frame's own turn only draws.

    Parameters
    ----------
    window : QWidget
        A top-level window (its repaint requests cover its child widgets and canvases).
    scheduler : UiScheduler
        Whose step runners wait for the frames held here.
    """

    def __init__(self, window, scheduler: UiScheduler):
        super().__init__(window)
        self._window = window
        self.scheduler = scheduler
        self._held = False
        self._passing = False
        waiting = scheduler.pacers_waiting
        self.destroyed.connect(lambda *_, pacer=self: waiting.discard(pacer))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._release)
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        # (getattr: Qt may still filter events while the window and its pacer are destroyed)
        window = getattr(self, "_window", None)
        if window is None or watched is not window:
            return False
        if event.type() != QEvent.Type.UpdateRequest:
            return False
        if self._passing:  # the request re-posted by _release: painted now
            self._passing = False
            self.scheduler.pacers_waiting.discard(self)
            return False
        if not self._held:
            self._held = True
            self.scheduler.pacers_waiting.add(self)
            self._timer.start()
            for prepare in self.scheduler.before_frame:
                prepare()
        return True  # Qt posts no other request until one is handled

    def _release(self) -> None:
        self._held = False
        self._passing = True
        request = QEvent(QEvent.Type.UpdateRequest)
        QCoreApplication.postEvent(self._window, request, Qt.EventPriority.LowEventPriority.value)


class StepRunner(QObject):
    """Run UI-thread work as short steps, one per event-loop turn.

    napari layer updates must happen on the UI thread; doing a case's dozen of them in one
    go freezes the window for a second. Split into steps, input and painting interleave.
    Starting a new plan drops the steps left of the previous one. The runners of one
    :class:`UiScheduler` share the turns: when one has run a step, the others wait for the
    next turn (the MRI and the slide canvas each have a runner, and two steps in one turn
    made one long freeze).
    """

    finished = Signal()

    def __init__(self, parent: QObject | None = None, scheduler: UiScheduler | None = None):
        super().__init__(parent)
        self.scheduler = scheduler if scheduler is not None else UiScheduler(self)
        self._steps: list[Callable[[], None]] = []
        self.durations: list[tuple[str, float]] = []  # (step name, ms) for profiling
        self._frame_waits = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next)

    def run(self, steps: list[Callable[[], None]]) -> None:
        self._steps = list(steps)
        self._timer.start()

    def cancel(self) -> None:
        self._steps = []
        self._timer.stop()
        if self in self.scheduler.runners_waiting:
            self.scheduler.runners_waiting.remove(self)

    @property
    def busy(self) -> bool:
        return bool(self._steps)

    def flush(self) -> None:
        """Run every step left now (tests, screenshots)."""
        while self._steps:
            self.scheduler.turn_taken = False
            self._next(wait_for_frame=False)

    def _next(self, wait_for_frame: bool = True) -> None:
        if not self._steps:
            return
        scheduler = self.scheduler
        if wait_for_frame and scheduler.frame_waiting() and self._frame_waits < MAX_FRAME_WAITS:
            self._frame_waits += 1  # after the frame, with a turn for input in between
            self._timer.start()
            return
        if wait_for_frame and self._frame_waits > 0:
            # the frame was painted in this pass: timers and input due since run first (a
            # step right after a 40 ms frame froze the window for both)
            self._frame_waits = -1
            self._timer.start()
            return
        self._frame_waits = 0
        if scheduler.turn_taken:  # another runner's step ran in this turn
            if self not in scheduler.runners_waiting:
                scheduler.runners_waiting.append(self)
            return
        scheduler.take_turn()
        step = self._steps.pop(0)
        started = time.perf_counter()
        try:
            step()
        finally:
            name = getattr(step, "__name__", "step")
            self.durations.append((name, (time.perf_counter() - started) * 1000.0))
            if self._steps:
                self._timer.start()
            else:
                self.finished.emit()
