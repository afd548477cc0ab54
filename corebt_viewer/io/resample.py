"""Resample volumes and masks between grids through their affines (scanner space).

Every grid is a ``(shape, affine)`` pair with the affine mapping voxel indices to world
(RAS, mm) coordinates, as :mod:`corebt_viewer.io.nifti` returns them. A point of the target
grid is mapped to world, optionally through a rigid world-to-world `transform` (a
registration result: target world -> source world), then into the source's voxels, where
it is interpolated (trilinear for images, nearest neighbour for label masks). Voxels that
fall outside the source are 0.

SimpleITK's resampler does the work: measured on the real 240x240x155 T2 on one core it
is 2.5 times faster than ``scipy.ndimage.affine_transform`` (0.62 s vs 1.58 s) with the
same values (differences under 1e-9), and it is the library registration uses anyway
(:mod:`corebt_viewer.io.registration`), so one RAS <-> LPS conversion serves both.
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
    threads: int | None = None,
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
        1 trilinear (images; float32 out), 0 nearest neighbour (labels: values and dtype
        kept exactly).
    transform : ndarray, optional
        4x4 world-to-world map from target world to source world (a registration's
        result); identity when the scanner coordinates agree.
    threads : int, optional
        Threads (default: SimpleITK's own choice, all cores).

    Returns
    -------
    ndarray
        Array of `target_shape`, C-ordered.
    """
    import SimpleITK as sitk

    from corebt_viewer.io.registration import to_sitk

    if order not in (0, 1):
        raise ValueError("order must be 0 (nearest neighbour) or 1 (trilinear)")
    data = np.asarray(data)
    kind = data.dtype if order == 0 else np.dtype(np.float32)
    source = to_sitk(data, source_affine, dtype=kind)
    shape = tuple(int(s) for s in target_shape[:3])
    frame = to_sitk(np.zeros((1, 1, 1), kind), target_affine, dtype=kind)  # spacing, axes
    move = sitk.AffineTransform(3)
    if transform is not None:
        lps = _FLIP @ np.asarray(transform, float) @ _FLIP
        move.SetMatrix(tuple(float(v) for v in lps[:3, :3].ravel()))
        move.SetTranslation(tuple(float(v) for v in lps[:3, 3]))
    resampler = sitk.ResampleImageFilter()
    resampler.SetSize(shape)
    resampler.SetOutputSpacing(frame.GetSpacing())
    resampler.SetOutputDirection(frame.GetDirection())
    resampler.SetOutputOrigin(frame.GetOrigin())
    resampler.SetTransform(move)
    resampler.SetInterpolator(sitk.sitkNearestNeighbor if order == 0 else sitk.sitkLinear)
    resampler.SetDefaultPixelValue(0)
    resampler.SetOutputPixelType(source.GetPixelID())
    if threads is not None:
        resampler.SetNumberOfThreads(int(threads))
    out = resampler.Execute(source)
    return np.ascontiguousarray(sitk.GetArrayFromImage(out).transpose(2, 1, 0))


_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])  # RAS <-> LPS


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
