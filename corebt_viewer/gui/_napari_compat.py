"""Every use of napari's private API in the package, behind one door.

napari gives no public way for a few things the viewer needs (a hook on the labels brush,
the undo depth, pausing a canvas's scene-graph rebuilds...). Each of them is a function
here that checks the napari version and the private name it relies on; when napari
changes either, :class:`NapariCompatError` says which feature broke and why, and
``tests/gui/test_napari_compat.py`` fails on the new napari before any user meets it.

Optional speed-ups (the scene-graph pause, the kept colour lookup) log one warning and run
napari's ordinary path when their private name is gone; features (the intensity-limited
brush, forgetting the undo history) raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

log = logging.getLogger("corebt_viewer.gui")

#: napari (major, minor) versions these private uses were checked against, in its source
TESTED = ((0, 9),)


class NapariCompatError(RuntimeError):
    """A private napari API the viewer relies on is gone or changed."""


@cache
def napari_version() -> tuple[int, int]:
    import napari

    major, minor = napari.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def is_tested_version() -> bool:
    return napari_version() in TESTED


def _private(obj, name: str, feature: str):
    """``getattr(obj, name)`` for a private napari name, or a clear error.

    On a napari version outside :data:`TESTED` that still has the name, it is used after
    one logged warning.
    """
    if not is_tested_version():
        _untested(feature)
    try:
        return getattr(obj, name)
    except AttributeError:
        version = ".".join(map(str, napari_version()))
        raise NapariCompatError(
            f"{feature} needs napari's private {type(obj).__name__}.{name}, which napari "
            f"{version} does not have (checked with napari {TESTED[-1][0]}.{TESTED[-1][1]})"
        ) from None


@cache
def _untested(feature: str) -> None:
    version = ".".join(map(str, napari_version()))
    log.warning("%s relies on napari internals not checked with napari %s", feature, version)


@cache
def _warn_once(feature: str, problem: str) -> None:
    log.warning("%s: %s; napari's ordinary (slower) path is used", feature, problem)


def _optional(obj, name: str, feature: str):
    """A private name for a speed-up: None (after one logged warning) when it is gone."""
    try:
        return _private(obj, name, feature)
    except NapariCompatError as exc:
        _warn_once(feature, str(exc))
        return None


# ----------------------------------------------------------------------- shapes layer
def stop_shapes_thumbnail(layer) -> bool:
    """Stop `layer` (a napari Shapes layer) drawing its layer-list thumbnail.

    napari rasterises up to 100 of the layer's shapes into the thumbnail after every add,
    edit and colour change (5-10 ms with hundreds of regions); the app never shows
    napari's layer list, so nobody sees it. This is what napari's own
    ``block_thumbnail_update`` does for the length of a ``with`` block, kept on.

    Returns
    -------
    bool
        Whether the thumbnail was stopped (an optional speed-up: False when napari changed).
    """
    if _optional(layer, "_allow_thumbnail_update", "Regions without a thumbnail") is None:
        return False
    layer._allow_thumbnail_update = False
    return True


def reshape_shapes(layer, changes: dict) -> None:
    """Give shapes of `layer` new vertices in place: ``{index: (n, 2) array}``.

    What napari's own vertex drag does (``ShapeList.edit``, then a refresh): the shapes keep
    their place, type and colours, and only their meshes are rebuilt. napari's public way,
    a remove and an add, re-triangulates and re-slices the whole layer and recomputes the
    viewer's dims twice: about 25 ms with 500 regions, against 2-3.
    """
    shapes = _private(layer, "_data_view", "Regions edited in place")
    edit = _private(shapes, "edit", "Regions edited in place")
    for index, vertices in changes.items():
        edit(index, vertices)
    layer.refresh()


# ----------------------------------------------------------------------- labels layer
PAINT_HOOK = "_paint_region_with_mask"


def hook_labels_paint(layer, wrapper: Callable) -> None:
    """Route one labels layer's brush, fill and polygon through ``wrapper(original, ...)``.

    napari 0.9 paints every stroke through ``Labels._paint_region_with_mask(slice_key,
    mask, new_label, dims_to_paint, refresh, region_data)`` and records it as one undo
    step; `wrapper` receives the bound original first and may narrow the mask. Only this
    layer instance changes; :func:`unhook_labels_paint` undoes it.
    """
    original = _private(type(layer), PAINT_HOOK, "Paint limited to an intensity range")
    bound = original.__get__(layer)

    def hooked(*args, **kwargs):
        return wrapper(bound, *args, **kwargs)

    setattr(layer, PAINT_HOOK, hooked)


def unhook_labels_paint(layer) -> None:
    layer.__dict__.pop(PAINT_HOOK, None)


def labels_paint_hooked(layer) -> bool:
    return PAINT_HOOK in layer.__dict__


def reset_labels_history(layer) -> None:
    """Forget a labels layer's undo and redo steps (its labels changed outside them)."""
    _private(layer, "_reset_history", "Clearing the mask's undo history")()


