"""A grid of tiles at a target resolution over the tissue of a slide.

Tiles are square, ``tile_size`` pixels at ``target_mpp`` microns per pixel (default 256
pixels at 0.5 um/px, as Prov-GigaPath uses). Each tile is read at the coarsest pyramid
level that is still at least as fine as the target and resampled to ``tile_size``.
Coordinates are level-0 (x, y) of the tile's top-left corner, as CLAM and TRIDENT store them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from corebt_viewer.embed.tissue import TissueMask, TissueParams, detect_tissue

DEFAULT_TARGET_MPP = 0.5
DEFAULT_TILE_SIZE = 256
DEFAULT_MIN_TISSUE = 0.25


@dataclass(frozen=True)
class TileGrid:
    """Tiles kept on one slide and how to read them.

    Attributes
    ----------
    coords : ndarray of int64, shape (n_tiles, 2)
        Level-0 (x, y) of each tile's top-left corner.
    tissue : ndarray of float32, shape (n_tiles,)
        Tissue fraction of each tile.
    tile_size : int
        Tile side in pixels after resampling (the encoder's input).
    tile_size_level0 : int
        Tile side in level-0 pixels.
    read_level, read_size : int
        Pyramid level each tile is read from, and the side read there.
    target_mpp : float
    mpp : float or None
        Level-0 resolution of the slide (``None`` when unknown: then level 0 is used as is).
    mpp_source : str
        ``"metadata"``, ``"override"`` or ``"missing"``.
    """

    coords: np.ndarray
    tissue: np.ndarray
    tile_size: int
    tile_size_level0: int
    read_level: int
    read_size: int
    target_mpp: float
    mpp: float | None
    mpp_source: str = "metadata"
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    def attrs(self) -> dict:
        """Attributes to store beside the coordinates (CLAM/TRIDENT-compatible names)."""
        return {
            "patch_size": self.tile_size,
            "patch_size_level0": self.tile_size_level0,
            "patch_level": self.read_level,
            "read_size": self.read_size,
            "target_mpp": self.target_mpp,
            "level0_mpp": float(self.mpp) if self.mpp else float("nan"),
            "mpp_source": self.mpp_source,
            "overlap": 0,
        }


def tile_geometry(
    slide_mpp: float | None,
    level_downsamples,
    *,
    target_mpp: float = DEFAULT_TARGET_MPP,
    tile_size: int = DEFAULT_TILE_SIZE,
) -> tuple[int, int, int]:
    """Level-0 tile side, the level to read from and the side to read there.

    Returns
    -------
    (tile_size_level0, read_level, read_size)
    """
    scale = 1.0 if not slide_mpp else target_mpp / float(slide_mpp)
    tile_level0 = max(1, int(round(tile_size * scale)))
    downsamples = [float(d) for d in level_downsamples]
    read_level = max(i for i, d in enumerate(downsamples) if d <= scale * 1.001 or i == 0)
    read_size = max(1, int(round(tile_level0 / downsamples[read_level])))
    return tile_level0, read_level, read_size


def tissue_fractions(tissue: TissueMask, coords: np.ndarray, tile_level0: int) -> np.ndarray:
    """Fraction of tissue pixels of the mask under each tile (integral image)."""
    mask = tissue.mask
    rows, cols = mask.shape
    integral = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    integral[1:, 1:] = mask.cumsum(0).cumsum(1)
    ds = tissue.downsample
    x0 = np.clip(np.floor(coords[:, 0] / ds).astype(np.int64), 0, cols)
    y0 = np.clip(np.floor(coords[:, 1] / ds).astype(np.int64), 0, rows)
    x1 = np.clip(np.ceil((coords[:, 0] + tile_level0) / ds).astype(np.int64), 0, cols)
    y1 = np.clip(np.ceil((coords[:, 1] + tile_level0) / ds).astype(np.int64), 0, rows)
    x1 = np.maximum(x1, np.minimum(x0 + 1, cols))
    y1 = np.maximum(y1, np.minimum(y0 + 1, rows))
    inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    return (inside / area).astype(np.float32)


def make_tile_grid(
    slide,
    *,
    target_mpp: float = DEFAULT_TARGET_MPP,
    tile_size: int = DEFAULT_TILE_SIZE,
    min_tissue: float = DEFAULT_MIN_TISSUE,
    tissue: TissueMask | None = None,
    params: TissueParams | None = None,
) -> tuple[TileGrid, TissueMask]:
    """Detect tissue and lay the tile grid over it.

    Parameters
    ----------
    slide : SlideReader
    target_mpp : float
        Resolution of the tiles, microns per pixel.
    tile_size : int
        Side of a tile at ``target_mpp``.
    min_tissue : float
        Keep tiles whose tissue fraction is at least this (when none passes, tiles with any
        tissue are kept, and a note says so).
    tissue : TissueMask, optional
        A mask already computed (otherwise :func:`detect_tissue` runs).

    Returns
    -------
    grid : TileGrid
    tissue : TissueMask
    """
    mpp = getattr(slide, "mpp", None)
    mpp_source = getattr(slide, "mpp_source", "metadata" if mpp else "missing")
    tile_level0, read_level, read_size = tile_geometry(
        mpp, slide.level_downsamples, target_mpp=target_mpp, tile_size=tile_size
    )
    if tissue is None:
        tissue = detect_tissue(slide, tile_area_level0=float(tile_level0) ** 2, params=params)
    width, height = slide.dimensions
    n_x, n_y = width // tile_level0, height // tile_level0
    ys, xs = np.mgrid[0:n_y, 0:n_x]
    coords = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.int64) * tile_level0
    fractions = tissue_fractions(tissue, coords, tile_level0) if len(coords) else np.zeros(0)
    notes: list[str] = list(getattr(tissue, "notes", ()))
    if not mpp:
        notes.append("slide resolution unknown: tiles taken at level 0 without resampling")
    keep = fractions >= min_tissue
    if not keep.any() and (fractions > 0).any():
        keep = fractions > 0
        notes.append(f"no tile reached {min_tissue:.0%} tissue: kept tiles with any tissue")
    grid = TileGrid(
        coords=coords[keep],
        tissue=fractions[keep].astype(np.float32),
        tile_size=int(tile_size),
        tile_size_level0=int(tile_level0),
        read_level=int(read_level),
        read_size=int(read_size),
        target_mpp=float(target_mpp),
        mpp=float(mpp) if mpp else None,
        mpp_source=str(mpp_source),
        notes=tuple(notes),
    )
    return grid, tissue


def grid_shape(slide, tile_level0: int) -> tuple[int, int]:
    """Rows and columns of whole tiles that fit on the slide."""
    width, height = slide.dimensions
    return int(math.floor(height / tile_level0)), int(math.floor(width / tile_level0))
