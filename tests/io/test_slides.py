"""Slide readers: real SVS and NDPI files, corrupt files, mpp, lazy pyramid, tile cache."""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.slides import (
    DownsampledLevel,
    LazyLevel,
    MissingMppWarning,
    TileCache,
    VirtualSlide,
    open_slide,
)
from corebt_viewer.io.slides import lazy as lazy_module
from corebt_viewer.io.slides.lazy import halve_rgb


@pytest.fixture
def image(rng) -> np.ndarray:
    return rng.integers(0, 256, size=(300, 500, 3), dtype=np.uint8)


# --- real files -------------------------------------------------------------------------


def test_svs_metadata_and_hidden_label(svs_path: Path):
    with open_slide(svs_path) as slide:
        assert slide.vendor == "aperio"
        assert slide.dimensions == (2220, 2967)
        assert slide.level_count == 1
        assert slide.mpp == pytest.approx(0.499)
        assert slide.mpp_source == "metadata"
        assert slide.associated_image_names == ("thumbnail",)
        assert set(slide.identifying_image_names) == {"label", "macro"}
        with pytest.raises(PermissionError, match="patient identifiers"):
            slide.read_associated("label")
        label = slide.read_associated("label", allow_identifying=True)
        assert label.ndim == 3 and label.dtype == np.uint8
        info = slide.info()
        assert info.associated_images == ("thumbnail",)
        assert info.properties["openslide.objective-power"] == "20"


def test_svs_regions_thumbnail_and_lazy_level(svs_path: Path):
    cache = TileCache()
    with open_slide(svs_path) as slide:
        region = slide.read_region((1000, 1400), 0, (300, 200))
        assert region.shape == (200, 300, 3) and region.dtype == np.uint8
        assert region.std() > 10  # real tissue, not blank
        level0, overview = slide.pyramid(cache)  # one level in the file, plus an overview
        assert level0.shape == (2967, 2220, 3)
        np.testing.assert_array_equal(level0[1400:1600, 1000:1300], region)
        assert isinstance(overview, DownsampledLevel)
        assert overview.shape == (1484, 1110, 3) and overview.downsample == 2.0
        fresh = TileCache()
        slide.pyramid(fresh)[1][700:710, 500:510]
        assert fresh.misses == 1 + 4  # one overview tile, from four level-0 tiles
        full_array = slide.read_region((0, 0), 0, slide.dimensions)
        np.testing.assert_array_equal(np.asarray(overview), halve_rgb(full_array))
        thumb = slide.thumbnail(256)
        assert max(thumb.shape[:2]) == 256 and thumb.shape[2] == 3
        # the thumbnail is the whole slide shrunk, assembled block by block
        full = Image.fromarray(full_array)
        expected = np.asarray(full.resize(thumb.shape[1::-1], Image.Resampling.BOX))
        assert np.abs(expected.astype(int) - thumb).mean() < 2
        edge = slide.read_region((2100, 2900), 0, (200, 200))
        assert np.all(edge[100:, 150:] == 255)  # outside the slide: white


def test_ndpi_seven_levels_brackets_and_mpp(ndpi_path: Path):
    assert "(" in ndpi_path.name
    with open_slide(ndpi_path) as slide:
        assert slide.vendor == "hamamatsu"
        assert slide.level_count == 7
        assert slide.dimensions == (3968, 4864)
        assert slide.level_downsamples[-1] == pytest.approx(64)
        assert slide.mpp == pytest.approx(0.228, abs=1e-3)
        assert slide.associated_image_names == ()
        assert slide.identifying_image_names == ("macro",)
        level, scale = slide.level_for_mpp(slide.mpp * 4)
        assert (level, scale) == (2, 1.0)
        level, scale = slide.level_for_mpp(1.0)
        assert level == 2 and scale == pytest.approx(slide.mpp * 4 / 1.0)
        assert slide.best_level_for_downsample(10) == 3
        assert slide.best_level_for_downsample(0.5) == 0


