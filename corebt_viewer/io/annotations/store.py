"""Versioned annotation files of a cohort, written atomically and never overwritten::

    <cohort>/.corebt/annotations/<case>/<slide stem>.v001.geojson   first save
    <cohort>/.corebt/annotations/<case>/<slide stem>.v002.geojson   ...

The latest version is the one with the highest number. Each save is published with a hard
link from a fsync'ed temporary file (:func:`~corebt_viewer.io.atomic_files.atomic_write_bytes`
with ``overwrite=False``), so two saves racing for one number never clobber each other: the
loser takes the next number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from corebt_viewer.core.annotations import DEFAULT_REGION_CLASSES, RegionClass, SlideAnnotations

SUFFIX = ".geojson"
#: Highest version number tried before giving up (a folder full of stale names).
_MAX_VERSION = 99_999


@dataclass(frozen=True)
class AnnotationVersion:
    """One saved annotation file.

    Attributes
    ----------
    number : int
        1 for ``.v001``...
    path : Path
    """

    number: int
    path: Path

    @property
    def label(self) -> str:
        return f"v{self.number:03d}"

    def sha256(self) -> str:
        """Hex sha256 of the file's bytes (what a profile records)."""
        from corebt_viewer.io.atomic_files import sha256_file

        return sha256_file(self.path)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"


def slide_stem(slide: str | Path) -> str:
    """The name annotation files of `slide` start with: the file name without its suffix
    (a DICOM-WSI folder: the folder's name), made file-name safe."""
    path = Path(slide)
    name = path.name if path.is_dir() else path.stem
    return _safe(name)


def annotation_folder(cohort_root: str | Path, case_id: str) -> Path:
    """``<cohort>/.corebt/annotations/<case>``."""
    return Path(cohort_root) / ".corebt" / "annotations" / _safe(case_id)


def list_annotation_versions(
    cohort_root: str | Path, case_id: str, slide: str | Path
) -> list[AnnotationVersion]:
    """The saved versions of a slide's annotations, oldest first."""
    folder = annotation_folder(cohort_root, case_id)
    if not folder.is_dir():
        return []
    stem = slide_stem(slide)
    pattern = re.compile(rf"^{re.escape(stem)}\.v(\d{{3,}}){re.escape(SUFFIX)}$")
    found = []
    for path in folder.iterdir():
        match = pattern.match(path.name)
        if match and path.is_file():
            found.append(AnnotationVersion(int(match[1]), path))
    return sorted(found, key=lambda v: v.number)


def latest_annotation_version(
    cohort_root: str | Path, case_id: str, slide: str | Path
) -> AnnotationVersion | None:
    """The newest saved version, or ``None`` when the slide has none."""
    versions = list_annotation_versions(cohort_root, case_id, slide)
    return versions[-1] if versions else None


def save_annotation_version(
    annotations: SlideAnnotations, *, cohort_root: str | Path, case_id: str, slide: str | Path
) -> AnnotationVersion:
    """Write the regions as the next version (QuPath GeoJSON), atomically.

    Returns
    -------
    AnnotationVersion
    """
    from corebt_viewer.io.annotations.geojson import geojson_bytes
    from corebt_viewer.io.atomic_files import atomic_write_bytes

    folder = annotation_folder(cohort_root, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    data = geojson_bytes(annotations)
    latest = latest_annotation_version(cohort_root, case_id, slide)
    number = (latest.number if latest else 0) + 1
    stem = slide_stem(slide)
    while number <= _MAX_VERSION:
        path = folder / f"{stem}.v{number:03d}{SUFFIX}"
        try:
            atomic_write_bytes(path, data, overwrite=False)
        except FileExistsError:
            number += 1
            continue
        return AnnotationVersion(number, path)
    raise RuntimeError(f"{folder}: no free version number for {stem}")


def load_latest_annotations(
    cohort_root: str | Path,
    case_id: str,
    slide: str | Path,
    *,
    classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES,
):
    """Read the newest version: ``(AnnotationImport, AnnotationVersion)``, or ``None``.

    Raises
    ------
    InputError
        When the newest file cannot be read (an older one is never used in its place).
    """
    from corebt_viewer.io.annotations.geojson import read_geojson

    latest = latest_annotation_version(cohort_root, case_id, slide)
    if latest is None:
        return None
    return read_geojson(latest.path, classes=classes), latest
