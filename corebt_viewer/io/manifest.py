"""Cohort manifests: a CSV file with one row per patient.

Columns (``MANIFEST_COLUMNS``)::

    patient_id, level1, subtype, who_grade, t1, t1c, t2, flair, seg, slides, report

Labels may be empty (unlabelled case); ``level1`` and ``subtype`` use the names of the
paper's Table 1; ``slides`` holds several paths separated by ``;`` (a slide may be a folder of
DICOM whole-slide instances); paths are relative to
the manifest's folder unless absolute. Reading checks the labels and that every file
exists; :func:`corebt_viewer.io.validate.validate_cohort` also opens the files.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.errors import InputError, ManifestError
from corebt_viewer.core.labels import LEVEL1_CLASSES, LEVEL1_NAMES, level1_by_name, parse_who_grade
from corebt_viewer.core.modalities import MRI_SEQUENCES, Sequence

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = (
    "patient_id",
    "level1",
    "subtype",
    "who_grade",
    "t1",
    "t1c",
    "t2",
    "flair",
    "seg",
    "slides",
    "report",
)
SLIDE_SEPARATOR = ";"


class CohortProblem(ManifestError):
    """One problem of a cohort: where (manifest row), which case, which file, what.

    A :class:`~corebt_viewer.core.errors.ManifestError` with the patient and the role of
    the file (``"t1c"``, ``"seg"``, ``"slide"``, ``"level1"``...) kept apart, so that a
    command line can print one clear line per problem and a GUI can point at the file.
    """

    def __init__(
        self,
        manifest: Path,
        row: int | None,
        problem: str,
        path: Path | None = None,
        *,
        patient_id: str | None = None,
        role: str | None = None,
    ):
        super().__init__(manifest, row, problem, path)
        self.patient_id = patient_id
        self.role = role
        self.args = (self.describe(),)

    def describe(self) -> str:
        """``manifest.csv:4: P003 t1c /data/P003_t1c.nii.gz: file not found``."""
        where = f"{self.manifest}" + (f":{self.row}" if self.row is not None else "")
        subject = " ".join(
            str(part) for part in (self.patient_id, self.role, self.path) if part is not None
        )
        return f"{where}: {subject}: {self.problem}" if subject else f"{where}: {self.problem}"

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class ManifestRow:
    """A case and the manifest line it came from (1-based; the header is line 1)."""

    row: int | None
    case: Case


def resolve_path(value: str, base: Path) -> Path:
    """A manifest path: ``~`` expanded, relative paths taken from `base`, normalised."""
    path = Path(os.path.expanduser(value.strip()))
    if not path.is_absolute():
        path = base / path
    return Path(os.path.normpath(path))


def find_manifest(path: str | Path) -> Path | None:
    """The manifest that `path` names (made absolute): the file, or a folder's ``manifest.csv``."""
    path = Path(os.path.normpath(Path(path).absolute()))
    if path.is_dir():
        candidate = path / MANIFEST_NAME
        return candidate if candidate.is_file() else None
    return path


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a manifest file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read manifest ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(header_line: str) -> str:
    for candidate in (",", "\t", ";"):
        if candidate in header_line:
            return candidate
    return ","


def _level1_for_subtype(subtype: str) -> str | None:
    owners = []
    for cls in LEVEL1_CLASSES:
        try:
            cls.subtype(subtype)
        except KeyError:
            continue
        owners.append(cls.name)
    return owners[0] if len(owners) == 1 else None


def read_manifest_rows(path: str | Path) -> tuple[list[ManifestRow], list[CohortProblem]]:
    """Parse a manifest into cases, collecting every problem instead of stopping.

    Rows without a usable ``patient_id`` are skipped; a bad label is left unset and a
    missing file left out of its case, each with a problem.

    Raises
    ------
    InputError
        When the manifest itself cannot be read.
    """
    manifest = Path(os.path.normpath(Path(path).absolute()))
    text = _read_text(manifest)
    base = manifest.parent
    problems: list[CohortProblem] = []

    def problem(row, message, file=None, *, patient=None, role=None):
        problems.append(CohortProblem(manifest, row, message, file, patient_id=patient, role=role))

    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(first))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    reader.fieldnames = columns
    if "patient_id" not in columns:
        problem(
            1,
            "no 'patient_id' column; expected the columns " + ", ".join(MANIFEST_COLUMNS),
        )
        return [], problems
    for unknown in [c for c in columns if c and c not in MANIFEST_COLUMNS]:
        problem(1, f"unknown column {unknown!r}; expected " + ", ".join(MANIFEST_COLUMNS))

    rows: list[ManifestRow] = []
    first_seen: dict[str, int] = {}
    for record in reader:
        row = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(values.values()):
            continue
        if None in record:
            problem(row, f"{len(record[None])} more field(s) than columns")
        pid = values.get("patient_id", "")
        if pid.startswith("#"):
            continue  # a commented-out row
        if not pid:
            problem(row, "empty patient_id; row skipped")
            continue
        if pid in first_seen:
            problem(
                row,
                f"duplicate patient_id (first on line {first_seen[pid]}); row skipped",
                patient=pid,
            )
            continue
        first_seen[pid] = row

        def report(message, role=None, file=None, _row=row, _pid=pid):
            problem(_row, message, file, patient=_pid, role=role)

        case = _parse_case(pid, values, base, report)
        rows.append(ManifestRow(row, case))
    if not rows and not problems:
        problem(None, "the manifest lists no cases")
    return rows, problems


