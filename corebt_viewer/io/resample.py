"""Resample volumes and masks between grids through their affines (scanner space).

Every grid is a ``(shape, affine)`` pair with the affine mapping voxel indices to world
(RAS, mm) coordinates, as :mod:`corebt_viewer.io.nifti` returns them. A point of the target
grid is mapped to world, optionally through a rigid world-to-world `transform` (a
registration result: target world -> source world), then into the source's voxels, where
it is interpolated (trilinear for images, nearest neighbour for label masks). Voxels that
fall outside the source are 0.

scipy.ndimage is used (already a dependency; works on the RAS arrays in memory, with no
conversion to another library's image type or LPS convention). Registration itself uses
SimpleITK (:mod:`corebt_viewer.io.registration`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

Grid = tuple[tuple[int, int, int], np.ndarray]


def same_grid(a: Grid, b: Grid, atol: float = 1e-3) -> bool:
    """Whether two ``(shape, affine)`` grids are the same (affines within `atol` mm)."""
    return tuple(a[0])[:3] == tuple(b[0])[:3] and np.allclose(a[1], b[1], atol=atol, rtol=0)


def describe_grid(shape, affine) -> str:
    """``240x240x155 at 1x1x1 mm`` for a grid."""
    zooms = np.sqrt((np.asarray(affine, float)[:3, :3] ** 2).sum(axis=0))
    size = "x".join(str(int(s)) for s in shape[:3])
    return f"{size} at " + "x".join(f"{z:.3g}" for z in zooms) + " mm"


def resample_to_grid(
    data: np.ndarray,
    source_affine: np.ndarray,
    target_shape: tuple[int, int, int],
    target_affine: np.ndarray,
    *,
    order: int = 1,
    transform: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """`data` (on the grid of `source_affine`) sampled on the target grid.

    Parameters
    ----------
    data : ndarray
        3-D array indexed like `source_affine`.
    source_affine, target_affine : ndarray
        4x4 voxel-to-world affines.
    target_shape : tuple of int
    order : int
        1 trilinear (images), 0 nearest neighbour (labels: values are kept exactly).
    transform : ndarray, optional
        4x4 world-to-world map from target world to source world (a registration's
        result); identity when the scanner coordinates agree.
    out : ndarray, optional
        Output array (default: float32 for ``order >= 1``, `data`'s dtype for ``order 0``).

    Returns
    -------
    ndarray
        Array of `target_shape`.
    """
    from scipy import ndimage

    world = np.eye(4) if transform is None else np.asarray(transform, float)
    voxel = (
        np.linalg.inv(np.asarray(source_affine, float)) @ world @ np.asarray(target_affine, float)
    )
    matrix, offset = voxel[:3, :3], voxel[:3, 3]
    if np.allclose(matrix, np.diag(np.diag(matrix)), atol=1e-9):
        matrix = np.diag(matrix)  # axis-aligned: scipy's faster zoom-and-shift path
    dtype = (data.dtype if order == 0 else np.float32) if out is None else out.dtype
    if out is None:
        out = np.zeros(tuple(int(s) for s in target_shape[:3]), dtype)
    source = data if order == 0 or data.dtype == np.float32 else data.astype(np.float32)
    ndimage.affine_transform(
        source,
        matrix,
        offset=offset,
        output=out,
        order=order,
        mode="constant",
        cval=0,
        prefilter=False,
    )
    return out


def isotropic_grid(shape, affine, spacing: float = 1.0) -> Grid:
    """An axis-aligned RAS grid of `spacing` mm covering the field of view of a grid."""
    affine = np.asarray(affine, float)
    corners = np.array(
        [
            [i, j, k, 1.0]
            for i in (-0.5, shape[0] - 0.5)
            for j in (-0.5, shape[1] - 0.5)
            for k in (-0.5, shape[2] - 0.5)
        ]
    )
    world = (affine @ corners.T).T[:, :3]
    low, high = world.min(axis=0), world.max(axis=0)
    size = tuple(int(np.ceil((h - lo) / spacing - 1e-6)) for lo, h in zip(low, high, strict=True))
    target = np.diag([spacing, spacing, spacing, 1.0])
    target[:3, 3] = low + spacing / 2
    return size, target


def labels_to_file_grid(
    labels: np.ndarray, labels_affine: np.ndarray, reference: str | Path
) -> np.ndarray:
    """Labels drawn on another grid, put back (nearest neighbour) on the grid of a file.

    Used when a mask edited on the case's reference grid is saved as a version of an
    original that lives on a native sequence's grid: the version keeps the original's grid.

    Returns
    -------
    ndarray
        Labels in the canonical (RAS) voxel order of `reference`.
    """
    from corebt_viewer.io.nifti import read_header

    header = read_header(reference, check_size=False)
    if same_grid((labels.shape, labels_affine), (header.shape, header.affine)):
        return labels
    return resample_to_grid(labels, labels_affine, header.shape, header.affine, order=0)
