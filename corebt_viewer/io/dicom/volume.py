"""Build a volume from a DICOM series: classic one-file-per-slice or Enhanced multi-frame.

The result is what :func:`corebt_viewer.io.nifti.load_volume` returns for a NIfTI file:
float32 intensities (rescale slope and intercept applied) indexed (x, y, z) in RAS+
order, with the matching 4x4 affine. The frames are copied once, each straight to its
place in the reoriented volume.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.volume import Volume, voxel_size_of
from corebt_viewer.io.dicom.framegroups import raw_frame_values
from corebt_viewer.io.dicom.geometry import (
    ORIENTATION_ATOL,
    GeometryError,
    canonical_transform,
    check_same,
    sort_and_check,
    stack_affine,
)
from corebt_viewer.io.dicom.pixels import PixelError, frame_pixels, read_dataset
from corebt_viewer.io.dicom.series import DicomSeries
from corebt_viewer.io.dicom.tags import decimals, safe_float


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


def _first(holder, keyword: str):
    """First item of a functional-group macro in `holder`, or None."""
    if holder is None or keyword not in holder:
        return None
    seq = holder[keyword].value
    return seq[0] if seq else None


def _need(value, what: str):
    if value is None:
        raise GeometryError(f"lacks {what}")
    return value


_MACROS = (
    ("PlanePositionSequence", "ImagePositionPatient"),
    ("PlaneOrientationSequence", "ImageOrientationPatient"),
    ("PixelMeasuresSequence", "PixelSpacing"),
)


def _add_enhanced(ds, n: int, frames: _Frames) -> None:
    fast = raw_frame_values(ds, n)
    if fast is not None and _add_enhanced_fast(ds, n, frames, fast):
        return
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) not in (0, n):
        raise GeometryError(f"has {n} frames but {len(per_frame)} per-frame functional groups")
    shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
    shared_items = {name: _first(shared, name) for name, _ in _MACROS}
    shared_scale = _first(shared, "PixelValueTransformationSequence")
    lists = (frames.positions, frames.orientations, frames.spacings)
    for f in range(n):
        own = per_frame[f] if per_frame else None
        for (name, keyword), values in zip(_MACROS, lists, strict=True):
            item = _first(own, name) or shared_items[name]
            values.append(_need(decimals(_need(item, name), keyword), keyword))
            if name == "PixelMeasuresSequence" and frames.thickness is None:
                frames.thickness = (decimals(item, "SliceThickness") or (None,))[0]
        scale = _first(own, "PixelValueTransformationSequence") or shared_scale
        _add_scaling(scale if scale is not None else ds, frames)
        frames.shapes.append((int(ds.Rows), int(ds.Columns)))


def _add_enhanced_fast(ds, n: int, frames: _Frames, values: dict) -> bool:
    """Use per-frame values found in the raw groups, the rest from the shared groups.

    Returns False (nothing added) when a value is in neither place.
    """
    shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
    columns = {}
    for name, keyword in _MACROS:
        if keyword in values:
            columns[keyword] = values[keyword]
        else:
            item = _first(shared, name)
            value = decimals(item, keyword) if item is not None else None
            if value is None:
                return False
            columns[keyword] = [value] * n
    scale = _first(shared, "PixelValueTransformationSequence") or ds
    for keyword, default in (("RescaleSlope", 1.0), ("RescaleIntercept", 0.0)):
        if keyword not in values:
            columns[keyword] = [(decimals(scale, keyword) or (default,))] * n
    measures = _first(shared, "PixelMeasuresSequence")
    if frames.thickness is None and "SliceThickness" in values:
        frames.thickness = values["SliceThickness"][0][0]
    if frames.thickness is None and measures is not None:
        frames.thickness = (decimals(measures, "SliceThickness") or (None,))[0]
    frames.positions.extend(columns["ImagePositionPatient"])
    frames.orientations.extend(columns["ImageOrientationPatient"])
    frames.spacings.extend(columns["PixelSpacing"])
    frames.slopes.extend(v[0] for v in columns["RescaleSlope"])
    frames.intercepts.extend(v[0] for v in columns["RescaleIntercept"])
    frames.shapes.extend([(int(ds.Rows), int(ds.Columns))] * n)
    return True


def _add_scaling(holder, frames: _Frames) -> None:
    frames.slopes.append((decimals(holder, "RescaleSlope") or (1.0,))[0])
    frames.intercepts.append((decimals(holder, "RescaleIntercept") or (0.0,))[0])


def _add_classic(ds, frames: _Frames) -> None:
    for (_, keyword), values in zip(
        _MACROS, (frames.positions, frames.orientations, frames.spacings), strict=True
    ):
        values.append(_need(decimals(ds, keyword), keyword))
    if frames.thickness is None:
        frames.thickness = (decimals(ds, "SliceThickness") or (None,))[0]
    _add_scaling(ds, frames)
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
        ``path`` the series' folder. Same axes, affine and voxels as
        :func:`~corebt_viewer.io.nifti.load_volume` gives for the series saved as NIfTI;
        in memory, ``data`` is a transposed view of one buffer laid out as the slices were
        stored (Fortran order for axial slices; strides all positive); call
        ``numpy.ascontiguousarray`` where C order is needed.

    Raises
    ------
    InputError
        Naming the series' folder and the series: unreadable files, missing slices,
        inconsistent spacing, several volumes in one series, mixed orientations or
        sizes, undecodable pixel data.
    """
    from pydicom.errors import InvalidDicomError

    where = series_folder(series)
    frames = _Frames([], [], [], [], [], [])
    pixels = []
    out = None
    try:
        for path in series.files:
            try:
                ds = read_dataset(path)
            except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as exc:
                raise GeometryError(
                    f"has a file that cannot be read: {path.name} ({type(exc).__name__})"
                ) from None
            n = int(safe_float(ds.get("NumberOfFrames")) or 1)
            if out is None and "Rows" in ds and "Columns" in ds:
                out = _Prefaulted((n * len(series.files), int(ds.Rows), int(ds.Columns)))
            if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
                _add_enhanced(ds, n, frames)
            elif n == 1:
                _add_classic(ds, frames)
            else:
                raise GeometryError(
                    f"has a file with {n} frames but no functional groups: {path.name}"
                )
            pixels.append(frame_pixels(ds, n, path))
        volume = _assemble(frames, pixels, out)
    except (GeometryError, PixelError) as exc:
        raise InputError(where, f"{series.label} {exc}") from None
    data, affine = volume
    return Volume(
        data=data,
        affine=affine,
        voxel_size=voxel_size_of(affine),
        sequence=sequence,
        path=where,
    )


