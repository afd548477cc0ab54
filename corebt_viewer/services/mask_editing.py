"""Mask editing tools on canonical label volumes (numpy and scipy, no GUI).

Every tool takes a canonical label array (0 background, 1 necrotic core, 2 oedema,
3 enhancing; axes in RAS voxel order) and returns a *new* array; :func:`label_edit` turns
the before/after pair into a :class:`LabelEdit` (indices, old and new values) that a viewer
applies as one undoable step, e.g. ``layer.data_setitem(edit.indices, edit.values)``.
The tools work on the bounding box of what they touch, so they stay fast on whole brains.

The tools are the ones that make 3D Slicer's Segment Editor and ITK-SNAP quicker than plain
painting: remove small islands, smooth a region and fill between slices (shape-based
interpolation of signed distance maps). Paint limited to an intensity range is done by the
viewer's own brush (:mod:`corebt_viewer.gui.mask_intensity`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from corebt_viewer.core.segmentation import REGIONS

# the live table's statistics live in their own module; kept importable from here
from corebt_viewer.services.mask_statistics import EditStats, RegionStats, edit_stats  # noqa: F401

# --------------------------------------------------------------------------- edits


@dataclass(frozen=True)
class LabelEdit:
    """The voxels one edit changes.

    Attributes
    ----------
    indices : tuple of ndarray
        Fancy index (one integer array per axis) of the changed voxels.
    values : ndarray
        New label of each voxel.
    previous : ndarray
        Label before the edit (to undo it).
    """

    indices: tuple[np.ndarray, ...]
    values: np.ndarray
    previous: np.ndarray

    @property
    def n_changed(self) -> int:
        return int(self.values.size)

    def apply(self, labels: np.ndarray) -> np.ndarray:
        """Apply the edit to `labels` in place (and return it)."""
        labels[self.indices] = self.values
        return labels

    def revert(self, labels: np.ndarray) -> np.ndarray:
        """Undo the edit on `labels` in place (and return it)."""
        labels[self.indices] = self.previous
        return labels


def label_edit(before: np.ndarray, after: np.ndarray) -> LabelEdit:
    """The :class:`LabelEdit` that turns `before` into `after`."""
    if before.shape != after.shape:
        raise ValueError(f"shapes differ: {before.shape} vs {after.shape}")
    indices = np.nonzero(before != after)
    return LabelEdit(indices, after[indices], before[indices])


def _bbox(mask: np.ndarray, margin: int | Sequence[int] = 0) -> tuple[slice, ...] | None:
    """Slices of the bounding box of `mask`, grown by `margin` (None when empty)."""
    if not mask.any():
        return None
    margins = np.broadcast_to(np.asarray(margin, dtype=int), (mask.ndim,))
    out = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        out.append(
            slice(
                max(int(hit[0]) - margins[axis], 0),
                min(int(hit[-1]) + 1 + margins[axis], mask.shape[axis]),
            )
        )
    return tuple(out)


def _voxel_ml(voxel_size: Sequence[float]) -> float:
    return float(np.prod(voxel_size)) / 1000.0


def _region_list(regions: Iterable[int] | None) -> list[int]:
    return [int(r) for r in (REGIONS if regions is None else regions)]


# --------------------------------------------------------------------------- painting


def brush_indices(
    shape: Sequence[int],
    center: Sequence[float],
    brush_size: float,
    *,
    dims: Sequence[int] | None = None,
    scale: Sequence[float] | None = None,
) -> tuple[np.ndarray, ...]:
    """Voxels under a round brush (a disc in `dims`, the other axes fixed at `center`).

    Parameters
    ----------
    shape : sequence of int
    center : sequence of float
        Brush centre in voxel coordinates.
    brush_size : float
        Diameter in voxels of the finest axis (as napari's ``brush_size``).
    dims : sequence of int, optional
        Axes the brush extends along (default all: a ball); ``(0, 1)`` paints on the
        current axial slice.
    scale : sequence of float, optional
        Voxel size, so the brush is round in millimetres on anisotropic grids.
    """
    ndim = len(shape)
    dims = tuple(range(ndim)) if dims is None else tuple(dims)
    scale = np.ones(ndim) if scale is None else np.abs(np.asarray(scale, dtype=float))
    rel = scale / scale[list(dims)].min()
    radius = np.floor(brush_size / 2) + 0.5
    centre = np.round(np.asarray(center, dtype=float)).astype(int)
    axes = []
    for axis in range(ndim):
        if axis in dims:
            half = int(np.floor(radius / rel[axis]))
            lo, hi = max(centre[axis] - half, 0), min(centre[axis] + half + 1, shape[axis])
            axes.append(np.arange(lo, hi))
        else:
            if not 0 <= centre[axis] < shape[axis]:
                return tuple(np.zeros(0, dtype=np.intp) for _ in range(ndim))
            axes.append(np.array([centre[axis]]))
    grid = np.meshgrid(*axes, indexing="ij")
    dist2 = sum(((grid[a] - centre[a]) * rel[a]) ** 2 for a in dims)
    inside = dist2 <= radius**2
    return tuple(g[inside].astype(np.intp) for g in grid)


# --------------------------------------------------------------------------- islands


def _structure(ndim: int, connectivity: int):
    from scipy import ndimage as ndi

    if not 1 <= connectivity <= ndim:
        raise ValueError(f"connectivity must be 1..{ndim}, got {connectivity}")
    return ndi.generate_binary_structure(ndim, connectivity)


def _nearest_fill(labels: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Labels for the voxels of `holes` taken from the nearest voxel outside them."""
    from scipy import ndimage as ndi

    box = _bbox(holes, margin=2)
    sub_holes = holes[box]
    if sub_holes.all():  # nothing around within the box: use the whole volume
        box = tuple(slice(None) for _ in labels.shape)
        sub_holes = holes
    _, nearest = ndi.distance_transform_edt(sub_holes, return_indices=True)
    sub = labels[box]
    return sub[tuple(n[sub_holes] for n in nearest)]


def remove_small_islands(
    labels: np.ndarray,
    *,
    min_voxels: int | None = None,
    min_ml: float | None = None,
    voxel_size: Sequence[float] | None = None,
    regions: Iterable[int] | None = None,
    connectivity: int = 1,
    fill: str = "background",
) -> np.ndarray:
    """Remove connected pieces of a region smaller than a size.

    Parameters
    ----------
    labels : ndarray
    min_voxels : int, optional
        Pieces with fewer voxels go.
    min_ml : float, optional
        Same in millilitres (needs `voxel_size`).
    voxel_size : sequence of float, optional
        Millimetres per voxel.
    regions : iterable of int, optional
        Regions to clean (default all three), each on its own.
    connectivity : int
        1 faces, 2 faces and edges, 3 also corners (3D).
    fill : {"background", "surrounding"}
        What removed voxels become: background, or the label of the nearest voxel kept
        (an enhancing speck inside oedema becomes oedema).

    Returns
    -------
    ndarray
        A new label array.
    """
    from scipy import ndimage as ndi

    if (min_voxels is None) == (min_ml is None):
        raise ValueError("give exactly one of min_voxels and min_ml")
    if min_ml is not None:
        if voxel_size is None:
            raise ValueError("min_ml needs voxel_size")
        min_voxels = int(np.ceil(min_ml / _voxel_ml(voxel_size) - 1e-9))
    if fill not in ("background", "surrounding"):
        raise ValueError(f"fill must be 'background' or 'surrounding', not {fill!r}")
    structure = _structure(labels.ndim, connectivity)
    removed = np.zeros(labels.shape, dtype=bool)
    for region in _region_list(regions):
        mask = labels == region
        box = _bbox(mask)
        if box is None:
            continue
        comp, n = ndi.label(mask[box], structure=structure)
        if n == 0:
            continue
        sizes = np.bincount(comp.ravel(), minlength=n + 1)
        small = np.flatnonzero(sizes < min_voxels)
        small = small[small > 0]
        if small.size:
            removed[box] |= np.isin(comp, small)
    out = labels.copy()
    if not removed.any():
        return out
    out[removed] = 0 if fill == "background" else _nearest_fill(labels, removed)
    return out


# --------------------------------------------------------------------------- smoothing


def smooth_region(
    labels: np.ndarray,
    region: int,
    *,
    method: str = "gaussian",
    sigma_mm: float = 1.0,
    radius: int = 1,
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    overwrite_other: bool = False,
) -> np.ndarray:
    """Smooth the outline of one region, leaving the other regions as they are.

    Parameters
    ----------
    labels : ndarray
    region : int
        Canonical label to smooth.
    method : {"gaussian", "median", "opening", "closing"}
        ``gaussian``: blur the region's mask (`sigma_mm`) and threshold at 0.5;
        ``median``: majority filter of a ball of `radius`; ``opening`` removes spurs and
        thin bridges, ``closing`` fills notches and pin holes (ball of `radius` voxels).
    sigma_mm : float
    radius : int
    voxel_size : sequence of float
    overwrite_other : bool
        Let the region grow over other regions too (default: it grows into background only).

    Returns
    -------
    ndarray
        A new label array. Voxels the region loses take the label of the nearest voxel
        outside the region (background or a neighbouring region).
    """
    from scipy import ndimage as ndi

    mask = labels == region
    spacing = np.asarray(voxel_size, dtype=float)
    sigma_vox = sigma_mm / spacing
    margin = np.ceil(np.maximum(3 * sigma_vox, radius) + 2).astype(int)
    box = _bbox(mask, margin)
    out = labels.copy()
    if box is None:
        return out
    sub_mask = mask[box]
    ball = ndi.generate_binary_structure(labels.ndim, 1)
    ball = ndi.iterate_structure(ball, radius) if radius > 1 else ball
    if method == "gaussian":
        new_mask = ndi.gaussian_filter(sub_mask.astype(np.float32), sigma=sigma_vox) >= 0.5
    elif method == "median":
        new_mask = ndi.median_filter(sub_mask.astype(np.uint8), footprint=ball) > 0
    elif method == "opening":
        new_mask = ndi.binary_opening(sub_mask, structure=ball)
    elif method == "closing":
        padded = np.pad(sub_mask, radius + 1)
        closed = ndi.binary_closing(padded, structure=ball)
        new_mask = closed[tuple(slice(radius + 1, -(radius + 1)) for _ in sub_mask.shape)]
    else:
        raise ValueError(f"unknown smoothing method {method!r}")
    sub = out[box]
    lost = sub_mask & ~new_mask
    if lost.any():
        if (~sub_mask).any():  # label of the nearest voxel outside the region
            _, nearest = ndi.distance_transform_edt(sub_mask, return_indices=True)
            sub[lost] = labels[box][tuple(n[lost] for n in nearest)]
        else:
            sub[lost] = 0
    gained = new_mask & ~sub_mask
    if not overwrite_other:
        gained &= labels[box] == 0
    sub[gained] = region
    return out


# --------------------------------------------------------------------------- interpolation


def _signed_distance_2d(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Signed distance to the outline: negative inside, positive outside (mm)."""
    from scipy import ndimage as ndi

    if not mask.any():
        return np.full(mask.shape, np.inf, dtype=np.float32)
    outside = ndi.distance_transform_edt(~mask, sampling=spacing)
    inside = ndi.distance_transform_edt(mask, sampling=spacing)
    return (outside - inside).astype(np.float32)


def fill_between_slices(
    labels: np.ndarray,
    region: int,
    *,
    axis: int = 2,
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    max_gap: int | None = None,
    overwrite_other: bool = False,
) -> np.ndarray:
    """Interpolate a region drawn on some slices into the empty slices between them.

    Shape-based interpolation: between two consecutive slices that hold the region, each
    empty slice gets the zero level set of the linear blend of the two slices' signed
    distance maps, so outlines morph smoothly (a small disc grows into a large one, shifted
    shapes slide).

    Parameters
    ----------
    labels : ndarray
    region : int
    axis : int
        Slice axis (2: axial slices of a RAS volume).
    voxel_size : sequence of float
        In-plane distances are measured in millimetres.
    max_gap : int, optional
        Leave gaps of more than `max_gap` empty slices alone.
    overwrite_other : bool
        Fill over other regions too (default background only).

    Returns
    -------
    ndarray
        A new label array.
    """
    mask = labels == region
    out = labels.copy()
    moved = np.moveaxis(mask, axis, 0)
    target = np.moveaxis(out, axis, 0)  # a view: writes go to `out`
    present = np.flatnonzero(moved.reshape(moved.shape[0], -1).any(axis=1))
    if present.size < 2:
        return out
    spacing = [s for i, s in enumerate(voxel_size) if i != axis]
    box = _bbox(moved.any(axis=0), margin=2)
    for k0, k1 in zip(present[:-1], present[1:], strict=True):
        gap = int(k1 - k0 - 1)
        if gap == 0 or (max_gap is not None and gap > max_gap):
            continue
        d0 = _signed_distance_2d(moved[k0][box], spacing)
        d1 = _signed_distance_2d(moved[k1][box], spacing)
        for k in range(k0 + 1, k1):
            t = (k - k0) / (k1 - k0)
            inside = (1 - t) * d0 + t * d1 < 0
            plane = target[k][box]
            if not overwrite_other:
                inside &= plane == 0
            plane[inside] = region
    return out
