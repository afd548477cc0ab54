"""Cohorts without a manifest: case folders and case-prefixed files, BraTS 2021/2023 included.

Each NIfTI file's role comes from the words of its name (:mod:`corebt_viewer.io.sequence_names`:
``t1``, ``t1ce``, ``t1gd``, ``t2w``, ``fla``, ``t2f``, ``seg``... with suffixes such as ``_bet``
tolerated), so BraTS 2021 (``<id>_t1ce``), BraTS 2023 (``<id>-t1n``), TCIA-style
(``<id>_t1c_bet``) and plain ``t1.nii.gz`` folders all read. The case id is what comes
before the role word, or the folder's name when nothing does (one folder per case). Slides
(``.svs``, ``.ndpi``..., or a folder ``<id>*/`` of DICOM whole-slide instances) and a report
(``.txt``) beside the images join the case.

Nothing is dropped silently: two files for one role are a problem naming both (neither is
used), and every file that joins no case is listed with the reason
(:attr:`FolderScan.unmatched`). Discovered cases carry no labels.

Sources are found by *finders*: a function taking a folder and its file names and
returning :class:`Candidate` objects. :func:`nifti_candidates` is the one built in; a DICOM
reader can add one that returns a series folder as a candidate (``kind="dicom"``), matched
on its series description with the same words.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom.cases import is_dicom_case_folder
from corebt_viewer.io.manifest import MANIFEST_NAME, CohortProblem
from corebt_viewer.io.sequence_names import RoleMatch, match_role

#: File-name role of each layout -> sequence (``"seg"`` for the mask).
LAYOUTS: dict[str, tuple[re.Pattern[str], dict[str, Sequence | str]]] = {
    "brats2021": (
        re.compile(r"^(?P<id>.+)_(?P<role>t1ce|t1|t2|flair|seg)\.nii(?:\.gz)?$", re.IGNORECASE),
        {
            "t1": Sequence.T1,
            "t1ce": Sequence.T1C,
            "t2": Sequence.T2,
            "flair": Sequence.FLAIR,
            "seg": "seg",
        },
    ),
    "brats2023": (
        re.compile(r"^(?P<id>.+)-(?P<role>t1n|t1c|t2w|t2f|seg)\.nii(?:\.gz)?$", re.IGNORECASE),
        {
            "t1n": Sequence.T1,
            "t1c": Sequence.T1C,
            "t2w": Sequence.T2,
            "t2f": Sequence.FLAIR,
            "seg": "seg",
        },
    ),
}

SLIDE_SUFFIXES = (".svs", ".ndpi", ".mrxs", ".scn", ".tif", ".tiff", ".vms", ".bif", ".svslide")
REPORT_SUFFIXES = (".txt",)


def match_brats_name(name: str) -> tuple[str, str, Sequence | str] | None:
    """``(layout, case id, sequence or "seg")`` for a BraTS file name, else ``None``."""
    for layout, (pattern, roles) in LAYOUTS.items():
        match = pattern.match(name)
        if match:
            return layout, match["id"], roles[match["role"].lower()]
    return None


NIFTI_SUFFIXES = (".nii.gz", ".nii")
ROLE_SEQUENCES: dict[str, Sequence] = {s.value: s for s in Sequence}


@dataclass(frozen=True)
class Candidate:
    """A source that a name says plays a role: a NIfTI file, later a DICOM series folder.

    Attributes
    ----------
    path : Path
        The file (or series folder).
    match : RoleMatch
        The role, the word and the case-id prefix read from its name.
    kind : str
        ``"nifti"`` (or ``"dicom"`` for a series folder).
    """

    path: Path
    match: RoleMatch
    kind: str = "nifti"


@dataclass(frozen=True)
class RoleChoice:
    """The source chosen for one role of a case, and why."""

    role: str
    path: Path
    reason: str
    kind: str = "nifti"


@dataclass(frozen=True)
class Unmatched:
    """A file that joins no case, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class FolderScan:
    """What discovery found in a folder.

    Attributes
    ----------
    cohort : Cohort
        The cases, sorted by id (no manifest).
    choices : dict of str -> dict of str -> RoleChoice
        Case id -> role (``"t1"``, ..., ``"seg"``, ``"slide"``, ``"report"``) -> the file
        chosen and why (slides: the first one; all are in the case).
    unmatched : tuple of Unmatched
        Every file that joins no case, with the reason.
    problems : list of CohortProblem
        Ambiguities (two files for one role, one id in two folders).
    """

    cohort: Cohort
    choices: dict[str, dict[str, RoleChoice]] = field(default_factory=dict)
    unmatched: tuple[Unmatched, ...] = ()
    problems: list[CohortProblem] = field(default_factory=list)


#: A finder: (folder, sorted file names) -> (candidates, names it claimed, unmatched).
Finder = Callable[[Path, list[str]], tuple[list[Candidate], set[str], list[Unmatched]]]


