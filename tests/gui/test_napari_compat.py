"""Each private napari API the viewer uses still exists and does what we rely on.

When napari changes one of them, these tests fail on the new version before a user meets
it; see corebt_viewer/gui/_napari_compat.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.gui import _napari_compat as compat


def test_napari_version_is_one_we_checked():
    assert compat.is_tested_version(), (
        f"napari {compat.napari_version()} is new: re-check every private use in "
        "_napari_compat.py against its source, then add it to TESTED"
    )


@pytest.fixture
def labels():
    from napari.layers import Labels

    return Labels(np.zeros((6, 8, 8), np.uint8))


def test_paint_hook_narrows_strokes_and_keeps_one_undo_step(labels):
    calls = []

    def narrow(original, slice_key, mask, new_label, dims, refresh=True, region_data=None):
        calls.append(new_label)
        mask = mask.copy()
        mask[..., : mask.shape[-1] // 2] = False  # keep the right half only
        return original(slice_key, mask, new_label, dims, refresh, region_data)

    compat.hook_labels_paint(labels, narrow)
    assert compat.labels_paint_hooked(labels)
    labels.paint((3, 4, 4), 2)
    assert calls == [2]
    painted = np.argwhere(labels.data == 2)
    assert len(painted) and painted[:, 2].min() >= 1  # the left half of the brush is left
    assert compat.labels_history_depth(labels) == (1, 0)
    labels.undo()
    assert not labels.data.any() and compat.labels_history_depth(labels) == (0, 1)
    compat.unhook_labels_paint(labels)
    assert not compat.labels_paint_hooked(labels)


def test_reset_history_forgets_steps(labels):
    labels.paint((3, 4, 4), 1)
    compat.reset_labels_history(labels)
    assert compat.labels_history_depth(labels) == (0, 0)
    labels.undo()
    assert labels.data.any()


@pytest.mark.parametrize("stopped", [False, True])
def test_a_stopped_shapes_thumbnail_is_not_drawn(stopped):
    from napari.layers import Shapes

    layer = Shapes(ndim=2)
    if stopped:
        assert compat.stop_shapes_thumbnail(layer)
    square = np.array([[0, 0], [0, 50], [50, 50], [50, 0]], float)
    layer.add([square], shape_type="polygon", face_color="yellow")
    layer.face_color = "red"
    drawn = np.asarray(layer.thumbnail)[..., :3].max() > 0
    assert drawn is not stopped  # the check sees a thumbnail when one is drawn


def test_shapes_reshaped_in_place_keep_order_type_and_colours():
    from napari.layers import Shapes

    square = np.array([[0, 0], [0, 50], [50, 50], [50, 0]], float)
    layer = Shapes([square, square + 100], shape_type="polygon", face_color=["red", "blue"])
    triangle = np.array([[10, 10], [10, 90], [80, 40]], float)
    compat.reshape_shapes(layer, {1: triangle})
    assert layer.nshapes == 2 and layer.shape_type == ["polygon", "polygon"]
    np.testing.assert_array_equal(layer.data[0], square)
    np.testing.assert_array_equal(layer.data[1], triangle)
    np.testing.assert_allclose(layer.face_color[:, :3], [[1, 0, 0], [0, 0, 1]])
    # the mesh follows: a point inside the triangle and outside the old square hits shape 1
    assert layer.get_value((60, 40))[0] == 1


def test_missing_private_name_is_a_clear_error():
    class Stranger:
        pass

    with pytest.raises(compat.NapariCompatError, match="private Stranger._reset_history"):
        compat.reset_labels_history(Stranger())


def test_settings_and_theme_privates():
    import napari.settings as napari_settings

    compat.settings_loaded()
    settings = napari_settings.get_settings()
    with compat.settings_not_saved(settings):
        assert settings._save_on_change is False  # noqa: SLF001 - what the door sets
    assert compat.theme_path("dark").is_dir()


def test_canvas_privates(qtbot):
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    qtbot.addWidget(qt_viewer)
    layer = viewer.add_labels(np.zeros((4, 4, 4), np.uint8))
    assert compat.scene_canvas(qt_viewer) is not None
    with compat.colormap_kept(layer) as blocked:  # the vispy layer's rebuild, by name
        assert len(blocked) == 1
        layer.data = np.ones((4, 4, 4), np.uint8)
    updates = []
    with compat.scene_graph_paused(qt_viewer, lambda: updates.append(1) or True):
        assert qt_viewer.canvas._pause_scene_graph is True  # noqa: SLF001
        layer.visible = False
    assert updates == [1] and qt_viewer.canvas._pause_scene_graph is False  # noqa: SLF001
    compat.wait_for_slicing(viewer, timeout=1.0)
