import numpy as np
import pytest

from corebt_viewer.embed.tiling import make_tile_grid, tile_geometry
from tests.embed.embed_data import synthetic_he


@pytest.mark.parametrize(
    ("mpp", "downsamples", "expected"),
    [
        (0.5, (1.0, 4.0), (256, 0, 256)),
        (0.25, (1.0, 2.0, 4.0), (512, 1, 256)),
        (0.25, (1.0, 4.0), (512, 0, 512)),  # no 2x level: read 512 at level 0, resample
        (0.23, (1.0, 2.0, 4.0), (557, 1, 278)),
        (None, (1.0, 2.0), (256, 0, 256)),
    ],
)
def test_tile_geometry_reads_closest_finer_level(mpp, downsamples, expected):
    assert tile_geometry(mpp, downsamples, target_mpp=0.5, tile_size=256) == expected


def test_grid_keeps_tissue_tiles_only():
    from corebt_viewer.io.slides import open_slide

    image = synthetic_he(1024, 1024, tissue_box=(0, 0, 512, 512))
    slide = open_slide(image, mpp_override=0.5)
    grid, tissue = make_tile_grid(slide, tile_size=256)
    assert sorted(map(tuple, grid.coords.tolist())) == [(0, 0), (0, 256), (256, 0), (256, 256)]
    assert np.all(grid.tissue > 0.9)
    assert grid.read_level == 0 and grid.tile_size_level0 == 256


def test_real_ndpi_grid_resamples_from_level_1(ndpi_path):
    from corebt_viewer.io.slides import open_slide

    with open_slide(ndpi_path) as slide:
        grid, _ = make_tile_grid(slide)
    assert grid.read_level == 1 and grid.read_size == round(grid.tile_size_level0 / 2)
    assert len(grid) > 0
    assert np.all(grid.coords % grid.tile_size_level0 == 0)
