"""The stain-normalised preview of a view: the real Aperio slide, its tissue tiles."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.embed.stain import MacenkoNormalizer
from corebt_viewer.io.slides import open_slide
from corebt_viewer.services.stain_preview import stain_preview

TILE = 256


@pytest.fixture(scope="module")
def slide(svs_path):
    with open_slide(svs_path) as reader:
        yield reader


def tissue_grid(reader) -> np.ndarray:
    """Tiles whose level-0 pixels are mostly not glass (a simple grid for the test)."""
    width, height = reader.dimensions
    rows, cols = height // TILE, width // TILE
    grid = np.zeros((rows, cols), bool)
    for r in range(rows):
        for c in range(cols):
            tile = reader.read_region((c * TILE, r * TILE), 0, (TILE, TILE))
            grid[r, c] = (tile.mean(axis=2) < 200).mean() > 0.5
    return grid


def test_tiles_are_normalised_and_glass_is_transparent(slide):
    grid = tissue_grid(slide)
    assert grid.sum() >= 4 and (~grid).sum() >= 1
    width, height = slide.dimensions
    preview = stain_preview(
        reader=slide, tissue=grid, tile_size=TILE, grid_origin=(0, 0),
        view=(0, 0, width, height), max_side=4096,
    )  # fmt: skip
    assert preview.downsample == 1.0 and preview.origin == (0, 0)
    assert preview.tiles == grid.sum() and preview.normalised + preview.skipped == preview.tiles
    assert preview.normalised >= 1
    alpha = preview.rgba[..., 3]
    r, c = np.argwhere(grid)[0]
    inside = (slice(r * TILE, (r + 1) * TILE), slice(c * TILE, (c + 1) * TILE))
    assert (alpha[inside] == 255).all()
    r, c = np.argwhere(~grid)[0]
    assert (alpha[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] == 0).all()
    # each tile is normalised on its own, exactly as the encoder's transform does it
    r, c = np.argwhere(grid)[0]
    original = slide.read_region((c * TILE, r * TILE), 0, (TILE, TILE))
    expected = MacenkoNormalizer().normalise_tile(original)
    np.testing.assert_array_equal(preview.rgba[inside][..., :3], expected)
    assert not np.array_equal(expected, original)
    assert "tiles stain-normalised (macenko-2009)" in preview.summary()


def test_a_zoomed_in_view_reads_only_its_part(slide):
    grid = np.ones((4, 4), bool)
    preview = stain_preview(
        reader=slide, tissue=grid, tile_size=TILE, grid_origin=(0, 0),
        view=(100.5, 50.0, 400.0, 300.0),
    )  # fmt: skip
    assert preview.origin == (100, 50) and preview.rgba.shape[:2] == (250, 300)
    assert preview.tiles == 4  # cells (0,0), (0,1), (1,0), (1,1) touch the view


def test_cancel_and_an_empty_view(slide):
    grid = np.ones((4, 4), bool)
    args = dict(reader=slide, tissue=grid, tile_size=TILE, grid_origin=(0, 0))
    assert stain_preview(**args, view=(0, 0, 512, 512), cancelled=lambda: True) is None
    assert stain_preview(**args, view=(-50, -50, -1, -1)) is None
