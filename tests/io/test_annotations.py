import json

import numpy as np
import pytest
import shapely

from corebt_viewer.core.annotations import Region, SlideAnnotations, close_ring
from corebt_viewer.core.errors import InputError
from corebt_viewer.io.annotations import (
    annotations_to_geojson,
    latest_annotation_version,
    list_annotation_versions,
    load_latest_annotations,
    read_geojson,
    save_annotation_version,
    write_geojson,
)
from corebt_viewer.io.annotations.geometry import (
    area_mm2,
    areas_mm2,
    contains_points,
    intersects_boxes,
    to_shapely,
)

# What QuPath 0.4/0.5 writes with "Export objects as GeoJSON" (FeatureCollection, pretty printed),
# with one feature from QuPath 0.2 (classification.colorRGB) and the object types it exports.
QUPATH_EXPORT = """{
  "type": "FeatureCollection",
  "features": [
    {
      "type": "Feature",
      "id": "5c6b1b0e-1f0e-4a57-9b1b-3c1f1a4f2b11",
      "geometry": {
        "type": "Polygon",
        "coordinates": [
          [[1000, 1000], [3000, 1000], [3000, 3000], [1000, 3000], [1000, 1000]],
          [[1500, 1500], [1500, 2000], [2000, 2000], [2000, 1500], [1500, 1500]]
        ]
      },
      "properties": {
        "objectType": "annotation",
        "name": "main tumour",
        "classification": {"name": "Tumor", "color": [200, 0, 0]},
        "isLocked": true,
        "measurements": {"Area um^2": 937500.0}
      }
    },
    {
      "type": "Feature",
      "id": "b7d0f3b4-7a4c-4c1b-a3f2-2e1b9d7c6a22",
      "geometry": {
        "type": "MultiPolygon",
        "coordinates": [
          [[[4000, 100], [4400, 100], [4400, 500], [4000, 500], [4000, 100]]],
          [[[5000, 100], [5600, 100], [5600, 700], [5000, 700], [5000, 100]],
           [[5100, 200], [5200, 200], [5200, 300], [5100, 300], [5100, 200]]]
        ]
      },
      "properties": {
        "objectType": "annotation",
        "classification": {"name": "Necrosis", "colorRGB": -13421773}
      }
    },
    {
      "type": "Feature",
      "id": "0d1e2f3a-0000-4000-8000-000000000003",
      "geometry": {"type": "Polygon",
                   "coordinates": [[[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]]},
      "properties": {"objectType": "detection", "classification": {"name": "Tumor"}}
    },
    {
      "type": "Feature",
      "id": "0d1e2f3a-0000-4000-8000-000000000004",
      "geometry": {"type": "MultiPoint", "coordinates": [[50, 50], [60, 60]]},
      "properties": {"objectType": "annotation"}
    },
    {
      "type": "Feature",
      "id": "0d1e2f3a-0000-4000-8000-000000000005",
      "geometry": {"type": "LineString", "coordinates": [[0, 0], [100, 100]]},
      "properties": {"objectType": "annotation", "name": "ruler"}
    },
    {
      "type": "Feature",
      "id": "0d1e2f3a-0000-4000-8000-000000000006",
      "geometry": {"type": "Polygon",
                   "coordinates": [[[0, 0], [100, 100], [100, 0], [0, 100], [0, 0]]]},
      "properties": {"objectType": "annotation", "classification": {"name": "Other"}}
    }
  ]
}
"""


@pytest.fixture
def qupath_file(tmp_path):
    path = tmp_path / "qupath_export.geojson"
    path.write_text(QUPATH_EXPORT)
    return path


