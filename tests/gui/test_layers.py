"""Core objects -> napari layer data (no display needed), and batched layer updates."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.segmentation import LabelConvention, Segmentation
from corebt_viewer.core.volume import Volume
from corebt_viewer.gui import layers as L


def make_volume(rng, shape=(20, 24, 16), sequence=Sequence.T1C):
    data = np.zeros(shape, np.float32)
    data[4:16, 4:20, 3:13] = rng.normal(100, 10, (12, 16, 10))
    data[10, 10, 8] = 10_000  # one outlier the window must ignore
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    affine[:3, 3] = (-10, -12, -16)
    return Volume(data, affine, (1.0, 1.0, 2.0), sequence)


def test_volume_layer_in_mm_with_brain_window(rng):
    volume = make_volume(rng)
    data, kwargs = L.volume_layer(volume)
    assert data is volume.data
    assert kwargs["scale"] == (1.0, 1.0, 2.0) and kwargs["translate"] == (-10.0, -12.0, -16.0)
    lo, hi = kwargs["contrast_limits"]
    assert 50 < lo < 100 < hi < 200  # percentiles inside the brain, outlier and zeros ignored
    assert kwargs["name"] == "T1c"


def test_segmentation_layer_colours_and_tumour_centre(rng):
    volume = make_volume(rng)
    labels = np.zeros(volume.shape, np.uint8)
    labels[5:10, 6:11, 2:7] = 3
    seg = Segmentation(labels, LabelConvention.BRATS_2021, (1.0, 1.0, 2.0), volume.affine)
    data, kwargs = L.segmentation_layer(seg)
    assert data is labels
    colours = kwargs["colormap"]
    assert colours[0][3] == 0 and colours[3][:3] == pytest.approx((1.0, 0.85, 0.05))
    centre = L.tumour_centre(seg, volume)
    assert centre == pytest.approx((-10 + 7, -12 + 8, -16 + 2 * 4))
    empty = Segmentation(
        np.zeros_like(labels), LabelConvention.BRATS_2021, (1.0, 1.0, 2.0), volume.affine
    )
    assert L.tumour_centre(empty, volume) == pytest.approx((0.0, 0.0, 0.0))


def test_tile_map_and_heatmap():
    coords = np.array([[512, 256], [768, 256], [512, 512]])
    values = np.array([1.0, -0.5, 0.25])
    tmap = L.tile_map(coords, values)
    assert tmap.tile_size == 256 and tmap.origin == (512, 256)
    assert tmap.values.shape == (2, 2)
    assert tmap.values[0, 0] == 1.0 and tmap.values[0, 1] == -0.5 and np.isnan(tmap.values[1, 1])
    rgba, kwargs = L.heatmap_layer(tmap, mpp=0.5)
    assert rgba.shape == (2, 2, 4) and rgba[1, 1, 3] == 0  # no tile: transparent
    assert rgba[0, 0, 0] > rgba[0, 0, 2] and rgba[0, 1, 2] > rgba[0, 1, 0]  # red for, blue against
    assert rgba[0, 0, 3] > rgba[1, 0, 3]  # stronger where |value| is larger
    assert kwargs["scale"] == (128.0, 128.0)  # 256 px at 0.5 um/px
    assert kwargs["translate"] == (256 * 0.5 + 64, 512 * 0.5 + 64)


def test_replace_labels_data_resets_undo_history():
    from napari.layers import Labels

    layer = Labels(np.zeros((4, 5, 6), np.uint8))
    layer.paint((1, 1, 1), 2)
    assert layer._undo_history
    new = np.ones((6, 5, 4), np.uint8)
    L.replace_labels_data(layer, new, {"scale": (1.0, 2.0, 3.0)})
    assert layer.data is new and tuple(layer.scale) == (1.0, 2.0, 3.0)
    assert not layer._undo_history


def test_one_scene_update_rebuilds_the_canvas_scene_once(qtbot):
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    qtbot.addWidget(qt_viewer)
    layers = [viewer.add_image(np.full((8, 8), float(i))) for i in range(3)]
    canvas = qt_viewer.canvas
    rebuild = canvas._update_scenegraph
    rebuilds = []

    def counting(event=None):
        if not canvas._pause_scene_graph:
            rebuilds.append(1)
        rebuild(event)

    canvas._update_scenegraph = counting  # napari calls it by name: this sees every call
    for layer in layers:
        layer.visible = False
    assert len(rebuilds) == 3  # napari's own cost: one rebuild per change

    rebuilds.clear()
    with L.one_scene_update(qt_viewer):
        for layer in layers:
            L.set_visible(layer, True)
        viewer.grid.enabled = True
    assert len(rebuilds) == 1
    assert all(canvas.layer_to_visual[layer].node.visible for layer in layers)

    rebuilds.clear()
    with L.one_scene_update(qt_viewer):
        L.set_visible(layers[0], True)  # nothing changes: no rebuild
    assert rebuilds == []

    with pytest.raises(RuntimeError), L.one_scene_update(qt_viewer):
        raise RuntimeError("a failing step")
    assert not canvas._pause_scene_graph


def test_set_labels_data_keeps_the_colour_lookup_for_the_same_dtype(qtbot):
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    qtbot.addWidget(qt_viewer)
    qt_viewer.show()
    qtbot.waitExposed(qt_viewer)
    colours = {0: (0, 0, 0, 0), 1: (1, 0, 0, 1), 2: (0, 1, 0, 1), None: (0, 0, 0, 0)}
    layer = viewer.add_labels(np.ones((32, 32), np.uint8), colormap=colours, opacity=1.0)
    visual = qt_viewer.canvas.layer_to_visual[layer]
    rebuild = visual._on_colormap_change
    rebuilds = []

    def counting(event=None):
        rebuilds.append(1)
        rebuild(event)

    visual._on_colormap_change = counting  # napari calls it by name: this sees every call

    def centre_colour():
        qtbot.wait(200)  # the asynchronous slice, then a draw
        image = qt_viewer.screenshot(flash=False)
        return image[image.shape[0] // 2, image.shape[1] // 2, :3]

    assert tuple(centre_colour()) == (255, 0, 0)
    L.set_labels_data(layer, np.full((32, 32), 2, np.uint8))
    assert rebuilds == []  # same dtype: no new lookup, no shader relink
    qtbot.waitUntil(lambda: tuple(centre_colour()) == (0, 255, 0))

    L.set_labels_data(layer, np.full((32, 32), 1, np.uint16))
    assert rebuilds  # another dtype: napari rebuilds the lookup
    qtbot.waitUntil(lambda: tuple(centre_colour()) == (255, 0, 0))
