"""Cohort use cases shared by the command line and the GUI: validate and summarise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.errors import ManifestError
from corebt_viewer.core.progress import ProgressCallback
from corebt_viewer.core.tasks import TASKS, get_task


@dataclass(frozen=True)
class CohortSummary:
    """What a cohort holds, from its manifest (or folder) alone; no file is opened.

    Attributes
    ----------
    root : Path
        The cohort folder.
    manifest : Path or None
        The manifest read, or ``None`` for a discovered BraTS folder.
    n_cases : int
    modality_counts : dict of str -> int
        Cases with ``mri``, ``wsi``, ``report``, ``complete_mri``, ``segmentation``, and
        ``slides_total`` (see :meth:`Cohort.modality_counts`).
    sequence_counts : dict of str -> int
        Cases with each MRI sequence.
    class_counts : dict of str -> dict of str -> int
        Per task (``level1``, ``who_grade``, ``lgg_hgg``): cases per class and
        ``"unlabelled"``.
    problems : list of ManifestError
        Problems found while reading the manifest (labels, missing files).
    choices : dict of str -> dict of str -> (str, str)
        Case id -> role (``t1``... ``seg``, ``slide``, ``report``) -> (file, why it was
        chosen: the manifest row, or the name rule that discovery applied).
    unmatched : list of (str, str)
        Files of a discovered folder that joined no case, with the reason.
    level1_groups : dict of str -> tuple of str
        Level-1 class -> the Table 1 groups it is made of.
    """

    root: Path
    manifest: Path | None
    n_cases: int
    modality_counts: dict[str, int]
    sequence_counts: dict[str, int]
    class_counts: dict[str, dict[str, int]]
    problems: list[ManifestError] = field(default_factory=list)
    choices: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    level1_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


def validate(
    *,
    path: str | Path,
    progress: ProgressCallback | None = None,
    deep: bool = False,
    notes: list | None = None,
) -> list[ManifestError]:
    """Check every row and every file of the cohort at `path`; returns the problems.

    `deep` decompresses every MRI sequence in full instead of checking headers and sizes.
    `notes` receives the assumptions made (e.g. a mask's label convention), which are not
    problems.
    """
    from corebt_viewer.io.validate import validate_cohort

    return validate_cohort(path, progress=progress, deep=deep, notes=notes)


def summarise(*, path: str | Path, level1_groups=None) -> CohortSummary:
    """Summarise the cohort at `path` (manifest, folder with one, or BraTS folder).

    `level1_groups` (a Level1Grouping or a JSON/CSV file) replaces the default grouping.
    """
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.core.modalities import MRI_SEQUENCES
    from corebt_viewer.io.manifest import find_manifest, read_manifest
    from corebt_viewer.services.fusion_options import resolve_grouping

    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    grouping = resolve_grouping("level1", level1_groups)
    choices: dict[str, dict[str, tuple[str, str]]] = {}
    unmatched: list[tuple[str, str]] = []
    manifest = find_manifest(path)
    if manifest is not None:
        from corebt_viewer.io.manifest import read_manifest_rows

        cohort, problems = read_manifest(path, strict=False)
        for item in read_manifest_rows(manifest)[0]:
            why = f"{manifest.name} line {item.row}"
            choices[item.case.patient_id] = {role: (str(f), why) for role, f in item.case.files()}
    else:
        from corebt_viewer.io.discovery import scan_folder

        scan = scan_folder(path)
        cohort, problems = scan.cohort, scan.problems
        for case_id, roles in scan.choices.items():
            choices[case_id] = {r: (str(c.path), c.reason) for r, c in roles.items()}
        unmatched = [(str(u.path), u.reason) for u in scan.unmatched]
    return CohortSummary(
        root=cohort.root,
        manifest=cohort.manifest,
        n_cases=len(cohort),
        modality_counts=cohort.modality_counts(),
        sequence_counts={s.value: sum(s in c.mri for c in cohort) for s in MRI_SEQUENCES},
        class_counts={name: cohort.class_counts(get_task(name, grouping)) for name in TASKS},
        problems=list(problems),
        choices=choices,
        unmatched=unmatched,
        level1_groups=grouping.members(),
    )
