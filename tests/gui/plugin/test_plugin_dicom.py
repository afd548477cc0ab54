"""The napari slide reader claims a DICOM whole-slide folder (or one of its files)."""

from __future__ import annotations

import numpy as np

from corebt_viewer.gui.plugin.readers import get_slide_reader, read_slide
from tests.io.dicom_wsi import write_dicom_wsi
from tests.io.test_slides_dicom import _non_wsi_dicom


def test_slide_reader_claims_dicom_wsi_folders_and_files_only(tmp_path, rng):
    image = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    folder = write_dicom_wsi(tmp_path / "wsi", image, levels=1)
    assert get_slide_reader(str(folder)) is read_slide
    assert get_slide_reader(str(folder / "level0.dcm")) is read_slide
    other = _non_wsi_dicom(tmp_path / "ct" / "a.dcm")
    assert get_slide_reader(str(other.parent)) is None
    assert get_slide_reader(str(other)) is None
    (data, kwargs, kind), *_ = read_slide(str(folder / "level0.dcm"))
    assert kind == "image" and kwargs["metadata"]["corebt"]["path"] == str(folder)
    assert data[0].shape[:2] == (300, 400)


def test_manifest_lists_dicom_patterns_and_accepts_folders():
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    readers = pm.get_manifest("corebt-viewer").contributions.readers
    slide = next(r for r in readers if r.command == "corebt-viewer.get_slide_reader")
    assert "*.dcm" in slide.filename_patterns and slide.accepts_directories
