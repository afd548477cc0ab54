"""Cohorts without a manifest: BraTS 2021 and BraTS 2023 folder layouts.

BraTS 2021 (and older) names files ``<id>_t1.nii.gz``, ``_t1ce``, ``_t2``, ``_flair`` and
``_seg``; BraTS 2023 ``<id>-t1n.nii.gz``, ``-t1c``, ``-t2w``, ``-t2f`` and ``-seg``. Files of
one id in one folder form a case. Slides (``<id>*.svs``, ``.ndpi``..., or a folder
``<id>*/`` of DICOM whole-slide instances) and a report (``<id>*.txt``) beside them join the
case. Discovered cases carry no labels.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.manifest import CohortProblem

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


def discover_cohort(folder: str | Path) -> tuple[Cohort, list[CohortProblem]]:
    """Find the BraTS cases under `folder` (hidden folders such as ``.corebt`` skipped).

    Returns
    -------
    (Cohort, list of CohortProblem)
        Cases sorted by id; problems such as two files for one role, or one id in two
        folders.

    Raises
    ------
    InputError
        When the folder holds no BraTS file at all.
    """
    root = Path(os.path.normpath(Path(folder).absolute()))
    if not root.is_dir():
        raise InputError(root, "not a folder")
    problems: list[CohortProblem] = []
    found: dict[tuple[Path, str], dict[Sequence | str, Path]] = defaultdict(dict)
    others: dict[Path, list[Path]] = defaultdict(list)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        for name in sorted(filenames):
            matched = match_brats_name(name)
            if matched is None:
                if name.lower().endswith(SLIDE_SUFFIXES + REPORT_SUFFIXES):
                    others[here].append(here / name)
                continue
            _, case_id, role = matched
            roles = found[(here, case_id)]
            if role in roles:
                label = role.value if isinstance(role, Sequence) else role
                problems.append(
                    CohortProblem(
                        root,
                        None,
                        f"two files for {label} ({roles[role].name} is used)",
                        here / name,
                        patient_id=case_id,
                        role=label,
                    )
                )
                continue
            roles[role] = here / name
    if not found:
        raise InputError(
            root,
            "no manifest.csv and no BraTS files found (2021: <id>_t1.nii.gz, _t1ce, _t2, "
            "_flair, _seg; 2023: <id>-t1n.nii.gz, -t1c, -t2w, -t2f, -seg)",
        )
    cases: dict[str, Case] = {}
    for (here, case_id), roles in sorted(found.items(), key=lambda kv: (kv[0][1], str(kv[0][0]))):
        if case_id in cases:
            problems.append(
                CohortProblem(
                    root,
                    None,
                    f"case id found in two folders; {here} skipped",
                    here,
                    patient_id=case_id,
                )
            )
            continue
        extras = [p for p in others.get(here, []) if p.name.startswith(case_id)]
        slides = tuple(p for p in extras if p.name.lower().endswith(SLIDE_SUFFIXES))
        slides += tuple(_dicom_slide_folders(here, case_id))
        reports = [p for p in extras if p.name.lower().endswith(REPORT_SUFFIXES)]
        cases[case_id] = Case(
            patient_id=case_id,
            mri={k: v for k, v in roles.items() if isinstance(k, Sequence)},
            segmentation=roles.get("seg"),
            slides=slides,
            report=reports[0] if reports else None,
        )
    ordered = tuple(sorted(cases.values(), key=lambda c: c.patient_id))
    return Cohort(root=root, cases=ordered, manifest=None), problems
