"""A patient case and a cohort of cases.

A :class:`Case` holds references to files (paths), not pixels: the readers in
:mod:`corebt_viewer.io` load them on demand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.labels import level1_by_name, parse_who_grade
from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality, Sequence
from corebt_viewer.core.tasks import Task


@dataclass(frozen=True)
class CaseLabels:
    """Ground-truth labels of a case; any of them may be unknown (``None``)."""

    level1: str | None = None
    subtype: str | None = None
    who_grade: int | None = None

    def __post_init__(self) -> None:
        if self.level1 is not None:
            cls = level1_by_name(self.level1)
            object.__setattr__(self, "level1", cls.name)
            if self.subtype is not None:
                object.__setattr__(self, "subtype", cls.subtype(self.subtype).name)
        if self.who_grade is not None:
            object.__setattr__(self, "who_grade", parse_who_grade(self.who_grade))

    @property
    def is_labelled(self) -> bool:
        return self.level1 is not None or self.who_grade is not None


@dataclass(frozen=True)
class Case:
    """One patient: MRI sequences, segmentation, slides, report and labels.

    Attributes
    ----------
    patient_id : str
        Unique identifier within the cohort.
    mri : Mapping[Sequence, Path]
        Paths of the available MRI sequences (any subset of T1, T1c, T2, FLAIR).
    segmentation : Path or None
        Tumour mask in a BraTS label convention.
    slides : tuple of Path
        Whole-slide images (zero or more).
    report : Path or None
        Pathology report, plain text.
    labels : CaseLabels
        Ground truth, possibly empty.
    seg_convention : str or None
        ``"brats2021"`` or ``"brats2023"`` when the manifest declares the mask's label
        convention (its ``seg_convention`` column); ``None`` lets the evidence decide.
    """

    patient_id: str
    mri: Mapping[Sequence, Path] = field(default_factory=dict)
    segmentation: Path | None = None
    slides: tuple[Path, ...] = ()
    report: Path | None = None
    labels: CaseLabels = field(default_factory=CaseLabels)
    seg_convention: str | None = None

    @property
    def sequences(self) -> tuple[Sequence, ...]:
        """Available MRI sequences in canonical order."""
        return tuple(s for s in MRI_SEQUENCES if s in self.mri)

    @property
    def missing_sequences(self) -> tuple[Sequence, ...]:
        return tuple(s for s in MRI_SEQUENCES if s not in self.mri)

    @property
    def has_complete_mri(self) -> bool:
        return not self.missing_sequences

    @property
    def modalities(self) -> frozenset[Modality]:
        """Modalities this case has (MRI counts when at least one sequence exists)."""
        present = set()
        if self.mri:
            present.add(Modality.MRI)
        if self.slides:
            present.add(Modality.WSI)
        if self.report is not None:
            present.add(Modality.REPORT)
        return frozenset(present)

    def has(self, modality: Modality) -> bool:
        return modality in self.modalities

    def usable_modalities(self, task: Task) -> frozenset[Modality]:
        """Modalities of this case that a model for `task` may use."""
        return self.modalities & task.modalities

    def target(self, task: Task) -> int | None:
        """Class index of this case for `task`, or ``None`` if unlabelled for it."""
        return task.class_index(self.labels.level1, self.labels.who_grade)

    def files(self) -> Iterator[tuple[str, Path]]:
        """Every file of the case with the role it plays (``"t1"``, ``"seg"``, ``"slide"``...)."""
        for seq in self.sequences:
            yield seq.value, self.mri[seq]
        if self.segmentation is not None:
            yield "seg", self.segmentation
        for slide in self.slides:
            yield "slide", slide
        if self.report is not None:
            yield "report", self.report


@dataclass(frozen=True)
class Cohort:
    """An ordered collection of cases rooted in a folder.

    Attributes
    ----------
    root : Path
        The cohort folder (where ``manifest.csv`` lives, and the caches).
    cases : tuple of Case
    manifest : Path or None
        The manifest the cohort was read from, if any.
    """

    root: Path
    cases: tuple[Case, ...]
    manifest: Path | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for case in self.cases:
            if case.patient_id in seen:
                raise ValueError(f"duplicate patient id {case.patient_id!r} in cohort {self.root}")
            seen.add(case.patient_id)

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __getitem__(self, patient_id: str) -> Case:
        for case in self.cases:
            if case.patient_id == patient_id:
                return case
        raise KeyError(f"no case {patient_id!r} in cohort {self.root}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.patient_id for c in self.cases)

    def modality_counts(self) -> dict[str, int]:
        """How many cases have each modality, complete MRI and a segmentation."""
        counts = {m.value: sum(m in c.modalities for c in self.cases) for m in Modality}
        counts["complete_mri"] = sum(c.has_complete_mri for c in self.cases)
        counts["segmentation"] = sum(c.segmentation is not None for c in self.cases)
        counts["slides_total"] = sum(len(c.slides) for c in self.cases)
        return counts

    def class_counts(self, task: Task) -> dict[str, int]:
        """Cases per class of `task` (plus ``"unlabelled"``)."""
        counts = {name: 0 for name in task.classes}
        counts["unlabelled"] = 0
        for case in self.cases:
            idx = case.target(task)
            counts["unlabelled" if idx is None else task.classes[idx]] += 1
        return counts
