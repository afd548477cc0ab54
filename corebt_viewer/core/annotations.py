"""Slide region annotations as plain data: classes, regions, a slide's set of regions.

Geometry follows GeoJSON (and QuPath's export of it): a region is a ``Polygon`` or a
``MultiPolygon``; each polygon is a list of rings, the exterior first and its holes after;
each ring is an (n, 2) array of level-0 pixel (x, y), closed (first point repeated last).
No geometry library is needed here: validity, areas and point tests are in
:mod:`corebt_viewer.io.annotations.geometry` (shapely).

>>> square = np.array([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], float)
>>> region = Region.polygon([square], class_name="tumour")
>>> region.translated(5, 0).bounds
(5.0, 0.0, 15.0, 10.0)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import numpy as np

#: Geometry types a region may have.
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
#: QuPath's object type of a drawn region.
ANNOTATION = "annotation"

Ring = np.ndarray  # (n, 2) float64, closed
PolygonRings = tuple[Ring, ...]  # exterior, then holes


@dataclass(frozen=True)
class RegionClass:
    """A class a region can carry, with its display colour (QuPath's ``classification``)."""

    name: str
    color: tuple[int, int, int]


#: The default, editable list of region classes (colours close to QuPath's defaults).
DEFAULT_REGION_CLASSES: tuple[RegionClass, ...] = (
    RegionClass("tumour", (200, 0, 0)),
    RegionClass("necrosis", (50, 50, 50)),
    RegionClass("normal", (0, 150, 0)),
    RegionClass("artefact", (250, 200, 0)),
    RegionClass("other", (128, 0, 255)),
)
#: The class whose regions always remove their tiles from embedding.
ARTEFACT = "artefact"
#: Other spellings of a class that mean the same (QuPath's defaults are US English).
CLASS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "tumour": ("tumour", "tumor"),
    "artefact": ("artefact", "artifact"),
}


def class_aliases(names) -> set[str]:
    """Lower-case names that match any of `names`, synonyms included."""
    out: set[str] = set()
    for name in names:
        key = name.lower()
        out.add(key)
        for group in CLASS_SYNONYMS.values():
            if key in group:
                out.update(group)
    return out


def close_ring(points) -> Ring:
    """An (n, 2) float64 ring with its first point repeated last (GeoJSON's convention)."""
    ring = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(ring) and not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    return ring


@dataclass(frozen=True, eq=False)
class Region:
    """One annotated region of a slide.

    Attributes
    ----------
    polygons : tuple of tuple of ndarray
        Polygons, each a tuple of closed rings (exterior first, then holes), level-0 (x, y).
    geometry_type : str
        ``"Polygon"`` (one polygon) or ``"MultiPolygon"``.
    class_name : str or None
        The class (``None``: unclassified, as QuPath allows).
    color : tuple of int or None
        The class colour written to the file (``None``: the class list decides).
    name : str or None
        QuPath's optional object name.
    locked : bool
        QuPath's ``isLocked``.
    object_type : str
        QuPath's ``objectType`` (``"annotation"``).
    id : str
        A stable identifier (QuPath's feature ``id`` when the file has one).
    extra : dict
        Other properties of the feature, kept for the round trip (``measurements``...).
    """

    polygons: tuple[PolygonRings, ...]
    geometry_type: str = "Polygon"
    class_name: str | None = None
    color: tuple[int, int, int] | None = None
    name: str | None = None
    locked: bool = False
    object_type: str = ANNOTATION
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"geometry type {self.geometry_type!r} is not one of {GEOMETRY_TYPES}")
        if not self.polygons or any(len(p) == 0 for p in self.polygons):
            raise ValueError("a region needs at least one polygon with an exterior ring")
        if self.geometry_type == "Polygon" and len(self.polygons) != 1:
            raise ValueError("a Polygon region holds exactly one polygon")

    @classmethod
    def polygon(cls, rings, **kwargs) -> Region:
        """A one-polygon region from rings (exterior first); rings are closed for you."""
        return cls(polygons=(tuple(close_ring(r) for r in rings),), **kwargs)

    @classmethod
    def rectangle(cls, x: float, y: float, width: float, height: float, **kwargs) -> Region:
        """An axis-aligned rectangle with its top-left corner at (x, y)."""
        corners = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
        return cls.polygon([corners], **kwargs)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) of the exterior rings."""
        points = np.vstack([p[0] for p in self.polygons])
        low, high = points.min(axis=0), points.max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])

    @property
    def n_holes(self) -> int:
        return sum(len(p) - 1 for p in self.polygons)

    def translated(self, dx: float, dy: float) -> Region:
        """The same region moved by (dx, dy) level-0 pixels (same id)."""
        shift = np.array([dx, dy], dtype=np.float64)
        moved = tuple(tuple(ring + shift for ring in poly) for poly in self.polygons)
        return replace(self, polygons=moved)

    def with_changes(self, **changes) -> Region:
        """A copy with some fields changed (same id unless `id` is given)."""
        return replace(self, **changes)

    def same_as(self, other: Region) -> bool:
        """True when both regions hold the same data (arrays compared by value)."""
        if not isinstance(other, Region):
            return False
        simple = ("geometry_type", "class_name", "color", "name", "locked", "object_type", "id")
        if any(getattr(self, k) != getattr(other, k) for k in simple) or self.extra != other.extra:
            return False
        if len(self.polygons) != len(other.polygons):
            return False
        for mine, theirs in zip(self.polygons, other.polygons, strict=True):
            if len(mine) != len(theirs):
                return False
            if not all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True)):
                return False
        return True


@dataclass(frozen=True)
class SlideAnnotations:
    """The regions of one slide and the class list they are drawn with.

    Attributes
    ----------
    regions : tuple of Region
    classes : tuple of RegionClass
        The editable class list (defaults to :data:`DEFAULT_REGION_CLASSES`).
    """

    regions: tuple[Region, ...] = ()
    classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES

    def __len__(self) -> int:
        return len(self.regions)

    def class_color(self, name: str | None) -> tuple[int, int, int] | None:
        """The colour of class `name` in the class list, or ``None``."""
        for cls in self.classes:
            if cls.name == name:
                return cls.color
        return None

    def region(self, region_id: str) -> Region:
        for region in self.regions:
            if region.id == region_id:
                return region
        raise KeyError(f"no region {region_id!r}")

    def of_classes(self, names) -> tuple[Region, ...]:
        """Regions whose class is one of `names` (case-insensitive, synonyms such as
        QuPath's "Tumor" for "tumour" included)."""
        wanted = class_aliases(names)
        return tuple(r for r in self.regions if (r.class_name or "").lower() in wanted)

    def class_names_present(self) -> list[str]:
        """The classes used by at least one region, sorted (``"unclassified"`` for none)."""
        return sorted({r.class_name or "unclassified" for r in self.regions})
