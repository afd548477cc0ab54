"""Check a cohort file by file: every row, every file, one problem per finding.

Cheap where it can be: MRI sequences are checked from their headers (shape, affine) plus
a size check that catches truncated files without decompressing them; only the
segmentation's voxels are read (for its labels); slides are opened and a tile of the
smallest and of the largest level decoded; reports are read.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from corebt_viewer.core.case import Case
from corebt_viewer.core.errors import InputError, ManifestError
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.core.segmentation import SegmentationLabelError, decide_convention
from corebt_viewer.io.manifest import CohortProblem, ManifestRow, find_manifest, read_manifest_rows


class GridNote(CohortProblem):
    """Not an error: a file on another grid than the case's others (native space).

    Loading resamples it onto the reference grid (:func:`corebt_viewer.io.nifti.load_case_mri`);
    the note says so. ``corebt validate`` prints notes but does not fail on them.
    """

    is_note = True

    def describe(self) -> str:
        return "note: " + super().describe()


def is_note(problem: ManifestError) -> bool:
    """Whether a finding of :func:`validate_cohort` is a note rather than a problem."""
    return bool(getattr(problem, "is_note", False))


def _cohort_rows(path: Path) -> tuple[Path, list[ManifestRow], list[CohortProblem]]:
    manifest = find_manifest(path)
    if manifest is not None:
        rows, problems = read_manifest_rows(manifest)
        return manifest, rows, problems
    from corebt_viewer.io.discovery import discover_cohort

    cohort, problems = discover_cohort(path)
    return path, [ManifestRow(None, case) for case in cohort], problems


def check_case(
    case: Case,
    *,
    manifest: Path,
    row: int | None = None,
    atol: float = 1e-3,
    deep: bool = False,
    notes: list | None = None,
) -> list[CohortProblem]:
    """Open every file of `case` and return its problems (empty when all is well).

    Assumptions (a mask whose convention its labels cannot tell) go to `notes`.

    Checks that each NIfTI is readable and complete, that all sequences and the mask
    share one grid (the grid most of them share is the reference), that the mask's
    labels follow a BraTS convention, that each slide opens and decodes, and that the
    report reads as text. With `deep`, every compressed sequence is decompressed in
    full (CRC checked) instead of only size-checked.
    """
    from corebt_viewer.io.nifti import grid_mismatch, read_header, read_label_values
    from corebt_viewer.io.reports import read_report

    problems: list[CohortProblem] = []

    def add(role: str | None, path: Path | None, message: str) -> None:
        problems.append(
            CohortProblem(manifest, row, message, path, patient_id=case.patient_id, role=role)
        )

    grids = []
    for seq in case.sequences:
        try:
            grids.append((seq.value, read_header(case.mri[seq], deep=deep).grid))
        except InputError as exc:
            add(seq.value, exc.path or case.mri[seq], exc.problem)
    if case.segmentation is not None:
        try:
            header, values = read_label_values(case.segmentation)
            grids.append(("seg", header.grid))
            choice = decide_convention(
                values, declared=case.seg_convention, file_name=case.segmentation.name
            )
            if choice.note and notes is not None:
                notes.append(
                    CohortProblem(
                        manifest,
                        row,
                        choice.note,
                        case.segmentation,
                        patient_id=case.patient_id,
                        role="seg",
                    )
                )
        except InputError as exc:
            add("seg", case.segmentation, exc.problem)
        except SegmentationLabelError as exc:
            add("seg", case.segmentation, f"segmentation has {exc}")
    if len(grids) > 1:
        support = [sum(grid_mismatch(g, h, atol) is None for _, h in grids) for _, g in grids]
        reference = grids[support.index(max(support))][1]
        for role, grid in grids:
            mismatch = grid_mismatch(reference, grid, atol)
            if mismatch is not None:
                problems.append(
                    GridNote(
                        manifest,
                        row,
                        f"{mismatch}; resampled onto the reference grid (T1c) when loaded",
                        grid[0],
                        patient_id=case.patient_id,
                        role=role,
                    )
                )
    for slide in case.slides:
        message = _check_slide(slide)
        if message is not None:
            add("slide", slide, message)
    if case.report is not None:
        try:
            if not read_report(case.report).strip():
                add("report", case.report, "report is empty")
        except InputError as exc:
            add("report", case.report, exc.problem)
    if not case.mri and case.segmentation is None and not case.slides and case.report is None:
        add(None, None, "no usable file: no MRI, slide or report")
    return problems


def _check_slide(path: Path) -> str | None:
    from corebt_viewer.io.slides import open_slide

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slide = open_slide(path)
    except InputError as exc:
        return exc.problem
    try:
        with slide:
            last = slide.level_count - 1
            width, height = slide.level_dimensions[last]
            slide.read_region((0, 0), last, (min(width, 256), min(height, 256)))
            w0, h0 = slide.dimensions
            centre = (max(0, w0 // 2 - 128), max(0, h0 // 2 - 128))
            slide.read_region(centre, 0, (min(w0, 256), min(h0, 256)))
    except InputError as exc:
        return exc.problem
    return None


def validate_cohort(
    path: str | Path,
    *,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    atol: float = 1e-3,
    deep: bool = False,
    notes: list | None = None,
) -> list[ManifestError]:
    """Check every row and every file of a cohort.

    Parameters
    ----------
    path : path-like
        A manifest, a folder with ``manifest.csv``, or a BraTS folder.
    progress : callable, optional
        Receives a :class:`~corebt_viewer.core.progress.Progress` after each case.
    workers : int, optional
        Threads checking cases in parallel (default: up to 4). Decompression releases
        the GIL, so threads help.
    atol : float
        Tolerance (mm) when comparing affines.
    deep : bool
        Decompress every MRI sequence in full (slower; catches corruption inside files
        whose size is right). By default sequences are checked from their headers and
        sizes, and only the masks' voxels are read.
    notes : list, optional
        Receives, as :class:`~corebt_viewer.io.manifest.CohortProblem` objects that are
        not problems, the assumptions made (e.g. a mask's label convention).

    Returns
    -------
    list of ManifestError
        One per problem (:class:`~corebt_viewer.io.manifest.CohortProblem`, with the
        row, patient, role and file), in row order; empty when the cohort is clean.

    Raises
    ------
    InputError
        The manifest or folder itself cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    manifest, rows, problems = _cohort_rows(path)
    total = len(rows)
    report(progress, 0, total, f"checking {total} cases", "validate")
    workers = workers or min(4, os.cpu_count() or 1)

    def check(item: ManifestRow) -> list[CohortProblem]:
        return check_case(
            item.case, manifest=manifest, row=item.row, atol=atol, deep=deep, notes=notes
        )

    found: list[CohortProblem] = list(problems)
    if workers > 1 and total > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, result in enumerate(pool.map(check, rows), start=1):
                found.extend(result)
                report(
                    progress, done, total, f"checked {rows[done - 1].case.patient_id}", "validate"
                )
    else:
        for done, item in enumerate(rows, start=1):
            found.extend(check(item))
            report(progress, done, total, f"checked {item.case.patient_id}", "validate")
    return sorted(found, key=lambda p: (p.row is not None, p.row or 0))
