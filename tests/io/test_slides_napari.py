"""The lazy pyramid as napari multiscale data (napari's model only: no Qt, no canvas)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.io.slides import TileCache, open_slide

napari_components = pytest.importorskip("napari.components")


@pytest.fixture
def synchronous_slicing():
    """Slice synchronously, whatever an earlier test (the viewer turns async on) left set."""
    from napari.settings import get_settings

    settings = get_settings()
    before = settings.experimental.async_
    settings.experimental.async_ = False
    yield
    settings.experimental.async_ = before


@pytest.mark.usefixtures("synchronous_slicing")
def test_napari_reads_only_the_tiles_it_shows(ndpi_path: Path):
    cache = TileCache()
    with open_slide(ndpi_path) as slide:
        levels = slide.pyramid(cache)
        viewer = napari_components.ViewerModel()
        layer = viewer.add_image(levels, multiscale=True, rgb=True, contrast_limits=(0, 255))
        # on adding, napari shows the coarsest level and reads nothing larger
        assert layer.data_level == len(levels) - 1
        assert {key[1] for key in cache._data} == {len(levels) - 1}
        # zoom into a 400-px window of level 0, as the canvas does on a camera change
        corner = np.array([[2000, 1500], [2400, 1900]])
        layer._update_draw(
            scale_factor=1.0, corner_pixels_displayed=corner, shape_threshold=(1024, 1024)
        )
        assert layer.data_level == 0
        level0_keys = [key for key in cache._data if key[1] == 0]
        assert 0 < len(level0_keys) <= 9  # a few 256-px tiles of a 3968x4864 level
        (r0, c0), (r1, c1) = layer.corner_pixels
        shown = np.asarray(layer._slice.image.view)
        assert shown.shape == (r1 - r0 + 1, c1 - c0 + 1, 3)
        np.testing.assert_array_equal(shown, slide.read_region((c0, r0), 0, shown.shape[1::-1]))
