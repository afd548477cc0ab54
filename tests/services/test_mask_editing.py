"""Mask editing tools on small phantoms and on the real TCGA-DU-7294 mask."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from corebt_viewer.core.segmentation import Region
from corebt_viewer.services import mask_editing as me


def ball(shape, centre, radius, spacing=None):
    grid = np.indices(shape, dtype=float)
    spacing = spacing or (1.0,) * len(shape)
    d2 = sum(((g - c) * s) ** 2 for g, c, s in zip(grid, centre, spacing, strict=True))
    return d2 <= radius**2


@pytest.fixture
def tumour() -> np.ndarray:
    """Oedema ball around a necrotic ball, with a ring of enhancing tumour between."""
    labels = np.zeros((40, 40, 30), dtype=np.uint8)
    labels[ball(labels.shape, (20, 20, 15), 12)] = 2
    labels[ball(labels.shape, (20, 20, 15), 7)] = 3
    labels[ball(labels.shape, (20, 20, 15), 4)] = 1
    return labels


def test_label_edit_apply_and_revert(tumour):
    after = tumour.copy()
    after[0:3, 0:3, 0:3] = 3
    after[20, 20, 15] = 0
    edit = me.label_edit(tumour, after)
    assert edit.n_changed == 28
    work = tumour.copy()
    np.testing.assert_array_equal(edit.apply(work), after)
    np.testing.assert_array_equal(edit.revert(work), tumour)


def test_brush_is_a_disc_on_the_slice_or_a_ball():
    disc = me.brush_indices((20, 20, 20), (10, 10, 5), 5, dims=(0, 1))
    assert set(disc[2].tolist()) == {5}
    assert disc[0].size == 21  # radius 2.5 disc: 21 pixels
    sphere = me.brush_indices((20, 20, 20), (10, 10, 10), 5)
    assert sphere[0].size > 21 and len(set(sphere[2].tolist())) == 5
    # Anisotropic voxels (3 mm slices): the ball spans fewer slices.
    flat = me.brush_indices((20, 20, 20), (10, 10, 10), 5, scale=(1, 1, 3))
    assert len(set(flat[2].tolist())) == 1


def test_remove_small_islands_per_region(tumour):
    labels = tumour.copy()
    labels[2:4, 2:4, 2:4] = 3  # 8-voxel enhancing island in background
    labels[20, 20, 26] = 3  # one enhancing voxel inside the oedema
    labels[35, 35, 2] = 1  # a single necrotic voxel
    out = me.remove_small_islands(labels, min_voxels=10)
    np.testing.assert_array_equal(out, np.where((labels != tumour) & (tumour == 0), 0, out))
    assert out[2:4, 2:4, 2:4].max() == 0 and out[35, 35, 2] == 0
    assert out[20, 20, 26] == 0  # default: background
    # The big pieces survive untouched.
    np.testing.assert_array_equal(out[tumour > 0][tumour[tumour > 0] != 0], out[tumour > 0])
    assert (out == 3).sum() == (tumour == 3).sum()

    surround = me.remove_small_islands(labels, min_voxels=10, fill="surrounding")
    assert surround[20, 20, 26] == 2  # the speck in oedema becomes oedema
    assert surround[2:4, 2:4, 2:4].max() == 0

    only_necrotic = me.remove_small_islands(labels, min_voxels=10, regions=[Region.NECROTIC_CORE])
    assert only_necrotic[35, 35, 2] == 0 and only_necrotic[2, 2, 2] == 3

    in_ml = me.remove_small_islands(labels, min_ml=0.009, voxel_size=(1, 1, 1))  # 9 voxels
    assert in_ml[2, 2, 2] == 0
    half_mm = me.remove_small_islands(labels, min_ml=0.009, voxel_size=(0.5, 0.5, 0.5))  # 72 voxels
    assert half_mm[2, 2, 2] == 0 and (half_mm == 1).sum() == (tumour == 1).sum()
    with pytest.raises(ValueError):
        me.remove_small_islands(labels)


def test_smooth_region_removes_spikes_and_keeps_other_labels(tumour):
    labels = tumour.copy()
    labels[20, 20:38, 15] = 3  # a one-voxel spike of enhancing tumour through the oedema
    out = me.smooth_region(labels, 3, sigma_mm=1.0)
    assert out[20, 30, 15] == 2  # the spike's voxels go back to oedema
    assert out[20, 38, 15] == 0 or labels[20, 38, 15] == 0
    assert np.all(out[labels == 1] == 1) and np.all(out[labels == 2] == 2)  # others kept
    assert (out == 3).sum() > 0.8 * (tumour == 3).sum()
    assert set(np.unique(out)) <= {0, 1, 2, 3}

    notched = tumour.copy()
    notched[13:16, 20, 15] = 2  # cut through the enhancing ring, filled with oedema
    closed = me.smooth_region(notched, 3, method="closing", radius=2)
    assert np.all(closed[13:16, 20, 15] == 2)  # other labels are kept by default...
    closed = me.smooth_region(notched, 3, method="closing", radius=2, overwrite_other=True)
    assert closed[15, 20, 15] == 3  # ...unless asked
    pitted = np.zeros((20, 20, 20), np.uint8)
    pitted[ball(pitted.shape, (10, 10, 10), 7)] = 3
    pitted[3:6, 10, 10] = 0  # a pit from the surface
    assert me.smooth_region(pitted, 3, method="closing", radius=2)[5, 10, 10] == 3  # pit bottom
    opened = me.smooth_region(labels, 3, method="opening")
    assert opened[20, 30, 15] == 2
    median = me.smooth_region(labels, 1, method="median")
    assert np.all(median[labels == 3] == 3) and np.all(median[labels == 2] == 2)
    with pytest.raises(ValueError):
        me.smooth_region(labels, 3, method="wavelet")


def test_fill_between_slices_interpolates_shapes():
    shape = (40, 40, 21)
    labels = np.zeros(shape, np.uint8)
    labels[..., 0][ball(shape[:2], (20, 20), 4)] = 1
    labels[..., 20][ball(shape[:2], (20, 20), 12)] = 1
    labels[5:8, 5:8, 10] = 2  # another region in the gap stays
    out = me.fill_between_slices(labels, 1, axis=2)
    areas = (out == 1).sum(axis=(0, 1))
    assert np.all(areas > 0)
    assert np.all(np.diff(areas.astype(int)) >= 0)  # grows monotonically from 4 to 12
    expected_mid = np.pi * 8**2
    assert abs(areas[10] - expected_mid) / expected_mid < 0.1
    assert np.all(out[5:8, 5:8, 10] == 2)
    assert me.fill_between_slices(labels, 1, axis=2, max_gap=5)[..., 10].max() == 2  # gap too wide

    # Along another axis, with a shifted shape.
    other = np.zeros((21, 30, 30), np.uint8)
    other[0][ball((30, 30), (12, 12), 6)] = 3
    other[20][ball((30, 30), (16, 16), 6)] = 3
    moved = me.fill_between_slices(other, 3, axis=0)
    cy, cx = np.argwhere(moved[10] == 3).mean(axis=0)
    assert abs(cy - 14) < 0.5 and abs(cx - 14) < 0.5
    assert abs((moved[10] == 3).sum() - np.pi * 36) < 0.15 * np.pi * 36


def test_edit_stats_volumes_changes_and_dice(tumour):
    current = tumour.copy()
    current[tumour == 1] = 3  # necrosis relabelled as enhancing
    current[0:2, 0:2, 0:2] = 2  # 8 voxels of new oedema
    stats = me.edit_stats(tumour, current, (1.0, 1.0, 2.0))
    n1 = int((tumour == 1).sum())
    assert stats.changed_voxels == n1 + 8
    assert stats.changed_ml == pytest.approx((n1 + 8) * 0.002)
    ncr, ed, et = (
        stats.regions[r] for r in (Region.NECROTIC_CORE, Region.OEDEMA, Region.ENHANCING)
    )
    assert ncr.volume_ml == 0 and ncr.original_ml == pytest.approx(n1 * 0.002) and ncr.dice == 0
    assert ncr.removed_voxels == n1 and et.added_voxels == n1
    assert ed.added_voxels == 8
    n3 = int((tumour == 3).sum())
    assert et.dice == pytest.approx(2 * n3 / (n3 + n3 + n1))
    whole = stats.whole_tumour
    assert whole.added_voxels == 8 and whole.removed_voxels == 0
    assert len(stats.rows()) == 4
    same = me.edit_stats(tumour, tumour, (1, 1, 1))
    assert same.changed_voxels == 0 and all(r.dice == 1.0 for r in same.rows())


def test_edit_stats_on_real_mask(real_mri_dir):
    from corebt_viewer.io.mask_versions import read_mask

    seg = read_mask(real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz")
    cleaned = me.remove_small_islands(seg.labels, min_ml=0.1, voxel_size=seg.voxel_size)
    stats = me.edit_stats(seg.labels, cleaned, seg.voxel_size)
    volumes = seg.volumes_ml()
    assert stats.regions[Region.OEDEMA].original_ml == pytest.approx(volumes[Region.OEDEMA])
    assert stats.changed_voxels == int((cleaned != seg.labels).sum())
    assert stats.whole_tumour.dice > 0.95


def test_docstring_examples():
    from corebt_viewer.services import mask_statistics

    results = doctest.testmod(mask_statistics, extraglobs={"np": np, "Region": Region})
    assert results.failed == 0 and results.attempted > 0
