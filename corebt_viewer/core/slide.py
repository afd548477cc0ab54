"""Metadata of a whole-slide image, as a plain dataclass (no reader needed to hold it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SlideInfo:
    """What a slide reader knows about a slide without reading its pixels.

    Attributes
    ----------
    path : Path or None
        Source file (``None`` for an in-memory slide).
    vendor : str
        Format as OpenSlide names it (``"aperio"``, ``"hamamatsu"``...), ``"array"`` for
        an in-memory slide.
    level_dimensions : tuple of (int, int)
        (width, height) of each pyramid level, largest first.
    level_downsamples : tuple of float
        Downsample of each level relative to level 0.
    mpp : float or None
        Microns per pixel at level 0.
    mpp_source : str
        ``"metadata"``, ``"override"`` or ``"missing"``.
    associated_images : tuple of str
        Associated images that are safe to show (thumbnails).
    identifying_images : tuple of str
        Associated images that may show patient identifiers (label, macro...): never
        shown unless a user asks.
    properties : dict of str -> str
        A few vendor properties worth showing (objective power, scanner...).
    """

    path: Path | None
    vendor: str
    level_dimensions: tuple[tuple[int, int], ...]
    level_downsamples: tuple[float, ...]
    mpp: float | None
    mpp_source: str
    associated_images: tuple[str, ...] = ()
    identifying_images: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def dimensions(self) -> tuple[int, int]:
        """(width, height) at level 0."""
        return self.level_dimensions[0]

    @property
    def level_count(self) -> int:
        return len(self.level_dimensions)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "<array>"

    def level_mpp(self, level: int) -> float | None:
        """Microns per pixel at `level`, or ``None`` when unknown."""
        return None if self.mpp is None else self.mpp * self.level_downsamples[level]
