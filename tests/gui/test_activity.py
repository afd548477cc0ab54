"""The status-bar activity indicator: short work unseen, redraws rate-limited, no animation."""

from __future__ import annotations

import time

import pytest
from qtpy.QtWidgets import QApplication, QStatusBar

from corebt_viewer.core.progress import Progress
from corebt_viewer.gui.activity import IDLE_TEXT, ActivityIndicator
from tests.gui.conftest import PaintCounter


@pytest.fixture
def indicator(qtbot):
    bar = QStatusBar()
    qtbot.addWidget(bar)
    activity = ActivityIndicator(bar, delay_ms=300, interval_ms=100)
    bar.addWidget(activity.label, 1)
    bar.addPermanentWidget(activity.bar)
    bar.addPermanentWidget(activity.cancel)
    bar.resize(600, 30)
    bar.show()
    qtbot.waitExposed(bar)
    yield activity  # (a generator fixture keeps `bar` alive)


def texts_during(seconds: float, activity) -> set[str]:
    seen = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        seen.add(activity.label.text())
        time.sleep(0.005)
    return seen


def test_short_work_is_never_shown(indicator):
    indicator.set_busy("reading the report")
    texts_during(0.05, indicator)
    indicator.set_busy("")
    assert texts_during(0.6, indicator) == {IDLE_TEXT}
    assert not indicator.cancel.isEnabled()


def test_long_work_is_shown_with_cancel_then_ready(indicator):
    indicator.set_busy("embedding P1")
    assert texts_during(0.15, indicator) == {IDLE_TEXT}
    assert "embedding P1" in texts_during(0.4, indicator)
    assert indicator.cancel.isEnabled()
    indicator.set_progress(Progress(done=3, total=10, message="tile 3 of 10"))
    texts_during(0.2, indicator)
    assert indicator.label.text() == "tile 3 of 10"
    assert (
        indicator.bar.isVisible() and indicator.bar.value() == 3 and indicator.bar.maximum() == 10
    )
    indicator.set_busy("")
    texts_during(0.2, indicator)
    assert indicator.label.text() == IDLE_TEXT
    assert not indicator.bar.isVisible() and not indicator.cancel.isEnabled()


def test_unknown_total_shows_no_busy_animation(indicator):
    indicator.set_busy("loading the model")
    indicator.set_progress(Progress(done=0, total=0, message="checking the device"))
    texts_during(0.45, indicator)
    assert indicator.label.text() == "checking the device"
    # an indeterminate QProgressBar animates: a repaint of the window every few frames
    assert not indicator.bar.isVisible()


def test_progress_storm_redraws_a_few_times(indicator):
    counter = PaintCounter(indicator.label, indicator.bar)
    indicator.set_busy("tiling")
    texts_during(0.35, indicator)
    counter.count = 0
    started = time.monotonic()
    for i in range(200):
        indicator.set_progress(Progress(done=i, total=200, message=f"tile {i}"))
        texts_during(0.002, indicator)
    texts_during(0.15, indicator)
    redraws = (time.monotonic() - started) / 0.1 + 2  # at most one per 100 ms
    # a redraw paints the label and the bar, a few times each; unthrottled, 200
    # events made over 400 paints
    assert counter.count <= 4 * redraws
    assert indicator.label.text() == "tile 199"
