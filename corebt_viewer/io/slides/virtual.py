"""A slide held in memory as a numpy array (tests, generated images, screenshots)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.io.slides.lazy import halve_rgb
from corebt_viewer.io.slides.reader import SlideReader


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert a grey, RGB or RGBA image (uint8, or float in 0-1) to RGB uint8."""
    from corebt_viewer.io.slides.reader import composite_on_white

    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected a (h, w), (h, w, 3) or (h, w, 4) image, got {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f" and arr.size and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
    if arr.shape[2] == 4:
        arr = composite_on_white(arr)
    return np.ascontiguousarray(arr)


class VirtualSlide(SlideReader):
    """An in-memory slide with a 2x pyramid built from a numpy image.

    Parameters
    ----------
    image : ndarray
        (h, w), (h, w, 3) or (h, w, 4); uint8, or float in 0-1.
    mpp : float, optional
        Microns per pixel at level 0 (its "metadata").
    mpp_override : float, optional
    min_level_size : int
        Levels are halved until the shorter side would fall below this.
    path : Path, optional
        A name to show.
    """

    vendor = "array"

    def __init__(
        self,
        image: np.ndarray,
        *,
        mpp: float | None = None,
        mpp_override: float | None = None,
        min_level_size: int = 256,
        path: str | Path | None = None,
    ):
        super().__init__()
        self.path = None if path is None else Path(path)
        levels = [as_rgb_uint8(image)]
        if min(levels[0].shape[:2]) < 1:
            raise ValueError("image is empty")
        while min(levels[-1].shape[:2]) // 2 >= min_level_size:
            levels.append(halve_rgb(levels[-1]))
        self._levels = levels
        self.level_dimensions = tuple((lv.shape[1], lv.shape[0]) for lv in levels)
        self.level_downsamples = tuple(float(2**i) for i in range(len(levels)))
        self._set_mpp(mpp, mpp_override)

    def _read_region(self, location, level, size) -> np.ndarray:
        data = self._levels[level]
        ds = self.level_downsamples[level]
        x, y = round(location[0] / ds), round(location[1] / ds)
        w, h = size
        out = np.full((h, w, 3), 255, np.uint8)
        lh, lw = data.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, lw), min(y + h, lh)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = data[y0:y1, x0:x1]
        return out
