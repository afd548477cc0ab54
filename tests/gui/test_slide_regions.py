"""Region annotations on the slide canvas: draw with the mouse, classify, move, delete, undo,
save (QuPath GeoJSON, versioned), reload, import, autosave."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QPointF, Qt
from qtpy.QtGui import QMouseEvent
from qtpy.QtWidgets import QApplication

from tests.gui.conftest import settle, wait_until

shapely = pytest.importorskip("shapely")


def regions_ready(window) -> bool:
    regions = window.slide_tools.regions
    return (
        regions.session.has_slide
        and regions._loading is None
        and regions.layer is not None
        and regions.layer.visible
        and not regions.sync.busy
    )


def to_screen(window, x: float, y: float) -> QPointF:
    """Canvas widget position of level-0 pixel coordinate (x, y)."""
    viewer = window.slides.viewer
    step = window.slides.reader.mpp or 1.0
    cy, cx = viewer.camera.center[-2:]
    h, w = viewer.canvas.size
    zoom = viewer.camera.zoom
    return QPointF((x * step - cx) * zoom + w / 2, (y * step - cy) * zoom + h / 2)


def drag(widget, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """A left-button drag made of real Qt mouse events (what napari's canvas reads)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier

    def send(kind, pos, button, buttons):
        event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, mods)
        QApplication.sendEvent(widget, event)
        QApplication.processEvents()

    send(QEvent.Type.MouseMove, start, none, none)
    send(QEvent.Type.MouseButtonPress, start, left, left)
    for t in [*np.linspace(0, 1, steps)[1:], 1.0]:
        settle(0.03)  # napari reads at most one move per frame
        send(QEvent.Type.MouseMove, start + (end - start) * float(t), none, left)
    settle(0.03)
    send(QEvent.Type.MouseButtonRelease, end, left, none)


@pytest.fixture(scope="module")
def tools(window):
    window.slide_tools.regions.dock.raise_()
    wait_until(lambda: regions_ready(window), timeout=60)
    window.slides.viewer.reset_view()
    settle(0.3)
    return window.slide_tools


def bounds_close(region, expected, tol):
    return np.allclose(region.bounds, expected, atol=tol)


def test_draw_a_rectangle_with_the_mouse_in_level0_pixels(window, tools):
    regions, session = tools.regions, tools.regions.session
    assert session.mpp == pytest.approx(window.slides.reader.mpp)
    before = len(session.regions)
    regions.set_tool("rectangle")
    assert regions.layer.mode == "add_rectangle"
    native = window.slides.qt_viewer.canvas.native
    drag(native, to_screen(window, 200, 300), to_screen(window, 600, 500))
    wait_until(lambda: len(session.regions) == before + 1, timeout=5)
    region = session.regions[-1]
    tol = 2.0 / (window.slides.viewer.camera.zoom * session.mpp)  # two screen pixels
    assert bounds_close(region, (200, 300, 600, 500), tol), region.bounds
    assert region.class_name == "tumour"
    # the area, in mm², in the table
    row = regions.panel.model.rows[-1]
    expected = shapely.Polygon(region.polygons[0][0]).area * (session.mpp * 1e-3) ** 2
    assert row.area_mm2 == pytest.approx(expected)
    assert row.area_mm2 == pytest.approx(400 * 200 * (session.mpp * 1e-3) ** 2, rel=0.05)
    shown = regions.panel.model.data(regions.panel.model.index(len(session.regions) - 1, 2))
    assert shown == f"{expected:.4f}"
    # the layer's shape is the same region, and a drawn region does not rebuild the layer
    assert regions.layer.nshapes == len(regions.sync.owners)


def test_brush_stroke_becomes_a_region_of_the_brush_width(window, tools):
    regions, session = tools.regions, tools.regions.session
    regions.panel.brush_size.setValue(40.0)  # µm
    regions.set_tool("brush")
    assert regions.layer.mode == "pan_zoom" and not regions.layer.mouse_pan
    radius = 20.0 / session.mpp  # level-0 px
    assert regions.sync.brush_radius == pytest.approx(radius)
    before = len(session.regions)
    native = window.slides.qt_viewer.canvas.native
    drag(native, to_screen(window, 150, 800), to_screen(window, 450, 800), steps=10)
    wait_until(lambda: len(session.regions) == before + 1, timeout=5)
    region = session.regions[-1]
    tol = 3.0 / (window.slides.viewer.camera.zoom * session.mpp)
    assert bounds_close(region, (150 - radius, 800 - radius, 450 + radius, 800 + radius), tol)
    assert region.class_name == session.current_class
    assert regions.layer.nshapes == len(regions.sync.owners)
    regions.undo()
    regions.set_tool("pan")
    assert regions.sync.brush_radius is None and regions.layer.mouse_pan  # pan mode pans


