"""Run editor tasks on the window's worker pool, keeping only the newest result.

The mask editor's statistics, tools and autosave used to start on Qt's global thread
pool, outside Cancel, the activity indicator and the wait at close. They now go through
the :class:`~corebt_viewer.gui.workers.WorkerPool` the window owns (an editor used alone
makes its own), and a :class:`LatestOnly` drops a result that a newer run superseded
(in place of hand-written stale-result counters).
"""

from __future__ import annotations

from collections.abc import Callable

from corebt_viewer.gui.workers import Task, Worker, WorkerPool


class LatestOnly:
    """Start tasks on `pool`; deliver a result only if no newer task started since.

    Parameters
    ----------
    pool : WorkerPool
    """

    def __init__(self, pool: WorkerPool):
        self.pool = pool
        self._generation = 0
        self.running: Worker | None = None

    @property
    def busy(self) -> bool:
        return self.running is not None

    def drop(self) -> None:
        """Forget the task in flight: its result will not be delivered."""
        self._generation += 1

    def run(
        self,
        task: Task,
        *,
        name: str,
        on_result: Callable[[object], None],
        on_failed: Callable[[str], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> Worker:
        """Run ``task(progress, cancelled)``; `on_result` gets its value unless superseded.

        `on_failed` gets the user message of a failure (of the newest task only);
        `on_done` runs after every task, superseded or not.
        """
        self._generation += 1
        generation = self._generation
        worker = Worker(task, name=name)

        def finished(result) -> None:
            if generation == self._generation:
                on_result(result)

        def failed(message: str, _detail: str) -> None:
            if generation == self._generation and on_failed is not None:
                on_failed(message)

        def done() -> None:
            if self.running is worker:
                self.running = None
            if on_done is not None:
                on_done()

        worker.signals.finished.connect(finished)
        worker.signals.failed.connect(failed)
        worker.signals.done.connect(done)
        self.running = worker
        return self.pool.start(worker)
