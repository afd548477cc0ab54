"""Pixel data of a DICOM dataset as a (frames, rows, columns) array.

Uncompressed little- and big-endian data is viewed straight from the file's bytes
(``numpy.frombuffer``); anything else (JPEG, JPEG 2000, RLE...) goes through pydicom's
decoders, whose message names the plugin a compressed transfer syntax needs.
"""

from __future__ import annotations

import numpy as np

#: Transfer syntaxes whose pixel data is stored as plain integers.
_NATIVE = {
    "1.2.840.10008.1.2": "<",  # implicit VR little endian
    "1.2.840.10008.1.2.1": "<",  # explicit VR little endian
    "1.2.840.10008.1.2.1.99": "<",  # deflated explicit VR little endian (inflated on read)
    "1.2.840.10008.1.2.2": ">",  # explicit VR big endian
}


class PixelError(ValueError):
    """The pixel data cannot be read; the message says why."""


def frame_pixels(ds, n_frames: int) -> np.ndarray:
    """The stored integers (or floats) of every frame, shape (frames, rows, columns).

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
    buffer = ds.get_item("PixelData").value  # the raw bytes: no conversion or validation pass
    if len(buffer) < count * dtype.itemsize:
        raise PixelError(
            f"has truncated pixel data ({len(buffer)} bytes, {count * dtype.itemsize} expected)"
        )
    arr = np.frombuffer(buffer, dtype, count=count).reshape(n_frames, rows, cols)
    if stored < allocated:
        shift = allocated - stored
        arr = (arr << shift) >> shift if signed else arr & ((1 << stored) - 1)
    return arr


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
