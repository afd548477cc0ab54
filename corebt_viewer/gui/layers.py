"""Core objects -> napari layer data and keyword arguments (the only such conversion).

Every function returns plain ``(data, kwargs)`` for ``ViewerModel.add_image`` /
``add_labels``, so canvases stay thin and this module is testable without a display.
MRI layers live in physical millimetres (RAS), slide layers in microns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.segmentation import REGIONS, Region, Segmentation
from corebt_viewer.core.volume import Volume
from corebt_viewer.gui import _napari_compat as compat
from corebt_viewer.gui.slide_layers import (  # slide layers, with the same conversions
    TileMap,
    blank_pyramid,
    heatmap_layer,
    infer_tile_size,
    slide_layer,
    tile_grid_layer,
    tile_map,
)

__all__ = [
    "TileMap",
    "blank_pyramid",
    "heatmap_layer",
    "infer_tile_size",
    "slide_layer",
    "tile_grid_layer",
    "tile_map",
]

TRANSPARENT = (0.0, 0.0, 0.0, 0.0)

# Display planes: napari ``dims.order`` for (x, y, z) RAS data; the last two axes are drawn
# as (row, column). With the camera's 2D orientation ("up", "left") every plane is shown
# in radiological convention (patient's right on the left, anterior / superior up).
PLANES: dict[str, tuple[int, int, int]] = {
    "axial": (2, 1, 0),
    "coronal": (1, 2, 0),
    "sagittal": (0, 2, 1),
}
RADIOLOGICAL_2D = ("up", "left")
#: The linked crosshair's lines (magenta: apart from the mask colours and the rulers' cyan)
CROSSHAIR_COLOUR = "#ff3cf0"


def region_colours() -> dict[int | None, tuple[float, float, float, float]]:
    """Canonical label -> RGBA, BraTS colours; background and unknown transparent."""
    colours: dict[int | None, tuple[float, float, float, float]] = {
        0: TRANSPARENT,
        None: TRANSPARENT,
    }
    for region in REGIONS:
        colours[int(region)] = region.colour
    return colours


def legend_entries() -> list[tuple[str, str, str]]:
    """(short name, full name, hex colour) of each tumour region, for a legend."""
    out = []
    for region in REGIONS:
        r, g, b, _ = region.colour
        out.append(
            (region.short, region.title, f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
        )
    return out


def grid_transform(affine: np.ndarray, voxel_size) -> dict:
    """``scale`` and ``translate`` (mm) of a voxel grid whose axes follow RAS."""
    return {
        "scale": tuple(float(v) for v in voxel_size),
        "translate": tuple(float(v) for v in np.asarray(affine)[:3, 3]),
    }


def brain_window(volume: Volume) -> tuple[float, float]:
    """Contrast limits from the 0.5-99.5 percentiles of the voxels inside the brain.

    The brain is the non-zero voxels (skull-stripped BraTS data); a volume without zeros
    uses the voxels above its 2nd percentile, which drops the air background.
    """
    data = volume.data
    step = max(1, int(round((data.size / 2_000_000) ** (1 / 3))))  # subsample large volumes
    sample = np.asarray(data[::step, ::step, ::step])
    inside = sample != 0
    if inside.mean() > 0.98:
        inside = sample > np.percentile(sample, 2)
    if not inside.any():
        return (0.0, 1.0)
    lo, hi = np.percentile(sample[inside], [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))


def volume_layer(
    volume: Volume, *, window: tuple[float, float] | None = None
) -> tuple[np.ndarray, dict]:
    """Image layer for one MRI sequence."""
    name = volume.sequence.title if volume.sequence is not None else "MRI"
    kwargs = {
        "name": name,
        "contrast_limits": window or brain_window(volume),
        "colormap": "gray",
        "interpolation2d": "linear",
        "interpolation3d": "linear",
        "rendering": "mip",
        "units": ("mm", "mm", "mm"),
        "metadata": {"sequence": volume.sequence, "path": volume.path},
        **grid_transform(volume.affine, volume.voxel_size),
    }
    return volume.data, kwargs


def segmentation_layer(
    segmentation: Segmentation, *, name: str = "Tumour mask"
) -> tuple[np.ndarray, dict]:
    """Labels layer for a canonical tumour mask, in the BraTS colours."""
    kwargs = {
        "name": name,
        "colormap": region_colours(),
        "units": ("mm", "mm", "mm"),
        "metadata": {"convention": segmentation.convention},
        **grid_transform(segmentation.affine, segmentation.voxel_size),
    }
    return segmentation.labels, kwargs


def empty_volume_layer(sequence: Sequence) -> tuple[np.ndarray, dict]:
    """A 2x2x2 black image slot for `sequence`, filled when a case opens."""
    return np.zeros((2, 2, 2), np.float32), {
        "name": sequence.title,
        "contrast_limits": (0.0, 1.0),
        "colormap": "gray",
        "interpolation2d": "linear",
        "interpolation3d": "linear",
        "rendering": "mip",
        "units": ("mm", "mm", "mm"),
        "visible": False,
    }


def empty_labels_layer(name: str = "Tumour mask") -> tuple[np.ndarray, dict]:
    """An empty mask slot in the BraTS colours, filled when a case opens."""
    return np.zeros((2, 2, 2), np.uint8), {
        "name": name,
        "colormap": region_colours(),
        "units": ("mm", "mm", "mm"),
        "visible": False,
    }


def missing_volume_layer(reference: Volume, sequence: Sequence) -> tuple[np.ndarray, dict]:
    """A 2x2x2 black stand-in covering the same box as `reference`, named as missing."""
    spacing = tuple(float(reference.shape[i] * reference.voxel_size[i] / 2) for i in range(3))
    origin = np.asarray(reference.affine)[:3, 3]
    translate = tuple(
        float(origin[i] - reference.voxel_size[i] / 2 + spacing[i] / 2) for i in range(3)
    )
    return np.zeros((2, 2, 2), np.float32), {
        "name": sequence_label(sequence, False),
        "scale": spacing,
        "translate": translate,
        "contrast_limits": (0.0, 1.0),
        "metadata": {"sequence": sequence, "missing": True},
    }


def blank_segmentation_layer(reference: Volume) -> tuple[np.ndarray, dict]:
    """An all-background mask on the reference grid (a case without a mask file)."""
    return np.zeros(reference.shape, np.uint8), {
        "metadata": {"convention": None, "blank": True},
        **grid_transform(reference.affine, reference.voxel_size),
    }


_SWAPPABLE = ("scale", "translate", "units", "name", "metadata", "contrast_limits", "opacity")


def _same(current, new) -> bool:
    try:
        if isinstance(new, (tuple, list, np.ndarray)) and not isinstance(new, str):
            return np.shape(current) == np.shape(new) and bool(
                np.all(np.asarray(current) == np.asarray(new))
            )
        return bool(current == new)
    except (TypeError, ValueError):
        return False


def replace_image_data(layer, data, kwargs: dict) -> None:
    """Give an existing layer new data and placement (far cheaper than a new layer).

    Only attributes that change are set: each set fires napari events on the UI thread.
    """
    if "scale" in kwargs and len(kwargs["scale"]) != layer.ndim:
        raise ValueError("cannot change the number of dimensions of a layer")
    for key in ("scale", "translate"):
        if key in kwargs and not _same(getattr(layer, key), kwargs[key]):
            setattr(layer, key, kwargs[key])
    if "contrast_limits" in kwargs:
        lo, hi = kwargs["contrast_limits"]
        layer.contrast_limits_range = (lo, hi)
    if _is_labels(layer):
        set_labels_data(layer, data)
    else:
        layer.data = data
    for key in _SWAPPABLE:
        if key in ("scale", "translate") or key not in kwargs:
            continue
        if key == "metadata":
            layer.metadata = kwargs[key]
        elif not _same(getattr(layer, key), kwargs[key]):
            setattr(layer, key, kwargs[key])


def _is_labels(layer) -> bool:
    from napari.layers import Labels

    return isinstance(layer, Labels)


def set_labels_data(layer, data) -> None:
    """Give a labels layer new data, keeping its colour lookup if the dtype is the same.

    On every change of a labels layer's data, napari's canvas rebuilds the layer's colour
    lookup, and so relinks its shader: 15-30 ms of a frame with a software renderer. The
    lookup depends only on the colormap and the data types, so it is kept while the dtype
    stays; with another dtype napari rebuilds it as usual.
    """
    old, new = getattr(layer.data, "dtype", None), getattr(data, "dtype", None)
    if old is not None and new is not None and np.dtype(old) == np.dtype(new):
        with compat.colormap_kept(layer):
            layer.data = data
    else:
        layer.data = data


def replace_labels_data(layer, data, kwargs: dict) -> None:
    """Swap a labels layer's mask and clear its undo history.

    A case's edits must never be undoable into the next case: napari keeps the history
    when ``data`` is set, so it is reset here (a fresh layer would cost a few hundred ms).
    """
    replace_image_data(layer, data, kwargs)
    reset_labels_history(layer)


def set_visible(layer, visible: bool) -> None:
    """Change a layer's visibility only when it changes (each change redraws the canvas)."""
    if layer.visible != visible:
        layer.visible = visible


