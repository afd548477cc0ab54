"""``corebt annotations import/export``: a QuPath export in, the same regions out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely.geometry

from corebt_viewer.cli.main import main
from corebt_viewer.io.manifest import MANIFEST_COLUMNS
from tests.io.test_annotations import QUPATH_EXPORT


@pytest.fixture
def cohort(svs_path: Path, tmp_path: Path) -> Path:
    root = tmp_path / "cohort"
    root.mkdir()
    lines = [",".join(MANIFEST_COLUMNS)]
    for pid in ("P1", "P2"):
        row = {"patient_id": pid, "slides": str(svs_path)}
        lines.append(",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS))
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def test_import_then_export_keeps_the_regions(cohort: Path, tmp_path: Path, capsys):
    source = tmp_path / "qupath.geojson"
    source.write_text(QUPATH_EXPORT)
    slide = "CMU-1-Small-Region.svs"
    args = ["annotations", "import", str(cohort), "--case", "P1", "--slide", slide, str(source)]
    assert main(args) == 0
    out = capsys.readouterr().out
    written = cohort / ".corebt" / "annotations" / "P1" / "CMU-1-Small-Region.v001.geojson"
    assert f"wrote {written} (v001)" in out
    assert "3 region(s) read, 3 feature(s) skipped" in out and "detection" in out
    assert "2 region(s) reach outside the slide (2220 x 2967" in out
    assert main(args) == 0  # a second import is a new version
    assert written.with_name("CMU-1-Small-Region.v002.geojson").is_file()

    out_file = tmp_path / "export" / "out.geojson"
    export = ["annotations", "export", str(cohort), "--case", "P1", "--slide", slide]
    assert main([*export, "--out", str(out_file)]) == 0
    assert "CMU-1-Small-Region.v002.geojson" in capsys.readouterr().out
    original = json.loads(QUPATH_EXPORT)["features"]
    exported = json.loads(out_file.read_text())["features"]
    assert len(exported) == 3
    for before, after in zip(original[:2], exported[:2], strict=True):
        a, b = shapely.geometry.shape(before["geometry"]), shapely.geometry.shape(after["geometry"])
        assert a.equals(b) and a.geom_type == b.geom_type
        assert (
            after["properties"]["classification"]["name"]
            == (before["properties"]["classification"]["name"])
        )


def test_unknown_case_slide_or_nothing_saved_exits_2_naming_them(cohort, tmp_path, capsys):
    source = tmp_path / "qupath.geojson"
    source.write_text(QUPATH_EXPORT)
    base = ["annotations", "import", str(cohort)]
    assert main([*base, "--case", "P9", "--slide", "x.svs", str(source)]) == 2
    assert "no case 'P9'" in capsys.readouterr().err
    assert main([*base, "--case", "P1", "--slide", "x.svs", str(source)]) == 2
    err = capsys.readouterr().err
    assert "case 'P1' has no slide 'x.svs'" in err and "CMU-1-Small-Region.svs" in err
    export = ["annotations", "export", str(cohort), "--case", "P2"]
    assert main([*export, "--slide", "CMU-1-Small-Region.svs", "--out", "o.geojson"]) == 2
    assert "no saved annotations" in capsys.readouterr().err
    only_detections = tmp_path / "cells.geojson"
    features = [f for f in json.loads(QUPATH_EXPORT)["features"] if f["id"].endswith("03")]
    only_detections.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    args = [*base, "--case", "P1", "--slide", "CMU-1-Small-Region.svs", str(only_detections)]
    assert main(args) == 2
    assert "no annotation region to import" in capsys.readouterr().err
