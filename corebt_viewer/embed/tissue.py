"""Tissue detection on a low-resolution view of a slide, in the spirit of CLAM.

Steps (CLAM's, adapted): HSV saturation, median blur, Otsu threshold (with a floor, so a
blank slide stays blank), morphological closing, connected pieces filtered by area, and
holes larger than a limit kept out of the mask. Two departures from CLAM, both on purpose:

* the area filter scales with the slide (CLAM's fixed 100 x 512^2 level-0 pixels finds no
  tissue at all on small slides such as biopsies);
* the 7x7 median is computed as two separable 1-D medians (7x1 then 1x7), which keeps the
  whole detection under a second for a 40,000-pixel slide on one core.

Marker ink and dark debris are taken out of the mask (``TissueParams.remove_ink``, on by
default; :func:`ink_mask`): blue and green pen strokes are saturated like tissue and would
be kept by the saturation threshold; black ink and debris are dark. The rules are on the
RGB/HSV values of each overview pixel, then a small opening drops isolated pixels (dense
nuclei, colour fringes) and a dilation takes the strokes' blended edges.
:func:`tissue_method` names the method for the records of an embedding.

The overview is read level by level in strips and block-averaged, so no whole pyramid
level is ever held in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Longest side of the overview the mask is computed on (pixels).
OVERVIEW_MAX_SIDE = 1024
#: Bytes of one strip read from the slide while building the overview.
_STRIP_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True)
class TissueParams:
    """Settings of :func:`detect_tissue`.

    Attributes
    ----------
    saturation_threshold : int or None
        Fixed threshold on HSV saturation (0-255); ``None`` uses Otsu's threshold.
    min_saturation : int
        Floor for Otsu's threshold, so glass noise is never called tissue.
    median_size : int
        Median blur size in overview pixels (odd).
    closing_size : int
        Side of the square closing element in overview pixels.
    min_area_level0 : float or None
        Smallest tissue piece kept, in level-0 pixels squared; ``None`` scales it to the
        slide: ``min(min_area_tiles * tile area, max_area_fraction * slide area)``.
    min_area_tiles, max_area_fraction : float
        See ``min_area_level0``.
    hole_area_tiles : float
        Holes larger than this many tile areas stay out of the mask; smaller ones are filled.
    remove_ink : bool
        Take blue, green and black marker ink and dark debris out of the mask.
    ink_dark_value : int
        Pixels whose brightest channel is below this (0-255) are black ink or debris.
    ink_open_size : int
        Side of the opening that drops isolated ink-coloured pixels (overview pixels).
    ink_grow : int
        Overview pixels added around ink (its blended edge).
    """

    saturation_threshold: int | None = None
    min_saturation: int = 12
    median_size: int = 7
    closing_size: int = 4
    min_area_level0: float | None = None
    min_area_tiles: float = 1.0
    max_area_fraction: float = 0.01
    hole_area_tiles: float = 0.25
    remove_ink: bool = True
    ink_dark_value: int = 40
    ink_open_size: int = 3
    ink_grow: int = 1


#: Name of the detection method in records: today's CLAM-like steps, with or without ink removal.
TISSUE_METHOD = "clam-like-v2-ink"
TISSUE_METHOD_NO_INK = "clam-like-v1"


def tissue_method(params: TissueParams | None = None) -> str:
    """The method identifier to record for `params` (``"clam-like-v2-ink"`` by default)."""
    params = params or TissueParams()
    return TISSUE_METHOD if params.remove_ink else TISSUE_METHOD_NO_INK


@dataclass(frozen=True)
class TissueMask:
    """A tissue mask on an overview of a slide.

    Attributes
    ----------
    mask : ndarray of bool, shape (rows, cols)
        True on tissue.
    downsample : float
        Level-0 pixels per mask pixel.
    threshold : float
        Saturation threshold used (0-255).
    n_pieces : int
        Tissue pieces kept after the area filter.
    overview : ndarray of uint8, shape (rows, cols, 3)
        The RGB overview the mask was computed on.
    ink : ndarray of bool or None
        Marker ink and dark debris taken out of the mask (``None``: ink removal off, or
        skipped: ``notes`` says why).
    notes : tuple of str
        What the user should know about this detection (ink removal skipped...).
    """

    mask: np.ndarray
    downsample: float
    threshold: float
    n_pieces: int
    overview: np.ndarray
    ink: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def ink_fraction(self) -> float:
        """Fraction of the slide found to be ink or debris (0 when ink removal is off)."""
        return float(self.ink.mean()) if self.ink is not None and self.ink.size else 0.0

    @property
    def fraction(self) -> float:
        """Fraction of the slide covered by tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0


