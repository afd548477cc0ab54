"""The one change the viewer makes to vispy's internals, behind one door.

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
"""

from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger("corebt_viewer.gui")

#: vispy (major, minor) versions whose ``MeshVisual._build_color_transform`` was read
TESTED = ((0, 17),)
_KEPT = "_corebt_pass_through"


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
