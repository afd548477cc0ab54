"""Slide region annotations on disk: QuPath GeoJSON import/export and versioned files.

shapely is imported inside the geometry functions only.
"""

from __future__ import annotations

from corebt_viewer.io.annotations.geojson import (
    AnnotationImport,
    SkippedFeature,
    annotations_from_geojson,
    annotations_to_geojson,
    read_geojson,
    write_geojson,
)
from corebt_viewer.io.annotations.store import (
    AnnotationVersion,
    annotation_folder,
    latest_annotation_version,
    list_annotation_versions,
    load_latest_annotations,
    save_annotation_version,
    slide_stem,
)

__all__ = [
    "AnnotationImport",
    "AnnotationVersion",
    "SkippedFeature",
    "annotation_folder",
    "annotations_from_geojson",
    "annotations_to_geojson",
    "latest_annotation_version",
    "list_annotation_versions",
    "load_latest_annotations",
    "read_geojson",
    "save_annotation_version",
    "slide_stem",
    "write_geojson",
]
