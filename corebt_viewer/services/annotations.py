"""Slide region annotations for the CLI and the GUI: import, export, save, load.

Keyword-only functions on plain data. Annotation files live in
``<cohort>/.corebt/annotations/<case>/<slide stem>.vNNN.geojson`` (QuPath's GeoJSON
layout), one new version per save, never overwritten; the newest version is the one in use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from corebt_viewer.core.annotations import DEFAULT_REGION_CLASSES, RegionClass, SlideAnnotations
from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import InputError
from corebt_viewer.io.annotations import (
    AnnotationImport,
    AnnotationVersion,
    latest_annotation_version,
    load_latest_annotations,
    read_geojson,
    save_annotation_version,
)


@dataclass(frozen=True)
class ImportedAnnotations:
    """What :func:`import_annotations` did: the file written, the import report, and what
    was found checking the regions against the slide."""

    version: AnnotationVersion
    report: AnnotationImport
    slide_notes: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """Lines for a user: the import report, then the checks against the slide."""
        return [*self.report.summary(), *self.slide_notes]


def check_against_slide(annotations: SlideAnnotations, slide: str | Path) -> list[str]:
    """Notes on regions that reach outside the slide's level-0 area (a file exported for
    another slide, or at another resolution), or why the check could not be made."""
    from corebt_viewer.io.slides import open_slide

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a missing mpp does not matter here
            with open_slide(slide) as reader:
                width, height = reader.dimensions
    except InputError as exc:
        return [f"regions not checked against the slide: {exc}"]
    outside = [
        r for r in annotations.regions
        if r.bounds[0] < 0 or r.bounds[1] < 0 or r.bounds[2] > width or r.bounds[3] > height
    ]  # fmt: skip
    if not outside:
        return []
    return [
        f"{len(outside)} region(s) reach outside the slide ({width} x {height} level-0 px): "
        "is the file for this slide, in level-0 pixels?"
    ]


def _as_cohort(cohort: Cohort | str | Path) -> Cohort:
    if isinstance(cohort, Cohort):
        return cohort
    from corebt_viewer.io.manifest import read_cohort

    return read_cohort(cohort)


def find_case_slide(*, cohort: Cohort | str | Path, case_id: str, slide: str) -> tuple[Case, Path]:
    """The case and the slide file (or DICOM folder) that `slide` names.

    Parameters
    ----------
    slide : str
        The slide's file name as listed for the case (``CMU-1.svs``), or its full path.

    Raises
    ------
    InputError
        Unknown case, or a slide the case does not list (the message names both and lists
        what there is).
    """
    cohort = _as_cohort(cohort)
    where = cohort.manifest or cohort.root
    if case_id not in cohort.ids:
        shown = ", ".join(cohort.ids[:10]) + (", ..." if len(cohort) > 10 else "")
        raise InputError(where, f"no case {case_id!r} in this cohort (cases: {shown or 'none'})")
    case = cohort[case_id]
    matches = [p for p in case.slides if p.name == slide or str(p) == slide]
    if len(matches) == 1:
        return case, matches[0]
    listed = ", ".join(p.name for p in case.slides) or "none"
    if not matches:
        raise InputError(where, f"case {case_id!r} has no slide {slide!r} (its slides: {listed})")
    raise InputError(where, f"case {case_id!r} lists several slides named {slide!r}: give the path")


def import_annotations(
    *,
    cohort: Cohort | str | Path,
    case_id: str,
    slide: str,
    source: str | Path,
    classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES,
) -> ImportedAnnotations:
    """Import a QuPath GeoJSON export as the slide's next annotation version.

    Features that are not annotation regions (detections, points, lines) are not imported;
    they are listed in the returned report.

    Raises
    ------
    InputError
        Unknown case or slide, an unreadable file, or a file without any region.
    """
    cohort = _as_cohort(cohort)
    _case, slide_path = find_case_slide(cohort=cohort, case_id=case_id, slide=slide)
    report = read_geojson(source, classes=classes)
    if not len(report.annotations):
        raise InputError(source, "no annotation region to import: " + "; ".join(report.summary()))
    notes = tuple(check_against_slide(report.annotations, slide_path))
    version = save_annotation_version(
        report.annotations, cohort_root=cohort.root, case_id=case_id, slide=slide_path
    )
    return ImportedAnnotations(version, report, notes)


def export_annotations(
    *, cohort: Cohort | str | Path, case_id: str, slide: str, out: str | Path
) -> AnnotationVersion:
    """Write the slide's newest annotation version to `out` (QuPath GeoJSON), atomically.

    Returns the version exported.

    Raises
    ------
    InputError
        Unknown case or slide, or no saved annotations for the slide.
    """
    from corebt_viewer.io.atomic_files import atomic_write_bytes

    cohort = _as_cohort(cohort)
    _case, slide_path = find_case_slide(cohort=cohort, case_id=case_id, slide=slide)
    latest = latest_annotation_version(cohort.root, case_id, slide_path)
    if latest is None:
        raise InputError(
            cohort.manifest or cohort.root,
            f"no saved annotations for slide {slide!r} of case {case_id!r}",
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, latest.path.read_bytes())
    return latest


def save_annotations(
    *, cohort_root: str | Path, case_id: str, slide: str | Path, annotations: SlideAnnotations
) -> AnnotationVersion:
    """Save the regions as the slide's next version (what the viewer's save and autosave call)."""
    return save_annotation_version(
        annotations, cohort_root=cohort_root, case_id=case_id, slide=slide
    )


def load_annotations(
    *,
    cohort_root: str | Path,
    case_id: str,
    slide: str | Path,
    classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES,
) -> tuple[AnnotationImport, AnnotationVersion] | None:
    """The slide's newest annotations and their version, or ``None`` when it has none."""
    return load_latest_annotations(cohort_root, case_id, slide, classes=classes)