@contextmanager
def one_scene_update(qt_viewer) -> Iterator[None]:
    """Show and hide several layers of a canvas with one scene-graph update.

    napari rebuilds a canvas's scene graph (layer order, overlays, a draw pass) on every
    change of a layer's visibility or of the grid: 10-20 ms of the UI thread each. Inside
    this block the rebuild waits, and runs once at the end if any of those changed.
    (napari's own ``LayerList.batched_update`` also runs a full garbage collection.)
    """
    viewer = qt_viewer.viewer
    before = _scene_state(viewer)
    with compat.scene_graph_paused(qt_viewer, lambda: _scene_state(viewer) != before):
        yield


def _scene_state(viewer) -> tuple:
    grid = viewer.grid
    layers = tuple((id(layer), layer.visible) for layer in viewer.layers)
    return layers, grid.enabled, tuple(grid.shape), grid.stride, grid.spacing


def reset_labels_history(layer) -> None:
    """Forget a labels layer's undo/redo steps (its labels changed outside its history)."""
    compat.reset_labels_history(layer)


def voxel_to_world(affine: np.ndarray, voxel, voxel_size) -> tuple[float, float, float]:
    """World (layer) coordinates in mm of a voxel index, as napari places it."""
    t = grid_transform(affine, voxel_size)
    return tuple(float(t["translate"][i] + t["scale"][i] * voxel[i]) for i in range(3))


def tumour_centre(
    segmentation: Segmentation | None, volume: Volume | None
) -> tuple[float, ...] | None:
    """World position (mm) where the viewer should open: the tumour's centre, else mid-volume."""
    if segmentation is not None:
        voxel = segmentation.centroid_voxel()
        if voxel is not None:
            return voxel_to_world(segmentation.affine, voxel, segmentation.voxel_size)
    if volume is not None:
        mid = [s // 2 for s in volume.shape]
        return voxel_to_world(volume.affine, mid, volume.voxel_size)
    return None


def sequence_label(sequence: Sequence, present: bool) -> str:
    return sequence.title if present else f"{sequence.title} (missing)"


# ---------------------------------------------------------------- slides


def region_title(value: int) -> str:
    return Region(value).title if value in (1, 2, 3) else "background"
