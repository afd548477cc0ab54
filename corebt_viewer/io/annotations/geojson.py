"""Region annotations as GeoJSON in QuPath's layout: read (import) and write.

QuPath exports a ``FeatureCollection`` (older versions: a bare list of features); each
feature has a ``geometry`` (``Polygon`` / ``MultiPolygon`` in level-0 pixel coordinates,
holes as extra rings) and ``properties`` with ``objectType`` (``"annotation"``,
``"detection"``, ``"cell"``...), ``classification`` ``{name, color: [r, g, b]}`` (QuPath
0.2: ``colorRGB``, a packed integer), optional ``name`` and ``isLocked``. Reading keeps
annotations with polygonal geometry; everything else is listed in the result's ``skipped``
with the reason, never dropped unsaid. Other properties (``measurements``...) are kept and
written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.annotations import (
    ANNOTATION,
    DEFAULT_REGION_CLASSES,
    GEOMETRY_TYPES,
    Region,
    RegionClass,
    SlideAnnotations,
)
from corebt_viewer.core.errors import InputError

#: Properties read into :class:`Region` fields (the others go to ``Region.extra``).
_KNOWN_PROPERTIES = ("objectType", "classification", "name", "isLocked")
#: QuPath 0.2 wrote the object's Java type as the feature ``id`` and no ``objectType``.
_LEGACY_TYPES = {
    "PathAnnotationObject": "annotation",
    "PathDetectionObject": "detection",
    "PathCellObject": "cell",
    "PathTileObject": "tile",
    "TMACoreObject": "tma_core",
}
#: Colour of a class met in a file without one.
_UNKNOWN_COLOR = (160, 160, 160)


@dataclass(frozen=True)
class SkippedFeature:
    """A feature of a file that did not become a region, and why."""

    index: int
    object_type: str | None
    geometry_type: str | None
    reason: str

    def describe(self) -> str:
        what = " ".join(p for p in (self.object_type, self.geometry_type) if p) or "feature"
        return f"feature {self.index} ({what}): {self.reason}"


@dataclass(frozen=True)
class AnnotationImport:
    """What reading a GeoJSON file gave.

    Attributes
    ----------
    annotations : SlideAnnotations
        The regions read, with the class list extended by classes the file brought.
    skipped : tuple of SkippedFeature
        Features not imported (detections, points, lines...), each with its reason.
    notes : tuple of str
        Other things the user should know (repaired geometry, new classes).
    """

    annotations: SlideAnnotations
    skipped: tuple[SkippedFeature, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> list[str]:
        """Lines for a user: counts, then each skipped feature (grouped) and each note."""
        lines = [f"{len(self.annotations)} region(s) read, {len(self.skipped)} feature(s) skipped"]
        groups: dict[str, list[int]] = {}
        for item in self.skipped:
            key = " ".join(p for p in (item.object_type, item.geometry_type) if p)
            groups.setdefault(f"{key or 'feature'}: {item.reason}", []).append(item.index)
        for reason, indices in groups.items():
            shown = ", ".join(str(i) for i in indices[:5]) + (", ..." if len(indices) > 5 else "")
            lines.append(f"skipped {len(indices)} x {reason} (feature {shown})")
        lines.extend(self.notes)
        return lines


# --------------------------------------------------------------------------- reading


def _color(classification: dict) -> tuple[int, int, int] | None:
    color = classification.get("color")
    if isinstance(color, list | tuple) and len(color) >= 3:
        return tuple(int(c) & 0xFF for c in color[:3])
    packed = classification.get("colorRGB")
    if isinstance(packed, int):
        packed &= 0xFFFFFF
        return (packed >> 16) & 0xFF, (packed >> 8) & 0xFF, packed & 0xFF
    return None


def _rings(polygon) -> tuple[np.ndarray, ...]:
    rings = []
    for ring in polygon:
        array = np.asarray(ring, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] < 2 or len(array) < 3:
            raise ValueError("a ring needs at least 3 (x, y) points")
        array = array[:, :2]
        if not np.isfinite(array).all():
            raise ValueError("a coordinate is not a finite number")
        if not np.array_equal(array[0], array[-1]):
            array = np.vstack([array, array[:1]])
        rings.append(array)
    if not rings:
        raise ValueError("a polygon without rings")
    return tuple(rings)


def _features(document, path) -> list:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise InputError(path, "not GeoJSON: expected a FeatureCollection, a Feature or a list")
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise InputError(path, "FeatureCollection without a 'features' list")
        return features
    if kind == "Feature":
        return [document]
    raise InputError(path, f"not GeoJSON features (type {kind!r}; expected FeatureCollection)")


def _region(index: int, feature, seen_ids: set[str]) -> Region | SkippedFeature:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return SkippedFeature(index, None, None, "not a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        props = {}
    object_type = props.get("objectType")
    region_id = feature.get("id")
    if object_type is None and region_id in _LEGACY_TYPES:
        object_type, region_id = _LEGACY_TYPES[region_id], None
    geometry = feature.get("geometry")
    geometry_type = geometry.get("type") if isinstance(geometry, dict) else None
    if object_type is not None and str(object_type).lower() != ANNOTATION:
        reason = "only annotations become regions"
        return SkippedFeature(index, str(object_type), geometry_type, reason)
    if geometry_type is None:
        return SkippedFeature(index, object_type, None, "no geometry")
    if geometry_type not in GEOMETRY_TYPES:
        reason = "unsupported geometry type (regions are Polygon or MultiPolygon)"
        return SkippedFeature(index, object_type, geometry_type, reason)
    coordinates = geometry.get("coordinates")
    try:
        if geometry_type == "Polygon":
            polygons = (_rings(coordinates),)
        else:
            polygons = tuple(_rings(p) for p in coordinates)
            if not polygons:
                raise ValueError("a MultiPolygon without polygons")
    except (TypeError, ValueError) as exc:
        return SkippedFeature(index, object_type, geometry_type, f"bad coordinates ({exc})")
    classification = props.get("classification")
    classification = classification if isinstance(classification, dict) else {}
    class_name = classification.get("name")
    if class_name is None and isinstance(classification.get("names"), list):
        class_name = ": ".join(str(n) for n in classification["names"])
    if not isinstance(region_id, str) or not region_id or region_id in seen_ids:
        region_id = None
    name = props.get("name")
    kwargs = dict(
        polygons=polygons,
        geometry_type=geometry_type,
        class_name=None if class_name is None else str(class_name),
        color=_color(classification),
        name=None if name is None else str(name),
        locked=bool(props.get("isLocked", False)),
        object_type=str(object_type) if object_type is not None else ANNOTATION,
        extra={k: v for k, v in props.items() if k not in _KNOWN_PROPERTIES},
    )
    if region_id is not None:
        kwargs["id"] = region_id
    return Region(**kwargs)


def annotations_from_geojson(
    document, *, path=None, classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES
) -> AnnotationImport:
    """Regions of a parsed GeoJSON document (see :func:`read_geojson`)."""
    from corebt_viewer.io.annotations.geometry import repaired, validity_problems

    regions: list[Region] = []
    indices: list[int] = []
    skipped: list[SkippedFeature] = []
    notes: list[str] = []
    seen_ids: set[str] = set()
    for index, feature in enumerate(_features(document, path)):
        item = _region(index, feature, seen_ids)
        if isinstance(item, SkippedFeature):
            skipped.append(item)
            continue
        seen_ids.add(item.id)
        regions.append(item)
        indices.append(index)
    kept: list[Region] = []
    for index, region, problem in zip(indices, regions, validity_problems(regions), strict=True):
        if problem is not None:
            try:
                region = repaired(region)
            except ValueError as exc:
                skipped.append(
                    SkippedFeature(index, region.object_type, region.geometry_type, str(exc))
                )
                continue
            label = region.name or region.class_name or region.id
            notes.append(f"region {label!r}: invalid geometry ({problem}) repaired")
        kept.append(region)
    classes = tuple(classes)
    known = {c.name for c in classes}
    for region in kept:
        if region.class_name is not None and region.class_name not in known:
            known.add(region.class_name)
            classes += (RegionClass(region.class_name, region.color or _UNKNOWN_COLOR),)
            notes.append(f"class {region.class_name!r} added to the class list")
    skipped.sort(key=lambda s: s.index)
    return AnnotationImport(SlideAnnotations(tuple(kept), classes), tuple(skipped), tuple(notes))


def read_geojson(
    path: str | Path, *, classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES
) -> AnnotationImport:
    """Read a GeoJSON file of regions (a QuPath export, or a file this project wrote).

    Parameters
    ----------
    path : path-like
    classes : tuple of RegionClass
        The class list to start from; classes the file brings are appended.

    Returns
    -------
    AnnotationImport

    Raises
    ------
    InputError
        Missing file, not JSON, or not GeoJSON features.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a GeoJSON file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
    import orjson

    if text.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (some Windows tools)
        text = text[3:]
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    return annotations_from_geojson(document, path=path, classes=classes)


