"""Pixel data of a DICOM dataset as a (frames, rows, columns) array.

Uncompressed little- and big-endian data is viewed straight from the file's bytes: from
the bytes pydicom read (``numpy.frombuffer``), or, when the file was read by
:func:`read_dataset` and pydicom left a large pixel data element on disk, from a
read-only memory map of the file (``numpy.memmap``), so a multi-frame file is read once,
by the copy into the volume, and never held twice in memory. Anything else (JPEG,
JPEG 2000, RLE...) goes through pydicom's decoders, whose message names the plugin a
compressed transfer syntax needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: ``dcmread(defer_size=...)`` for volume reading: larger elements stay on disk until used
#: (a classic slice's pixel data is read as usual; a multi-frame file's is memory-mapped)
DEFER_BYTES = 2**21

#: Transfer syntax whose dataset pydicom inflates in memory: its offsets are not file
#: offsets, so nothing in it may be deferred (see :func:`read_dataset`)
DEFLATED = "1.2.840.10008.1.2.1.99"


def read_dataset(path: Path):
    """``pydicom.dcmread`` for volume reading: pixel data over `DEFER_BYTES` stays on disk.

    A deflated file is read again whole: pydicom would read a deferred element back at
    an offset of the inflated stream from the compressed file.
    """
    import pydicom

    ds = pydicom.dcmread(path, defer_size=DEFER_BYTES)
    if str(ds.file_meta.get("TransferSyntaxUID", "")) == DEFLATED:
        ds = pydicom.dcmread(path)
    return ds


#: Transfer syntaxes whose pixel data is stored as plain integers.
_NATIVE = {
    "1.2.840.10008.1.2": "<",  # implicit VR little endian
    "1.2.840.10008.1.2.1": "<",  # explicit VR little endian
    "1.2.840.10008.1.2.1.99": "<",  # deflated explicit VR little endian (inflated on read)
    "1.2.840.10008.1.2.2": ">",  # explicit VR big endian
}


class PixelError(ValueError):
    """The pixel data cannot be read; the message says why."""


def frame_pixels(ds, n_frames: int, path: Path | None = None) -> np.ndarray:
    """The stored integers (or floats) of every frame, shape (frames, rows, columns).

    Parameters
    ----------
    ds : pydicom.Dataset
    n_frames : int
    path : Path, optional
        The file `ds` was read from; needed when its pixel data was deferred.

    Raises
    ------
    PixelError
        Colour or missing pixel data, truncated data, or a compression without decoder.
    """
    samples = int(ds.get("SamplesPerPixel") or 1)
    if samples != 1:
        raise PixelError(f"has {samples} samples per pixel (colour); an MR volume has one")
    if "PixelData" not in ds:
        kind = "float " if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds else ""
        raise PixelError(f"has no {kind}integer pixel data (PixelData)")
    rows, cols = int(ds.Rows), int(ds.Columns)
    syntax = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    allocated = int(ds.get("BitsAllocated") or 16)
    stored = int(ds.get("BitsStored") or allocated)
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    order = _NATIVE.get(syntax)
    if order is None or allocated not in (8, 16, 32):
        return _decoded(ds, n_frames, rows, cols, syntax)
    dtype = np.dtype(f"{order}{'i' if signed else 'u'}{allocated // 8}")
    count = n_frames * rows * cols
    elem = ds.get_item("PixelData", keep_deferred=True)  # raw: no read, no conversion
    expected = count * dtype.itemsize
    if elem.value is None and path is not None:  # left on disk by read_dataset
        arr = _mapped(path, elem, dtype, (n_frames, rows, cols))
    else:
        buffer = elem.value if elem.value is not None else ds.PixelData  # a deferred read
        if len(buffer) < expected:
            raise PixelError(f"has truncated pixel data ({len(buffer)} bytes, {expected} expected)")
        arr = np.frombuffer(buffer, dtype, count=count).reshape(n_frames, rows, cols)
    if stored < allocated:
        shift = allocated - stored
        arr = (arr << shift) >> shift if signed else arr & ((1 << stored) - 1)
    return arr


def _mapped(path: Path, elem, dtype: np.dtype, shape: tuple[int, int, int]) -> np.ndarray:
    """Pixel data left on disk by pydicom, as a read-only memory map of `path`."""
    expected = int(np.prod(shape)) * dtype.itemsize
    on_disk = min(int(elem.length), os.path.getsize(path) - int(elem.value_tell))
    if on_disk < expected:
        raise PixelError(f"has truncated pixel data ({on_disk} bytes, {expected} expected)")
    mapped = np.memmap(path, dtype, mode="r", offset=int(elem.value_tell), shape=shape)
    return mapped.view(np.ndarray)  # keeps the map alive; slicing a memmap costs more


def _decoded(ds, n_frames: int, rows: int, cols: int, syntax: str) -> np.ndarray:
    try:
        arr = np.asarray(ds.pixel_array)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError) as exc:
        from pydicom.uid import UID

        detail = " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
        raise PixelError(
            f"has pixel data in transfer syntax {UID(syntax).name} that cannot be decoded "
            f"here ({detail})"
        ) from None
    return arr.reshape(n_frames, rows, cols)
