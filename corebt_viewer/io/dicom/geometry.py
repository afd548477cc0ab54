"""Slice geometry of a DICOM series: sort the frames, check the stack, build the affine.

Pure numpy. DICOM positions are in patient LPS millimetres; the affine returned maps the
voxel index ``(column, row, slice)`` to RAS millimetres, as NIfTI does.
"""

from __future__ import annotations

import numpy as np

#: Relative tolerance on slice steps (a step may differ from the median by 1 %).
SPACING_RTOL = 0.01
#: Tolerance on direction cosines.
ORIENTATION_ATOL = 1e-4

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


class GeometryError(ValueError):
    """The frames do not form one regular stack; the message says how."""


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def check_same(values: np.ndarray, what: str, atol: float) -> np.ndarray:
    """The common row of `values` (n, k), or GeometryError when the rows differ."""
    values = np.asarray(values, float)
    first = values[0]
    differs = np.abs(values - first).max(axis=1) > atol
    if differs.any():
        n_kinds = len({tuple(np.round(v, 4)) for v in values})
        raise GeometryError(f"has images with {n_kinds} different {what}")
    return first


def sort_and_check(
    positions: np.ndarray, orientation: np.ndarray, slice_thickness: float | None = None
) -> tuple[np.ndarray, float]:
    """Order the frames along the plane normal and check the spacing is regular.

    Parameters
    ----------
    positions : ndarray (n, 3)
        ImagePositionPatient of each frame (LPS mm).
    orientation : ndarray (6,)
        The shared ImageOrientationPatient (row direction, then column direction).
    slice_thickness : float, optional
        Used as the step of a single-frame series.

    Returns
    -------
    order : ndarray of int
        Frame indices from the lowest to the highest position along the normal.
    step : float
        Distance between consecutive slices (mm).

    Raises
    ------
    GeometryError
        Frames at the same position (several volumes in one series), frames that are not
        stacked along the normal, missing slices (a gap), or irregular spacing.
    """
    positions = np.asarray(positions, float)
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    n = len(positions)
    if n < 2:
        if not slice_thickness:
            raise GeometryError("holds a single image and no slice thickness; not a volume")
        return np.arange(n), float(slice_thickness)
    depth = positions @ normal
    order = np.argsort(depth, kind="stable")
    depth = depth[order]
    steps = np.diff(depth)
    span = float(depth[-1] - depth[0])
    tol = max(1e-3, 1e-4 * max(span, 1.0))
    n_distinct = int(1 + (steps > tol).sum())
    if n_distinct < n:
        raise GeometryError(
            f"has {n} images at only {n_distinct} slice positions: several volumes in one "
            "series (multi-echo, dynamic or diffusion); not supported as one volume"
        )
    in_plane = positions[order] - np.outer(depth, normal)
    drift = float(np.abs(in_plane - in_plane[0]).max())
    if drift > max(0.01, SPACING_RTOL * float(np.median(steps))) * 10:
        raise GeometryError(
            f"has slices that are not stacked along the plane normal (in-plane shift up to "
            f"{_fmt(drift)} mm: gantry tilt or mixed stacks); not supported"
        )
    step = float(np.median(steps))
    off = np.abs(steps - step) > SPACING_RTOL * step
    if off.any():
        ratios = steps / step
        gaps = np.flatnonzero(off & (ratios > 1.5) & (np.abs(ratios - np.round(ratios)) < 0.1))
        if len(gaps) and off.sum() == len(gaps):
            i = int(gaps[0])
            missing = int(sum(round(r) - 1 for r in ratios[gaps]))
            raise GeometryError(
                f"is missing slices: a gap of {_fmt(steps[i])} mm between slice positions "
                f"{_fmt(depth[i])} and {_fmt(depth[i + 1])} mm where the spacing is "
                f"{_fmt(step)} mm (about {missing} slice(s) missing in {len(gaps)} gap(s))"
            )
        raise GeometryError(
            f"has inconsistent slice spacing: steps from {_fmt(steps.min())} to "
            f"{_fmt(steps.max())} mm (median {_fmt(step)} mm)"
        )
    return order, step


def stack_affine(
    first_position: np.ndarray,
    orientation: np.ndarray,
    pixel_spacing: np.ndarray,
    step: float,
) -> np.ndarray:
    """RAS affine of the voxel index ``(column, row, slice)`` of a sorted stack.

    ``pixel_spacing`` is DICOM's PixelSpacing: the distance between rows, then between
    columns.
    """
    row, col = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    affine = np.eye(4)
    affine[:3, 0] = row * float(pixel_spacing[1])
    affine[:3, 1] = col * float(pixel_spacing[0])
    affine[:3, 2] = normal * float(step)
    affine[:3, 3] = np.asarray(first_position, float)
    return _LPS_TO_RAS @ affine


def canonical_transform(
    affine: np.ndarray, shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Orientation transform to RAS+ and the reoriented affine, as :mod:`~corebt_viewer.io.nifti`.

    Same nibabel calls as the project's NIfTI reader (closest canonical axes, no
    resampling); apply the transform with ``nibabel.orientations.apply_orientation``.
    """
    from nibabel import orientations as ornt_mod

    ornt = ornt_mod.io_orientation(affine)
    transform = ornt_mod.ornt_transform(ornt, ornt_mod.axcodes2ornt(("R", "A", "S")))
    return transform, affine @ ornt_mod.inv_ornt_aff(transform, shape)