def test_ndpi_pyramid_reads_only_needed_tiles(ndpi_path: Path):
    cache = TileCache()
    with open_slide(ndpi_path) as slide:
        levels = slide.pyramid(cache)
        assert [lv.shape[:2] for lv in levels] == [(h, w) for w, h in slide.level_dimensions]
        assert all(isinstance(lv, LazyLevel) and lv.dtype == np.uint8 for lv in levels)
        levels[0][0:10, 0:10]
        assert cache.misses == 1
        levels[0][250:260, 250:260]  # crosses four tiles, one of them cached
        assert cache.misses == 4
        levels[0][5:6, 5:6]
        assert cache.hits >= 2 and cache.misses == 4
        level3 = levels[3]
        expected = slide.read_region((0, 0), 3, level3.shape[1::-1])
        np.testing.assert_array_equal(level3[10:300:3, 5:200], expected[10:300:3, 5:200])
        np.testing.assert_array_equal(
            np.asarray(levels[-1]), slide.read_region((0, 0), 6, (62, 76))
        )
    assert len(cache) == 0  # closing the slide drops its tiles


# --- corrupt and unusual files ----------------------------------------------------------


def test_not_a_slide_and_missing(tmp_path: Path):
    junk = tmp_path / "junk.svs"
    junk.write_bytes(b"junk" * 100)
    with pytest.raises(InputError, match="not a slide format") as info:
        open_slide(junk)
    assert info.value.path == junk
    with pytest.raises(InputError, match="not found"):
        open_slide(tmp_path / "absent.ndpi")


def test_corrupt_tile_data_gives_input_error(svs_path: Path, tmp_path: Path):
    blob = bytearray(svs_path.read_bytes())
    quarter = len(blob) // 4
    blob[quarter : 2 * quarter] = bytes(quarter)
    broken = tmp_path / "broken.svs"
    broken.write_bytes(bytes(blob))
    with open_slide(broken) as slide, pytest.raises(InputError, match="cannot read pixels"):
        slide.read_region((0, 0), 0, slide.dimensions)


def test_missing_mpp_warns_and_override(tmp_path: Path, image: np.ndarray):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, image, tile=(64, 64), photometric="rgb")
    with pytest.warns(MissingMppWarning, match="plain.tif"):
        slide = open_slide(path)
    assert slide.mpp is None and slide.mpp_source == "missing"
    with pytest.raises(InputError, match="microns-per-pixel"):
        slide.level_for_mpp(0.5)
    slide.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slide = open_slide(path, mpp_override=0.25)
    assert slide.mpp == 0.25 and slide.mpp_source == "override"
    assert slide.level_for_mpp(0.5) == (0, 0.5)
    np.testing.assert_array_equal(slide.read_region((10, 20), 0, (30, 40)), image[20:60, 10:40])
    slide.close()
    with pytest.raises(InputError, match="closed"):
        slide.read_region((0, 0), 0, (1, 1))
    with pytest.raises(ValueError, match="positive"):
        open_slide(path, mpp_override=-1)


def test_tiff_resolution_gives_mpp(tmp_path: Path, image: np.ndarray):
    path = tmp_path / "res.tif"
    tifffile.imwrite(
        path,
        image,
        tile=(64, 64),
        photometric="rgb",
        resolution=(1e4 / 0.5, 1e4 / 0.5),
        resolutionunit="CENTIMETER",
    )
    with open_slide(path) as slide:
        assert slide.mpp == pytest.approx(0.5) and slide.mpp_source == "metadata"


