"""RANO diameters on masks with known answers, and on the real TCGA-DU-7294 mask."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.services.mri_measure import line_length_mm, measure_rano


def ellipse_mask(shape, centre, a_mm, b_mm, voxel, angle=0.0, label=3, slices=(10,)):
    """A canonical mask with a filled ellipse (semi-axes in mm) on the given axial slices."""
    x, y = np.meshgrid(
        (np.arange(shape[0]) - centre[0]) * voxel[0],
        (np.arange(shape[1]) - centre[1]) * voxel[1],
        indexing="ij",
    )
    c, s = np.cos(angle), np.sin(angle)
    xr, yr = c * x + s * y, -s * x + c * y
    inside = (xr / a_mm) ** 2 + (yr / b_mm) ** 2 <= 1.0
    mask = np.zeros(shape, np.uint8)
    for z in slices:
        mask[:, :, z][inside] = label
    return mask


@pytest.mark.parametrize(
    ("voxel", "angle"),
    [((1.0, 1.0, 1.0), 0.0), ((0.5, 1.0, 3.0), 0.0), ((1.0, 1.0, 1.0), np.deg2rad(30))],
)
def test_ellipse_of_known_axes(voxel, angle):
    shape = (160, 90, 20)
    mask = ellipse_mask(shape, (80, 45), 30.0, 15.0, voxel, angle)
    # a smaller oedema ring elsewhere must not matter: enhancing tumour is the target
    mask[5:8, 5:8, 3] = 2
    result = measure_rano(mask, voxel)
    assert result.target == "enhancing tumour"
    assert result.slice_index == 10
    assert result.longest_mm == pytest.approx(60.0, abs=1.5)
    assert result.perpendicular_mm == pytest.approx(30.0, abs=2.0)
    ends = result.longest_ends[:, :2] * np.asarray(voxel[:2])
    assert np.linalg.norm(ends[1] - ends[0]) == pytest.approx(result.longest_mm)
    # the two diameters are perpendicular
    d = np.diff(result.longest_ends[:, :2] * voxel[:2], axis=0)[0]
    p = np.diff(result.perpendicular_ends[:, :2] * voxel[:2], axis=0)[0]
    assert abs(d @ p) / (np.linalg.norm(d) * np.linalg.norm(p)) < 1e-6
    assert np.linalg.norm(p) == pytest.approx(result.perpendicular_mm)
    assert result.measurable


def test_whole_tumour_without_enhancement_and_largest_slice():
    voxel = (1.0, 1.0, 2.0)
    mask = ellipse_mask((100, 100, 12), (50, 50), 20.0, 10.0, voxel, label=2, slices=(4,))
    mask |= ellipse_mask((100, 100, 12), (50, 50), 25.0, 12.0, voxel, label=1, slices=(7,))
    result = measure_rano(mask, voxel)
    assert result.target == "whole tumour"
    assert result.slice_index == 7
    assert result.longest_mm == pytest.approx(50.0, abs=1.5)
    assert result.volumes_ml["Enhancing tumour"] == 0.0
    expected = (mask > 0).sum() * 2.0 / 1000
    assert result.volumes_ml["Whole tumour"] == pytest.approx(expected)
    assert "whole tumour" in result.text()


def test_small_and_empty_masks():
    assert measure_rano(np.zeros((5, 5, 5), np.uint8), (1, 1, 1)) is None
    mask = np.zeros((20, 20, 3), np.uint8)
    mask[5:9, 5:8, 1] = 3
    result = measure_rano(mask, (1, 1, 1))
    assert result.longest_mm == pytest.approx(np.hypot(3, 2))
    assert not result.measurable and "not measurable" in result.text()
    with pytest.raises(ValueError, match="voxel size"):
        measure_rano(mask, (1, 0, 1))


def test_line_length_mm():
    assert line_length_mm((0, 0, 0), (3, 4, 0)) == 5.0


def test_real_mask(real_mri_dir):
    from corebt_viewer.io.nifti import load_segmentation

    seg = load_segmentation(real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz")
    result = measure_rano(seg.labels, seg.voxel_size)
    assert result.target in ("enhancing tumour", "whole tumour")
    # a glioma of this cohort: several centimetres, bounded by the 240 mm field of view
    assert 20 < result.longest_mm < 200
    assert 10 < result.perpendicular_mm <= result.longest_mm
    z = result.slice_index
    ends = result.longest_ends.astype(int)
    target = seg.labels == 3 if result.target == "enhancing tumour" else seg.labels > 0
    assert target[ends[0, 0], ends[0, 1], z] and target[ends[1, 0], ends[1, 1], z]
    assert result.volumes_ml["Whole tumour"] == pytest.approx(
        (seg.labels > 0).sum() * np.prod(seg.voxel_size) / 1000
    )
