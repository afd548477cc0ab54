"""The one model card: what a trained model is, as plain data (no Qt).

The card says which equation the model is (eq. 2: MRI + pathology, or the extension that
also reads the report, and why that matters), its task and classes, which Table 1 groups
make each Level-1 class, the embedding profile it was trained on and how many cases had
an embedding per modality, how it is calibrated and how well on held-out cases (from the
last ``corebt evaluate``), how many cases trained it and when, and its evaluation table.
``corebt info --model``, ``corebt train`` and the viewer's "Model card…" all show it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from corebt_viewer.core.prediction import REPORT_REASON, model_inputs_name, report_notice

EVALUATION_RECORD = "last_evaluation.json"
#: Where ``corebt evaluate --out`` may have written, when no evaluation record names a table.
EVALUATION_DIRS = ("evaluation", "eval")


def model_task(model):
    """The :class:`~corebt_viewer.core.tasks.Task` a loaded model was trained for (with its
    own Level-1 grouping when it recorded one)."""
    from corebt_viewer.core.level1_groups import grouping_from_json
    from corebt_viewer.core.tasks import get_task

    saved = model.settings.get("level1_groups")
    grouping = grouping_from_json(saved) if model.task == "level1" and saved else None
    return get_task(model.task, grouping)


@dataclass(frozen=True)
class ModelCard:
    """A trained model described for people.

    Attributes
    ----------
    folder : Path
    task, task_title : str
    classes : tuple of str
    level1_groups : dict of str -> tuple of str
        Class -> the Table 1 groups it is made of (empty for the WHO-grade tasks).
    modalities : tuple of str
        Display names of the modalities the model reads.
    inputs : str
        ``"MRI + Pathology (eq. 2)"`` or the report extension's name.
    uses_report : bool
    report_reason : str or None
        Why using the report must be said (only when it is used).
    temperature : float
    temperatures_by_pattern : dict of str -> float
    calibration_cases : int
        Cases the temperature was fitted on (not trained on, not choosing the epoch).
    calibration_fit : str
        What the temperature was fitted on.
    calibration_decision : str
        No scaling, one temperature or one per pattern, and why.
    heldout_ece_before, heldout_ece_after : float or None
        ECE (15 bins) on held-out cases from the last evaluation (None if not evaluated).
    heldout_n : int
    heldout_source : str
        ``"held-out test split"`` or ``"5 x 5-fold cross-validation"``.
    evaluation_table : Path or None
        ``table.md`` of the last evaluation.
    split_counts : dict of str -> int
    notes : tuple of str
        Training notes (e.g. sequence dropout not applied, too few calibration cases).
    encoders : dict of str -> str
        Per modality read, the encoder its embeddings come from.
    profile : tuple of str
        The embedding profile the model was trained on, in words (only the encoders of
        the modalities it reads).
    embedding_counts : tuple of str
        Cases with an embedding per modality at training, and the cases left without one.
    saved : str
        When the model was written (its config file's time, UTC).
    evaluation : str
        The evaluation table (markdown), ``""`` when none was found.
    """

    folder: Path
    task: str
    task_title: str
    classes: tuple[str, ...]
    level1_groups: dict[str, tuple[str, ...]]
    modalities: tuple[str, ...]
    inputs: str
    uses_report: bool
    report_reason: str | None
    temperature: float
    temperatures_by_pattern: dict[str, float] = field(default_factory=dict)
    calibration_cases: int = 0
    calibration_fit: str = ""
    calibration_decision: str = ""
    heldout_ece_before: float | None = None
    heldout_ece_after: float | None = None
    heldout_n: int = 0
    heldout_source: str = ""
    evaluation_table: Path | None = None
    split_counts: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    encoders: dict[str, str] = field(default_factory=dict)
    profile: tuple[str, ...] = ()
    embedding_counts: tuple[str, ...] = ()
    saved: str = ""
    evaluation: str = ""

    @property
    def n_train(self) -> int:
        return self.split_counts.get("train", 0)

    def calibration_line(self) -> str:
        """``"calibrated (ECE 0.06 on 40 held-out cases, ...)"`` or what is missing."""
        if self.calibration_fit == "validation":
            return (
                f"temperature {self.temperature:.2f} fitted on the validation cases that also "
                "chose the epoch (a model from an older version: retrain to calibrate it on "
                "cases of its own)"
            )
        if not self.calibration_cases:
            return "not calibrated (too few calibration cases; temperature 1)"
        if self.calibration_decision.startswith("no scaling"):
            measured = (
                ""
                if self.heldout_ece_after is None
                else f"; ECE {self.heldout_ece_after:.2f} on {self.heldout_n} held-out cases"
            )
            return f"not rescaled: {self.calibration_decision}{measured}"
        if self.heldout_ece_after is None:
            return (
                f"calibrated on {self.calibration_cases} cases of its own (temperature "
                f"{self.temperature:.2f}); held-out ECE not measured: run `corebt evaluate`"
            )
        return (
            f"calibrated (ECE {self.heldout_ece_after:.2f} on {self.heldout_n} held-out cases, "
            f"{self.heldout_ece_before:.2f} before scaling; {self.heldout_source})"
        )

    def fidelity_lines(self) -> list[str]:
        """What the model reads (and why the report matters), its grouping, calibration."""
        out = [f"inputs: {self.inputs}"]
        if self.uses_report:
            out.append(f"note: {report_notice()}")
        if self.level1_groups:
            out.append("Level-1 classes, made of these Table 1 groups:")
        for cls, groups in self.level1_groups.items():
            out.append(f"  {cls} <- {'; '.join(groups)}")
        out.append(self.calibration_line())
        if self.temperatures_by_pattern:
            out.append(
                "temperature per pattern: "
                + ", ".join(f"{k} {v:.2f}" for k, v in self.temperatures_by_pattern.items())
            )
        return out + [f"note: {n}" for n in self.notes]

    def lines(self) -> list[str]:
        """The whole card in words (``corebt info --model``, the viewer's "Model card…")."""
        split = self.split_counts
        out = [
            f"model: {self.folder}",
            f"task {self.task} ({self.task_title}): {', '.join(self.classes)}",
            f"modalities: {', '.join(self.modalities)}",
            "encoders: " + (", ".join(f"{m}: {e}" for m, e in self.encoders.items()) or "unknown"),
            *self.fidelity_lines(),
            *self.profile,
            *self.embedding_counts,
            f"trained on {self.n_train} cases ({split.get('validation', 0)} validation, "
            f"{split.get('calibration', 0)} calibration, {split.get('test', 0)} held out)",
            f"saved: {self.saved or 'unknown'}; temperature {self.temperature:.3f}",
        ]
        if self.evaluation_table is not None:
            out.append(f"evaluation table: {self.evaluation_table}")
        else:
            out.append(
                f"no evaluation table: run `corebt evaluate --out {self.folder / 'evaluation'}`"
            )
        return out

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items()}
        data["folder"] = str(self.folder)
        data["evaluation_table"] = (
            None if self.evaluation_table is None else str(self.evaluation_table)
        )
        data["level1_groups"] = {k: list(v) for k, v in self.level1_groups.items()}
        data["calibration_line"] = self.calibration_line()
        data["profile"], data["embedding_counts"] = list(self.profile), list(self.embedding_counts)
        data.pop("evaluation")  # the table's text: its path is there
        if not self.uses_report:  # an eq. 2 model mentions no report anywhere
            data.pop("uses_report")
            data.pop("report_reason")
        return data


def record_evaluation(model_dir: str | Path, out: str | Path, summary: dict) -> Path:
    """Remember in the model folder where its last evaluation is and its held-out ECE."""
    path = Path(model_dir) / EVALUATION_RECORD
    record = {"table": str((Path(out) / "table.md").resolve()), **summary}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def headline_row(uses_report: bool) -> str:
    """The evaluation row that matches the model's headline prediction."""
    return "Fusion + Report" if uses_report else "Fusion"


def _profile_lines(model) -> tuple[str, ...]:
    """The model's embedding profile in words, without the encoders of modalities it does
    not read (an eq. 2 model names no report encoder)."""
    from corebt_viewer.core.errors import CoreBTError
    from corebt_viewer.services.fusion import model_profile

    try:
        lines = model_profile(model).describe()
    except CoreBTError as exc:
        return (f"embedding profile unknown: {exc}",)
    if not model.uses_report:
        lines = [line for line in lines if not line.strip().startswith("report:")]
    return tuple(lines)


def _evaluation(folder: Path, record: dict) -> tuple[Path | None, str]:
    """The last evaluation's table (recorded, else in ``<model>/evaluation``) and its text."""
    candidates = [Path(record["table"])] if record.get("table") else []
    candidates += [folder / name / "table.md" for name in EVALUATION_DIRS]
    for table in candidates:
        if table.is_file():
            return table, table.read_text(encoding="utf-8")
    return None, ""


def _read_record(path: Path) -> dict:
    """The evaluation record, or ``{}`` when there is none; a broken one is an error."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        from corebt_viewer.core.errors import InputError

        raise InputError(
            path,
            f"cannot read the evaluation record ({exc}); delete it or run `corebt evaluate` again",
        ) from exc


def model_card(model_dir: str | Path, model=None) -> ModelCard:
    """The card of the model saved in `model_dir` (`model`: the loaded model, if at hand)."""
    from corebt_viewer.services.fusion import embedding_record_lines, load_model

    folder = Path(model_dir)
    model = model if model is not None else load_model(folder)
    task = model_task(model)
    groups = {}
    if task.source == "level1":
        for cls in task.classes:
            groups[cls] = tuple(g for g, c in task.mapping.items() if c == cls)
    calibration = model.metrics.get("calibration", {})
    # a model from before the calibration split fitted its temperature on validation cases
    fit = "calibration" if "fitted_on" in calibration else "validation"
    n_cal = int(calibration.get("n_cases", 0))
    record = _read_record(folder / EVALUATION_RECORD)
    table, evaluation = _evaluation(folder, record)
    config = folder / "config.json"
    saved = ""
    if config.is_file():
        saved = datetime.fromtimestamp(config.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ModelCard(
        folder=folder,
        task=model.task,
        task_title=task.title,
        classes=tuple(model.classes),
        level1_groups=groups,
        modalities=tuple(m.title for m in model.modalities),
        inputs=model_inputs_name(model.uses_report),
        uses_report=model.uses_report,
        report_reason=REPORT_REASON if model.uses_report else None,
        temperature=float(model.temperature),
        temperatures_by_pattern=dict(model.temperatures_by_pattern),
        calibration_cases=n_cal,
        calibration_fit=fit,
        calibration_decision=str(calibration.get("selection", {}).get("decision", "")),
        heldout_ece_before=record.get("ece_before"),
        heldout_ece_after=record.get("ece_after"),
        heldout_n=int(record.get("n", 0)),
        heldout_source=str(record.get("source", "")),
        evaluation_table=table,
        split_counts={k: len(v) for k, v in model.split.items()},
        notes=tuple(model.metrics.get("notes", ())),
        encoders={m.title: str(e) for m, e in model.encoders.items() if m in set(model.modalities)},
        profile=_profile_lines(model),
        embedding_counts=tuple(embedding_record_lines(model.metrics.get("embedding", {}))),
        saved=saved,
        evaluation=evaluation,
    )
