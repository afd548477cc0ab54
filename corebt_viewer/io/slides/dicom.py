"""DICOM whole-slide images: a folder of DICOM-WSI instances is one slide.

A DICOM slide (VL Whole Slide Microscopy Image) is stored as several files, one per
pyramid level and associated image, sharing a series. OpenSlide (4.0 and later) opens the
whole series when given any one of its files; these helpers find that file in a folder
cheaply (the ``DICM`` magic at byte 128), without reading pixels or importing a DICOM
library.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Suffixes DICOM files commonly carry (many carry none: the magic decides).
DICOM_SUFFIXES = (".dcm", ".dicom")
#: Folder entries looked at before giving up on finding a DICOM file.
MAX_ENTRIES_SCANNED = 2000
#: DICOM files offered to OpenSlide before deciding a folder is not a whole-slide image
#: (a WSI folder holds instances of one series: the first few decide).
MAX_FILES_PROBED = 16


def is_dicom_file(path: str | Path) -> bool:
    """True for a DICOM Part 10 file (``DICM`` after the 128-byte preamble)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def dicom_files(folder: str | Path) -> list[Path]:
    """The DICOM files directly inside `folder` (hidden files skipped), in name order."""
    found = []
    try:
        with os.scandir(folder) as entries:
            names = sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return []
    for n, entry in enumerate(names):
        if n >= MAX_ENTRIES_SCANNED:
            break
        if entry.is_file() and is_dicom_file(entry.path):
            found.append(Path(entry.path))
    return found


def is_dicom_folder(folder: str | Path) -> bool:
    """True for a folder holding at least one DICOM file (cheap: no DICOM parsing)."""
    folder = Path(folder)
    return folder.is_dir() and bool(dicom_files(folder))


def find_dicom_wsi_file(folder: str | Path) -> Path | None:
    """A file of the folder that OpenSlide opens as a DICOM whole-slide image, or ``None``.

    The first :data:`MAX_FILES_PROBED` DICOM files are offered to OpenSlide's format
    detection in name order; the first it recognises (``"dicom"``) opens the whole series.
    """
    for path in dicom_files(folder)[:MAX_FILES_PROBED]:
        if is_dicom_wsi_file(path):
            return path
    return None


def is_dicom_wsi_file(path: str | Path) -> bool:
    """True for a DICOM file OpenSlide recognises as part of a whole-slide image."""
    import openslide

    if not is_dicom_file(path):
        return False
    try:
        return openslide.OpenSlide.detect_format(str(path)) == "dicom"
    except (openslide.OpenSlideError, OSError, ValueError):  # refused: not a slide part
        return False
