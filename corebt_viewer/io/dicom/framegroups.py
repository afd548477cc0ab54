"""Per-frame geometry of an Enhanced MR file, read from the raw bytes of its groups.

pydicom builds a Dataset for every item of PerFrameFunctionalGroupsSequence (hundreds per
file), which costs several times the pixel read. The few decimal strings the volume needs
(ImagePositionPatient and, when they vary per frame, ImageOrientationPatient,
PixelSpacing, SliceThickness, RescaleSlope and RescaleIntercept) are found by their tags in the raw
sequence bytes instead. The result is used only when every value parses and each tag
occurs once per frame (or not at all); otherwise :func:`raw_frame_values` returns ``None``
and the caller walks the groups with pydicom.
"""

from __future__ import annotations

import struct

#: keyword -> (group, element, values per occurrence)
FRAME_TAGS = {
    "ImagePositionPatient": (0x0020, 0x0032, 3),
    "ImageOrientationPatient": (0x0020, 0x0037, 6),
    "PixelSpacing": (0x0028, 0x0030, 2),
    "RescaleIntercept": (0x0028, 0x1052, 1),
    "RescaleSlope": (0x0028, 0x1053, 1),
    "SliceThickness": (0x0018, 0x0050, 1),
}


def _occurrences(raw: bytes, tag: tuple[int, int], explicit: bool, little: bool):
    fmt = "<" if little else ">"
    marker = struct.pack(f"{fmt}HH", *tag)
    start = raw.find(marker)
    while start != -1:
        if explicit:
            if raw[start + 4 : start + 6] not in (b"DS", b"IS"):
                return None
            (length,) = struct.unpack(f"{fmt}H", raw[start + 6 : start + 8])
            value_at = start + 8
        else:
            (length,) = struct.unpack(f"{fmt}I", raw[start + 4 : start + 8])
            value_at = start + 8
        yield raw[value_at : value_at + length]
        start = raw.find(marker, value_at + length)


def raw_frame_values(ds, n_frames: int) -> dict[str, list[tuple[float, ...]]] | None:
    """Keyword -> one tuple of floats per frame, for the tags present in every frame.

    Returns ``None`` when the groups were already parsed, or anything is irregular.
    """
    elem = ds.get_item("PerFrameFunctionalGroupsSequence")
    if elem is None or not isinstance(elem.value, bytes):
        return None
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        return None
    out = {}
    for keyword, (group, element, count) in FRAME_TAGS.items():
        found = _occurrences(elem.value, (group, element), not implicit, little)
        values = []
        for text in found:
            if text is None:
                return None
            try:
                parts = tuple(float(p) for p in text.decode("ascii").strip(" \x00").split("\\"))
            except (UnicodeDecodeError, ValueError):
                return None
            if len(parts) != count:
                return None
            values.append(parts)
        if len(values) == n_frames:
            out[keyword] = values
        elif values:
            return None
    return out if "ImagePositionPatient" in out else None
