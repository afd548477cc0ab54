import numpy as np
import pytest

from corebt_viewer.embed.tissue import (
    TissueParams,
    detect_tissue,
    mask_tissue,
    otsu_threshold,
    read_overview,
    saturation,
)
from tests.embed.embed_data import synthetic_he


def test_saturation_and_otsu_split_two_populations():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0] = (200, 100, 150)
    rgb[1] = (240, 240, 240)
    sat = saturation(rgb)
    assert sat[1].max() == 0 and sat[0].min() == 127
    values = np.concatenate([np.full(100, 10), np.full(100, 120)]).astype(np.uint8)
    assert 10 <= otsu_threshold(values) < 120


def test_mask_finds_tissue_keeps_large_holes_out_and_fills_small_ones():
    rgb = synthetic_he(200, 200, tissue_box=(40, 40, 160, 160))
    rgb[70:130, 70:130] = 245  # big hole: glass inside tissue
    rgb[50:53, 50:53] = 245  # tiny hole: filled
    result = mask_tissue(
        rgb, tile_area_level0=30.0**2, params=TissueParams(median_size=3, closing_size=2)
    )
    assert result.mask[100, 100] == 0, "large hole must stay out"
    assert result.mask[51, 51] == 1, "small hole must be filled"
    assert result.mask[45, 100] == 1 and result.mask[10, 10] == 0
    assert result.n_pieces == 1


def test_blank_slide_has_no_tissue_and_small_specks_are_dropped():
    rng = np.random.default_rng(0)
    glass = (240 + rng.integers(0, 8, (128, 128, 3))).astype(np.uint8)
    assert not mask_tissue(glass).mask.any()
    speck = glass.copy()
    speck[60:62, 60:62] = (150, 60, 120)
    assert not mask_tissue(speck, tile_area_level0=32.0**2).mask.any()


class SpySlide:
    """Wraps a reader and records each read's size (to prove no whole level is read)."""

    def __init__(self, slide):
        self.slide = slide
        self.reads = []

    def __getattr__(self, name):
        return getattr(self.slide, name)

    def read_region(self, location, level, size):
        self.reads.append((level, size))
        return self.slide.read_region(location, level, size)


def test_read_overview_uses_coarse_level_and_strips(he_slide, monkeypatch):
    from corebt_viewer.embed import tissue
    from corebt_viewer.io.slides import open_slide

    with open_slide(he_slide) as slide:
        spy = SpySlide(slide)
        overview, ds = read_overview(spy, max_side=200)
        assert {level for level, _ in spy.reads} == {1}  # the 4x level, not level 0
        assert overview.shape[1] <= 200 and ds == pytest.approx(8.0)
        monkeypatch.setattr(tissue, "_STRIP_BYTES", 4 * 384 * 3 * 2)
        spy.reads.clear()
        strips, _ = read_overview(spy, max_side=200)
        assert len(spy.reads) > 1 and all(h < 320 for _, (w, h) in spy.reads)
        np.testing.assert_array_equal(strips, overview)


def test_real_svs_mask_covers_tissue_not_glass(svs_path):
    from corebt_viewer.io.slides import open_slide

    with open_slide(svs_path) as slide:
        result = detect_tissue(slide, tile_area_level0=257.0**2)
    sat = saturation(result.overview).astype(float)
    assert 0.2 < result.fraction < 0.6
    assert sat[result.mask].mean() > 4 * sat[~result.mask].mean()
    # the left third of this slide is glass (tissue runs down the middle)
    assert result.mask[:, : result.mask.shape[1] // 5].mean() < 0.02
