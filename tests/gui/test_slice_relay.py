"""napari's asynchronous slices reach the UI thread without a Qt connection on the slicer.

napari 0.9 hands each finished slice to the UI thread with superqt's
``ensure_main_thread``, which connects and disconnects a Qt signal on the slicer thread;
PySide's disconnect there deadlocked the window against the UI thread (3 of 5 suite runs,
and a stress script within 30 s). ``_napari_compat.relay_slice_ready`` replaces it.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from corebt_viewer.gui import _napari_compat as compat


@pytest.fixture
def async_slicing():
    import napari.settings as napari_settings

    settings = napari_settings.get_settings()
    before = settings.experimental.async_
    with compat.settings_not_saved(settings):
        settings.experimental.async_ = True
    yield
    with compat.settings_not_saved(settings):
        settings.experimental.async_ = before


@pytest.fixture
def cross_thread_calls(monkeypatch):
    """Threads that asked superqt to run something on the UI thread."""
    from superqt.utils import _ensure_thread

    calls = []
    original = _ensure_thread._run_in_thread

    def spy(*args, **kwargs):
        calls.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(_ensure_thread, "_run_in_thread", spy)
    return calls


def _slice_of(layer) -> np.ndarray:
    return np.asarray(layer._slice.image.raw)  # noqa: SLF001 - what the canvas draws


def test_async_slices_arrive_through_the_relay(qtbot, async_slicing, cross_thread_calls):
    from corebt_viewer.gui.widgets import new_napari_canvas

    viewer, qt_viewer = new_napari_canvas("relay")
    qtbot.addWidget(qt_viewer)
    qt_viewer.show()
    qtbot.waitExposed(qt_viewer)
    relay = compat.slice_relay(qt_viewer)
    assert relay is not None
    emitter = viewer._layer_slicer.events.ready  # noqa: SLF001
    names = [ref[1] for ref in emitter.callbacks if isinstance(ref, tuple)]
    assert "_on_slice_ready" not in names and "forward" in names

    data = np.arange(12 * 16 * 16, dtype=np.uint16).reshape(12, 16, 16)
    layer = viewer.add_image(data)
    for step in (3, 7, 11):
        viewer.dims.set_current_step(0, step)
        qtbot.waitUntil(lambda s=step: np.array_equal(_slice_of(layer), data[s]), timeout=5000)
    compat.wait_for_slicing(viewer)
    assert layer.loaded
    # the slicer thread never asked superqt to cross threads (that made the deadlock)
    main = threading.main_thread()
    assert [t.name for t in cross_thread_calls if t is not main] == []


def test_the_relay_is_installed_once(qtbot):
    from corebt_viewer.gui.widgets import new_napari_canvas

    viewer, qt_viewer = new_napari_canvas("once")
    qtbot.addWidget(qt_viewer)
    relay = compat.slice_relay(qt_viewer)
    compat.relay_slice_ready(qt_viewer)
    assert compat.slice_relay(qt_viewer) is relay
    emitter = viewer._layer_slicer.events.ready  # noqa: SLF001
    assert sum(isinstance(r, tuple) and r[1] == "forward" for r in emitter.callbacks) == 1
