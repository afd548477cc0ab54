"""The demo cohort's patient plan: class, grade and modality pattern of every patient.

The plan of patient ``i`` is a pure function of ``(seed, i)``, so patients can be generated in
any order, in parallel, and a larger cohort starts with the same patients as a smaller one.

Class proportions follow the paper's Table 1 with the small classes moderately over-sampled so
that every class of the ``level1`` task (GBM, IDH-mutant astrocytoma, oligodendroglioma, "Other
glioma") and every class of the ``who_grade`` task has enough cases to train and evaluate on:

======================  ========  =====
Level-1 group           Table 1   demo
======================  ========  =====
GBM / IDH-wt HGG        57 %      40 %
IDH-mutant Astrocytoma  23 %      25 %
Oligodendroglioma       10 %      17 %
Other glioma            10 %      18 %
======================  ========  =====

The modality pattern is the paper's (section 4): 19 % incomplete MRI (one or two sequences
missing, no mask), 31 % full MRI with a mask and one to three slides and a report, the rest full
MRI with a mask only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corebt_viewer.core.labels import level1_by_name

GBM = "GBM / IDH-wt HGG"
ASTRO = "IDH-mutant Astrocytoma"
OLIGO = "Oligodendroglioma"
CIRCUMSCRIBED = "Circumscribed Astrocytic Glioma"
MIDLINE = "Midline / H3-altered Glioma"
GLIONEURONAL = "Glioneuronal / Neuronal Tumors"
PEDIATRIC = "Pediatric Diffuse Astrocytoma"
OTHER_NEC = "Other / NEC"

#: Demo share of the four groups of the level1 task (see the module docstring).
GROUP_WEIGHTS: dict[str, float] = {GBM: 0.40, ASTRO: 0.25, OLIGO: 0.17, "other": 0.18}

#: Share of each rarer Level-1 class inside "Other glioma" (Table 1 counts 13, 9, 6, 1, 3).
OTHER_WEIGHTS: dict[str, float] = {
    CIRCUMSCRIBED: 13,
    MIDLINE: 9,
    GLIONEURONAL: 6,
    OTHER_NEC: 3,
    PEDIATRIC: 1,
}

#: WHO CNS grade mix per Level-1 class.
GRADE_WEIGHTS: dict[str, dict[int, float]] = {
    GBM: {4: 1.0},
    ASTRO: {2: 0.45, 3: 0.35, 4: 0.20},
    OLIGO: {2: 0.55, 3: 0.45},
    CIRCUMSCRIBED: {1: 1.0},
    MIDLINE: {4: 1.0},
    GLIONEURONAL: {1: 1.0},
    PEDIATRIC: {1: 1.0},
    OTHER_NEC: {1: 0.5, 2: 0.5},
}

#: The paper's modality pattern: 95 / 310 with slides and report, 60 / 310 incomplete MRI.
SHARE_WITH_PATHOLOGY = 95 / 310
SHARE_INCOMPLETE_MRI = 60 / 310

SEQUENCES = ("t1", "t1c", "t2", "flair")

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class PatientPlan:
    """What one demo patient has.

    Attributes
    ----------
    index : int
        Position in the cohort (0-based).
    patient_id : str
        ``DEMO-0001`` style identifier.
    level1, subtype : str
        Names of Table 1 (as in :mod:`corebt_viewer.core.labels`).
    who_grade : int
    sequences : tuple of str
        The MRI sequences present (subset of ``t1, t1c, t2, flair``).
    has_mask : bool
        Whether a tumour segmentation is written (only with all four sequences).
    convention : str
        ``"brats2021"`` (labels 1/2/4, ``_t1ce`` names) or ``"brats2023"`` (1/2/3, ``-t1c``).
    n_slides : int
        Number of whole-slide images (0-3).
    has_report : bool
    """

    index: int
    patient_id: str
    level1: str
    subtype: str
    who_grade: int
    sequences: tuple[str, ...]
    has_mask: bool
    convention: str
    n_slides: int
    has_report: bool


def patient_rng(seed: int, index: int, stream: str) -> np.random.Generator:
    """Random generator for one part (``stream``) of one patient: a pure function of its inputs."""
    tag = int.from_bytes(stream.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(index), tag])


def _quota_pick(weights: dict, counts: dict) -> object:
    """The key whose running count lags most behind its weight (largest-deficit rule)."""
    total = sum(counts.values()) + 1
    norm = sum(weights.values())
    return max(weights, key=lambda k: (total * weights[k] / norm - counts[k], weights[k]))


def _class_and_grade(index: int) -> tuple[str, int]:
    """Level-1 class and grade of patient `index`: quota sequences, so every prefix is balanced."""
    return _class_grade_table(index + 1 + (-(index + 1)) % 64)[index]


@lru_cache(maxsize=8)
def _class_grade_table(n: int) -> tuple[tuple[str, int], ...]:
    groups = dict.fromkeys(GROUP_WEIGHTS, 0)
    others = dict.fromkeys(OTHER_WEIGHTS, 0)
    grades = {name: dict.fromkeys(w, 0) for name, w in GRADE_WEIGHTS.items()}
    table = []
    for _ in range(n):
        group = _quota_pick(GROUP_WEIGHTS, groups)
        groups[group] += 1
        level1 = group
        if group == "other":
            level1 = _quota_pick(OTHER_WEIGHTS, others)
            others[level1] += 1
        grade = _quota_pick(GRADE_WEIGHTS[level1], grades[level1])
        grades[level1][grade] += 1
        table.append((level1, int(grade)))
    return tuple(table)


def plan_patient(seed: int, index: int) -> PatientPlan:
    """The plan of patient `index` of the demo cohort made with `seed`."""
    level1, grade = _class_and_grade(index)
    rng = patient_rng(seed, index, "plan")
    cls = level1_by_name(level1)
    names = [s.name for s in cls.subtypes]
    counts = np.array([s.count for s in cls.subtypes], float)
    subtype = names[int(rng.choice(len(names), p=counts / counts.sum()))]
    # Low-discrepancy modality pattern (golden-ratio sequence, phase set by the seed): every
    # prefix of the cohort has close to the paper's shares, independent of the class sequence.
    u = (index * _GOLDEN + (seed % 997) * 0.001) % 1.0
    if u < SHARE_WITH_PATHOLOGY:
        n_slides = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        sequences, has_mask = SEQUENCES, True
    elif u > 1.0 - SHARE_INCOMPLETE_MRI:
        n_slides = 0
        n_missing = int(rng.choice([1, 2], p=[0.6, 0.4]))
        missing = set(rng.choice(len(SEQUENCES), n_missing, replace=False).tolist())
        sequences = tuple(s for k, s in enumerate(SEQUENCES) if k not in missing)
        has_mask = False
    else:
        n_slides = 0
        sequences, has_mask = SEQUENCES, True
    convention = "brats2023" if index % 9 == 4 else "brats2021"
    return PatientPlan(
        index=index,
        patient_id=f"DEMO-{index + 1:04d}",
        level1=level1,
        subtype=subtype,
        who_grade=grade,
        sequences=sequences,
        has_mask=has_mask,
        convention=convention,
        n_slides=n_slides,
        has_report=n_slides > 0,
    )


def plan_cohort(seed: int, patients: int) -> list[PatientPlan]:
    """Plans of the first `patients` patients."""
    return [plan_patient(seed, i) for i in range(patients)]
