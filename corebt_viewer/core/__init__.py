"""The data model: modalities, labels, tasks, cases and segmentations (numpy only)."""

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.labels import LEVEL1_CLASSES, Level1Class, level1_by_name
from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality, Sequence
from corebt_viewer.core.tasks import TASKS, Task, get_task

__all__ = [
    "Case",
    "CaseLabels",
    "Cohort",
    "LEVEL1_CLASSES",
    "Level1Class",
    "level1_by_name",
    "MRI_SEQUENCES",
    "Modality",
    "Sequence",
    "TASKS",
    "Task",
    "get_task",
]
