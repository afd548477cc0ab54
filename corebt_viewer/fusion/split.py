"""One test cohort for every task, drawn once per cohort and seed (paper, section 7).

"The test subject cohort consists of the same subjects across tasks, and all subjects
contain both modalities." So the test cases are drawn among the cases that have every label
(Level 1 and WHO grade) and both MRI and pathology, stratified on the combination of their
Level-1 group and WHO grade, independently of any task. Cross-validation folds are drawn
the same way (one set of folds per cohort, seed and K, shared by the tasks).

The functions here are pure (ids and strata in, ids out); storing the split beside the
cohort is :mod:`corebt_viewer.services.splits`' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

SPLIT_FORMAT = "corebt-split"


@dataclass
class CohortSplit:
    """The cohort-wide test cases and the cases they were drawn from.

    Attributes
    ----------
    seed : int
    test_fraction : float
    eligible : list of str
        Cases with every label and both MRI and pathology.
    test : list of str
        The held-out cases (a subset of ``eligible``).
    manifest_sha256 : str
        Hash of the manifest the split was drawn from.
    folds : dict of str -> list of list of list of str
        Cross-validation folds per ``"<K>x<repeats>"``: repeats, then folds, then ids.
    """

    seed: int
    test_fraction: float
    eligible: list[str]
    test: list[str]
    manifest_sha256: str = ""
    folds: dict[str, list[list[list[str]]]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "format": SPLIT_FORMAT,
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "manifest_sha256": self.manifest_sha256,
            "eligible": self.eligible,
            "test": self.test,
            "folds": self.folds,
            "note": "cases with every label and both MRI and pathology; the same test cases "
            "for every task (CoRe-BT paper, section 7)",
        }

    @classmethod
    def from_json(cls, data: dict) -> CohortSplit:
        if data.get("format") != SPLIT_FORMAT:
            raise ValueError("not a CoRe-BT split file")
        return cls(
            seed=int(data["seed"]),
            test_fraction=float(data["test_fraction"]),
            eligible=[str(x) for x in data["eligible"]],
            test=[str(x) for x in data["test"]],
            manifest_sha256=str(data.get("manifest_sha256", "")),
            folds={k: [[list(f) for f in r] for r in v] for k, v in data.get("folds", {}).items()},
        )


def _strata_codes(strata: Sequence[object]) -> np.ndarray:
    _, codes = np.unique(np.asarray([str(s) for s in strata]), return_inverse=True)
    return codes


def draw_test(
    ids: Sequence[str], strata: Sequence[object], fraction: float, seed: int
) -> list[str]:
    """About `fraction` of each stratum (none from a stratum of one case), sorted.

    Strata with one case always train; a stratum of two or more gives at least one case
    and keeps at least one for training.
    """
    rng = np.random.default_rng(seed)
    codes = _strata_codes(strata)
    picked: list[str] = []
    for c in np.unique(codes):
        members = np.flatnonzero(codes == c)
        members = members[rng.permutation(members.size)]
        if members.size < 2:
            continue
        n = min(max(int(round(fraction * members.size)), 1), members.size - 1)
        picked += [ids[i] for i in members[:n]]
    return sorted(picked)


def draw_folds(ids: Sequence[str], strata: Sequence[object], k: int, seed: int) -> list[list[str]]:
    """`k` folds of `ids`, each stratum spread evenly over them (sorted ids per fold)."""
    rng = np.random.default_rng(seed)
    codes = _strata_codes(strata)
    folds: list[list[str]] = [[] for _ in range(k)]
    offset = 0
    for c in np.unique(codes):
        members = np.flatnonzero(codes == c)
        members = members[rng.permutation(members.size)]
        for i, m in enumerate(members):
            folds[(i + offset) % k].append(ids[m])
        offset += members.size
    return [sorted(f) for f in folds]


def fold_key(k: int, repeats: int) -> str:
    return f"{k}x{repeats}"


def repeated_folds(
    ids: Sequence[str], strata: Sequence[object], k: int, repeats: int, seed: int
) -> list[list[list[str]]]:
    """`repeats` independent draws of :func:`draw_folds` (seeds ``seed + 1000 r``)."""
    return [draw_folds(ids, strata, k, seed + 1000 * r) for r in range(repeats)]
