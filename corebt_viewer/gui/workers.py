"""Worker threads: run a service off the UI thread, its progress callbacks as Qt signals.

The services take a plain ``progress`` callback (:mod:`corebt_viewer.core.progress`) and,
where they support it, a ``cancel`` check. A :class:`Worker` hands the task both, turns
each progress event into a Qt signal and raises :class:`Cancelled` at the next progress
event after :meth:`Worker.cancel`.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)

from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.progress import Cancelled, Progress

Task = Callable[[Callable[[Progress], None], Callable[[], bool]], Any]


class WorkerSignals(QObject):
    """Signals of a :class:`Worker` (emitted from its thread, delivered on the UI thread)."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the task's result
    failed = Signal(str, str)  # message for the user, technical detail
    cancelled = Signal()
    done = Signal()  # always last, whatever the outcome


class Worker(QRunnable):
    """Run ``task(progress, is_cancelled)`` in the global thread pool.

    Parameters
    ----------
    task : callable
        Receives a progress callback and a zero-argument cancel check.
    name : str
        What the task does, for the status bar.
    """

    def __init__(self, task: Task, name: str = ""):
        super().__init__()
        self.setAutoDelete(False)
        self.task = task
        self.name = name
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.running = False

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, event: Progress) -> None:
        if self._cancel.is_set():
            raise Cancelled(self.name)
        _emit(self.signals.progress, event)

    def run(self) -> None:  # noqa: D401 - Qt entry point
        self.running = True
        _lower_thread_priority()
        signals = self.signals
        try:
            result = self.task(self._progress, self.is_cancelled)
        except Cancelled:
            _emit(signals.cancelled)
        except CoreBTError as exc:
            _emit(signals.failed, str(exc), "")
        except MemoryError:
            _emit(signals.failed, f"{self.name}: not enough memory", traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            _emit(signals.failed, f"{self.name}: {exc}", traceback.format_exc())
        else:
            if self._cancel.is_set():
                _emit(signals.cancelled)
            else:
                _emit(signals.finished, result)
        finally:
            self.running = False
            _emit(signals.done)


def _emit(signal, *args) -> None:
    """Emit from a worker thread; when the window (and these signals) went first, nobody
    is left to tell, so that is no error (seen when the app quits during a read)."""
    try:
        signal.emit(*args)
    except RuntimeError as exc:
        if "deleted" not in str(exc):
            raise


_BACKGROUND_NICE = 10
#: turns a step waits at most for a window's frame (see FramePacer.frame_waiting)
MAX_FRAME_WAITS = 4


def _lower_thread_priority() -> None:
    """Give the calling worker thread a lower OS priority (Linux: per-thread nice).

    On a machine with few cores, reading and decompressing files in workers otherwise
    takes the CPU from the UI thread and from the renderer right when a case is drawn.
    The GIL is released by the heavy parts (zlib, file reads, numpy), so the UI thread
    does not wait behind a descheduled worker for long.
    """
    import os

    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < _BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, _BACKGROUND_NICE)
    except OSError:  # not allowed here: run at normal priority
        pass