@pytest.mark.parametrize("writable", [True, False])
def test_openslide_pixels_become_rgb_on_white(image: np.ndarray, writable: bool):
    """What OpenSlide hands back (RGBA; transparent where the scan has no tissue data)."""
    from corebt_viewer.io.slides.openslide_reader import _to_rgb

    opaque = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    rgb = _to_rgb(Image.fromarray(opaque, "RGBA"), writable)
    assert rgb.shape == image.shape and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, image)
    assert rgb.flags.writeable is writable
    holed = opaque.copy()
    holed[:10, :20, 3] = 0  # a hole: white, whatever colour OpenSlide left there
    holed[10:12, :20, 3] = 128  # half covered: halfway to white
    rgb = _to_rgb(Image.fromarray(holed, "RGBA"), writable)
    assert np.all(rgb[:10, :20] == 255)
    assert np.all(rgb[12:] == image[12:])
    expected = (image[10:12, :20].astype(int) * 128 + 255 * 127 + 127) // 255
    assert np.abs(rgb[10:12, :20].astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(_to_rgb(Image.fromarray(image, "RGB")), image)


# --- in-memory slide and the lazy level --------------------------------------------------


def test_virtual_slide_levels_and_alpha(image: np.ndarray):
    slide = open_slide(np.dstack([image, np.full(image.shape[:2], 255, np.uint8)]))
    assert isinstance(slide, VirtualSlide)
    assert slide.mpp is None and slide.mpp_source == "missing"
    rgba = np.zeros((600, 1100, 4), np.uint8)
    big = VirtualSlide(rgba, mpp=0.5, min_level_size=100)
    assert big.level_dimensions == ((1100, 600), (550, 300), (275, 150))
    assert big.level_mpp(2) == 2.0
    assert np.all(big.read_region((0, 0), 1, (10, 10)) == 255)  # transparent -> white
    np.testing.assert_array_equal(slide.read_region((0, 0), 0, (500, 300)), image)


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), slice(None)),
        (slice(10, 200), slice(60, 70)),
        (slice(5, 290, 7), slice(None, None, 3)),
        (slice(None, None, -1), slice(400, 10, -13)),
        (17, slice(3, 450)),
        (slice(3, 250), -1),
        (-5, 7),
        (-5, 7, 1),
        (Ellipsis, 0),
        (slice(0, 300, 299), slice(0, 500, 499), slice(None, 2)),
        (np.array([3, 299, 64, 65]), slice(100, 130)),
        (slice(None), np.array([0, 499, 128, 1])),
        (slice(50, 50), slice(None)),
    ],
)
def test_lazy_level_indexing_matches_numpy(image: np.ndarray, key):
    slide = VirtualSlide(image)
    (level0,) = slide.pyramid(TileCache(), tile_size=64)
    np.testing.assert_array_equal(level0[key], image[key])


def test_lazy_level_api_and_array_limit(image: np.ndarray, monkeypatch):
    slide = VirtualSlide(image)
    level = slide.pyramid(TileCache(), tile_size=64)[0]
    assert (level.shape, level.dtype, level.ndim, len(level)) == ((300, 500, 3), np.uint8, 3, 300)
    np.testing.assert_array_equal(np.asarray(level), image)
    np.testing.assert_array_equal(level.to_dask()[20:90, 30:200].compute(), image[20:90, 30:200])
    monkeypatch.setattr(lazy_module, "MAX_ARRAY_BYTES", 1000)
    with pytest.raises(ValueError, match="too large to load whole"):
        np.asarray(level)
    with pytest.raises(IndexError):
        level[300, 0]
    with pytest.raises(IndexError):
        level[0, 0, 0, 0]
    with pytest.raises(IndexError, match="one axis at a time"):
        level[np.array([1, 2]), np.array([1, 2])]


def test_tile_cache_is_byte_capped_lru():
    cache = TileCache(max_bytes=3 * 100)
    for i in range(3):
        cache.put(i, np.zeros(100, np.uint8))
    assert cache.get(0) is not None  # 0 becomes most recent
    cache.put(3, np.zeros(100, np.uint8))
    assert 1 not in cache and {0, 2, 3} <= set(cache._data)
    assert cache.nbytes == 300
    cache.put("huge", np.zeros(1000, np.uint8))
    assert "huge" not in cache and cache.nbytes == 300
    with pytest.raises(ValueError):
        cache.get(0)[0] = 1  # cached tiles are read-only


def test_tile_cache_loads_once_across_threads():
    cache = TileCache()
    calls = []

    def slow_loader():
        calls.append(1)
        time.sleep(0.05)
        return np.ones((4, 4, 3), np.uint8)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("k", slow_loader)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 8
    assert all(r is results[0] for r in results)