def read_overview(slide, max_side: int = OVERVIEW_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Read a small RGB view of a slide without loading a whole level.

    Picks the coarsest level at least as fine as the wanted downsample, reads it in
    horizontal strips and block-averages each strip by an integer factor.

    Parameters
    ----------
    slide : SlideReader
        Any reader with ``dimensions``, ``level_dimensions``, ``level_downsamples`` and
        ``read_region`` (see :mod:`corebt_viewer.io.slides`).
    max_side : int
        Longest side of the result, in pixels (approximately).

    Returns
    -------
    overview : ndarray of uint8, shape (rows, cols, 3)
    downsample : float
        Level-0 pixels per overview pixel.
    """
    width, height = slide.dimensions
    wanted = max(1.0, max(width, height) / max_side)
    downsamples = [float(d) for d in slide.level_downsamples]
    level = max(i for i, d in enumerate(downsamples) if d <= wanted * 1.001 or i == 0)
    level_ds = downsamples[level]
    factor = max(1, int(math.ceil(wanted / level_ds - 1e-6)))
    lw, lh = slide.level_dimensions[level]
    out_w, out_h = max(1, lw // factor), max(1, lh // factor)
    overview = np.empty((out_h, out_w, 3), dtype=np.uint8)
    rows_per_strip = max(1, _STRIP_BYTES // max(1, lw * 3 * factor))
    for row in range(0, out_h, rows_per_strip):
        n_rows = min(rows_per_strip, out_h - row)
        y_level = row * factor
        strip = slide.read_region(
            (0, int(round(y_level * level_ds))), level, (out_w * factor, n_rows * factor)
        )
        strip = np.asarray(strip)[: n_rows * factor, : out_w * factor, :3]
        if factor > 1:
            from PIL import Image

            strip = np.asarray(Image.fromarray(np.ascontiguousarray(strip)).reduce(factor))
        overview[row : row + n_rows] = strip
    return overview, level_ds * factor


def saturation(rgb: np.ndarray) -> np.ndarray:
    """HSV saturation (0-255, uint8) of an RGB uint8 image."""
    rgb = rgb[..., :3]
    high = rgb.max(axis=-1).astype(np.int32)
    low = rgb.min(axis=-1).astype(np.int32)
    sat = np.zeros(high.shape, dtype=np.int32)
    np.floor_divide(255 * (high - low), high, out=sat, where=high > 0)
    return sat.astype(np.uint8)


def is_dark_field(rgb: np.ndarray) -> bool:
    """True when most of the overview is dark (fluorescence): ink rules are for brightfield,
    where glass is bright."""
    return float(np.median(rgb[..., :3].max(axis=-1))) < 100


def ink_mask(rgb: np.ndarray, params: TissueParams | None = None) -> np.ndarray:
    """Marker ink (blue, green, black) and dark debris on an RGB overview.

    Rules per pixel (r, g, b, and ``v = max``, ``c = max - min``):

    * blue ink: blue is the largest channel, 25 above red and green, and at least 2.2
      times red (haematoxylin's purple, even in dense nuclei, stays under 2x red);
    * green (and cyan) ink: green at least 15 above red, ``c >= 15`` (H&E never has green
      above red: green is its weakest channel);
    * black ink and debris: ``v < ink_dark_value``.

    Then an opening of ``ink_open_size`` drops isolated pixels, and a dilation of
    ``ink_grow`` takes the edges. All vectorised (int16 arrays, two binary morphologies).

    Returns
    -------
    ndarray of bool, shape (rows, cols)
    """
    from scipy import ndimage as ndi

    params = params or TissueParams()
    rgb = rgb[..., :3]
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    high = np.maximum(np.maximum(r, g), b)
    chroma = high - np.minimum(np.minimum(r, g), b)
    blue = (b == high) & (b - r >= 25) & (b - g >= 25) & (b * 10 >= 22 * r)
    green = (g - r >= 15) & (chroma >= 15)
    ink = blue | green | (high < params.ink_dark_value)
    size = int(params.ink_open_size)
    if size > 1 and ink.any():
        ink = ndi.binary_opening(ink, structure=np.ones((size, size), dtype=bool))
    if params.ink_grow > 0 and ink.any():
        ink = ndi.binary_dilation(ink, iterations=int(params.ink_grow))
    return ink


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of uint8 values (the level that best splits the histogram)."""
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 0.0
    levels = np.arange(256, dtype=np.float64)
    weight_low = np.cumsum(hist)
    weight_high = total - weight_low
    cum_mean = np.cumsum(hist * levels)
    mean_low = np.divide(cum_mean, weight_low, out=np.zeros(256), where=weight_low > 0)
    mean_high = np.divide(
        cum_mean[-1] - cum_mean, weight_high, out=np.zeros(256), where=weight_high > 0
    )
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(np.argmax(between))


def mask_tissue(
    rgb: np.ndarray,
    *,
    downsample: float = 1.0,
    tile_area_level0: float = 512.0**2,
    params: TissueParams | None = None,
) -> TissueMask:
    """Compute the tissue mask of an RGB overview.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
    downsample : float
        Level-0 pixels per overview pixel (to express areas in level-0 pixels).
    tile_area_level0 : float
        Area of one tile in level-0 pixels squared (scales the area and hole filters).
    params : TissueParams, optional

    Returns
    -------
    TissueMask

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.full((64, 64, 3), 240, np.uint8)
    >>> rgb[16:48, 16:48] = (180, 90, 160)
    >>> result = mask_tissue(rgb, tile_area_level0=16.0)
    >>> int(result.mask.sum())
    1024
    """
    from scipy import ndimage as ndi

    params = params or TissueParams()
    sat = saturation(rgb)
    ink, notes = None, ()
    if params.remove_ink:
        if is_dark_field(rgb):
            notes = ("ink removal skipped: dark background (a fluorescence slide?)",)
        else:
            ink = ink_mask(rgb, params)
    if ink is not None:
        sat[ink] = 0  # ink is neither tissue nor a part of Otsu's tissue population
    size = max(1, int(params.median_size))
    if size > 1:
        sat = ndi.median_filter(ndi.median_filter(sat, size=(size, 1)), size=(1, size))
    if params.saturation_threshold is None:
        threshold = max(float(params.min_saturation), otsu_threshold(sat))
    else:
        threshold = float(params.saturation_threshold)
    mask = sat > threshold
    if ink is not None:
        mask &= ~ink
    if params.closing_size > 1 and mask.any():
        element = np.ones((params.closing_size, params.closing_size), dtype=bool)
        pad = params.closing_size
        padded = np.pad(mask, pad)
        mask = ndi.binary_closing(padded, structure=element)[pad:-pad, pad:-pad]

    px_area = downsample * downsample
    slide_area = mask.size * px_area
    if params.min_area_level0 is None:
        min_area = min(
            params.min_area_tiles * tile_area_level0, params.max_area_fraction * slide_area
        )
    else:
        min_area = params.min_area_level0
    hole_area = params.hole_area_tiles * tile_area_level0

    filled, n_kept = _drop_small(ndi.binary_fill_holes(mask), min_area, px_area)
    holes = filled & ~mask
    if holes.any():
        hole_labels, n_holes = ndi.label(holes)
        hole_areas = np.bincount(hole_labels.ravel(), minlength=n_holes + 1) * px_area
        big = hole_areas > hole_area
        big[0] = False
        filled = filled & ~big[hole_labels]
    if ink is not None and (filled & ink).any():
        # ink enclosed by tissue was filled back as a hole: take it out, and the slivers
        # it leaves
        filled, n_kept = _drop_small(filled & ~ink, min_area, px_area)
    return TissueMask(
        mask=filled,
        downsample=float(downsample),
        threshold=threshold,
        n_pieces=n_kept,
        overview=rgb,
        ink=ink,
        notes=notes,
    )


def _drop_small(mask: np.ndarray, min_area: float, px_area: float) -> tuple[np.ndarray, int]:
    """The mask without pieces smaller than `min_area` (level-0 px²), and the pieces left."""
    from scipy import ndimage as ndi

    pieces, n = ndi.label(mask)
    if not n:
        return mask, 0
    areas = np.bincount(pieces.ravel(), minlength=n + 1) * px_area
    keep = areas >= min_area
    keep[0] = False
    return keep[pieces], int(keep.sum())


def detect_tissue(
    slide,
    *,
    tile_area_level0: float = 512.0**2,
    params: TissueParams | None = None,
    max_side: int = OVERVIEW_MAX_SIDE,
) -> TissueMask:
    """Detect tissue on a slide: :func:`read_overview` then :func:`mask_tissue`."""
    overview, downsample = read_overview(slide, max_side=max_side)
    return mask_tissue(
        overview, downsample=downsample, tile_area_level0=tile_area_level0, params=params
    )
