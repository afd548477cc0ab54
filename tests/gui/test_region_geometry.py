"""The geometry between napari's shapes and the regions: ellipses, moves, kept rings."""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.annotations import Region
from corebt_viewer.gui.region_geometry import common_shift, ellipse_polygon, same_rings


def test_an_ellipse_fills_napari_bounding_box_corners():
    corners = np.array([[0, 0], [0, 200], [100, 200], [100, 0]], float)  # (row, col)
    outline = ellipse_polygon(corners, n=360)
    assert outline.shape == (360, 2)
    assert np.allclose(outline.min(axis=0), [0, 0], atol=0.1)
    assert np.allclose(outline.max(axis=0), [100, 200], atol=0.1)
    x, y = outline[:, 0] - 50, outline[:, 1] - 100
    assert np.allclose((x / 50) ** 2 + (y / 100) ** 2, 1.0)


def test_a_common_shift_is_a_move_and_anything_else_is_not():
    ring = np.array([[0, 0], [10, 0], [10, 10]], float)
    hole = np.array([[2, 2], [4, 2], [4, 4]], float)
    assert np.allclose(common_shift([ring, hole], [ring + [3, -1], hole + [3, -1]]), [3, -1])
    assert common_shift([ring, hole], [ring + [3, -1], hole]) is None  # the parts apart
    bent = ring.copy()
    bent[1] += 5
    assert common_shift([ring], [bent]) is None  # a reshape
    assert common_shift([ring], [ring[:2]]) is None  # a corner fewer
    assert np.allclose(common_shift([], []), [0, 0])


def test_same_rings_counts_polygons_and_their_rings():
    square = Region.rectangle(0, 0, 10, 10)
    moved = square.translated(5, 5)
    assert same_rings(square, moved)
    outer = [[0, 0], [100, 0], [100, 100], [0, 100]]
    holed = Region.polygon([outer, [[10, 10], [20, 10], [20, 20]]])
    assert not same_rings(square, holed)
