"""Small choices of the fusion services: which modalities a model reads, which Level-1
grouping it uses, and what an evaluation tells its model card."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.level1_groups import Level1Grouping, default_grouping
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.tasks import Task

#: Eq. 2 of the paper: MRI and pathology.
EQUATION_2 = frozenset({Modality.MRI, Modality.WSI})


def allowed_modalities(task: Task, with_report: bool) -> frozenset[Modality]:
    """MRI + pathology (eq. 2), plus the report only when asked for."""
    allowed = task.modalities & EQUATION_2
    return allowed | ({Modality.REPORT} & task.modalities) if with_report else allowed


def resolve_grouping(task: str, level1_groups) -> Level1Grouping | None:
    """The Level-1 grouping to train with: the given one (object or file), the default for
    ``level1``, ``None`` for the other tasks.

    Raises
    ------
    InputError
        For a grouping given to another task than ``level1`` (it would be ignored), or a bad
        grouping file.
    """
    if task != "level1":
        if level1_groups is not None:
            raise InputError(
                level1_groups if isinstance(level1_groups, (str, Path)) else None,
                f"--level1-groups applies to the level1 task, not {task}",
            )
        return None
    if level1_groups is None:
        return default_grouping()
    if isinstance(level1_groups, Level1Grouping):
        return level1_groups
    from corebt_viewer.io.level1_groups import read_level1_groups

    return read_level1_groups(level1_groups)


def record_heldout(model, model_dir, out, evaluation) -> None:
    """Write the held-out ECE of the model's headline row into its folder (model card)."""
    from corebt_viewer.services.model_card import headline_row, record_evaluation

    name = headline_row(model.uses_report)
    row = next((r for r in evaluation.rows.get("missing", []) if r["name"] == name), None)
    if row is None:
        return
    calibration = row.get("calibration", {})
    cv = evaluation.cv
    source = (
        f"{cv['repeats']} x {cv['folds']}-fold cross-validation" if cv else "held-out test split"
    )
    record_evaluation(
        model_dir,
        out,
        {
            "row": name,
            "n": int(row["n"]),
            "ece_before": calibration.get("ece_before"),
            "ece_after": calibration.get("ece_after"),
            "brier_before": calibration.get("brier_before"),
            "brier_after": calibration.get("brier_after"),
            "f1_macro": row["metrics"]["f1_macro"],
            "source": source,
        },
    )


#: Folder-name suffix of the report-extension model next to the eq. 2 model.
REPORT_SUFFIX = "+report"


def report_model_dir(eq2_dir: str | Path) -> Path:
    """The sibling folder of the report-extension model: ``.../level1`` -> ``.../level1+report``."""
    eq2_dir = Path(eq2_dir)
    return eq2_dir.with_name(eq2_dir.name + REPORT_SUFFIX)
