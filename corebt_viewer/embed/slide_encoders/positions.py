"""Tile coordinates -> rows of the slide encoder's position table, checked.

Prov-GigaPath's slide encoder places a tile at grid cell ``(floor(x / 256),
floor(y / 256))`` of a 1000 x 1000 grid, from the level-0 coordinates of 256-px tiles at
0.5 um/px (20x); its row in the position table is ``cell_x * 1000 + cell_y + 1``. For a
slide scanned at another resolution, ``tile_size_level0`` is the level-0 side of one such
tile (512 for a 40x scan), and the coordinates are divided by it instead.

The official code gives no warning when a tile falls outside the grid (a device-side
assert on a GPU, a wrong row elsewhere); here every such case is an :class:`InputError`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError

GRID_SIZE = 1000
TILE_SIZE = 256


def _stride(values: np.ndarray) -> int:
    """Greatest common divisor of the gaps between distinct values (0 for one value)."""
    distinct = np.unique(values)
    if distinct.size < 2:
        return 0
    return int(np.gcd.reduce(np.diff(distinct).astype(np.int64)))


def position_index(
    coords,
    *,
    tile_size_level0: float = TILE_SIZE,
    source: str | Path | None = None,
    grid_size: int = GRID_SIZE,
) -> np.ndarray:
    """Row of each tile in the position table, checked against the grid.

    Parameters
    ----------
    coords : array (N, 2)
        Level-0 ``x, y`` of each tile's top-left corner, integer-valued.
    tile_size_level0 : float
        Level-0 side of one 256-px tile at 0.5 um/px (256 at 20x, 512 at 40x).
    source : path, optional
        The file the coordinates come from (for the messages).
    grid_size : int

    Returns
    -------
    ndarray (N,), int64
        ``floor(x / t) * grid_size + floor(y / t) + 1``, in the order of `coords`.

    Raises
    ------
    InputError
        Coordinates of the wrong shape, negative or not finite; a grid index >= 1000; two
        tiles in the same grid cell; or tiles spaced a whole multiple (>= 2) of
        `tile_size_level0` apart, which is what coordinates of another magnification give.
    """
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.shape[0] == 0:
        raise InputError(source, f"tile coordinates must be N x 2 (x, y), got {coords.shape}")
    if not np.all(np.isfinite(coords)):
        raise InputError(source, "tile coordinates contain NaN or infinite values")
    if not (tile_size_level0 > 0 and math.isfinite(tile_size_level0)):
        raise InputError(source, f"tile_size_level0 must be positive, got {tile_size_level0}")
    if coords.min() < 0:
        raise InputError(source, f"negative tile coordinate {coords.min()}")
    cells = np.floor(coords / float(tile_size_level0)).astype(np.int64)
    largest = int(cells.max())
    if largest >= grid_size:
        axis = "xy"[int(np.argmax(cells.max(axis=0)))]
        raise InputError(
            source,
            f"a tile at level-0 {axis} = {int(coords.max())} falls in grid cell {largest}, "
            f"beyond Prov-GigaPath's {grid_size} x {grid_size} grid of {tile_size_level0:g}-px "
            f"tiles (at most {grid_size * tile_size_level0:g} level-0 px): the slide is too "
            "large for the slide encoder, or the coordinates are not level-0 pixels of "
            "256-px tiles at 0.5 um/px (set tile_size_level0 to their level-0 size)",
        )
    flat = cells[:, 0] * grid_size + cells[:, 1]
    duplicates = flat.size - np.unique(flat).size
    if duplicates:
        raise InputError(
            source,
            f"{duplicates} tile(s) share a grid cell of {tile_size_level0:g} level-0 px with "
            "another tile: overlapping tiles, or tile_size_level0 larger than the tiles "
            "(coordinates of another magnification?)",
        )
    integral = np.all(coords == np.round(coords))
    if integral:
        for axis, name in ((0, "x"), (1, "y")):
            stride = _stride(coords[:, axis].astype(np.int64))
            if stride >= 1.5 * tile_size_level0 and stride % tile_size_level0 == 0:
                raise InputError(
                    source,
                    f"tiles lie {stride} level-0 px apart in {name} but tile_size_level0 is "
                    f"{tile_size_level0:g}: coordinates of another magnification? For 256-px "
                    f"tiles at 20x read from a {stride / tile_size_level0 * 20:g}x scan, "
                    f"tile_size_level0 is {stride}",
                )
    return flat + 1


def tile_size_from_attrs(
    attrs: dict, *, source=None, override: float | None = None
) -> tuple[float, list[str]]:
    """Level-0 side of one 256-px tile at 20x, from a feature file's attributes.

    Parameters
    ----------
    attrs : dict
        Attributes of the file's ``coords`` (TRIDENT: ``patch_size``, ``patch_size_level0``,
        ``target_magnification``, ``level0_magnification``; CLAM: ``patch_size``,
        ``downsample``, or none).
    source : path, optional
    override : float, optional
        The user's value; it wins, and a note says so when the file disagrees.

    Returns
    -------
    tile_size_level0 : float
    notes : list of str
        Every assumption made, for the user to see.

    Raises
    ------
    InputError
        Tiles at another magnification or of another size than Prov-GigaPath's (256 px at
        20x), or attributes that contradict each other.
    """
    notes: list[str] = []
    target = attrs.get("target_magnification")
    level0 = attrs.get("level0_magnification")
    patch = attrs.get("patch_size")
    patch_level0 = attrs.get("patch_size_level0")
    if target is not None and float(target) != 20:
        raise InputError(
            source,
            f"tiles extracted at {float(target):g}x; Prov-GigaPath's slide encoder expects "
            "tile features of 256-px tiles at 20x (0.5 um/px)",
        )
    if target is not None and patch is not None and int(patch) != TILE_SIZE:
        raise InputError(
            source,
            f"{int(patch)}-px tiles at 20x; Prov-GigaPath's slide encoder expects 256-px tiles",
        )
    if patch_level0 is not None and None not in (patch, target, level0):
        expected = float(patch) * float(level0) / float(target)
        if abs(expected - float(patch_level0)) > 0.01 * expected:
            raise InputError(
                source,
                f"inconsistent magnification attributes: patch_size_level0 = {patch_level0} "
                f"but {patch} px at {target}x on a {level0}x slide is {expected:g} level-0 px",
            )
    if override is not None:
        if patch_level0 is not None and float(patch_level0) != float(override):
            notes.append(
                f"using tile_size_level0 = {override:g} as asked; the file says "
                f"patch_size_level0 = {patch_level0}"
            )
        return float(override), notes
    if patch_level0 is not None:
        return float(patch_level0), notes
    if patch is not None:
        downsample = attrs.get("downsample")
        factor = float(np.ravel(downsample)[0]) if downsample is not None else 1.0
        notes.append(
            f"the file gives no magnification: assuming its {int(patch)}-px tiles "
            f"(x{factor:g} at level 0) are 256-px tiles at 20x (0.5 um/px)"
        )
        return float(patch) * factor, notes
    notes.append(
        "the file has no tile-size attributes (CLAM layout): assuming level-0 coordinates "
        "of 256-px tiles at 20x (0.5 um/px); give the level-0 tile size if not"
    )
    return float(TILE_SIZE), notes
