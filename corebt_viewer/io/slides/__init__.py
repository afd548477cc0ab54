"""Whole-slide images: one factory, an OpenSlide reader, an in-memory slide, a lazy pyramid.

>>> with open_slide("slide.svs") as slide:  # doctest: +SKIP
...     levels = slide.pyramid()            # napari multiscale data, read tile by tile
...     region = slide.read_region((1000, 2000), 0, (512, 512))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.io.slides.cache import TileCache, default_tile_cache
from corebt_viewer.io.slides.lazy import MAX_ARRAY_BYTES, TILE_SIZE, DownsampledLevel, LazyLevel
from corebt_viewer.io.slides.reader import MissingMppWarning, SlideReader
from corebt_viewer.io.slides.virtual import VirtualSlide

__all__ = [
    "MAX_ARRAY_BYTES",
    "TILE_SIZE",
    "DownsampledLevel",
    "LazyLevel",
    "MissingMppWarning",
    "SlideReader",
    "TileCache",
    "VirtualSlide",
    "default_tile_cache",
    "open_slide",
]


def open_slide(
    source: str | Path | np.ndarray, *, mpp_override: float | None = None
) -> SlideReader:
    """Open a slide file with OpenSlide, or wrap an RGB array as an in-memory slide.

    Parameters
    ----------
    source : path-like or ndarray
        A file in any format OpenSlide reads, a folder of DICOM whole-slide instances,
        or an image array.
    mpp_override : float, optional
        Microns per pixel at level 0, used instead of the slide's metadata (for slides
        that have none).

    Returns
    -------
    SlideReader

    Raises
    ------
    InputError
        The file is missing, unreadable or not a slide.
    """
    if isinstance(source, np.ndarray):
        return VirtualSlide(source, mpp_override=mpp_override)
    from corebt_viewer.io.slides.openslide_reader import OpenSlideReader

    return OpenSlideReader(source, mpp_override=mpp_override)
