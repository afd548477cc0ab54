"""The geometry the regions layer needs between napari's shapes and the regions.

napari's ellipse as the polygon a region stores, whether an edited region kept its rings
(so its shapes can be reshaped in place), and the one shift that moves a region's rings
onto the ones dragged on the layer (a move, as opposed to a reshape).
"""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.annotations import Region

#: Points of the polygon an ellipse is turned into.
ELLIPSE_POINTS = 64


def ellipse_polygon(corners: np.ndarray, n: int = ELLIPSE_POINTS) -> np.ndarray:
    """The (n, 2) outline of the ellipse inscribed in napari's four bounding-box corners."""
    corners = np.asarray(corners, dtype=np.float64)
    centre = corners.mean(axis=0)
    half_a = (corners[1] - corners[0]) / 2
    half_b = (corners[3] - corners[0]) / 2
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return centre + np.cos(t) * half_a + np.sin(t) * half_b


def same_rings(old: Region, new: Region) -> bool:
    """Whether `new` has as many polygons as `old`, each with as many rings."""
    return len(old.polygons) == len(new.polygons) and all(
        len(a) == len(b) for a, b in zip(old.polygons, new.polygons, strict=True)
    )


def common_shift(old: list[np.ndarray], new: list[np.ndarray]) -> np.ndarray | None:
    """The one (dx, dy) that moves every `old` ring onto its `new` one, else ``None``."""
    if not old:
        return np.zeros(2)
    shifts = []
    for a, b in zip(old, new, strict=True):
        if a.shape != b.shape:
            return None
        delta = b - a
        if not np.allclose(delta, delta[0], atol=1e-6):
            return None
        shifts.append(delta[0])
    first = shifts[0]
    if not all(np.allclose(s, first, atol=1e-6) for s in shifts):
        return None
    return first
