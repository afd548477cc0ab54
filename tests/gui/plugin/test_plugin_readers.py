"""Readers: a case folder, a cohort manifest and slides open as napari layers; others -> None."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.segmentation import REGIONS
from corebt_viewer.gui.plugin.readers import (
    get_case_reader,
    get_slide_reader,
    read_case,
    read_slide,
)

PLUGIN = "corebt-viewer"


def _first_mri_case(cohort):
    return next(case for case in cohort if case.mri and case.segmentation is not None)


@pytest.fixture
def other_paths(tmp_path):
    """Paths the plugin must leave alone."""
    import tifffile

    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((32, 32), np.uint8))
    folder = tmp_path / "holiday"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"")
    (folder / "brain.nii.gz").write_bytes(b"")  # NIfTI but not BraTS-named
    return [
        tmp_path / "notes.txt",
        tmp_path / "table.csv",
        tmp_path / "image.png",
        plain,
        folder,
        tmp_path / "missing-folder",
        tmp_path / "missing.svs",
    ]


def test_readers_return_none_for_paths_they_do_not_handle(other_paths, tmp_path):
    for path in other_paths:
        assert get_case_reader(str(path)) is None, path
        assert get_slide_reader(str(path)) is None, path
    # odd inputs never raise either
    for odd in ([], [str(tmp_path), str(tmp_path)], "", "http://example.org/x.svs", None, 3):
        assert get_case_reader(odd) is None
        assert get_slide_reader(odd) is None


def test_unreadable_claimed_files_give_no_traceback(tmp_path):
    broken = tmp_path / "broken.svs"
    broken.write_bytes(b"not a slide at all")
    assert get_slide_reader(str(broken)) is read_slide  # claimed by its suffix...
    assert read_slide(str(broken)) == [(None,)]  # ...then reported, not raised
    case = tmp_path / "case"
    case.mkdir()
    (case / "X_t1.nii.gz").write_bytes(b"truncated")
    assert get_case_reader(str(case)) is read_case
    assert read_case(str(case)) == [(None,)]


def test_case_folder_opens_as_mri_and_mask_layers(viewer, plugin_cohort):
    from corebt_viewer.io.nifti import load_segmentation, load_volume

    cohort, _ = plugin_cohort
    case = _first_mri_case(cohort)
    folder = next(iter(case.mri.values())).parent
    layers = viewer.open(str(folder), plugin=PLUGIN)  # as `napari FOLDER --plugin corebt-viewer`

    images = [layer for layer in layers if layer._type_string == "image"]
    labels = [layer for layer in layers if layer._type_string == "labels"]
    assert [layer.metadata["corebt"]["sequence"] for layer in images] == [
        s.value for s in case.sequences
    ]
    assert len(labels) == 1
    assert sum(layer.visible for layer in images) == 1
    for layer in images:
        info = layer.metadata["corebt"]
        assert info["case"] == case.patient_id
        assert info["cohort"] == str(cohort.manifest)  # the enclosing cohort was found
        volume = load_volume(info["path"])
        np.testing.assert_allclose(layer.scale, volume.voxel_size)
        np.testing.assert_allclose(layer.translate, volume.affine[:3, 3])
        np.testing.assert_array_equal(np.asarray(layer.data), volume.data)
    mask = load_segmentation(case.segmentation)
    np.testing.assert_array_equal(np.asarray(labels[0].data), mask.labels)
    np.testing.assert_allclose(labels[0].scale, mask.voxel_size)
    for region in REGIONS:  # BraTS colours
        np.testing.assert_allclose(labels[0].colormap.map(int(region)), region.colour, atol=1e-6)


def test_cohort_manifest_opens_its_first_mri_case(viewer, plugin_cohort):
    cohort, _ = plugin_cohort
    case = next(case for case in cohort if case.mri)
    layers = viewer.open(str(cohort.manifest), plugin=PLUGIN)
    assert {layer.metadata["corebt"]["case"] for layer in layers} == {case.patient_id}
    assert len([lay for lay in layers if lay._type_string == "image"]) == len(case.sequences)


def test_brats_2023_case_without_manifest(viewer, tmp_path, plugin_cohort):
    """A bare BraTS 2023 folder (no manifest anywhere) opens through discovery."""
    import shutil

    cohort, _ = plugin_cohort
    case = _first_mri_case(cohort)
    folder = tmp_path / "BraTS-GLI-00001-000"
    folder.mkdir()
    names = {"t1": "t1n", "t1c": "t1c", "t2": "t2w", "flair": "t2f"}
    for sequence, path in case.mri.items():
        shutil.copy(path, folder / f"BraTS-GLI-00001-000-{names[sequence.value]}.nii.gz")
    shutil.copy(case.segmentation, folder / "BraTS-GLI-00001-000-seg.nii.gz")
    layers = viewer.open(str(folder), plugin=PLUGIN)
    assert len(layers) == len(case.sequences) + 1
    assert {lay.metadata["corebt"]["case"] for lay in layers} == {"BraTS-GLI-00001-000"}


def test_real_slide_opens_as_lazy_multiscale_layer_in_microns(viewer, svs_path):
    assert get_slide_reader(str(svs_path)) is read_slide
    (layer,) = viewer.open(str(svs_path), plugin=PLUGIN)
    assert layer.multiscale and layer.rgb
    np.testing.assert_allclose(layer.scale, (0.499, 0.499), rtol=1e-3)
    assert layer.data[0].shape == (2967, 2220, 3)
    assert not isinstance(layer.data[0], np.ndarray)  # read tile by tile, not loaded whole


def test_pyramidal_ndpi_slide(viewer, ndpi_path):
    (layer,) = viewer.open(str(ndpi_path), plugin=PLUGIN)
    assert layer.multiscale and len(layer.data) > 2
    assert layer.data[0].shape[:2] == (4864, 3968)