def test_class_move_delete_and_undo(window, tools):
    regions, session = tools.regions, tools.regions.session
    editor = session.editor
    layer = regions.layer
    if not session.regions:
        editor.add(_square(100, 100, 200))
    rid = session.regions[-1].id
    index = regions.sync.owners.index((rid, 0, 0))
    # class of the selection
    layer.selected_data = {index}
    faces_before = np.asarray(layer.face_color).copy()
    regions.set_class("necrosis")
    assert editor.annotations.region(rid).class_name == "necrosis"
    faces = np.asarray(layer.face_color)
    face = faces[regions.sync.owners.index((rid, 0, 0))]
    assert np.allclose(face[:3], np.array(session.class_color("necrosis")) / 255, atol=0.01)
    assert face[3] == pytest.approx(0.25)
    others = [i for i, owner in enumerate(regions.sync.owners) if owner[0] != rid]
    assert np.array_equal(faces[others], faces_before[others])  # only its shapes recoloured
    assert layer.selected_data == {index}  # the selection is kept
    regions.undo()  # recolours the region; the drawing class stays necrosis
    assert editor.annotations.region(rid).class_name == "tumour"
    face = np.asarray(layer.face_color)[regions.sync.owners.index((rid, 0, 0))]
    assert np.allclose(face[:3], np.array(session.class_color("tumour")) / 255, atol=0.01)
    # napari's current colour now follows the selected tumour shape; a shape drawn next
    # (napari adds it in the current colour) still shows the drawing class, necrosis
    layer.selected_data = set()
    layer.add([np.array([[900, 900], [900, 960], [960, 960]], float)], shape_type="polygon")
    drawn = session.regions[-1]
    assert drawn.class_name == "necrosis"
    face = np.asarray(layer.face_color)[regions.sync.owners.index((drawn.id, 0, 0))]
    assert np.allclose(face[:3], np.array(session.class_color("necrosis")) / 255, atol=0.01)
    regions.undo()
    regions.set_class("tumour")
    # move with the mouse in select mode
    old = editor.annotations.region(rid).bounds
    regions.set_tool("select")
    x0, y0, x1, y1 = old
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    native = window.slides.qt_viewer.canvas.native
    drag(native, to_screen(window, *centre), to_screen(window, centre[0] + 100, centre[1] + 50))
    wait_until(lambda: editor.annotations.region(rid).bounds != old, timeout=5)
    moved = editor.annotations.region(rid).bounds
    tol = 2.0 / (window.slides.viewer.camera.zoom * session.mpp)
    assert np.allclose(np.subtract(moved, old), [100, 50, 100, 50], atol=tol)
    assert editor.undo_label == "move"
    index = regions.sync.owners.index((rid, 0, 0))
    shapes = layer.nshapes
    regions.undo()
    assert editor.annotations.region(rid).bounds == old
    # the shape went back in place: same index, no shape removed and added
    assert regions.sync.owners.index((rid, 0, 0)) == index and layer.nshapes == shapes
    assert np.allclose(np.asarray(layer.data[regions.sync.owners.index((rid, 0, 0))]).min(0),
                       [old[1], old[0]])  # fmt: skip
    # delete through napari (its Delete key calls remove_selected), then undo
    n = len(session.regions)
    layer.selected_data = {regions.sync.owners.index((rid, 0, 0))}
    layer.remove_selected()
    assert len(session.regions) == n - 1 and layer.nshapes == len(regions.sync.owners)
    regions.undo()
    assert len(session.regions) == n and layer.nshapes == len(regions.sync.owners)
    regions.redo()
    assert len(session.regions) == n - 1
    regions.undo()


def test_a_reshaped_corner_is_an_edit(window, tools):
    regions, editor = tools.regions, tools.regions.session.editor
    region = editor.add(_square(700, 100, 100))
    index = regions.sync.owners.index((region.id, 0, 0))
    layer = regions.layer
    data = [np.asarray(d).copy() for d in layer.data]
    data[index][0] = data[index][0] + [-30, -20]  # one corner (y, x) pulled out
    # what napari's vertex drag emits
    layer.events.data(value=data, action="changing", data_indices=(index,), vertex_indices=((0,),))
    layer._data_view.edit(index, data[index])
    layer.events.data(value=data, action="changed", data_indices=(index,), vertex_indices=((0,),))
    edited = editor.annotations.region(region.id)
    assert edited.bounds == (680.0, 70.0, 800.0, 200.0)
    assert editor.undo_label == "edit"
    regions.undo()
    regions.undo()  # the add


