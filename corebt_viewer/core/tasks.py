"""The evaluation tasks of the paper's section 7, as data.

A :class:`Task` maps a case's labels to a class index. The three tasks are

``level1``
    The three largest Level-1 classes of Table 1 plus ``"Other glioma"``, which merges
    the rest (4 classes). The grouping can be changed (:mod:`corebt_viewer.core.level1_groups`).
``who_grade``
    WHO CNS grade 2 or lower, grade 3, grade 4 (3 classes).
``lgg_hgg``
    Lower-grade (grade <= 2) vs higher-grade (grade >= 3) glioma (binary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from corebt_viewer.core.labels import level1_by_name
from corebt_viewer.core.level1_groups import OTHER_GLIOMA, Level1Grouping, default_grouping
from corebt_viewer.core.modalities import ALL_MODALITIES, Modality

__all__ = ["OTHER_GLIOMA", "TASKS", "Task", "get_task", "level1_task"]


@dataclass(frozen=True)
class Task:
    """A classification task: its classes and how a case's labels map onto them.

    Attributes
    ----------
    name : str
        Identifier used on the command line (``level1``, ``who_grade``, ``lgg_hgg``).
    title : str
        Display name as in the paper's tables.
    classes : tuple of str
        Class names in index order.
    source : str
        The label the task reads: ``"level1"`` or ``"who_grade"``.
    mapping : Mapping
        From a source label value (Level-1 name or WHO grade) to a class name.
    modalities : frozenset of Modality
        Modalities a model for this task may use.
    """

    name: str
    title: str
    classes: tuple[str, ...]
    source: str
    mapping: Mapping[object, str]
    modalities: frozenset[Modality] = field(default_factory=lambda: frozenset(ALL_MODALITIES))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_name(self, level1: str | None, who_grade: int | None) -> str | None:
        """Class name for these labels, or ``None`` when the label the task needs is missing."""
        if self.source == "level1":
            if level1 is None:
                return None
            return self.mapping[level1_by_name(level1).name]
        if who_grade is None:
            return None
        return self.mapping[who_grade]

    def class_index(self, level1: str | None, who_grade: int | None) -> int | None:
        """Class index for these labels, or ``None`` when unlabelled for this task."""
        name = self.class_name(level1, who_grade)
        return None if name is None else self.classes.index(name)


def level1_task(n_kept: int = 3, grouping: Level1Grouping | None = None) -> Task:
    """The Level-1 grouping task.

    By default the `n_kept` largest classes of Table 1 (by its counts) plus
    ``"Other glioma"``; `grouping` replaces that default.
    """
    grouping = grouping if grouping is not None else default_grouping(n_kept)
    return Task(
        name="level1",
        title="Level 1 Class",
        classes=grouping.classes,
        source="level1",
        mapping=grouping.as_dict(),
    )


def who_grade_task() -> Task:
    """WHO grade in three classes: grade 2 or lower, grade 3, grade 4."""
    return Task(
        name="who_grade",
        title="WHO Grade",
        classes=("Grade <=2", "Grade 3", "Grade 4"),
        source="who_grade",
        mapping={1: "Grade <=2", 2: "Grade <=2", 3: "Grade 3", 4: "Grade 4"},
    )


def lgg_hgg_task() -> Task:
    """Binary lower-grade (WHO <= 2) vs higher-grade (WHO >= 3) glioma."""
    return Task(
        name="lgg_hgg",
        title="LGG-HGG",
        classes=("LGG", "HGG"),
        source="who_grade",
        mapping={1: "LGG", 2: "LGG", 3: "HGG", 4: "HGG"},
    )


TASKS: dict[str, Callable[[], Task]] = {
    "level1": level1_task,
    "who_grade": who_grade_task,
    "lgg_hgg": lgg_hgg_task,
}


def get_task(name: str, level1_grouping: Level1Grouping | None = None) -> Task:
    """Return the task called `name` (``level1``, ``who_grade`` or ``lgg_hgg``).

    `level1_grouping` replaces the default grouping of the ``level1`` task.
    """
    if name == "level1" and level1_grouping is not None:
        return level1_task(grouping=level1_grouping)
    try:
        return TASKS[name]()
    except KeyError:
        raise KeyError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None
