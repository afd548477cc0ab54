"""The Qt-free region session: areas, save (versions), autosave and its recovery, import."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corebt_viewer.core.annotations import Region, SlideAnnotations
from corebt_viewer.core.errors import InputError
from corebt_viewer.services.slide_regions_session import SlideRegionsSession, load_slide_regions


def _session(tmp_path):
    session = SlideRegionsSession()
    session.set_slide(cohort_root=tmp_path, case_id="C1", slide=tmp_path / "s.svs", mpp=0.5)
    return session


def test_areas_follow_edits_and_skip_unknown_pixel_size(tmp_path):
    session = _session(tmp_path)
    region = session.editor.add(Region.rectangle(0, 0, 2000, 1000, class_name="tumour"))
    assert session.areas_mm2() == pytest.approx([0.5])
    session.editor.move([region.id], 10, 10)
    session.editor.edit(region.id, polygons=Region.rectangle(0, 0, 1000, 1000).polygons)
    assert session.areas_mm2() == pytest.approx([0.25])
    assert session.rows()[0].class_name == "tumour" and session.rows()[0].holes == 0
    session.mpp = None
    assert session.areas_mm2() is None and session.rows()[0].area_mm2 is None


def test_a_snapshot_taken_before_a_save_or_another_slide_is_never_written(tmp_path):
    """The timer's autosave is written in a worker: a save, or another slide opened
    meanwhile, must not be followed by an autosave file of older edits."""
    session = _session(tmp_path)
    assert session.autosave_snapshot() is None  # nothing unsaved
    session.editor.add(Region.rectangle(5, 5, 10, 10, class_name="necrosis"))
    snapshot = session.autosave_snapshot()
    assert snapshot.annotations is session.editor.annotations
    session.save()
    assert session.write_autosave(snapshot) is None and not session.autosave_path().exists()
    session.editor.add(Region.rectangle(50, 5, 10, 10, class_name="tumour"))
    snapshot = session.autosave_snapshot()
    path = session.autosave_path()
    session.set_slide(cohort_root=tmp_path, case_id="C1", slide=tmp_path / "t.svs", mpp=0.5)
    assert session.write_autosave(snapshot) is None and not path.exists()
    session.editor.add(Region.rectangle(0, 0, 10, 10, class_name="tumour"))
    written = session.write_autosave(session.autosave_snapshot())
    assert written is not None and written.name == "t.autosave.geojson"


def test_save_autosave_and_load(tmp_path):
    session = _session(tmp_path)
    session.editor.add(Region.rectangle(5, 5, 10, 10, class_name="necrosis"))
    assert session.autosave().name == "s.autosave.geojson"
    first = session.save()
    assert first.label == "v001" and not session.dirty
    assert not session.autosave_path().exists() and session.autosave() is None
    session.editor.add(Region.rectangle(50, 5, 10, 10, class_name="tumour"))
    session.autosave()
    annotations, version, autosaved, notes = load_slide_regions(
        cohort_root=tmp_path, case_id="C1", slide=tmp_path / "s.svs"
    )
    assert version == "v001" and len(annotations) == 1 and len(autosaved) == 2 and not notes
    assert session.save().label == "v002"


def test_import_is_one_undo_step_and_a_bad_file_is_named(tmp_path):
    session = _session(tmp_path)
    ring = np.array([[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]).tolist()
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
               "properties": {"objectType": "annotation",
                              "classification": {"name": "Stroma", "color": [1, 2, 3]}}}  # fmt: skip
    path = tmp_path / "q.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    lines = session.import_geojson(path)
    assert "1 region(s) read" in lines[0]
    assert any(c.name == "Stroma" for c in session.classes)
    session.import_geojson(path)  # twice: two regions, distinct ids
    assert len({r.id for r in session.regions}) == 2
    assert session.editor.undo() and len(session.regions) == 1
    bad = tmp_path / "bad.geojson"
    bad.write_text("{")
    with pytest.raises(InputError, match="bad.geojson"):
        session.import_geojson(bad)
    assert isinstance(session.editor.annotations, SlideAnnotations)


def test_areas_stay_right_through_many_edits(tmp_path):
    """Geometries come and go: a cached area never belongs to another region."""
    session = _session(tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(40):
        side = float(rng.integers(10, 500))
        region = session.editor.add(Region.rectangle(0, 0, side, side, class_name="tumour"))
        session.areas_mm2()
        session.editor.move([region.id], 1, 1)
        if rng.random() < 0.5:
            session.editor.undo()
        expected = [((r.bounds[2] - r.bounds[0]) ** 2) * 0.25e-6 for r in session.regions]
        assert session.areas_mm2() == pytest.approx(expected)