def test_save_reload_import_and_autosave(window, tools, tmp_path, demo_cohort):
    regions, session = tools.regions, tools.regions.session
    editor = session.editor
    case_id = session.case_id
    regions.set_class("tumour")
    editor.add(_square(50, 60, 120))
    saved = regions.save()
    assert saved.path.parent == demo_cohort.root / ".corebt" / "annotations" / case_id
    assert saved.path.name.startswith(session.slide.stem) and ".v" in saved.path.name
    document = json.loads(saved.path.read_text())
    assert document["type"] == "FeatureCollection"
    feature = document["features"][-1]
    assert feature["properties"]["objectType"] == "annotation"
    assert feature["properties"]["classification"]["name"] == "tumour"
    assert shapely.geometry.shape(feature["geometry"]).equals(shapely.box(50, 60, 170, 180))
    assert not session.dirty
    count = len(session.regions)

    # import a QuPath export: a polygon with a hole, and a multipolygon
    outer = [[300, 300], [700, 300], [700, 700], [300, 700], [300, 300]]
    hole = [[400, 400], [500, 400], [500, 500], [400, 500], [400, 400]]
    parts = [[[[20, 800], [80, 800], [80, 860], [20, 800]]], [[[100, 800], [160, 800],
              [160, 860], [100, 800]]]]  # fmt: skip
    qupath = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "a1",
                "geometry": {"type": "Polygon", "coordinates": [outer, hole]},
                "properties": {
                    "objectType": "annotation",
                    "classification": {"name": "Tumor", "color": [200, 0, 0]},
                },
            },
            {
                "type": "Feature",
                "id": "a2",
                "geometry": {"type": "MultiPolygon", "coordinates": parts},
                "properties": {
                    "objectType": "annotation",
                    "classification": {"name": "Necrosis", "color": [50, 50, 50]},
                },  # fmt: skip
            },
        ],
    }
    source = tmp_path / "qupath.geojson"
    source.write_text(json.dumps(qupath))
    lines = regions.import_file(source)
    assert lines and "2 region(s) read" in lines[0]
    assert len(session.regions) == count + 2
    assert (
        regions.layer.nshapes
        == len(regions.sync.owners)
        == sum(len(ring) for r in session.regions for ring in r.polygons)
    )
    assert editor.undo_label == "import" and session.dirty
    areas = {r.id: a for r, a in zip(session.regions, session.areas_mm2(), strict=True)}
    holed = next(r for r in session.regions if r.n_holes == 1)
    assert areas[holed.id] == pytest.approx((400 * 400 - 100 * 100) * (session.mpp * 1e-3) ** 2)

    # the timer's autosave writes the recovery file in a worker, once per state of the
    # edits; reopening the case brings the edits back unsaved
    written = session.autosave_path()
    assert regions.autosave_in_background() is not None
    wait_until(
        lambda: (
            written.is_file()
            and len(json.loads(written.read_text())["features"]) == len(session.regions)
        ),
        timeout=10,
    )
    assert regions.autosave_in_background() is None  # nothing new to write
    ids = [r.id for r in session.regions]
    regions.session.editor.mark_saved()  # as if the app had crashed: no version written
    other = next(c.patient_id for c in demo_cohort if c.patient_id != case_id and c.slides)
    window.open_case(other)
    wait_until(lambda: session.case_id == other and regions_ready(window), timeout=60)
    assert written.is_file()
    window.open_case(case_id)
    wait_until(lambda: session.case_id == case_id and regions_ready(window), timeout=60)
    assert [r.id for r in session.regions] == ids
    assert session.dirty and editor.undo_label == "restore autosave"
    # leaving the case saves the edits as the next version; the recovery file goes
    window.open_case(other)
    wait_until(lambda: session.case_id == other and regions_ready(window), timeout=60)
    assert not written.exists()
    window.open_case(case_id)
    wait_until(lambda: session.case_id == case_id and regions_ready(window), timeout=60)
    assert not session.dirty and session.version != saved.label
    reloaded = {r.id: r for r in session.regions}
    assert set(reloaded) == set(ids)
    multi = next(r for r in session.regions if r.geometry_type == "MultiPolygon")
    assert len(multi.polygons) == 2
    assert regions.layer.nshapes == len(regions.sync.owners)


def _square(x, y, side):
    from corebt_viewer.core.annotations import Region

    return Region.rectangle(x, y, side, side, class_name="tumour")