def nifti_candidates(
    folder: Path, names: list[str]
) -> tuple[list[Candidate], set[str], list[Unmatched]]:
    """The NIfTI files of `folder` whose names say their role; the others as unmatched."""
    found: list[Candidate] = []
    claimed: set[str] = set()
    unmatched: list[Unmatched] = []
    for name in names:
        if not name.lower().endswith(NIFTI_SUFFIXES):
            continue
        claimed.add(name)
        match = match_role(name)
        if match.role is None:
            unmatched.append(Unmatched(folder / name, match.reason))
        else:
            found.append(Candidate(folder / name, match))
    return found, claimed, unmatched


def _group_cases(folder: Path, candidates: list[Candidate]) -> list[tuple[str, str, list]]:
    """Split a folder's candidates into cases: ``[(case id, why this id, candidates)]``."""
    by_prefix: dict[str, list[Candidate]] = defaultdict(list)
    for cand in candidates:
        by_prefix[cand.match.prefix].append(cand)
    folder_name = folder.name
    # files with no prefix, or prefixed with the folder's name, belong to the folder's case
    own = [
        c for p, cs in by_prefix.items() if p == "" or p.lower() == folder_name.lower() for c in cs
    ]
    others = {p: cs for p, cs in by_prefix.items() if p and p.lower() != folder_name.lower()}
    if own and not others:
        prefixes = {c.match.prefix for c in own}
        how = (
            f"files prefixed {folder_name!r}"
            if prefixes == {folder_name}
            else f"one case per folder: named after the folder {folder_name!r}"
        )
        return [(folder_name, how, own)]
    roles = [c.match.role for c in candidates]
    singles = all(len(cs) == 1 for cs in others.values())
    if singles and len(set(roles)) == len(roles) and (len(others) > 1 or own):
        # "3_t1_mprage", "5_flair", "mask": one patient's series numbers, not several patients
        listed = ", ".join(repr(p) for p in sorted(others))
        how = (
            f"one case per folder: named after the folder {folder_name!r} "
            f"(prefixes {listed} differ, one file per role)"
        )
        return [(folder_name, how, list(candidates))]
    groups = [(p, f"files prefixed {p!r}", cs) for p, cs in sorted(others.items())]
    if own:
        groups.append(
            (folder_name, f"no case-id prefix: named after the folder {folder_name!r}", own)
        )
    return groups


def scan_folder(
    folder: str | Path, *, finders: tuple[Finder, ...] = (nifti_candidates,), dicom: bool = True
) -> FolderScan:
    """Find every case under `folder` (hidden folders such as ``.corebt`` skipped).

    With `dicom`, a folder of DICOM MRI files (any depth, any names) is one case named
    after the folder (:mod:`corebt_viewer.io.dicom.cases`): its assigned series are read
    into derived NIfTI files under ``<folder>/.corebt/dicom/<case>/``, which the case uses.

    Raises
    ------
    InputError
        When `folder` is not a folder, or holds no file naming an MRI role at all.
    """
    root = Path(os.path.normpath(Path(folder).absolute()))
    if not root.is_dir():
        raise InputError(root, "not a folder")
    problems: list[CohortProblem] = []
    unmatched: list[Unmatched] = []
    cases: dict[str, Case] = {}
    choices: dict[str, dict[str, RoleChoice]] = {}
    folders_of: dict[str, Path] = {}
    any_candidate = False

    def problem(message: str, path: Path | None, case_id: str | None, role: str | None = None):
        problems.append(CohortProblem(root, None, message, path, patient_id=case_id, role=role))

    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a linked folder seen before (or a link loop)
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        names = sorted(n for n in filenames if not n.startswith("."))
        if dicom and is_dicom_case_folder(here, names, is_root=here == root):
            dirnames[:] = []  # the whole tree is one patient's DICOM
            any_candidate = True
            _add_dicom_case(here, root, cases, choices, folders_of, unmatched, problem)
            continue
        candidates: list[Candidate] = []
        claimed: set[str] = set()
        for finder in finders:
            found, took, skipped = finder(here, [n for n in names if n not in claimed])
            candidates += found
            claimed |= took
            unmatched += skipped
        rest = [n for n in names if n not in claimed]
        if here == root and MANIFEST_NAME in rest:
            rest.remove(MANIFEST_NAME)
        any_candidate = any_candidate or bool(candidates)
        groups = _group_cases(here, candidates) if candidates else []
        for case_id, why_id, members in groups:
            if case_id in cases:
                problem(
                    f"case id found in two folders ({folders_of[case_id]} is used); "
                    f"{len(members)} file(s) here skipped",
                    here,
                    case_id,
                )
                unmatched += [
                    Unmatched(c.path, f"case {case_id} already found in {folders_of[case_id]}")
                    for c in members
                ]
                continue
            roles: dict[str, list[Candidate]] = defaultdict(list)
            for cand in members:
                roles[cand.match.role].append(cand)
            chosen: dict[str, RoleChoice] = {}
            for role, cands in roles.items():
                if len(cands) > 1:
                    files = " and ".join(c.path.name for c in cands)
                    problem(
                        f"two files for {role}: {files}; neither is used (rename one or write a manifest)",
                        here,
                        case_id,
                        role,
                    )
                    unmatched += [
                        Unmatched(c.path, f"ambiguous {role} of case {case_id}") for c in cands
                    ]
                    continue
                cand = cands[0]
                chosen[role] = RoleChoice(
                    role, cand.path, f"{cand.match.reason}; case {why_id}", cand.kind
                )
            slides, report = _attach_extras(
                here, case_id, rest, len(groups) == 1, chosen, unmatched
            )
            rest = [n for n in rest if here / n not in slides and here / n != report]
            cases[case_id] = Case(
                patient_id=case_id,
                mri={ROLE_SEQUENCES[r]: c.path for r, c in chosen.items() if r in ROLE_SEQUENCES},
                segmentation=chosen["seg"].path if "seg" in chosen else None,
                slides=slides,
                report=report,
            )
            order = ("t1", "t1c", "t2", "flair", "seg", "slide", "report")
            choices[case_id] = {r: chosen[r] for r in order if r in chosen}
            folders_of[case_id] = here
        listed = {u.path for u in unmatched if u.path.parent == here}
        for name in rest:
            if here / name in listed:
                continue
            lower = name.lower()
            if lower.endswith(SLIDE_SUFFIXES + REPORT_SUFFIXES):
                reason = "slide or report whose name starts with no case id of this folder"
            else:
                reason = "not an MRI (.nii, .nii.gz), slide or report file"
            unmatched.append(Unmatched(here / name, reason))
    if not any_candidate:
        raise InputError(
            root,
            "no manifest.csv and no MRI files found: NIfTI names need a sequence word "
            "(t1, t1c/t1ce/t1gd, t2/t2w, flair/fla/t2f, seg/mask), e.g. <id>_t1.nii.gz, "
            "<id>-t1n.nii.gz or <case folder>/t1.nii.gz; or a folder of DICOM MR images",
        )
    ordered = tuple(sorted(cases.values(), key=lambda c: c.patient_id))
    unmatched.sort(key=lambda u: str(u.path))
    return FolderScan(
        Cohort(root=root, cases=ordered, manifest=None), choices, tuple(unmatched), problems
    )