def labels_history_depth(layer) -> tuple[int, int]:
    """(undo steps, redo steps) a labels layer holds."""
    feature = "Counting unsaved mask edits"
    return len(_private(layer, "_undo_history", feature)), len(
        _private(layer, "_redo_history", feature)
    )


@contextmanager
def colormap_kept(layer) -> Iterator[list]:
    """While new data of the same dtype is set, keep the canvas's colour lookup.

    Yields the callbacks it blocked (none when no canvas shows the layer).

    napari's vispy labels layer connects ``_on_colormap_change`` (by name, as a weak
    method reference) to ``layer.events.data`` and relinks its shader each time: 15-30 ms
    with a software renderer. Those callbacks are blocked for the duration.
    """
    emitter = layer.events.data
    callbacks = _optional(emitter, "callbacks", "Keeping the mask's colour lookup")
    rebuilds = []
    for ref in callbacks or ():
        if isinstance(ref, tuple) and len(ref) == 2 and ref[1] == "_on_colormap_change":
            callback = getattr(ref[0](), ref[1], None)
            if callback is not None:
                rebuilds.append(callback)
    for callback in rebuilds:
        emitter.block(callback)
    try:
        yield rebuilds
    finally:
        for callback in rebuilds:
            emitter.unblock(callback)


# ----------------------------------------------------------------------- canvas and viewer
@contextmanager
def scene_graph_paused(qt_viewer, changed: Callable[[], bool]) -> Iterator[None]:
    """Hold a canvas's scene-graph rebuilds; rebuild once at the end when `changed()`.

    napari 0.9's ``VispyCanvas`` rebuilds on each visibility or grid change unless its
    ``_pause_scene_graph`` is set; ``_update_scenegraph()`` rebuilds.
    """
    feature = "One scene-graph update for several layers"
    canvas = getattr(qt_viewer, "canvas", None)
    paused = _optional(canvas, "_pause_scene_graph", feature) if canvas is not None else None
    if paused is None or paused:  # not available, or an outer block holds it
        yield
        return
    update = _optional(canvas, "_update_scenegraph", feature)
    if update is None:
        yield
        return
    canvas._pause_scene_graph = True  # noqa: SLF001 - napari has no public switch
    try:
        yield
    finally:
        canvas._pause_scene_graph = False  # noqa: SLF001
        if changed():
            update()


def scene_canvas(qt_viewer):
    """The vispy ``SceneCanvas`` of a QtViewer (its ``events.draw`` fires on each draw)."""
    canvas = _private(qt_viewer, "canvas", "Waiting for a canvas draw")
    return _private(canvas, "_scene_canvas", "Waiting for a canvas draw")


def overlay_lines(qt_viewer, colour: str, ndim: int = 2):
    """A vispy line node drawn over every layer of a canvas, in scene coordinates.

    For lines that move often (a crosshair): a napari Shapes layer would re-slice and
    recompute the viewer's dims at each move. Set the segments with
    ``node.set_data(pos=...)`` (pairs of points, vispy's (x, y[, z]) order).
    """
    import numpy as np
    from vispy.scene.visuals import Line

    canvas = _private(qt_viewer, "canvas", "Crosshair lines")
    view = _private(canvas, "view", "Crosshair lines")
    node = Line(
        pos=np.zeros((2, ndim), np.float32),
        color=colour,
        connect="segments",
        width=1,
        method="gl",
        parent=view.scene,
    )
    node.order = 1_000_000  # above every layer
    node.set_gl_state("translucent", depth_test=False)
    return node


