"""Ink and debris leave the tissue mask: the real Aperio slide with pen strokes drawn on a copy."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.embed.tissue import (
    TissueParams,
    ink_mask,
    mask_tissue,
    read_overview,
    tissue_method,
)
from tests.embed.embed_data import synthetic_he, write_aperio_tiff

TODAY = TissueParams(remove_ink=False)
#: Marker colours as a multiplicative filter over what lies beneath (a pen's dye on glass).
INKS = {"blue": (0.20, 0.33, 0.85), "green": (0.25, 0.72, 0.35), "black": (0.13, 0.13, 0.15)}


def draw_ink(image: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pen strokes (blue, green, black) across tissue and glass, and dark debris on the glass.

    Returns the inked copy and the mask of every inked pixel.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    out = image.copy()
    every = np.zeros((height, width), bool)
    strokes = {
        "blue": [(0.1, 0.3), (0.5, 0.42), (0.9, 0.5)],
        "green": [(0.55, 0.72), (0.75, 0.8), (0.95, 0.92)],
        "black": [(0.25, 0.65), (0.4, 0.75), (0.55, 0.9)],
    }
    for name, points in strokes.items():
        canvas = Image.new("1", (width, height), 0)
        xy = [(x * width, y * height) for x, y in points]
        ImageDraw.Draw(canvas).line(xy, fill=1, width=int(0.03 * width), joint="curve")
        stroke = np.asarray(canvas)
        tint = np.asarray(INKS[name], np.float32) * rng.uniform(0.9, 1.1, (stroke.sum(), 1))
        out[stroke] = (out[stroke] * tint).clip(0, 255).astype(np.uint8)
        every |= stroke
    debris = Image.new("1", (width, height), 0)
    radius = 0.015 * width
    for cx, cy in ((0.1, 0.85), (0.85, 0.15)):  # on the glass
        box = (cx * width - radius, cy * height - radius, cx * width + radius, cy * height + radius)
        ImageDraw.Draw(debris).ellipse(box, fill=1)
    blob = np.asarray(debris)
    out[blob] = (35, 30, 32)
    return out, every | blob


def _on_overview(full: np.ndarray, shape: tuple[int, int], factor: int) -> np.ndarray:
    """A level-0 mask as 'any pixel set' on the overview grid."""
    rows, cols = shape
    cut = full[: rows * factor, : cols * factor]
    return cut.reshape(rows, factor, cols, factor).any(axis=(1, 3))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def slides(svs_path, tmp_path_factory):
    """(the real slide, an inked copy of it as an Aperio TIFF OpenSlide reads, the level-0
    mask of the ink)."""
    from corebt_viewer.io.slides import open_slide

    with open_slide(svs_path) as slide:
        image = slide.read_region((0, 0), 0, slide.dimensions)
        mpp = slide.mpp
    inked, strokes = draw_ink(image)
    path = tmp_path_factory.mktemp("ink") / "inked.svs"
    return svs_path, write_aperio_tiff(path, inked, mpp=mpp, levels=1), strokes


def test_inked_area_drops_out_and_clean_tissue_is_kept(slides):
    from corebt_viewer.io.slides import open_slide

    clean_path, inked_path, strokes = slides
    area = 257.0**2
    masks = {}
    for name, path in (("clean", clean_path), ("inked", inked_path)):
        with open_slide(path) as slide:  # what detect_tissue does, the overview read once
            overview, ds = read_overview(slide)
        for params in (TODAY, TissueParams()):
            result = mask_tissue(overview, downsample=ds, tile_area_level0=area, params=params)
            masks[name, params.remove_ink] = result
    reference, clean_new = masks["clean", False], masks["clean", True]
    today, new = masks["inked", False], masks["inked", True]
    factor = int(round(new.downsample))
    ink = _on_overview(strokes, new.mask.shape, factor)
    # the inked area drops out (today's detection calls most of it tissue)
    assert today.mask[ink].mean() > 0.5
    assert new.mask[ink].mean() < 0.03
    assert new.ink is not None and new.ink[ink].mean() > 0.9
    # the tissue IoU on the clean region stays >= 0.95 of today's
    from scipy import ndimage as ndi

    clean_region = ~ndi.binary_dilation(ink, iterations=3)
    iou_today = _iou(today.mask & clean_region, reference.mask & clean_region)
    iou_new = _iou(new.mask & clean_region, reference.mask & clean_region)
    assert iou_new >= 0.95 * iou_today and iou_new > 0.9
    # a clean slide barely changes
    assert _iou(clean_new.mask, reference.mask) > 0.97


def test_synthetic_he_has_no_ink_and_ink_rules_find_each_colour():
    rgb = synthetic_he(200, 200, seed=3)
    assert not ink_mask(rgb).any()
    rgb[20:40, 20:180] = (50, 70, 180)  # blue pen
    rgb[60:80, 20:180] = (60, 170, 90)  # green pen
    rgb[100:120, 20:180] = (25, 25, 28)  # black pen
    rgb[150:152, 150:152] = (20, 20, 20)  # a speck: below the opening
    ink = ink_mask(rgb)
    assert ink[30, 100] and ink[70, 100] and ink[110, 100]
    assert not ink[151, 151] and not ink[140, 100]
    result = mask_tissue(rgb, tile_area_level0=30.0**2)
    assert not result.mask[30, 100] and not result.mask[110, 100]
    assert result.ink_fraction > 0


def test_method_identifier_follows_the_setting():
    assert tissue_method() == "clam-like-v2-ink"
    assert tissue_method(TODAY) == "clam-like-v1"


def test_fluorescence_slide_skips_ink_removal_and_says_so(ndpi_path):
    from corebt_viewer.embed.tiling import make_tile_grid
    from corebt_viewer.io.slides import open_slide

    with open_slide(ndpi_path) as slide:  # DAPI: blue nuclei on black
        grid, tissue = make_tile_grid(slide)
        overview, ds = read_overview(slide)
    today = mask_tissue(overview, downsample=ds, tile_area_level0=561.0**2, params=TODAY)
    assert tissue.ink is None and "ink removal skipped" in tissue.notes[0]
    assert any("ink removal skipped" in note for note in grid.notes)
    np.testing.assert_array_equal(tissue.mask, today.mask)