def _add_dicom_case(here, root, cases, choices, folders_of, unmatched, problem) -> None:
    """Add the DICOM patient folder `here` as a case (see :func:`scan_folder`)."""
    from corebt_viewer.io.dicom.cases import read_dicom_case

    case_id = here.name
    if case_id in cases:
        problem(f"case id found in two folders ({folders_of[case_id]} is used)", here, case_id)
        unmatched.append(Unmatched(here, f"case {case_id} already found in {folders_of[case_id]}"))
        return
    found = read_dicom_case(here, cohort_root=root, case=case_id)
    for role, message in found.problems:
        problem(message, here, case_id, role)
    unmatched += [Unmatched(path, reason) for path, reason in found.unused]
    if not found.files:
        return
    chosen = {r: RoleChoice(r, path, why, "dicom") for r, (path, why) in found.files.items()}
    cases[case_id] = Case(
        patient_id=case_id,
        mri={ROLE_SEQUENCES[r]: c.path for r, c in chosen.items()},
        segmentation=None,
    )
    choices[case_id] = {r: chosen[r] for r in ("t1", "t1c", "t2", "flair") if r in chosen}
    folders_of[case_id] = here


def _dicom_slide_folders(folder: Path, case_id: str) -> list[Path]:
    """Folders of DICOM whole-slide instances beside a case's files, named after the case."""
    from corebt_viewer.io.slides.dicom import is_dicom_folder

    with os.scandir(folder) as entries:
        names = sorted(
            e.name
            for e in entries
            if e.is_dir() and e.name.startswith(case_id) and not e.name.startswith(".")
        )
    return [folder / name for name in names if is_dicom_folder(folder / name)]


def _attach_extras(here, case_id, rest, only_case, chosen, unmatched):
    """Slides and the report of a case: named ``<id>...``, or any when it is the folder's only case."""
    mine = [n for n in rest if n.startswith(case_id) or only_case]
    slides = tuple(here / n for n in mine if n.lower().endswith(SLIDE_SUFFIXES))
    slides += tuple(_dicom_slide_folders(here, case_id))  # DICOM whole-slide folders
    reports = [here / n for n in mine if n.lower().endswith(REPORT_SUFFIXES)]
    how = f"name starts with {case_id!r}" if not only_case else "the only case of its folder"
    if slides:
        chosen["slide"] = RoleChoice(
            "slide", slides[0], f"slide file ({len(slides)} in all); {how}"
        )
    report = reports[0] if reports else None
    if report is not None:
        chosen["report"] = RoleChoice("report", report, f"text file; {how}")
    for extra in reports[1:]:
        unmatched.append(Unmatched(extra, f"case {case_id} already has the report {report.name}"))
    return slides, report


def discover_cohort(folder: str | Path) -> tuple[Cohort, list[CohortProblem]]:
    """Find the cases under `folder`; see :func:`scan_folder`.

    Returns
    -------
    (Cohort, list of CohortProblem)
        Cases sorted by id; ambiguities (two files for one role, one id in two folders).

    Raises
    ------
    InputError
        When the folder holds no MRI file that names its role.
    """
    scan = scan_folder(folder)
    return scan.cohort, scan.problems
