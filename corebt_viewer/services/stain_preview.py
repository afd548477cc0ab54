"""What the tile encoder sees with stain normalisation: the view's tissue tiles, normalised.

The viewer's "Stain-normalised" toggle on the tile grid shows this over the slide. Each
tissue tile of the grid is normalised on its own, as :class:`~corebt_viewer.embed.stain.
MacenkoNormalizer` normalises each tile before the encoder; pixels outside the tiles are
transparent. The view is read at the pyramid level that fits ``max_side``, so the
preview stays sharp at any zoom; a tile too small on screen to estimate its stains (fewer
than 50 stained pixels) is left as scanned and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Longest side of the preview in pixels (about a screen).
MAX_SIDE = 1600


@dataclass(frozen=True)
class StainPreview:
    """The normalised tissue tiles of one view of a slide.

    Attributes
    ----------
    rgba : ndarray (h, w, 4) uint8
        Alpha 0 outside the tissue tiles.
    origin : (x, y)
        Level-0 position of the preview's top-left pixel.
    downsample : float
        Level-0 pixels per preview pixel.
    tiles, normalised, skipped : int
        Tissue tiles in the view; normalised; left as scanned (too little stain or too
        small on screen).
    reference : str
        The stain reference the tiles were normalised to.
    """

    rgba: np.ndarray
    origin: tuple[int, int]
    downsample: float
    tiles: int
    normalised: int
    skipped: int
    reference: str

    def summary(self) -> str:
        text = f"{self.normalised} of {self.tiles} tiles stain-normalised ({self.reference})"
        if self.skipped:
            text += f"; {self.skipped} left as scanned (too little stain or too small: zoom in)"
        return text


def stain_preview(
    *,
    reader,
    tissue: np.ndarray,
    tile_size: int,
    grid_origin: tuple[int, int],
    view: tuple[float, float, float, float],
    normaliser=None,
    max_side: int = MAX_SIDE,
    cancelled: Callable[[], bool] = lambda: False,
) -> StainPreview | None:
    """Normalise the tissue tiles inside `view` of a slide.

    Parameters
    ----------
    reader : SlideReader
        The open slide.
    tissue : ndarray (rows, cols) bool
        The tile grid: True where a tissue tile was embedded.
    tile_size : int
        Tile side in level-0 pixels.
    grid_origin : (x, y)
        Level-0 position of grid cell (0, 0).
    view : (x0, y0, x1, y1)
        The part of the slide on screen, in level-0 pixels (clipped to the slide).
    normaliser : MacenkoNormalizer, optional
        Default: the reference of Macenko's original code.
    max_side : int
        Longest side of the preview in pixels.
    cancelled : callable
        Polled between tiles; returns None when it turns true.

    Returns
    -------
    StainPreview or None
        None when cancelled, or when the view holds no slide.
    """
    from corebt_viewer.embed.stain import MacenkoNormalizer

    normaliser = normaliser if normaliser is not None else MacenkoNormalizer()
    width, height = reader.dimensions
    x0, y0 = max(0, int(np.floor(view[0]))), max(0, int(np.floor(view[1])))
    x1, y1 = min(width, int(np.ceil(view[2]))), min(height, int(np.ceil(view[3])))
    if x1 <= x0 or y1 <= y0:
        return None
    level = reader.best_level_for_downsample(max(x1 - x0, y1 - y0) / max_side)
    downsample = float(reader.level_downsamples[level])
    size = (max(1, int((x1 - x0) / downsample)), max(1, int((y1 - y0) / downsample)))
    rgb = reader.read_region((x0, y0), level, size)
    h, w = rgb.shape[:2]
    rgba = np.zeros((h, w, 4), np.uint8)
    before_normalised, before_skipped = normaliser.normalised, normaliser.skipped
    tiles = 0
    gx, gy = grid_origin
    for row, col in np.argwhere(np.asarray(tissue, bool)):
        if cancelled():
            return None
        left, top = gx + col * tile_size - x0, gy + row * tile_size - y0  # level-0, view
        c0, r0 = max(0, int(left / downsample)), max(0, int(top / downsample))
        c1 = min(w, int(np.ceil((left + tile_size) / downsample)))
        r1 = min(h, int(np.ceil((top + tile_size) / downsample)))
        if c1 <= c0 or r1 <= r0:
            continue  # outside the view
        tiles += 1
        rgba[r0:r1, c0:c1, :3] = normaliser.normalise_tile(rgb[r0:r1, c0:c1])
        rgba[r0:r1, c0:c1, 3] = 255
    return StainPreview(
        rgba=rgba,
        origin=(x0, y0),
        downsample=downsample,
        tiles=tiles,
        normalised=normaliser.normalised - before_normalised,
        skipped=normaliser.skipped - before_skipped,
        reference=normaliser.reference,
    )