def test_pyramid_reads_concurrently_and_correctly(image: np.ndarray):
    slide = VirtualSlide(np.tile(image, (4, 4, 1)), min_level_size=64)
    levels = slide.pyramid(TileCache(max_bytes=64 * 64 * 3 * 10), tile_size=64)
    assert len(levels) == slide.level_count  # small enough: no overview added
    big = np.tile(image, (4, 4, 1))
    errors = []

    def worker(seed: int):
        rng = np.random.default_rng(seed)
        for _ in range(20):
            r, c = rng.integers(0, 1100), rng.integers(0, 1900)
            if not np.array_equal(levels[0][r : r + 90, c : c + 70], big[r : r + 90, c : c + 70]):
                errors.append((r, c))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_untiled_tiff_and_png_fall_back_to_whole_image(tmp_path: Path, image: np.ndarray):
    tifffile.imwrite(tmp_path / "strips.tif", image, photometric="rgb")
    Image.fromarray(image).save(tmp_path / "photo.png")
    for name in ("strips.tif", "photo.png"):
        with pytest.warns(MissingMppWarning), open_slide(tmp_path / name) as slide:
            assert slide.vendor == "image"
            np.testing.assert_array_equal(slide.read_region((0, 0), 0, (500, 300)), image)
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + b"\x01" * 100)
    with pytest.raises(InputError, match="cannot open slide"):
        open_slide(tmp_path / "bad.tif")


def test_reads_never_wait_on_a_queued_read_behind_a_blocked_pool(image, monkeypatch):
    """The overview tile this thread reads needs four parent tiles; the only pool thread
    waits for that same overview tile. Waiting on the queued parent reads would deadlock."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, initializer=lazy_module._mark_pool_thread)
    monkeypatch.setattr(lazy_module, "_pool", pool)
    slide = VirtualSlide(image, min_level_size=1000)
    cache = TileCache()
    parent = LazyLevel(slide, 0, cache, tile_size=64)
    overview = DownsampledLevel(parent)
    key = overview._key(0, 0)
    pool_waits, release = threading.Event(), threading.Event()
    read_tile = slide.read_tile

    def hooked_read_tile(*args):
        if not release.is_set():  # this thread owns the overview tile: let the pool wait on it
            release.set()
            time.sleep(0.2)
        return read_tile(*args)

    monkeypatch.setattr(slide, "read_tile", hooked_read_tile)

    def pool_reader():
        pool_waits.set()
        release.wait()
        return overview._tile(0, 0)  # waits: this thread is reading it

    pool.submit(pool_reader)
    pool_waits.wait()
    results = []
    thread = threading.Thread(target=lambda: results.append(overview[:64, :64]), daemon=True)
    thread.start()
    thread.join(timeout=10)
    deadlocked = thread.is_alive()
    if deadlocked:  # deadlocked: hand the tile to the pool thread so the test can end
        with cache._lock:
            cache._loading.pop(key).set()
        thread.join()
    pool.shutdown()
    assert not deadlocked
    np.testing.assert_array_equal(results[0], halve_rgb(image[:128, :128]))


def test_close_during_a_read_releases_the_file_after_it(image):
    """Closing a slide (switching case) while another thread reads it must not free the
    file under that read; the file is released when the read ends, and later reads fail."""
    reading, finish, released = threading.Event(), threading.Event(), []

    class SlowSlide(VirtualSlide):
        def _read_region(self, location, level, size):
            reading.set()
            finish.wait(10)
            return super()._read_region(location, level, size)

        def _close(self):
            released.append(finish.is_set())

    slide = SlowSlide(image)
    results = []
    reader = threading.Thread(target=lambda: results.append(slide.read_region((0, 0), 0, (8, 8))))
    reader.start()
    reading.wait(10)
    slide.close()
    assert released == []  # the read is still under way
    with pytest.raises(InputError, match="closed"):
        slide.read_region((0, 0), 0, (8, 8))
    finish.set()
    reader.join(10)
    np.testing.assert_array_equal(results[0], image[:8, :8])
    assert released == [True]  # released once, after the read
    slide.close()
    assert released == [True]
