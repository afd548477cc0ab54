"""The slide reader interface, shared by the OpenSlide reader and the in-memory slide."""

from __future__ import annotations

import itertools
import math
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.slide import SlideInfo
from corebt_viewer.io.slides.cache import TileCache, default_tile_cache
from corebt_viewer.io.slides.lazy import TILE_SIZE, DownsampledLevel, LazyLevel

#: Associated images that cannot show a patient's identity; all others (label, macro,
#: overview...) may, and are hidden unless a user asks for them.
SAFE_ASSOCIATED = frozenset({"thumbnail"})

_tokens = itertools.count(1)

#: :meth:`SlideReader.pyramid` adds halved levels until the smallest fits in this (px).
OVERVIEW_SIZE = 2048


class MissingMppWarning(UserWarning):
    """A slide has no microns-per-pixel in its metadata."""


class SlideReader(ABC):
    """A whole-slide image: a pyramid of RGB levels with a physical pixel size.

    Subclasses set ``path``, ``level_dimensions`` ((w, h) per level, largest first),
    ``level_downsamples``, ``mpp``, ``mpp_source`` and ``vendor``, and implement
    :meth:`_read_region`.
    """

    path: Path | None
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    mpp: float | None
    mpp_source: str
    vendor: str

    def __init__(self) -> None:
        self.token = next(_tokens)
        self._caches: list[TileCache] = []
        self._closed = False
        self._state_lock = threading.Lock()
        self._reads = 0  # reads in flight: the file is released after the last one
        self._released = False

    # -- metadata ---------------------------------------------------------------------

    @property
    def dimensions(self) -> tuple[int, int]:
        """(width, height) of level 0."""
        return self.level_dimensions[0]

    @property
    def level_count(self) -> int:
        return len(self.level_dimensions)

    @property
    def associated_image_names(self) -> tuple[str, ...]:
        """Associated images that are safe to show (label and macro are not listed)."""
        return tuple(n for n in self._associated_names() if n in SAFE_ASSOCIATED)

    @property
    def identifying_image_names(self) -> tuple[str, ...]:
        """Associated images that may show patient identifiers (label, macro...)."""
        return tuple(n for n in self._associated_names() if n not in SAFE_ASSOCIATED)

    def _associated_names(self) -> tuple[str, ...]:
        return ()

    def _properties(self) -> dict[str, str]:
        return {}

    def info(self) -> SlideInfo:
        """The slide's metadata as a plain dataclass."""
        return SlideInfo(
            path=self.path,
            vendor=self.vendor,
            level_dimensions=tuple(self.level_dimensions),
            level_downsamples=tuple(self.level_downsamples),
            mpp=self.mpp,
            mpp_source=self.mpp_source,
            associated_images=self.associated_image_names,
            identifying_images=self.identifying_image_names,
            properties=self._properties(),
        )

    def level_mpp(self, level: int) -> float | None:
        """Microns per pixel at `level`, or ``None`` when unknown."""
        return None if self.mpp is None else self.mpp * self.level_downsamples[level]

    def _set_mpp(self, from_metadata: float | None, override: float | None) -> None:
        """Settle ``mpp`` and ``mpp_source``; warn when the slide has none."""
        if override is not None:
            override = float(override)
            if not math.isfinite(override) or override <= 0:
                raise ValueError(f"mpp_override must be a positive number, got {override}")
            self.mpp, self.mpp_source = override, "override"
        elif from_metadata is not None:
            self.mpp, self.mpp_source = float(from_metadata), "metadata"
        else:
            self.mpp, self.mpp_source = None, "missing"

    def _warn_missing_mpp(self) -> None:
        if self.mpp_source == "missing":
            name = self.path.name if self.path is not None else "in-memory slide"
            warnings.warn(
                f"{name}: no microns-per-pixel in the slide's metadata, so its physical scale "
                "is unknown; give it with mpp_override (command line: --mpp)",
                MissingMppWarning,
                stacklevel=3,
            )

    # -- levels -----------------------------------------------------------------------

    def best_level_for_downsample(self, downsample: float) -> int:
        """The smallest level whose downsample does not exceed `downsample` (level 0 if none)."""
        best = 0
        for level, ds in enumerate(self.level_downsamples):
            if ds <= downsample * (1 + 1e-6):
                best = level
        return best

    def level_for_mpp(self, target_mpp: float, rtol: float = 0.01) -> tuple[int, float]:
        """The level to read for a target resolution and the resize factor to apply.

        Parameters
        ----------
        target_mpp : float
            Wanted microns per pixel.
        rtol : float
            A level up to this fraction coarser than the target still counts as a match.

        Returns
        -------
        (int, float)
            Level with the coarsest resolution at least as fine as `target_mpp`, and
            ``scale = level_mpp / target_mpp`` (1 when it matches; < 1 means shrink the
            pixels read by that factor).

        Raises
        ------
        InputError
            When the slide's microns per pixel is unknown.
        """
        if self.mpp is None:
            raise InputError(
                self.path,
                "no microns-per-pixel in the slide's metadata: give it with mpp_override",
            )
        if target_mpp <= 0:
            raise ValueError("target_mpp must be positive")
        level = 0
        for lv in range(self.level_count):
            if self.level_mpp(lv) <= target_mpp * (1 + rtol):
                level = lv
        scale = self.level_mpp(level) / target_mpp
        if abs(scale - 1) <= rtol:
            scale = 1.0
        return level, scale

    # -- pixels -----------------------------------------------------------------------

    @abstractmethod
    def _read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int]
    ) -> np.ndarray:
        """(h, w, 3) uint8 RGB at `level`, top-left at level-0 `location`."""

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int]
    ) -> np.ndarray:
        """Read a region as an RGB array (transparent and outside pixels become white).

        Parameters
        ----------
        location : (int, int)
            (x, y) of the top-left pixel in level-0 coordinates.
        level : int
        size : (int, int)
            (width, height) in pixels of `level`.

        Returns
        -------
        ndarray of uint8, shape (height, width, 3)
        """
        self._check_open()
        if not 0 <= level < self.level_count:
            raise IndexError(f"level {level} out of range: the slide has {self.level_count}")
        width, height = (int(v) for v in size)
        if width < 0 or height < 0:
            raise ValueError(f"negative region size {size}")
        if width == 0 or height == 0:
            return np.empty((height, width, 3), np.uint8)
        x, y = (int(v) for v in location)
        with self._reading():
            return self._read_region((x, y), level, (width, height))

    def read_tile(self, level: int, tx: int, ty: int, tile_size: int = TILE_SIZE) -> np.ndarray:
        """Tile (`tx`, `ty`) of the `tile_size` grid of `level`, clipped at the level's edge."""
        width, height = self.level_dimensions[level]
        x0, y0 = tx * tile_size, ty * tile_size
        w, h = min(tile_size, width - x0), min(tile_size, height - y0)
        ds = self.level_downsamples[level]
        return self._read_tile_region((round(x0 * ds), round(y0 * ds)), level, (w, h))

    def _read_tile_region(self, location, level, size) -> np.ndarray:
        """:meth:`read_region` for tiles bound for the (read-only) tile cache; readers may
        return a read-only array here to save a copy."""
        return self.read_region(location, level, size)

    def thumbnail(self, max_size: int = 1024) -> np.ndarray:
        """The whole slide shrunk to fit `max_size` pixels on its longer side.

        Reads the level closest to the wanted size block by block, so memory stays
        bounded even for a single-level slide.
        """
        from PIL import Image

        self._check_open()
        width0, height0 = self.dimensions
        factor = max(width0, height0) / max_size
        if factor <= 1:
            return self.read_region((0, 0), 0, (width0, height0))
        out_w, out_h = max(1, round(width0 / factor)), max(1, round(height0 / factor))
        level = self.best_level_for_downsample(factor)
        lw, lh = self.level_dimensions[level]
        sx, sy = lw / out_w, lh / out_h
        ds = self.level_downsamples[level]
        out = np.empty((out_h, out_w, 3), np.uint8)
        block = 256
        for oy in range(0, out_h, block):
            oh = min(block, out_h - oy)
            y0, y1 = round(oy * sy), min(lh, max(round((oy + oh) * sy), round(oy * sy) + 1))
            for ox in range(0, out_w, block):
                ow = min(block, out_w - ox)
                x0, x1 = round(ox * sx), min(lw, max(round((ox + ow) * sx), round(ox * sx) + 1))
                region = self.read_region(
                    (round(x0 * ds), round(y0 * ds)), level, (x1 - x0, y1 - y0)
                )
                small = Image.fromarray(region).resize((ow, oh), Image.Resampling.BOX)
                out[oy : oy + oh, ox : ox + ow] = np.asarray(small)
        return out

    def pyramid(
        self,
        cache: TileCache | None = None,
        tile_size: int = TILE_SIZE,
        max_overview: int | None = OVERVIEW_SIZE,
    ) -> list[LazyLevel]:
        """The levels as lazy array-likes, largest first (a napari multiscale image).

        Parameters
        ----------
        cache : TileCache, optional
            Shared tile cache (default: the process-wide one).
        tile_size : int
        max_overview : int or None
            When the file's smallest level is longer than this on a side (a slide with
            one level, or a shallow pyramid), halved levels computed from the one above
            are appended until one fits, so a viewer's overview never loads a large
            level whole. ``None`` keeps the file's levels only.
        """
        self._check_open()
        cache = default_tile_cache() if cache is None else cache
        if all(c is not cache for c in self._caches):
            self._caches.append(cache)
        levels = [LazyLevel(self, level, cache, tile_size) for level in range(self.level_count)]
        while max_overview is not None and max(levels[-1].shape[:2]) > max_overview:
            levels.append(DownsampledLevel(levels[-1]))
        return levels

    def read_associated(self, name: str, *, allow_identifying: bool = False) -> np.ndarray:
        """An associated image as RGB.

        Label and macro images can show the patient's name, so they are refused unless
        `allow_identifying` is true.
        """
        self._check_open()
        if name not in self._associated_names():
            raise KeyError(f"no associated image {name!r} in {self.info().name}")
        if name not in SAFE_ASSOCIATED and not allow_identifying:
            raise PermissionError(
                f"associated image {name!r} may show patient identifiers; "
                "pass allow_identifying=True to read it"
            )
        with self._reading():
            return self._read_associated(name)

    def _read_associated(self, name: str) -> np.ndarray:
        raise KeyError(name)

    # -- lifetime ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(self.path, "slide is closed")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the file open for one read: :meth:`close` from another thread meanwhile
        releases it when the read ends, never under it (freed memory, a crash or a hang)."""
        with self._state_lock:
            if self._closed:
                raise InputError(self.path, "slide is closed")
            self._reads += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._reads -= 1
                release = self._closed and self._reads == 0 and not self._released
                self._released = self._released or release
            if release:
                self._close()

    def close(self) -> None:
        """Drop this slide's tiles from the caches it used and release the file (at once,
        or when the reads in flight on other threads end); later reads raise."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            release = self._reads == 0
            self._released = release
        token = self.token
        for cache in self._caches:
            cache.evict(lambda key: key[0] == token)
        self._caches.clear()
        if release:
            self._close()

    def _close(self) -> None:  # noqa: B027 (optional hook)
        """Release the subclass's resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        w, h = self.dimensions
        mpp = f"{self.mpp:.4g}" if self.mpp is not None else "?"
        return (
            f"{type(self).__name__}({self.info().name!r}, {w}x{h}, levels={self.level_count}, "
            f"mpp={mpp} ({self.mpp_source}))"
        )


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Blend an RGBA uint8 image (straight alpha) onto white; returns RGB uint8."""
    rgb = rgba[..., :3]
    alpha = rgba[..., 3:4]
    if alpha.size == 0 or alpha.min() == 255:
        return np.ascontiguousarray(rgb)
    a = alpha.astype(np.uint16)
    out = (rgb.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)