# --------------------------------------------------------------------------- writing


def _coordinates(ring: np.ndarray) -> list:
    return _ring_array(ring).tolist()


def _ring_array(ring: np.ndarray) -> np.ndarray:
    """The ring as QuPath writes it: integers when every coordinate is whole."""
    if np.all(ring == np.round(ring)):
        return np.ascontiguousarray(ring, dtype=np.int64)
    return np.ascontiguousarray(ring, dtype=np.float64)


def region_feature(
    region: Region, annotations: SlideAnnotations | None = None, *, arrays: bool = False
) -> dict:
    """One region as a QuPath GeoJSON Feature.

    With `arrays`, the rings stay numpy arrays (for ``orjson``'s numpy serialisation): no
    Python number or list per vertex is made.
    """
    ring_out = _ring_array if arrays else _coordinates
    rings = [[ring_out(r) for r in poly] for poly in region.polygons]
    coordinates = rings[0] if region.geometry_type == "Polygon" else rings
    props: dict = {"objectType": region.object_type}
    if region.class_name is not None:
        color = region.color
        if color is None and annotations is not None:
            color = annotations.class_color(region.class_name)
        props["classification"] = {
            "name": region.class_name,
            "color": list(color or _UNKNOWN_COLOR),
        }
    if region.name is not None:
        props["name"] = region.name
    props["isLocked"] = bool(region.locked)
    props.update(region.extra)
    return {
        "type": "Feature",
        "id": region.id,
        "geometry": {"type": region.geometry_type, "coordinates": coordinates},
        "properties": props,
    }


def annotations_to_geojson(annotations: SlideAnnotations, *, arrays: bool = False) -> dict:
    """The regions as a QuPath-layout FeatureCollection (a JSON-able dict; with `arrays`,
    its rings are numpy arrays, see :func:`region_feature`)."""
    return {
        "type": "FeatureCollection",
        "features": [region_feature(r, annotations, arrays=arrays) for r in annotations.regions],
    }


def geojson_bytes(annotations: SlideAnnotations) -> bytes:
    """The FeatureCollection encoded as compact UTF-8 JSON.

    orjson writes the rings straight from their arrays. Made into Python lists first, 500
    regions were 25,000 lists: the allocations set off the garbage collector's full
    passes, which held the interpreter (and so the window, during an autosave in a worker)
    for 100-300 ms.
    """
    import orjson

    document = annotations_to_geojson(annotations, arrays=True)
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def write_geojson(path: str | Path, annotations: SlideAnnotations) -> Path:
    """Write the regions to `path` atomically (a reader sees the old file or the new one)."""
    from corebt_viewer.io.atomic_files import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, geojson_bytes(annotations))