#: frames copied per thread at least; below this one thread does all the copying
_FRAMES_PER_THREAD = 16


def _in_parallel(copy_frames, n_frames: int) -> None:
    """Run ``copy_frames(range)`` over `n_frames` in contiguous blocks on the usable cores.

    numpy releases the GIL while it converts, so the blocks (and the kernel's zeroing of
    the new pages they touch first) run side by side.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(len(os.sched_getaffinity(0)), n_frames // _FRAMES_PER_THREAD, 8))
    if workers == 1:
        copy_frames(range(n_frames))
        return
    bounds = np.linspace(0, n_frames, workers + 1).astype(int)
    blocks = [range(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(workers, thread_name_prefix="dicom-frames") as pool:
        for done in [pool.submit(copy_frames, block) for block in blocks]:
            done.result()


class _Prefaulted:
    """A float32 buffer whose pages a thread touches while the headers are parsed.

    The kernel zeroes a fresh buffer's pages on first touch: for a 240 x 240 x 155 volume
    that is as long as parsing the geometry and copying the frames, so it is done beside
    the parsing instead of inside the copy.
    """

    def __init__(self, shape: tuple[int, int, int]):
        import threading

        self.shape = shape
        self.array: np.ndarray | None = None
        self._thread = threading.Thread(target=self._touch, name="dicom-prefault", daemon=True)
        self._thread.start()

    def _touch(self) -> None:
        array = np.empty(self.shape, np.float32)
        array.reshape(-1)[:: max(1, 4096 // 4)] = 0  # one write per page
        self.array = array

    def take(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The buffer when it has `shape` (the series as the first file announced), else a new one."""
        self._thread.join()
        array, self.array = self.array, None
        return array if array is not None and array.shape == shape else np.empty(shape, np.float32)


def _assemble(
    frames: _Frames, pixels: list[np.ndarray], out: _Prefaulted | None = None
) -> tuple[np.ndarray, np.ndarray]:
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
    planes = [plane for block in pixels for plane in block]
    rows, cols = frames.shapes[0]
    affine = stack_affine(positions[order[0]], orientation, spacing, step)
    transform, ras_affine = canonical_transform(affine, (cols, rows, len(order)))
    # the flips of the RAS reorientation are done while copying each frame, and the
    # transposition is left as a view: one pass over the voxels, no strided full copy
    flip_col, flip_row, flip_slice = (transform[:, 1] < 0).tolist()
    shape = (len(order), rows, cols)
    stack = out.take(shape) if out is not None else np.empty(shape, np.float32)
    sources = order[::-1] if flip_slice else order
    rows_step, cols_step = (-1 if flip_row else 1), (-1 if flip_col else 1)

    flipped = flip_row or flip_col

    def copy_frames(ks: range) -> None:
        # numpy casts a reversed view row by row, nearly twice as slowly as a contiguous
        # plane: flips are copied in the stored type first, then cast in one run
        scratch = {}  # stored type -> plane (the files of a series may differ in type)
        for k in ks:
            f = sources[k]
            plane = planes[f]
            if flipped:
                into = scratch.setdefault(plane.dtype, np.empty((rows, cols), plane.dtype))
                np.copyto(into, plane[::rows_step, ::cols_step])
                plane = into
            if frames.slopes[f] != 1 or frames.intercepts[f] != 0:
                np.multiply(plane, np.float32(frames.slopes[f]), out=stack[k], casting="unsafe")
                stack[k] += np.float32(frames.intercepts[f])
            else:
                np.copyto(stack[k], plane, casting="unsafe")

    _in_parallel(copy_frames, len(sources))
    data = stack.transpose(2, 1, 0).transpose(np.argsort(transform[:, 0]))
    return data, ras_affine
