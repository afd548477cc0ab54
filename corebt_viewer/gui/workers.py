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
    QObject,
    QRunnable,
    QThreadPool,
    QTimer,
    Signal,
)

from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.progress import Cancelled, Progress
from corebt_viewer.gui.scheduler import FramePacer, StepRunner, UiScheduler  # one per window

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


def release(worker: Worker) -> None:
    """Let a finished worker go, here on the UI thread.

    PySide keeps every runnable given to a ``QThreadPool`` referenced from the pool, and
    the callbacks connected to its signals refer back to it, so every worker stayed in
    memory with its task, and the task with what it captured (the mask statistics
    captured a copy of the labels: 9 MB per computation while painting). The task and the
    connections are dropped here; the empty shell (a few hundred bytes) stays with the
    pool. Disconnecting here also keeps PySide's disconnects off worker threads.
    """
    import warnings

    worker.task = None
    signals = worker.signals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "failed to disconnect": had none
        for signal in (signals.progress, signals.finished, signals.failed, signals.cancelled,
                       signals.done):  # fmt: skip
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):  # nothing connected, or already deleted
                pass


def _emit(signal, *args) -> None:
    """Emit from a worker thread; when the window (and these signals) went first, nobody
    is left to tell, so that is no error (seen when the app quits during a read)."""
    try:
        signal.emit(*args)
    except RuntimeError as exc:
        if "deleted" not in str(exc):
            raise


_BACKGROUND_NICE = 10


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
        release(worker)
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
        self,
        interval_ms: int = 10,
        parent: QObject | None = None,
        sample_after_ms: float = 0,
        long_ms: float | None = None,
    ):
        super().__init__(parent)
        self.interval = interval_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._last = 0.0
        self.worst_ms = 0.0
        self.stalls: list[float] = []
        #: (``time.perf_counter()`` at its end, ms) of each stall longer than ``long_ms``
        self.long_stalls: list[tuple[float, float]] = []
        self._long_ms = long_ms
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
        self.long_stalls = []
        self._last = time.perf_counter()

    def _beat(self) -> None:
        now = time.perf_counter()
        late_ms = (now - self._last - self.interval) * 1000.0
        self._last = now
        if late_ms > 0:
            self.stalls.append(late_ms)
            self.worst_ms = max(self.worst_ms, late_ms)
            if self._long_ms is not None and late_ms > self._long_ms:
                self.long_stalls.append((now, late_ms))
        if self._episode:
            if late_ms > 4000 * self._sample_after:
                self.episodes.append((late_ms, self._episode))
            self._episode = {}


def _stack_key(stack) -> str:
    return " < ".join(
        f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in reversed(stack)
    )


__all__ = ["FramePacer", "StallMonitor", "StepRunner", "UiScheduler", "Worker", "WorkerPool"]
