"""Build a volume from a DICOM series: classic one-file-per-slice or Enhanced multi-frame.

The result is what :func:`corebt_viewer.io.nifti.load_volume` returns for a NIfTI file:
float32 intensities (rescale slope and intercept applied) indexed (x, y, z) in RAS+
order, with the matching 4x4 affine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.volume import Volume
from corebt_viewer.io.dicom.geometry import (
    ORIENTATION_ATOL,
    GeometryError,
    check_same,
    sort_and_check,
    stack_affine,
    to_canonical,
)
from corebt_viewer.io.dicom.pixels import PixelError, frame_pixels
from corebt_viewer.io.dicom.series import DicomSeries
from corebt_viewer.io.dicom.tags import safe_float


@dataclass
class _Frames:
    """Per-frame geometry and scaling gathered from the files of a series."""

    positions: list
    orientations: list
    spacings: list
    shapes: list
    slopes: list
    intercepts: list
    thickness: float | None = None


def _group(frame_group, shared_group, keyword: str):
    """A functional-group macro item: the frame's own, else the shared one, else None."""
    for holder in (frame_group, shared_group):
        if holder is not None:
            seq = holder.get(keyword)
            if seq:
                return seq[0]
    return None


def _need(value, what: str):
    if value is None:
        raise GeometryError(f"lacks {what}")
    return value


def _add_enhanced(ds, n: int, frames: _Frames) -> None:
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) not in (0, n):
        raise GeometryError(f"has {n} frames but {len(per_frame)} per-frame functional groups")
    shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
    for f in range(n):
        own = per_frame[f] if per_frame else None
        pos = _need(_group(own, shared, "PlanePositionSequence"), "PlanePositionSequence")
        ori = _need(_group(own, shared, "PlaneOrientationSequence"), "PlaneOrientationSequence")
        meas = _need(_group(own, shared, "PixelMeasuresSequence"), "PixelMeasuresSequence")
        scale = _group(own, shared, "PixelValueTransformationSequence")
        frames.positions.append(_need(pos.get("ImagePositionPatient"), "ImagePositionPatient"))
        frames.orientations.append(
            _need(ori.get("ImageOrientationPatient"), "ImageOrientationPatient")
        )
        frames.spacings.append(_need(meas.get("PixelSpacing"), "PixelSpacing"))
        frames.thickness = frames.thickness or safe_float(meas.get("SliceThickness"))
        source = scale if scale is not None else ds
        frames.slopes.append(safe_float(source.get("RescaleSlope")) or 1.0)
        frames.intercepts.append(safe_float(source.get("RescaleIntercept")) or 0.0)
        frames.shapes.append((int(ds.Rows), int(ds.Columns)))


def _add_classic(ds, frames: _Frames) -> None:
    frames.positions.append(_need(ds.get("ImagePositionPatient"), "ImagePositionPatient"))
    frames.orientations.append(_need(ds.get("ImageOrientationPatient"), "ImageOrientationPatient"))
    frames.spacings.append(_need(ds.get("PixelSpacing"), "PixelSpacing"))
    frames.thickness = frames.thickness or safe_float(ds.get("SliceThickness"))
    frames.slopes.append(safe_float(ds.get("RescaleSlope")) or 1.0)
    frames.intercepts.append(safe_float(ds.get("RescaleIntercept")) or 0.0)
    frames.shapes.append((int(ds.Rows), int(ds.Columns)))


def series_folder(series: DicomSeries) -> Path:
    """The folder holding all files of `series` (the file itself for one file)."""
    return Path(os.path.commonpath([str(p) for p in series.files]))


def read_series_volume(series: DicomSeries, sequence: Sequence | None = None) -> Volume:
    """Read one series into a RAS float32 volume.

    Parameters
    ----------
    series : DicomSeries
        From :func:`~corebt_viewer.io.dicom.scan.scan_folder`.
    sequence : Sequence, optional
        Kept on the returned volume.

    Returns
    -------
    Volume
        ``data`` (x, y, z) float32 in RAS order, ``affine`` 4x4 RAS, ``voxel_size`` in mm,
        ``path`` the series' folder.

    Raises
    ------
    InputError
        Naming the series' folder and the series: unreadable files, missing slices,
        inconsistent spacing, several volumes in one series, mixed orientations or
        sizes, undecodable pixel data.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    where = series_folder(series)
    frames = _Frames([], [], [], [], [], [])
    pixels = []
    try:
        for path in series.files:
            try:
                ds = pydicom.dcmread(path)
            except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as exc:
                raise GeometryError(
                    f"has a file that cannot be read: {path.name} ({type(exc).__name__})"
                ) from None
            n = int(safe_float(ds.get("NumberOfFrames")) or 1)
            if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
                _add_enhanced(ds, n, frames)
            elif n == 1:
                _add_classic(ds, frames)
            else:
                raise GeometryError(
                    f"has a file with {n} frames but no functional groups: {path.name}"
                )
            pixels.append(frame_pixels(ds, n))
        volume = _assemble(frames, pixels)
    except (GeometryError, PixelError) as exc:
        raise InputError(where, f"{series.label} {exc}") from None
    data, affine = volume
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    return Volume(
        data=data,
        affine=affine,
        voxel_size=tuple(float(z) for z in zooms),
        sequence=sequence,
        path=where,
    )


def _assemble(frames: _Frames, pixels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sort, check and stack the frames; returns RAS data and affine."""
    if len({s for s in frames.shapes}) > 1:
        raise GeometryError(f"has images of {len(set(frames.shapes))} different sizes")
    orientation = check_same(frames.orientations, "orientations", ORIENTATION_ATOL)
    spacing = check_same(frames.spacings, "pixel spacings", 1e-3)
    norms = np.linalg.norm(orientation.reshape(2, 3), axis=1)
    if (
        np.any(np.abs(norms - 1) > 1e-3)
        or abs(float(np.dot(orientation[:3], orientation[3:]))) > 1e-3
    ):
        raise GeometryError(
            "has an ImageOrientationPatient that is not two unit, orthogonal vectors"
        )
    positions = np.asarray(frames.positions, float)
    order, step = sort_and_check(positions, orientation, frames.thickness)
    raw = pixels[0] if len(pixels) == 1 else np.concatenate(pixels, axis=0)
    slopes = np.asarray(frames.slopes, np.float32)
    intercepts = np.asarray(frames.intercepts, np.float32)
    stack = np.empty(raw.shape, np.float32)
    np.copyto(stack, raw[order], casting="unsafe")
    if np.any(slopes != 1) or np.any(intercepts != 0):
        stack *= slopes[order, None, None]
        stack += intercepts[order, None, None]
    data = stack.transpose(2, 1, 0)  # (column, row, slice) = (i, j, k)
    affine = stack_affine(positions[order[0]], orientation, spacing, step)
    return to_canonical(data, affine)