def test_reads_qupath_layout_with_holes_multipolygons_and_reports_what_it_skips(qupath_file):
    result = read_geojson(qupath_file)
    regions = result.annotations.regions
    assert [r.class_name for r in regions] == ["Tumor", "Necrosis", "Other"]
    tumour, necrosis, bowtie = regions
    assert tumour.id == "5c6b1b0e-1f0e-4a57-9b1b-3c1f1a4f2b11" and tumour.locked
    assert tumour.name == "main tumour" and tumour.color == (200, 0, 0)
    assert tumour.extra == {"measurements": {"Area um^2": 937500.0}}
    assert to_shapely(tumour).area == pytest.approx(2000**2 - 500**2)
    assert necrosis.geometry_type == "MultiPolygon" and necrosis.n_holes == 1
    assert to_shapely(necrosis).area == pytest.approx(400**2 + 600**2 - 100**2)
    assert necrosis.color == (51, 51, 51)  # QuPath 0.2's packed ARGB
    # the self-intersecting bow-tie is repaired (two triangles), and the user is told
    assert shapely.is_valid(to_shapely(bowtie)) and to_shapely(bowtie).area == pytest.approx(5000)
    assert any("repaired" in note for note in result.notes)
    skipped = {s.index: s for s in result.skipped}
    assert set(skipped) == {2, 3, 4}
    assert skipped[2].object_type == "detection"
    assert skipped[3].geometry_type == "MultiPoint" and skipped[4].geometry_type == "LineString"
    text = "\n".join(result.summary())
    assert "3 region(s) read, 3 feature(s) skipped" in text and "detection" in text
    assert "class 'Tumor' added" in text


def test_round_trip_keeps_holes_multipolygons_and_qupath_properties(qupath_file, tmp_path):
    first = read_geojson(qupath_file).annotations
    out = write_geojson(tmp_path / "out.geojson", first)
    document = json.loads(out.read_text())
    assert document["type"] == "FeatureCollection"
    feature = document["features"][0]
    assert feature["properties"]["objectType"] == "annotation"
    assert feature["properties"]["classification"] == {"name": "Tumor", "color": [200, 0, 0]}
    assert feature["properties"]["isLocked"] is True
    assert len(feature["geometry"]["coordinates"]) == 2  # exterior + hole
    again = read_geojson(out)
    assert not again.skipped and not any("repaired" in n for n in again.notes)
    for a, b in zip(first.regions, again.annotations.regions, strict=True):
        if a.color is None:  # written with its class colour, as QuPath does
            assert b.color == first.class_color(a.class_name)
            a = a.with_changes(color=b.color)
        assert a.same_as(b)
        assert to_shapely(a).equals(to_shapely(b))


def test_areas_points_and_boxes():
    square = Region.rectangle(0, 0, 1000, 1000, class_name="tumour")
    assert area_mm2(square, 0.5) == pytest.approx(0.25)  # 500 um x 500 um
    assert area_mm2(square, None) is None
    both = areas_mm2([square, square.translated(5, 5)], 0.5)
    assert both.tolist() == pytest.approx([0.25, 0.25]) and areas_mm2([square], None) is None
    holed = Region.polygon(
        [[(0, 0), (100, 0), (100, 100), (0, 100)], [(40, 40), (60, 40), (60, 60), (40, 60)]]
    )
    inside = contains_points([holed], np.array([10, 50, 150]), np.array([10, 50, 50]))
    assert inside.tolist() == [True, False, False]
    boxes = np.array([[100, 0, 200, 100], [90, 0, 190, 100], [45, 45, 55, 55]])
    assert intersects_boxes([holed], boxes).tolist() == [False, True, False]


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.geojson: not valid JSON"):
        read_geojson(bad)
    bad.write_text('{"type": "Point", "coordinates": [1, 2]}')
    with pytest.raises(InputError, match="not GeoJSON features"):
        read_geojson(bad)
    with pytest.raises(InputError, match="file not found"):
        read_geojson(tmp_path / "missing.geojson")
    bad.write_text(
        '[{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},'
        ' "properties": {}}]'
    )
    result = read_geojson(bad)  # a bare list of features (older QuPath)
    assert len(result.annotations) == 0 and "bad coordinates" in result.skipped[0].reason