SLICE_RELAY = "_corebt_slice_relay"


def relay_slice_ready(qt_viewer) -> None:
    """Hand napari's asynchronous slices to the UI thread through one lasting Qt signal.

    napari 0.9 delivers each finished slice from its slicer thread to
    ``QtViewer._on_slice_ready``, wrapped in superqt's ``ensure_main_thread``. That
    wrapper connects a fresh Qt signal on the slicer thread, and PySide disconnects it
    there when its future dies: inside ``QObject::disconnect`` it waits for the GIL while
    holding one of Qt's signal-slot mutexes. The UI thread, holding the GIL, takes the
    same pooled mutex whenever a signal it emits cleans up old connections (a slider's
    ``setValue``), and the window freezes for good. Here the slicer thread only emits a
    signal connected once on the UI thread, which runs napari's unwrapped handler there.
    """
    feature = "Delivering asynchronous slices on the UI thread"
    if getattr(qt_viewer, SLICE_RELAY, None) is not None:
        return
    slicer = _private(qt_viewer.viewer, "_layer_slicer", feature)
    wrapped = _private(type(qt_viewer), "_on_slice_ready", feature)
    handler = getattr(wrapped, "__wrapped__", None)
    if handler is None:
        raise NapariCompatError(
            f"{feature}: QtViewer._on_slice_ready is no longer wrapped by ensure_main_thread"
        )
    emitter = slicer.events.ready
    before = len(emitter.callbacks)
    emitter.disconnect(qt_viewer._on_slice_ready)  # noqa: SLF001 - checked above
    if len(emitter.callbacks) != before - 1:
        raise NapariCompatError(f"{feature}: napari's slice handler was not connected")
    relay = _slice_relay_class()(qt_viewer, handler)
    setattr(qt_viewer, SLICE_RELAY, relay)  # napari keeps only a weak reference
    emitter.connect(relay.forward)


def slice_relay(qt_viewer):
    """The relay :func:`relay_slice_ready` installed on a QtViewer, or None."""
    return getattr(qt_viewer, SLICE_RELAY, None)


@cache
def _slice_relay_class():
    from qtpy.QtCore import QObject, Signal

    class SliceRelay(QObject):
        """Lives on the UI thread; `forward` may be called from any thread."""

        ready = Signal(object)

        def __init__(self, qt_viewer, handler: Callable):
            super().__init__(qt_viewer)  # deleted with the viewer, pending slices too
            self._handler = handler
            self.ready.connect(self._deliver)

        def forward(self, event) -> None:
            self.ready.emit(event)

        def _deliver(self, event) -> None:
            self._handler(self.parent(), event)

    return SliceRelay


def wait_for_slicing(viewer, timeout: float = 5.0) -> None:
    """Let napari's asynchronous slicer finish the reads in flight (before files close)."""
    slicer = _private(viewer, "_layer_slicer", "Waiting for asynchronous slicing")
    slicer.wait_until_idle(timeout=timeout)


# ----------------------------------------------------------------------- settings, theme
def settings_loaded() -> bool:
    """Whether napari's settings were already loaded in this process (a plugin, a test)."""
    import napari.settings as napari_settings

    return _private(napari_settings, "_SETTINGS", "The app's private napari settings") is not None


@contextmanager
def settings_not_saved(settings) -> Iterator[None]:
    """Change napari settings in memory only (the user's settings file stays as it is)."""
    saving = _private(settings, "_save_on_change", "Not saving napari settings")
    settings._save_on_change = False  # noqa: SLF001
    try:
        yield
    finally:
        settings._save_on_change = saving  # noqa: SLF001


def theme_path(name: str) -> Path:
    """Folder of napari's built icons for theme `name` (for ``theme_<name>:`` Qt paths)."""
    from napari.resources import _icons

    return Path(_private(_icons, "_theme_path", "napari's theme icons")(name))