def _parse_case(pid: str, values: dict[str, str], base: Path, report) -> Case:
    """Build the case of one row; `report(message, role, file)` records each problem."""
    labels = _parse_labels(values, report)

    def file_for(role: str, value: str) -> Path | None:
        if not value:
            return None
        file = resolve_path(value, base)
        if not file.exists():
            report("file not found", role, file)
            return None
        if file.is_dir():
            if role == "slide":
                from corebt_viewer.io.slides.dicom import is_dicom_folder

                if is_dicom_folder(file):
                    return file  # a DICOM whole-slide image: one slide, several files
                report("is a folder without DICOM files, not a slide", role, file)
                return None
            report("is a folder, not a file", role, file)
            return None
        return file

    mri: dict[Sequence, Path] = {}
    for seq in MRI_SEQUENCES:
        file = file_for(seq.value, values.get(seq.value, ""))
        if file is not None:
            mri[seq] = file
    seg = file_for("seg", values.get("seg", ""))
    slides = []
    for part in values.get("slides", "").split(SLIDE_SEPARATOR):
        file = file_for("slide", part.strip())
        if file is not None:
            slides.append(file)
    return Case(
        patient_id=pid,
        mri=mri,
        segmentation=seg,
        slides=tuple(slides),
        report=file_for("report", values.get("report", "")),
        labels=labels,
    )


def _parse_labels(values: dict[str, str], problem) -> CaseLabels:
    level1_text = values.get("level1", "")
    subtype_text = values.get("subtype", "")
    grade_text = values.get("who_grade", "")
    level1 = subtype = grade = None
    if level1_text:
        try:
            level1 = level1_by_name(level1_text).name
        except KeyError:
            problem(
                f"{level1_text!r} is not a Level-1 class of Table 1 (known: "
                + "; ".join(LEVEL1_NAMES)
                + ")",
                "level1",
            )
    if subtype_text:
        if level1 is not None:
            cls = level1_by_name(level1)
            try:
                subtype = cls.subtype(subtype_text).name
            except KeyError:
                known = "; ".join(s.name for s in cls.subtypes)
                problem(
                    f"{subtype_text!r} is not a subtype of {level1!r} (known: {known})", "subtype"
                )
        elif not level1_text:
            owner = _level1_for_subtype(subtype_text)
            if owner is None:
                problem(
                    f"{subtype_text!r} names no single subtype of Table 1; give level1 too",
                    "subtype",
                )
            else:
                level1 = owner
                subtype = level1_by_name(owner).subtype(subtype_text).name
    if grade_text:
        try:
            grade = parse_who_grade(grade_text)
        except ValueError:
            problem(f"{grade_text!r} is not a WHO CNS grade (1-4, I-IV)", "who_grade")
    return CaseLabels(level1=level1, subtype=subtype, who_grade=grade)


def _strict(problems: list[CohortProblem]) -> None:
    if not problems:
        return
    first = problems[0]
    more = len(problems) - 1
    message = first.problem
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''}: run corebt validate)"
    raise CohortProblem(
        first.manifest, first.row, message, first.path, patient_id=first.patient_id, role=first.role
    )


def read_manifest(path: str | Path, *, strict: bool = True) -> tuple[Cohort, list[ManifestError]]:
    """Read a cohort manifest.

    Parameters
    ----------
    path : path-like
        The CSV file, or a folder holding ``manifest.csv``.
    strict : bool
        Raise on the first problem (its message counts the others). Otherwise return
        the usable part of the cohort with every problem found.

    Returns
    -------
    (Cohort, list of ManifestError)
        The problems list is empty when `strict` is true.

    Raises
    ------
    InputError
        Unreadable manifest.
    ManifestError
        A problem in a row, when `strict`.
    """
    manifest = find_manifest(path)
    if manifest is None:
        raise InputError(path, f"no {MANIFEST_NAME} in this folder")
    rows, problems = read_manifest_rows(manifest)
    if strict:
        _strict(problems)
    cohort = Cohort(root=manifest.parent, cases=tuple(r.case for r in rows), manifest=manifest)
    return cohort, list(problems)


def read_cohort(path: str | Path) -> Cohort:
    """Open a cohort: a manifest file, a folder with ``manifest.csv``, or a BraTS folder.

    Raises
    ------
    InputError, ManifestError
        Unreadable manifest, a problem in a row, or a folder with neither a manifest nor
        BraTS 2021/2023 files.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    manifest = find_manifest(path)
    if manifest is not None:
        return read_manifest(manifest, strict=True)[0]
    from corebt_viewer.io.discovery import discover_cohort

    cohort, problems = discover_cohort(path)
    _strict(problems)
    return cohort


def _relative(path: Path | None, base: Path) -> str:
    if path is None:
        return ""
    text = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()
    if SLIDE_SEPARATOR in text:
        raise ValueError(f"cannot write a path holding {SLIDE_SEPARATOR!r} to a manifest: {text}")
    return text


def write_manifest(cohort: Cohort, path: str | Path) -> Path:
    """Write `cohort` as a manifest; files under the manifest's folder are written relative.

    The file is replaced atomically. Returns its path.
    """
    path = Path(path)
    base = Path(os.path.normpath(path.parent.absolute()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for case in cohort:
        labels = case.labels
        writer.writerow(
            [
                case.patient_id,
                labels.level1 or "",
                labels.subtype or "",
                "" if labels.who_grade is None else str(labels.who_grade),
                *(_relative(_abs(case.mri.get(seq)), base) for seq in MRI_SEQUENCES),
                _relative(_abs(case.segmentation), base),
                SLIDE_SEPARATOR.join(_relative(_abs(s), base) for s in case.slides),
                _relative(_abs(case.report), base),
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _abs(path: Path | None) -> Path | None:
    return None if path is None else Path(os.path.normpath(Path(path).absolute()))
