"""Worker threads, UI steps and the stall monitor (real Qt, real threads)."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from tests.gui.conftest import settle, wait_until

pytestmark = pytest.mark.gui


def test_worker_runs_off_the_ui_thread_at_background_priority(qapp):
    from corebt_viewer.gui.workers import Worker, WorkerPool

    pool = WorkerPool()
    seen: dict = {}

    def task(progress, cancelled):
        seen["thread"] = threading.get_ident()
        if sys.platform.startswith("linux"):
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return 42

    results: list = []
    worker = Worker(task, name="probe")
    worker.signals.finished.connect(results.append)
    pool.start(worker)
    wait_until(lambda: results == [42])
    assert seen["thread"] != threading.get_ident()
    if sys.platform.startswith("linux"):
        assert seen["nice"] >= 10, "workers must not compete with the UI thread and renderer"
    assert pool.wait(5000)


def test_a_finished_task_lets_go_of_what_it_captured(qapp):
    """PySide keeps every runnable a QThreadPool ran; the task (and a 9 MB labels copy it
    captured, for the mask statistics) must not stay with it."""
    import gc
    import weakref

    from corebt_viewer.gui.task_runner import LatestOnly
    from corebt_viewer.gui.workers import WorkerPool

    class Captured:
        pass

    pool = WorkerPool()
    runner = LatestOnly(pool)
    refs, results = [], []
    for _ in range(3):
        captured = Captured()
        refs.append(weakref.ref(captured))
        pool.submit(lambda p, c, x=captured: 1, name="submit", done=results.append)
        runner.run(lambda p, c, x=captured: 2, name="latest", on_result=results.append)
        del captured
    wait_until(lambda: not pool.active, timeout=10)
    settle(0.1)
    gc.collect()
    assert sorted(results) == [1, 1, 1, 2]  # LatestOnly: only the newest run delivers
    assert [r() for r in refs] == [None, None, None]


def test_step_runner_runs_steps_in_separate_turns_and_cancels(qapp):
    from corebt_viewer.gui.workers import StepRunner

    runner = StepRunner()
    order: list[int] = []
    runner.run([lambda i=i: order.append(i) for i in range(3)])
    assert order == [] and runner.busy  # nothing runs before the event loop turns
    wait_until(lambda: not runner.busy)
    assert order == [0, 1, 2]
    runner.run([lambda: order.append(9), lambda: order.append(10)])
    runner.cancel()
    qapp.processEvents()
    assert order == [0, 1, 2] and not runner.busy


def test_step_runners_take_turns_one_step_per_turn(qapp):
    """The MRI and slide canvases each run steps: never two in one turn, in turn."""
    from qtpy.QtCore import QTimer

    from corebt_viewer.gui.scheduler import StepRunner, UiScheduler

    turns = [0]
    ticker = QTimer()  # a repeating zero timer fires once per round of timers: one turn
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: turns.__setitem__(0, turns[0] + 1))
    ticker.start()
    scheduler = UiScheduler()  # one per window: its runners share the turns
    mri, slide, idle = (StepRunner(scheduler=scheduler) for _ in range(3))
    ran: list[tuple[str, int]] = []
    mri.run([lambda i=i: ran.append((f"mri{i}", turns[0])) for i in range(3)])
    slide.run([lambda i=i: ran.append((f"slide{i}", turns[0])) for i in range(3)])
    idle.run([lambda: ran.append(("cancelled", turns[0]))])
    idle.cancel()
    wait_until(lambda: not mri.busy and not slide.busy)
    ticker.stop()
    assert [name for name, _ in ran] == ["mri0", "slide0", "mri1", "slide1", "mri2", "slide2"]
    assert len({turn for _, turn in ran}) == len(ran)


def test_stall_monitor_measures_a_blocked_ui_thread(qapp):
    from corebt_viewer.gui.workers import StallMonitor

    monitor = StallMonitor(interval_ms=10, long_ms=150)
    monitor.start()
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:
        qapp.processEvents()
    blocked_until = time.perf_counter() + 0.25
    time.sleep(0.25)  # the UI thread is blocked for 250 ms
    end = time.perf_counter() + 0.1
    while time.perf_counter() < end:
        qapp.processEvents()
    monitor.stop()
    assert 200 <= monitor.worst_ms < 2000
    # the long stall is placed in time (the bench names what it did just before)
    assert len(monitor.long_stalls) == 1
    ended, late_ms = monitor.long_stalls[0]
    assert late_ms == monitor.worst_ms and ended >= blocked_until


def test_a_worker_outliving_its_window_ends_quietly(qapp):
    """The app quit during a read: the worker's signals are gone when it finishes."""
    import shiboken6

    from corebt_viewer.gui.workers import Worker

    worker = Worker(lambda progress, cancelled: 1, name="late read")
    shiboken6.delete(worker.signals)
    worker.run()  # in this thread: any error would raise here
    assert not worker.running


def paced_window(order: list[str], frame_ms: float = 0.0):
    """A shown window whose paced repaints append ``"frame"`` to `order` (each taking
    `frame_ms`, as a software-rendered frame does); (window, pacer)."""
    from qtpy.QtCore import QEvent
    from qtpy.QtWidgets import QLabel

    from corebt_viewer.gui.scheduler import FramePacer, UiScheduler

    class Window(QLabel):
        def event(self, event):  # only repaint requests: expose paints come unpaced
            if event.type() == QEvent.Type.UpdateRequest:
                order.append("frame")
                time.sleep(frame_ms / 1000)
            return super().event(event)

    window = Window("ready")
    pacer = FramePacer(window, UiScheduler())
    window.resize(300, 100)
    window.show()
    settle(0.5)
    return window, pacer


