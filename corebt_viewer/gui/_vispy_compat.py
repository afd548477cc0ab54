"""The changes the viewer makes to vispy's internals, behind one door.

vispy's ``MeshVisual`` (under napari's Shapes, Surface and Labels contours) builds a new
colour-transform shader ``Function`` every time its data changes, even when it is the same
one-line pass-through. A new function is new shader code, so vispy recompiles and relinks
the mesh's programs at the next draw. With a software renderer (Mesa llvmpipe: remote
desktops, virtual machines, CI) that costs tens of milliseconds per change: drawing,
moving or recolouring one of 500 slide regions stalled the window 100-150 ms, and 70-85 ms
without the rebuild (``benchmarks/bench_slide_regions.py``).

:func:`keep_mesh_shaders` keeps one pass-through function per mesh. The colormapped path
(per-vertex values through a colormap, whose function carries the limits) is left as vispy
builds it. ``tests/gui/test_vispy_compat.py`` checks that the function is kept, that colours
still change on screen, and that the vispy version is one this was checked against.

:func:`prepare_changed_meshes` does a changed mesh's data preparation (vispy expands the
vertices and colours per face, about 10 ms for 500 regions) when it is called, not in the
next frame: the window's frame pacer calls it in the turn of the handler that changed the
data, so that the frame, held one turn, only draws (:func:`track_changed_meshes`).
"""

from __future__ import annotations

import logging
import weakref
from functools import cache

log = logging.getLogger("corebt_viewer.gui")

#: vispy (major, minor) versions whose ``MeshVisual._build_color_transform`` was read
TESTED = ((0, 17),)
_KEPT = "_corebt_pass_through"
#: meshes whose data changed since they were last prepared (see track_changed_meshes)
_CHANGED: weakref.WeakSet = weakref.WeakSet()


@cache
def vispy_version() -> tuple[int, int]:
    import vispy

    major, minor = vispy.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


@cache
def keep_mesh_shaders() -> bool:
    """Stop vispy's meshes recompiling their shaders on every data change (idempotent).

    ``COREBT_KEEP_MESH_SHADERS=0`` leaves vispy as it is (to compare, or to rule it out).

    Returns
    -------
    bool
        Whether the change is in place; False when turned off, or (after one logged
        warning) when vispy's ``MeshVisual`` no longer has the method, and vispy's ordinary
        path runs.
    """
    import os

    from vispy.visuals.mesh import MeshVisual

    if os.environ.get("COREBT_KEEP_MESH_SHADERS", "1") == "0":
        return False

    original = getattr(MeshVisual, "_build_color_transform", None)
    if original is None:
        log.warning(
            "vispy %s has no MeshVisual._build_color_transform: meshes recompile their "
            "shaders on every change (slower with software OpenGL)",
            ".".join(map(str, vispy_version())),
        )
        return False
    if vispy_version() not in TESTED:
        log.warning("keeping mesh shaders relies on vispy internals not checked with this vispy")

    def build_color_transform(self, colors):
        if colors.ndim == 2 and colors.shape[1] == 1:  # values through a colormap
            return original(self, colors)
        kept = self.__dict__.get(_KEPT)
        if kept is None:
            kept = self.__dict__[_KEPT] = original(self, colors)
        return kept

    build_color_transform.vispy_original = original
    MeshVisual._build_color_transform = build_color_transform
    return True


@cache
def track_changed_meshes() -> bool:
    """Note each mesh whose data is set, for :func:`prepare_changed_meshes` (idempotent).

    ``COREBT_PREPARE_MESHES_EARLY=0`` leaves vispy as it is: meshes are prepared in the
    frame that draws them.

    Returns
    -------
    bool
        Whether meshes are tracked; False when turned off, or (after one logged warning)
        when vispy's ``MeshVisual`` no longer prepares its data in ``_update_data``.
    """
    import os

    from vispy.visuals.mesh import MeshVisual

    if os.environ.get("COREBT_PREPARE_MESHES_EARLY", "1") == "0":
        return False
    if not hasattr(MeshVisual, "_update_data") or not hasattr(MeshVisual, "set_data"):
        log.warning(
            "vispy %s's MeshVisual has no _update_data: meshes are prepared in the frame",
            ".".join(map(str, vispy_version())),
        )
        return False
    original = MeshVisual.set_data

    def set_data(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        _CHANGED.add(self)
        return result

    set_data.vispy_original = original
    MeshVisual.set_data = set_data
    return True


def prepare_changed_meshes() -> int:
    """Prepare now the data of every mesh set since its last preparation.

    vispy prepares a mesh's data (the per-face vertices and colours its shaders read) at
    the start of the next frame that draws it; done here, that frame only uploads and
    draws. A mesh that cannot be prepared (no vertices) is left for the frame, as vispy
    leaves it.

    Returns
    -------
    int
        How many meshes were prepared.
    """
    prepared = 0
    while _CHANGED:
        mesh = _CHANGED.pop()
        if getattr(mesh, "_data_changed", False) and mesh._update_data() is not False:
            mesh._data_changed = False
            prepared += 1
    return prepared