def test_versions_are_never_overwritten_and_latest_is_read(tmp_path):
    slide = tmp_path / "data" / "P001 slide.svs"
    a = SlideAnnotations((Region.rectangle(0, 0, 10, 10, class_name="tumour"),))
    b = SlideAnnotations((*a.regions, Region.rectangle(20, 0, 10, 10, class_name="artefact")))
    assert latest_annotation_version(tmp_path, "P001", slide) is None
    v1 = save_annotation_version(a, cohort_root=tmp_path, case_id="P001", slide=slide)
    v2 = save_annotation_version(b, cohort_root=tmp_path, case_id="P001", slide=slide)
    assert v1.path.name == "P001_slide.v001.geojson" and v2.label == "v002"
    assert v1.path.parent == tmp_path / ".corebt" / "annotations" / "P001"
    assert [v.number for v in list_annotation_versions(tmp_path, "P001", slide)] == [1, 2]
    result, latest = load_latest_annotations(tmp_path, "P001", slide)
    assert latest == v2 and len(result.annotations) == 2
    assert len(read_geojson(v1.path).annotations) == 1  # the first save is untouched
    assert len(v2.sha256()) == 64
    # a racing writer took v003 meanwhile: the next save does not clobber it
    (v1.path.parent / "P001_slide.v003.geojson").write_text("{}")
    v4 = save_annotation_version(a, cohort_root=tmp_path, case_id="P001", slide=slide)
    assert v4.number == 4
    assert not list(v1.path.parent.glob(".*.tmp"))


def test_qupath_0_2_exports_without_object_type(tmp_path):
    square = [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]
    features = [
        {"type": "Feature", "id": kind, "geometry": {"type": "Polygon", "coordinates": square},
         "properties": {"classification": {"name": "Tumor", "colorRGB": -3670016}}}
        for kind in ("PathAnnotationObject", "PathCellObject", "PathAnnotationObject")
    ]  # fmt: skip
    path = tmp_path / "old.json"
    path.write_text(json.dumps(features))
    result = read_geojson(path)
    assert len(result.annotations) == 2 and result.skipped[0].object_type == "cell"
    first, second = result.annotations.regions
    assert first.id != second.id and "PathAnnotationObject" not in (first.id, second.id)
    assert first.color == (200, 0, 0)


def test_feature_collection_written_is_qupath_layout():
    region = Region.rectangle(0.5, 0, 10, 10, class_name="normal", name="n1")
    document = annotations_to_geojson(SlideAnnotations((region,)))
    props = document["features"][0]["properties"]
    assert props["classification"] == {"name": "normal", "color": [0, 150, 0]}
    assert props["name"] == "n1" and props["objectType"] == "annotation"
    ring = document["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] == [0.5, 0.0]


def test_geojson_bytes_write_rings_from_arrays_as_lists_would():
    """The file is the same as from Python lists, without a Python list per vertex (those
    set off the garbage collector's full passes, which froze the window for 100-300 ms
    during an autosave of 500 regions)."""
    import gc

    import orjson

    from corebt_viewer.io.annotations.geojson import geojson_bytes

    rng = np.random.default_rng(0)
    regions = [
        Region.polygon([rng.uniform(0, 5000, (40, 2))], class_name="tumour") for _ in range(300)
    ]
    outer = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], float)
    hole = np.array([[10, 10], [20, 10], [20, 20]], float)
    rings = (close_ring(outer), close_ring(hole))
    parts = (rings, (close_ring(outer + 500),))
    regions.append(Region(polygons=parts, geometry_type="MultiPolygon", class_name="necrosis"))
    regions.append(Region.rectangle(0.5, 0, 10, 10, class_name="normal"))
    annotations = SlideAnnotations(tuple(regions))
    as_lists = orjson.dumps(annotations_to_geojson(annotations))
    assert geojson_bytes(annotations) == as_lists
    assert b"[[0,0],[100,0]" in as_lists and b"[0.5,0.0]" in as_lists  # integers kept

    def collections(write) -> int:
        gc.collect()
        before = gc.get_stats()[0]["collections"]
        write()
        return gc.get_stats()[0]["collections"] - before

    from_lists = collections(lambda: orjson.dumps(annotations_to_geojson(annotations)))
    from_arrays = collections(lambda: geojson_bytes(annotations))
    assert from_lists >= 10 and from_arrays <= from_lists // 5, (from_lists, from_arrays)