class WorkerPool(QObject):
    """The window's one pool: starts workers and keeps them alive until they are done.

    It is the Qt :class:`~corebt_viewer.services.viewer_session.TaskRunner`:
    :meth:`submit` runs a ``(progress, cancelled)`` task and calls back on the UI thread;
    tasks of the same `key` keep only the latest result.
    """

    busy_changed = Signal(str)  # names of running tasks, "" when idle

    def __init__(self, parent: QObject | None = None, max_threads: int = 4):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: list[Worker] = []
        self._latest: dict[str, Worker] = {}

    def submit(
        self,
        task: Task,
        *,
        name: str = "",
        key: str | None = None,
        done=None,
        failed=None,
        cancelled=None,
        progress=None,
    ) -> Worker:
        """Run `task` in the pool; `done(result)`, `failed(message, detail)`, `cancelled()`
        and `progress(event)` are called on the UI thread. A later task with the same `key`
        cancels this one, and this one's callbacks are then never called."""
        worker = Worker(task, name=name)
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None:
                previous.cancel()
            self._latest[key] = worker

        def current() -> bool:
            return key is None or self._latest.get(key) is worker

        if done is not None:
            worker.signals.finished.connect(lambda result: current() and done(result))
        if failed is not None:
            worker.signals.failed.connect(lambda m, d: current() and failed(m, d))
        if cancelled is not None:
            worker.signals.cancelled.connect(lambda: current() and cancelled())
        if progress is not None:
            worker.signals.progress.connect(progress)
        if key is not None:
            worker.signals.done.connect(
                lambda: self._latest.get(key) is worker and self._latest.pop(key)
            )
        return self.start(worker)

    def later(self, call: Callable[[], None]) -> None:
        """Run `call` in a later turn of the event loop (the window repaints in between)."""
        QTimer.singleShot(0, self, call)

    def start(self, worker: Worker) -> Worker:
        self._running.append(worker)
        worker.signals.done.connect(lambda w=worker: self._finish(w))
        self.pool.start(worker)
        self.busy_changed.emit(self.describe())
        return worker

    def _finish(self, worker: Worker) -> None:
        if worker in self._running:
            self._running.remove(worker)
        _emit(self.busy_changed, self.describe())  # (the pool may be gone with its widget)

    def describe(self) -> str:
        return ", ".join(w.name for w in self._running if w.name)

    @property
    def active(self) -> list[Worker]:
        return list(self._running)

    def cancel_all(self) -> None:
        for worker in self._running:
            worker.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.pool.waitForDone(timeout_ms)


class StallMonitor(QObject):
    """Measures how late a UI-thread heartbeat fires: the longest UI freeze.

    A timer due every `interval_ms` that fires late by ``x`` ms means the UI thread was
    busy for about ``x`` ms.
    """

    def __init__(
        self, interval_ms: int = 10, parent: QObject | None = None, sample_after_ms: float = 0
    ):
        super().__init__(parent)
        self.interval = interval_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._last = 0.0
        self.worst_ms = 0.0
        self.stalls: list[float] = []
        #: With ``sample_after_ms`` > 0, a watcher thread samples the UI thread's stack
        #: every few ms while a stall is longer than that: {innermost frames: samples}.
        self.samples: dict[str, int] = {}
        #: (stall ms, its samples) for each stall over 4x ``sample_after_ms``
        self.episodes: list[tuple[float, dict[str, int]]] = []
        self._episode: dict[str, int] = {}
        self._sample_after = sample_after_ms / 1000.0
        self._ui_thread = threading.get_ident()
        self._watching = threading.Event()

    def start(self) -> None:
        self.reset()
        self._last = time.perf_counter()
        self._timer.start()
        if self._sample_after > 0 and not self._watching.is_set():
            self._ui_thread = threading.get_ident()
            self._watching.set()
            threading.Thread(target=self._watch, name="stall-sampler", daemon=True).start()

    def stop(self) -> None:
        self._timer.stop()
        self._watching.clear()

    def _watch(self) -> None:
        import sys
        import traceback

        while self._watching.is_set():
            time.sleep(0.005)
            if time.perf_counter() - self._last < self.interval + self._sample_after:
                continue
            frames = sys._current_frames()
            frame = frames.pop(self._ui_thread, None)
            if frame is None:
                continue
            keys = [_stack_key(traceback.extract_stack(frame)[-6:])]
            for other in frames.values():  # what the other threads do meanwhile (the GIL)
                top = traceback.extract_stack(other)[-3:]
                if top and top[-1].name not in ("wait", "_wait_for_tstate_lock", "_watch"):
                    keys.append("[other thread] " + _stack_key(top))
            for key in keys:
                self.samples[key] = self.samples.get(key, 0) + 1
                self._episode[key] = self._episode.get(key, 0) + 1

    def top_samples(self, n: int = 15) -> list[tuple[int, str]]:
        """The `n` most sampled UI-thread stacks during stalls, most frequent first."""
        return sorted(((c, k) for k, c in self.samples.items()), reverse=True)[:n]

    def reset(self) -> None:
        self.worst_ms = 0.0
        self.stalls = []
        self._last = time.perf_counter()

    def _beat(self) -> None:
        now = time.perf_counter()
        late_ms = (now - self._last - self.interval) * 1000.0
        self._last = now
        if late_ms > 0:
            self.stalls.append(late_ms)
            self.worst_ms = max(self.worst_ms, late_ms)
        if self._episode:
            if late_ms > 4000 * self._sample_after:
                self.episodes.append((late_ms, self._episode))
            self._episode = {}


