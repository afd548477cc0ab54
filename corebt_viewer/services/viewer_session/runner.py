"""How a session runs long work: a :class:`TaskRunner` with progress, cancel and
"keep only the latest result".

A task is ``task(progress, cancelled) -> result``. The runner calls back ``done``,
``failed`` or ``cancelled`` on the owner's thread (the UI thread in the viewer). Tasks
submitted with the same `key` replace each other: the earlier one is cancelled and its
callbacks never run, which replaces hand-written generation counters.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.progress import Cancelled, Progress

Task = Callable[[Callable[[Progress], None], Callable[[], bool]], Any]


class TaskHandle(Protocol):
    """A submitted task."""

    name: str

    def cancel(self) -> None: ...


class TaskRunner(Protocol):
    """What a :class:`ViewerSession` needs to run work (Qt: ``gui.workers.WorkerPool``)."""

    def submit(
        self,
        task: Task,
        *,
        name: str = "",
        key: str | None = None,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str, str], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> TaskHandle: ...

    def later(self, call: Callable[[], None]) -> None:
        """Run `call` on the owner's thread after the current event (a repaint in between)."""

    def cancel_all(self) -> None: ...


def failure_message(name: str, exc: BaseException) -> tuple[str, str]:
    """(message for the user, technical detail) of a task's exception."""
    if isinstance(exc, CoreBTError):
        return str(exc), ""
    if isinstance(exc, MemoryError):
        return f"{name}: not enough memory", traceback.format_exc()
    return (f"{name}: {exc}" if name else str(exc)), traceback.format_exc()


class Latest:
    """Keep only the latest of a series: ``token = latest.next()``, then
    ``latest.is_current(token)`` when its result arrives.

    Examples
    --------
    >>> latest = Latest()
    >>> first = latest.next(); second = latest.next()
    >>> latest.is_current(first), latest.is_current(second)
    (False, True)
    """

    def __init__(self) -> None:
        self._token = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._token += 1
            return self._token

    def is_current(self, token: int) -> bool:
        return token == self._token

    def drop(self) -> None:
        """Make every token handed out so far stale."""
        self.next()


class _SyncHandle:
    def __init__(self, name: str):
        self.name = name
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()


class SyncRunner:
    """Runs each task at once on the calling thread (tests, scripts, the CLI).

    Parameters
    ----------
    defer : bool
        Queue tasks and ``later`` calls until :meth:`run_pending` (to test what happens
        when results arrive out of order).
    """

    def __init__(self, *, defer: bool = False):
        self.defer = defer
        self.names: list[str] = []  # every task submitted, in order
        self._pending: list[Callable[[], None]] = []
        self._latest: dict[str, _SyncHandle] = {}
        self._running: list[_SyncHandle] = []

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
    ) -> _SyncHandle:
        handle = _SyncHandle(name)
        self.names.append(name)
        if key is not None:
            previous = self._latest.get(key)
            if previous is not None:
                previous.cancel()
            self._latest[key] = handle

        def current() -> bool:
            return not handle.is_cancelled() and (key is None or self._latest.get(key) is handle)

        def on_progress(event: Progress) -> None:
            if handle.is_cancelled():
                raise Cancelled(name)
            if progress is not None:
                progress(event)

        def run() -> None:
            self._running.append(handle)
            try:
                result = task(on_progress, handle.is_cancelled)
            except Cancelled:
                if cancelled is not None and (key is None or self._latest.get(key) is handle):
                    cancelled()
                return
            except Exception as exc:  # noqa: BLE001 - handed to `failed`, as a worker does
                if current() and failed is not None:
                    failed(*failure_message(name, exc))
                elif current():
                    raise
                return
            finally:
                self._running.remove(handle)
            if current() and done is not None:
                done(result)

        if self.defer:
            self._pending.append(run)
        else:
            run()
        return handle

    def later(self, call: Callable[[], None]) -> None:
        if self.defer:
            self._pending.append(call)
        else:
            call()

    def run_pending(self) -> None:
        """Run what was queued (``defer=True``), including what that queues."""
        while self._pending:
            self._pending.pop(0)()

    def cancel_all(self) -> None:
        for handle in [*self._running, *self._latest.values()]:
            handle.cancel()
