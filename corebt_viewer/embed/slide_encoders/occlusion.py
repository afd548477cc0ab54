"""Approximate tile attribution for the slide encoder: occlusion by spatial tile blocks.

The slide encoder is not linear, so a tile's exact share of the slide vector does not
exist. This module gives a documented approximation: the tiles are split into K
spatially contiguous blocks (a k-d split of the coordinates: the block with most tiles
is cut at the median of its longer side, tiles of one row or column kept together, until
there are K rectangles), the slide is re-encoded
with each block removed (the other tiles keep their order and positions), and a block's
effect is the slide vector minus the vector without it. Every tile of a block gets the
block's effect. Label anything drawn from it as approximate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OcclusionResult:
    """Slide vectors with each tile block left out.

    Attributes
    ----------
    full : ndarray (768,)
        The slide vector with every tile.
    without_block : ndarray (K, 768)
        The slide vector with block k removed.
    block_of_tile : ndarray (N,), int
        Block index of each tile, in the order of the input.
    """

    full: np.ndarray
    without_block: np.ndarray
    block_of_tile: np.ndarray

    def tile_scores(self, direction) -> np.ndarray:
        """Approximate per-tile effect along `direction` (768,): ``(full - without) . d``.

        A tile's score is its block's; it is an occlusion estimate, not an exact share.
        """
        effect = (self.full[None, :] - self.without_block) @ np.asarray(direction, float)
        return effect[self.block_of_tile]


def spatial_blocks(coords, n_blocks: int = 16) -> np.ndarray:
    """Split tiles into at most `n_blocks` non-overlapping rectangles of similar tile counts.

    Parameters
    ----------
    coords : array (N, 2)
    n_blocks : int

    Returns
    -------
    ndarray (N,), int64
        Block of each tile, numbered 0..K-1 (K = min(n_blocks, N)).
    """
    coords = np.asarray(coords, dtype=np.float64)
    if n_blocks < 1:
        raise ValueError("n_blocks must be at least 1")
    blocks = [np.arange(len(coords))]
    while len(blocks) < min(n_blocks, len(coords)):
        largest = max(range(len(blocks)), key=lambda i: len(blocks[i]))
        members = blocks.pop(largest)
        points = coords[members]
        axis = int(np.argmax(np.ptp(points, axis=0)))
        values = points[:, axis]
        cut = np.median(values)  # tiles on one row/column stay together: rectangles
        low = values < cut if np.any(values < cut) else values <= cut
        if low.all():  # every tile at one point: nothing left to split
            blocks.append(members)
            break
        blocks += [members[low], members[~low]]
    block_of_tile = np.empty(len(coords), dtype=np.int64)
    for index, members in enumerate(sorted(blocks, key=lambda m: m[0])):
        block_of_tile[members] = index
    return block_of_tile


def occlusion_by_blocks(
    encoder,
    features,
    coords,
    *,
    n_blocks: int = 16,
    tile_size_level0: float = 256,
    progress=None,
) -> OcclusionResult:
    """Re-encode the slide without each spatial block of tiles (approximate attribution).

    Parameters
    ----------
    encoder : GigaPathSlideEncoder
    features : array (N, 1536)
    coords : array (N, 2)
        Level-0 coordinates, as for :meth:`GigaPathSlideEncoder.encode`.
    n_blocks : int
        K, the number of blocks (K + 1 encoder runs).
    tile_size_level0 : float
    progress : callable(done, total), optional

    Returns
    -------
    OcclusionResult
    """
    features = np.asarray(features, dtype=np.float32)
    coords = np.asarray(coords)
    if n_blocks < 2 or len(features) < 2:
        raise ValueError("occlusion needs at least 2 blocks and 2 tiles")
    full = encoder.encode(features, coords, tile_size_level0=tile_size_level0)
    block_of_tile = spatial_blocks(coords, n_blocks)
    count = int(block_of_tile.max()) + 1
    without = np.empty((count, full.shape[0]), dtype=np.float32)
    for block in range(count):
        keep = block_of_tile != block
        without[block] = encoder.encode(
            features[keep], coords[keep], tile_size_level0=tile_size_level0
        )
        if progress is not None:
            progress(block + 1, count)
    return OcclusionResult(full=full, without_block=without, block_of_tile=block_of_tile)
