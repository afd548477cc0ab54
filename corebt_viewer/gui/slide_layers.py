"""Slides and their tile maps -> napari layer data and keyword arguments (in microns).

The slide is a lazy multiscale pyramid; tile maps (the tile grid, the heat map) are one
cell per tile, placed on the slide by scale and translation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRANSPARENT = (0.0, 0.0, 0.0, 0.0)


def slide_layer(reader, cache=None) -> tuple[list, dict]:
    """Multiscale RGB layer of a slide: its lazy pyramid, scaled in microns.

    Slides without a pixel size are shown in level-0 pixels (``metadata["unit"]``).
    """
    levels = reader.pyramid(cache)
    mpp = reader.mpp
    unit = "um" if mpp else "px"
    step = float(mpp) if mpp else 1.0
    kwargs = {
        "name": reader.path.name if getattr(reader, "path", None) is not None else "slide",
        "rgb": True,
        "multiscale": True,
        "contrast_limits": (0, 255),
        "scale": (step, step),
        "units": (unit, unit),
        "metadata": {"unit": unit, "mpp": mpp},
    }
    return levels, kwargs


def blank_pyramid() -> list[np.ndarray]:
    """A tiny white two-level pyramid: what a hidden slide layer holds between slides."""
    return [np.full((4, 4, 3), 255, np.uint8), np.full((2, 2, 3), 255, np.uint8)]


@dataclass(frozen=True)
class TileMap:
    """Per-tile values of one slide laid out on the tile grid.

    Attributes
    ----------
    values : ndarray (rows, cols) float32
        NaN where there is no tile.
    tile_size : int
        Tile side in level-0 pixels.
    origin : (x, y)
        Level-0 position of grid cell (0, 0).
    """

    values: np.ndarray
    tile_size: int
    origin: tuple[int, int]


def infer_tile_size(coords: np.ndarray, default: int = 256) -> int:
    """Tile side from the spacing of tile coordinates (level-0 px)."""
    coords = np.asarray(coords)
    steps = []
    for axis in range(2):
        diffs = np.diff(np.unique(coords[:, axis])) if len(coords) else np.array([])
        diffs = diffs[diffs > 0]
        if diffs.size:
            steps.append(int(diffs.min()))
    return min(steps) if steps else default


def tile_map(coords: np.ndarray, values: np.ndarray, tile_size: int | None = None) -> TileMap:
    """Scatter per-tile `values` at level-0 `coords` (x, y) onto a tile grid."""
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    size = tile_size or infer_tile_size(coords)
    if len(coords) == 0:
        return TileMap(np.full((1, 1), np.nan, np.float32), size, (0, 0))
    origin = coords.min(axis=0)
    cells = (coords - origin) // size
    grid = np.full((int(cells[:, 1].max()) + 1, int(cells[:, 0].max()) + 1), np.nan, np.float32)
    grid[cells[:, 1], cells[:, 0]] = values
    return TileMap(grid, size, (int(origin[0]), int(origin[1])))


def _tile_map_placement(tmap: TileMap, mpp: float | None) -> dict:
    step = float(mpp) if mpp else 1.0
    cell = tmap.tile_size * step
    unit = "um" if mpp else "px"
    # napari puts a pixel's centre at its index: shift by half a cell to cover each tile
    return {
        "units": (unit, unit),
        "scale": (cell, cell),
        "translate": (tmap.origin[1] * step + cell / 2, tmap.origin[0] * step + cell / 2),
    }


def heatmap_layer(
    tmap: TileMap, mpp: float | None, *, name: str = "Tile contribution"
) -> tuple[np.ndarray, dict]:
    """RGBA heat map of per-tile contributions: red for the predicted class, blue against.

    Colour strength grows with ``|value|`` (scaled by the largest one); cells without a
    tile are fully transparent so the slide shows through.
    """
    values = tmap.values
    finite = np.isfinite(values)
    bound = float(np.abs(values[finite]).max()) if finite.any() else 1.0
    strength = np.zeros(values.shape, np.float32)
    strength[finite] = np.abs(values[finite]) / (bound or 1.0)
    rgba = np.zeros((*values.shape, 4), np.uint8)
    positive = finite & (values >= 0)
    negative = finite & (values < 0)
    rgba[positive] = (220, 30, 30, 0)
    rgba[negative] = (30, 90, 230, 0)
    rgba[..., 3] = np.where(finite, 40 + 190 * strength, 0).astype(np.uint8)
    kwargs = {
        "name": name,
        "rgb": True,
        "interpolation2d": "nearest",
        "blending": "translucent",
        "metadata": {"bound": bound},
        **_tile_map_placement(tmap, mpp),
    }
    return rgba, kwargs


def tile_grid_layer(
    tmap: TileMap, mpp: float | None, *, name: str = "Tissue tiles"
) -> tuple[np.ndarray, dict]:
    """Labels layer outlining the tissue tiles the model read."""
    data = np.isfinite(tmap.values).astype(np.uint8)
    kwargs = {
        "name": name,
        "colormap": {0: TRANSPARENT, 1: (0.0, 0.9, 1.0, 1.0), None: TRANSPARENT},
        "opacity": 0.35,
        **_tile_map_placement(tmap, mpp),
    }
    return data, kwargs