def test_frame_pacer_holds_a_frame_for_one_turn(qapp):
    """A handler's frame comes one turn later: what waited runs first; one frame for all."""
    from qtpy.QtCore import QCoreApplication, QEvent, QTimer

    order: list[str] = []
    window, pacer = paced_window(order)
    waiting = QTimer()  # say, the stall monitor's heartbeat (a real timer, not a posted call)
    waiting.setSingleShot(True)
    waiting.setInterval(0)
    waiting.timeout.connect(lambda: order.append("timer"))

    def handler():
        order.clear()
        for text in ("one", "two", "three"):  # three repaint requests
            window.setText(text)
        waiting.start()

    QTimer.singleShot(0, handler)
    wait_until(lambda: "frame" in order and "timer" in order)
    assert order == ["timer", "frame"]

    order.clear()
    window.setText("four")
    QCoreApplication.sendEvent(window, QEvent(QEvent.Type.UpdateRequest))  # Qt would paint now
    assert order == []  # held
    wait_until(lambda: order == ["frame"])
    window.removeEventFilter(pacer)
    window.close()


def test_work_before_a_frame_runs_in_the_turn_that_asked_for_it(qapp):
    """The scheduler's ``before_frame`` work (preparing changed meshes) runs when the
    pacer holds the frame, not in the frame's own turn."""
    from qtpy.QtCore import QTimer

    order: list[str] = []
    window, pacer = paced_window(order)
    pacer.scheduler.before_frame.append(lambda: order.append("prepare"))
    waiting = QTimer()
    waiting.setSingleShot(True)
    waiting.setInterval(0)
    waiting.timeout.connect(lambda: order.append("timer"))

    def handler():
        order.clear()
        window.setText("one")
        window.setText("two")
        waiting.start()

    QTimer.singleShot(0, handler)
    wait_until(lambda: "frame" in order and "timer" in order)
    # once, for the one frame, when the frame was held (Qt may run the due timer first)
    assert order.count("prepare") == 1 and order.index("prepare") < order.index("frame")
    window.removeEventFilter(pacer)
    window.close()


def test_a_step_waits_for_the_frame_the_pacer_holds(qapp):
    """A step run just before a held frame froze the window for both: it runs after."""
    from qtpy.QtCore import QCoreApplication, QEvent, QTimer

    from corebt_viewer.gui.scheduler import StepRunner

    order: list[str] = []
    window, pacer = paced_window(order)
    runner = StepRunner(scheduler=pacer.scheduler)
    scheduler = pacer.scheduler

    def handler():
        order.clear()
        window.setText("changed")
        QCoreApplication.sendEvent(window, QEvent(QEvent.Type.UpdateRequest))  # Qt paints now
        assert scheduler.frame_waiting()  # held for a turn
        runner.run([lambda: order.append("step")])

    QTimer.singleShot(0, handler)
    wait_until(lambda: "frame" in order and "step" in order)
    assert order[:2] == ["frame", "step"]
    assert not scheduler.frame_waiting()

    # flush() (tests, screenshots) does not wait
    window.setText("again")
    runner.run([lambda: order.append("flushed")])
    order.clear()
    runner.flush()
    assert order == ["flushed"]
    # a window closed with a frame held: no frame is coming, nothing waits for it
    QCoreApplication.sendEvent(window, QEvent(QEvent.Type.UpdateRequest))
    assert scheduler.frame_waiting()
    window.close()
    assert not scheduler.frame_waiting()
    window.removeEventFilter(pacer)


def test_after_a_frame_what_was_due_runs_before_the_next_step(qapp):
    """A step run right after a 40 ms frame froze the window for both: the timers and
    input due meanwhile run between the frame and the step."""
    from qtpy.QtCore import QTimer

    from corebt_viewer.gui.scheduler import StepRunner

    order: list[str] = []
    window, pacer = paced_window(order, frame_ms=30)
    runner = StepRunner(scheduler=pacer.scheduler)
    beat = QTimer()  # the stall monitor's heartbeat, say
    beat.setInterval(5)
    beat.timeout.connect(lambda: order.append("beat"))

    def change():
        window.setText(f"step {order.count('step')}")
        order.append("step")

    order.clear()
    beat.start()
    runner.run([change, change, change])
    wait_until(lambda: order.count("step") == 3 and order[-1] != "step", timeout=5)
    beat.stop()
    steps = [i for i, what in enumerate(order) if what == "step"]
    for first, second in zip(steps, steps[1:], strict=False):
        between = order[first + 1 : second]
        assert "frame" in between, order  # each step's frame before the next step
        after_frame = between[between.index("frame") + 1 :]
        assert "beat" in after_frame, order
    window.removeEventFilter(pacer)
    window.close()


def test_pool_submit_keeps_only_the_latest_result_of_a_key(qapp):
    """The one task runner: a later task of the same key cancels the earlier, whose
    callbacks never run; other keys are left alone."""
    import threading

    from corebt_viewer.gui.workers import WorkerPool

    pool = WorkerPool()
    release = threading.Event()
    got: list = []

    def slow(progress, cancelled):
        release.wait(5)
        return "old"

    first = pool.submit(
        slow, name="old", key="case", done=got.append, cancelled=lambda: got.append("x")
    )
    pool.submit(lambda p, c: "new", name="new", key="case", done=got.append)
    pool.submit(lambda p, c: "other", key="report", done=got.append)
    wait_until(lambda: "new" in got and "other" in got)
    assert first.is_cancelled()
    release.set()
    assert pool.wait(5000)
    settle(0.1)
    assert sorted(got) == ["new", "other"]  # neither "old" nor its cancellation
