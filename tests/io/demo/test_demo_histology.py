"""Synthetic H&E slides: seamless tiles, class-dependent histology, OpenSlide-readable pyramids."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from corebt_viewer.io.demo import histology as Hs
from corebt_viewer.io.demo import plan as P
from corebt_viewer.io.demo.slide_writer import level_sizes, write_pyramid


def _plan(level1: str) -> P.PatientPlan:
    return next(p for p in P.plan_cohort(0, 40) if p.level1 == level1)


def _tissue_origin(renderer: Hs.SlideRenderer) -> tuple[int, int]:
    ys, xs = np.nonzero(renderer.tissue > 0.3)
    k = len(ys) // 2
    scale = Hs.FIELD_CELL * Hs.RENDER_SCALE
    return int(ys[k]) * scale, int(xs[k]) * scale


def test_tiles_join_seamlessly_and_rendering_is_deterministic():
    style = Hs.histology_style(_plan(P.GBM), np.random.default_rng(1))
    r = Hs.SlideRenderer(4000, 4000, style, seed=11)
    y, x = _tissue_origin(r)
    y, x = y + 1, x + 3  # odd offsets exercise the 2x upsampling alignment
    whole = r.render(y, x, 512, 512)
    stitched = np.concatenate(
        [np.concatenate([r.render(y + a, x + b, 256, 256) for b in (0, 256)], 1) for a in (0, 256)]
    )
    assert np.array_equal(whole, stitched)
    again = Hs.SlideRenderer(4000, 4000, style, seed=11).render(y, x, 512, 512)
    assert np.array_equal(whole, again)


def test_tissue_looks_like_h_and_e_on_glass():
    style = Hs.histology_style(_plan(P.ASTRO), np.random.default_rng(2))
    r = Hs.SlideRenderer(4000, 4000, style, seed=5)
    y, x = _tissue_origin(r)
    tile = r.render(y, x, 256, 256).astype(float)
    mean = tile.reshape(-1, 3).mean(0)
    assert mean[1] < mean[0] - 30 and mean[1] < mean[2] - 20  # pink/purple: green absorbed
    dark = tile.sum(-1) < 350  # haematoxylin-dense nuclei
    assert 0.02 < dark.mean() < 0.6
    glass = r.render(0, 0, 64, 64)
    assert glass.min() > 225  # blank glass around the tissue


def _style_stats(level1: str, n: int = 300) -> dict[str, float]:
    plan = _plan(level1)
    styles = [Hs.histology_style(plan, np.random.default_rng(k)) for k in range(n)]
    return {
        f: float(np.mean([getattr(s, f) for s in styles]))
        for f in ("halo", "necrosis", "spacing", "elongation", "rosenthal", "capillaries")
    }


def test_histology_follows_the_class_with_overlap():
    gbm, astro, oligo, pilo = (_style_stats(c) for c in (P.GBM, P.ASTRO, P.OLIGO, P.CIRCUMSCRIBED))
    assert gbm["necrosis"] > 0.1 and astro["necrosis"] == 0.0  # grade 2 astrocytoma
    assert gbm["spacing"] < astro["spacing"]  # higher cellularity
    assert oligo["halo"] > 0.5 > astro["halo"] > 0.0  # halos, with some astrocytoma mimics
    assert oligo["capillaries"] > 0.5 and astro["capillaries"] == 0.0
    assert astro["elongation"] > oligo["elongation"]
    assert pilo["rosenthal"] > 0.5
    plan = _plan(P.GBM)
    no_necrosis = [
        Hs.histology_style(plan, np.random.default_rng(k)).necrosis == 0 for k in range(300)
    ]
    assert 0.05 < np.mean(no_necrosis) < 0.4  # infiltrating-edge samples look lower grade


def test_demo_slide_opens_in_openslide_with_levels_and_mpp(tmp_path):
    openslide = pytest.importorskip("openslide")
    path = tmp_path / "s.svs"
    sizes = Hs.write_demo_slide(path, _plan(P.OLIGO), 0, 0, 2048)
    with openslide.OpenSlide(str(path)) as slide:
        assert slide.properties["openslide.vendor"] == "aperio"
        assert slide.level_count >= 3
        assert slide.level_dimensions == tuple(sizes)
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.5)
        assert {"label", "macro", "thumbnail"} <= set(slide.associated_images)
        w, h = slide.level_dimensions[0]
        # Level 1 is the 4x4 mean of level 0 (up to JPEG error).
        x, y = (w // 2) // 64 * 64, (h // 2) // 64 * 64
        full = np.asarray(slide.read_region((x, y), 0, (256, 256)).convert("RGB"), float)
        low = np.asarray(slide.read_region((x, y), 1, (64, 64)).convert("RGB"), float)
        down = full.reshape(64, 4, 64, 4, 3).mean((1, 3))
        assert np.abs(low - down).mean() < 8


def test_project_reader_sees_the_mpp(tmp_path):
    from corebt_viewer.io.slides import open_slide

    path = tmp_path / "s.svs"
    Hs.write_demo_slide(path, _plan(P.GBM), 0, 0, 1024)
    with open_slide(path) as slide:
        assert slide.mpp == pytest.approx(0.5)
        assert slide.mpp_source == "metadata"
        assert slide.level_count >= 3


def test_pyramid_writer_streams_with_bounded_memory(tmp_path):
    size = 8192  # level 0 would be 200 MB in memory

    def render(y0, x0, h, w):
        yy, xx = np.mgrid[y0 : y0 + h, x0 : x0 + w]
        v = ((yy // 64 + xx // 64) % 2 * 120 + 60).astype(np.uint8)
        return np.repeat(v[..., None], 3, axis=2)

    tracemalloc.start()
    sizes = write_pyramid(tmp_path / "big.tif", size, size, render)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sizes == level_sizes(size, size) and len(sizes) >= 3
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"
    import tifffile

    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        level1 = tif.pages[2].asarray()
    assert level1.shape == (size // 4, size // 4, 3)
    assert abs(float(level1[:16, :16].mean()) - 60) < 6  # 4x4 means of a dark square