def _stack_key(stack) -> str:
    return " < ".join(
        f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in reversed(stack)
    )


class FramePacer(QObject):
    """Paint a window one event-loop turn after Qt asks, not at once.

    Qt repaints a window in the loop's next pass, right after the handler that changed
    it and before the timers and input that were waiting. With a software renderer a
    frame takes 30-80 ms, so a 40 ms handler and its frame froze the window for their
    sum. Held for one turn, the waiting input and timers run in between; requests made
    meanwhile still give one frame.

    Parameters
    ----------
    window : QWidget
        A top-level window (its repaint requests cover its child widgets and canvases).
    """

    #: pacers with a frame held or on its way to the window (see :meth:`frame_waiting`)
    _waiting: set[FramePacer] = set()

    def __init__(self, window):
        super().__init__(window)
        self._window = window
        self._held = False
        self._passing = False
        self.destroyed.connect(lambda *_, pacer=self: FramePacer._waiting.discard(pacer))
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
            FramePacer._waiting.discard(self)
            return False
        if not self._held:
            self._held = True
            FramePacer._waiting.add(self)
            self._timer.start()
        return True  # Qt posts no other request until one is handled

    @classmethod
    def frame_waiting(cls) -> bool:
        """Whether a window's frame is held or about to be painted.

        Steps of a :class:`StepRunner` wait for it: a step run just before the frame froze
        the window for both (a 25 ms step and a 40 ms frame with a software renderer).
        """
        for pacer in list(cls._waiting):
            try:
                shown = pacer._window.isVisible()
            except (AttributeError, RuntimeError):  # its window is gone
                shown = False
            if not shown:  # closed or hidden: no frame is coming
                cls._waiting.discard(pacer)
        return bool(cls._waiting)

    def _release(self) -> None:
        self._held = False
        self._passing = True
        request = QEvent(QEvent.Type.UpdateRequest)
        QCoreApplication.postEvent(self._window, request, Qt.EventPriority.LowEventPriority.value)


class StepRunner(QObject):
    """Run UI-thread work as short steps, one per event-loop turn.

    napari layer updates must happen on the UI thread; doing a case's dozen of them in one
    go freezes the window for a second. Split into steps, input and painting interleave.
    Starting a new plan drops the steps left of the previous one. All runners share the
    turns: when one has run a step, the others wait for the next turn (the MRI and the
    slide canvas each have a runner, and two steps in one turn made one long freeze).
    """

    _turn_taken = False
    _turn_timer: QTimer | None = None
    _waiting: list[StepRunner] = []  # runners that found the turn taken, first come first

    finished = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
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
        if self in StepRunner._waiting:
            StepRunner._waiting.remove(self)

    @property
    def busy(self) -> bool:
        return bool(self._steps)

    def flush(self) -> None:
        """Run every step left now (tests, screenshots)."""
        while self._steps:
            StepRunner._turn_taken = False
            self._next(wait_for_frame=False)

    def _next(self, wait_for_frame: bool = True) -> None:
        if not self._steps:
            return
        if wait_for_frame and FramePacer.frame_waiting() and self._frame_waits < MAX_FRAME_WAITS:
            self._frame_waits += 1  # after the frame, with a turn for input in between
            self._timer.start()
            return
        self._frame_waits = 0
        if StepRunner._turn_taken:  # another runner's step ran in this turn
            if self not in StepRunner._waiting:
                StepRunner._waiting.append(self)
            return
        _take_turn()
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


def _take_turn() -> None:
    """Mark this event-loop turn as used by a step until the next turn begins.

    A zero timer started while Qt runs timers fires in the next round of timers at the
    earliest, so it marks the start of the next turn.
    """
    StepRunner._turn_taken = True
    _turn_timer().start()


def _turn_timer() -> QTimer:
    if StepRunner._turn_timer is None:
        timer = QTimer()
        timer.setSingleShot(True)
        timer.setInterval(0)
        timer.timeout.connect(_end_turn)
        StepRunner._turn_timer = timer
    return StepRunner._turn_timer


def _end_turn() -> None:
    """A new turn: the runner that has waited longest runs its step in it."""
    StepRunner._turn_taken = False
    while StepRunner._waiting:
        runner = StepRunner._waiting.pop(0)
        if runner.busy:
            runner._next()  # noqa: SLF001 - the runners' shared schedule
            return
