"""Writer: a labels layer saved as NIfTI on its reference image's grid."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.gui.plugin.writers import write_labels

PLUGIN = "corebt-viewer"


def test_edited_mask_round_trips_with_the_original_affine(viewer, plugin_cohort, tmp_path):
    import nibabel as nib

    from corebt_viewer.io.nifti import load_segmentation

    cohort, _ = plugin_cohort
    case = next(c for c in cohort if c.segmentation is not None)
    layers = viewer.open(str(case.segmentation.parent), plugin=PLUGIN)
    (mask,) = [layer for layer in layers if layer._type_string == "labels"]
    edited = np.asarray(mask.data).copy()
    edited[:3, :3, :3] = 3  # paint some enhancing tumour
    mask.data = edited
    out = tmp_path / "edited_seg.nii.gz"
    written = mask.save(str(out), plugin=PLUGIN)
    assert written == [str(out)]
    original, saved = nib.load(case.segmentation), nib.load(out)
    np.testing.assert_allclose(saved.affine, original.affine)
    assert saved.get_data_dtype() == original.get_data_dtype()
    assert saved.shape == original.shape
    reread = load_segmentation(out)
    np.testing.assert_array_equal(reread.labels, edited)
    assert reread.convention == load_segmentation(case.segmentation).convention


def test_layer_without_reference_uses_its_scale_and_translate(tmp_path):
    import nibabel as nib

    data = np.zeros((6, 5, 4), np.uint8)
    data[2, 2, 1] = 2
    meta = {"scale": (0.5, 1.0, 2.0), "translate": (-10.0, 4.0, 7.5), "metadata": {}}
    (path,) = write_labels(str(tmp_path / "m.nii.gz"), data, meta)
    img = nib.load(path)
    np.testing.assert_allclose(img.affine[:3, :3], np.diag([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(img.affine[:3, 3], [-10.0, 4.0, 7.5])
    np.testing.assert_array_equal(np.asarray(img.dataobj), data)


@pytest.mark.parametrize(
    ("data", "problem"),
    [(np.zeros((4, 4), np.uint8), "3-D"), (np.full((2, 2, 2), 7, np.uint8), "0-3")],
)
def test_invalid_masks_are_refused_with_a_message(tmp_path, data, problem):
    with pytest.raises(InputError, match=problem):
        write_labels(str(tmp_path / "m.nii.gz"), data, {"metadata": {}})
