"""The cohort's one test split (and cross-validation folds), stored beside the cohort.

``<cohort root>/.corebt/splits/seed-<S>.json`` holds the test cases drawn once per cohort
and seed (see :mod:`corebt_viewer.fusion.split`) with the hash of the manifest they were
drawn from; ``train`` and ``evaluate`` reuse it for every task, and
:func:`case_split_role` answers "was this case seen in training?".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.tasks import get_task

TEST_FRACTION = 0.2


def split_path(cohort: Cohort, seed: int) -> Path:
    """``<root>/.corebt/splits/seed-<seed>.json``."""
    return Path(cohort.root) / ".corebt" / "splits" / f"seed-{int(seed)}.json"


def required_labels(cohort: Cohort) -> tuple[str, ...]:
    """The labels a test case must have: each kind (``level1``, ``who_grade``) that some
    case of the cohort records (a cohort graded only by WHO grade needs no Level 1)."""
    kinds = []
    if any(c.labels.level1 is not None for c in cohort.cases):
        kinds.append("level1")
    if any(c.labels.who_grade is not None for c in cohort.cases):
        kinds.append("who_grade")
    return tuple(kinds)


def is_eligible(case: Case, required: tuple[str, ...] = ("level1", "who_grade")) -> bool:
    """Every required label and both MRI and pathology."""
    return (
        all(getattr(case.labels, kind) is not None for kind in required)
        and {
            Modality.MRI,
            Modality.WSI,
        }
        <= case.modalities
    )


def stratum(case: Case) -> str:
    """Default Level-1 class and LGG/HGG of a case (the split's strata, task-independent)."""
    level1 = get_task("level1").class_name(case.labels.level1, None)
    grade = get_task("lgg_hgg").class_name(None, case.labels.who_grade)
    return f"{level1}|{grade}"


def _write(path: Path, split) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(split.to_json(), indent=1), encoding="utf-8")
    tmp.replace(path)


def _read(path: Path):
    from corebt_viewer.fusion.split import CohortSplit

    try:
        return CohortSplit.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            path, f"unreadable split file ({exc}); delete it to draw a new one"
        ) from None


def cohort_split(cohort: Cohort, *, seed: int = 0, test_fraction: float = TEST_FRACTION):
    """The cohort's test split for `seed`: read from its file, or drawn now and stored.

    Returns
    -------
    corebt_viewer.fusion.split.CohortSplit

    Raises
    ------
    InputError
        When the stored split was drawn from another manifest (delete the file to draw a
        new split; models trained on the old one keep their own record).
    """
    from corebt_viewer.fusion.split import CohortSplit, draw_test
    from corebt_viewer.services.fusion import manifest_hash

    path = split_path(cohort, seed)
    digest = manifest_hash(cohort)
    if path.is_file():
        split = _read(path)
        if split.manifest_sha256 and split.manifest_sha256 != digest:
            raise InputError(
                path,
                "this split was drawn from another version of the manifest; delete the file "
                "to draw a new one (earlier models keep their own record of their split)",
            )
        return split
    required = required_labels(cohort)
    eligible = [c for c in cohort.cases if is_eligible(c, required)]
    ids = [c.patient_id for c in eligible]
    test = draw_test(ids, [stratum(c) for c in eligible], test_fraction, seed)
    split = CohortSplit(seed, test_fraction, ids, test, digest)
    _write(path, split)
    return split


def default_repeats(n_cases: int) -> int:
    """Enough repeats for about 100 scored predictions, at most 5."""
    return int(min(5, max(1, math.ceil(100 / max(n_cases, 1)))))


def cv_folds(
    cohort: Cohort, *, k: int, repeats: int | None = None, seed: int = 0
) -> list[list[list[str]]]:
    """The cohort's shared cross-validation folds (repeats x k lists of ids), stored in its
    split file and drawn over the same eligible cases for every task."""
    from corebt_viewer.fusion.split import fold_key, repeated_folds

    split = cohort_split(cohort, seed=seed)
    repeats = default_repeats(len(split.eligible)) if repeats is None else int(repeats)
    key = fold_key(k, repeats)
    if key not in split.folds:
        strata = [stratum(cohort[pid]) for pid in split.eligible]
        split.folds[key] = repeated_folds(split.eligible, strata, k, repeats, seed)
        _write(split_path(cohort, seed), split)
    return split.folds[key]


def case_split_role(cohort: Cohort | None, model, patient_id: str) -> str | None:
    """Which part of the model's data the case was: ``"train"``, ``"validation"``,
    ``"calibration"`` (fitted the temperature only), ``"test"``, or ``None`` (unknown to
    the model, e.g. unlabelled for its task or from another cohort).

    `model` is a loaded model or its folder. The answer comes from the split the model
    recorded when it was trained (drawn from the cohort's stored split); `cohort` is not
    needed for it (a viewer compares manifests separately, see
    :func:`corebt_viewer.services.fusion.manifest_hash`).
    """
    from corebt_viewer.services.fusion import load_model

    del cohort
    if not hasattr(model, "split"):
        model = load_model(model)
    for role in ("train", "validation", "calibration", "test"):
        if patient_id in model.split.get(role, ()):
            return role
    return None
