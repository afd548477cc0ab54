"""The model card: what a model is, one click away in the viewer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from corebt_viewer.core.tasks import get_task
from corebt_viewer.services.fusion import embedding_record_lines

#: Where ``corebt evaluate --out`` is expected to have written for the card to show it.
EVALUATION_DIRS = ("evaluation", "eval")


@dataclass(frozen=True)
class ModelCard:
    """What a fusion model is.

    Attributes
    ----------
    folder : Path
    task, task_title : str
    classes : tuple of str
    modalities : tuple of str
    encoders : dict of str -> str
        Per modality, the encoder its embeddings come from.
    profile : list of str
        The embedding profile the model was trained on, in words.
    embedding_counts : list of str
        Cases with an embedding per modality at training, and the cases left without one.
    n_train, n_validation, n_test : int
    saved : str
        When the model was written (its config file's time, UTC).
    temperature : float
    evaluation : str
        Its evaluation table (markdown), or ``""`` when none was found.
    """

    folder: Path
    task: str
    task_title: str
    classes: tuple[str, ...]
    modalities: tuple[str, ...]
    encoders: dict[str, str] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)
    embedding_counts: list[str] = field(default_factory=list)
    n_train: int = 0
    n_validation: int = 0
    n_test: int = 0
    saved: str = ""
    temperature: float = 1.0
    evaluation: str = ""

    def lines(self) -> list[str]:
        out = [
            f"Task: {self.task_title} ({self.task})",
            f"Classes: {', '.join(self.classes)}",
            f"Modalities: {', '.join(self.modalities)}",
            "Encoders: " + (", ".join(f"{m}: {e}" for m, e in self.encoders.items()) or "unknown"),
            *(["Embedding profile:", *self.profile] if self.profile else []),
            *self.embedding_counts,
            f"Trained on {self.n_train} cases ({self.n_validation} validation, "
            f"{self.n_test} held out)",
            f"Saved: {self.saved or 'unknown'}",
            f"Calibration temperature: {self.temperature:.3f}",
            f"Folder: {self.folder}",
        ]
        if not self.evaluation:
            out.append(
                f"No evaluation table: run `corebt evaluate --out {self.folder / 'evaluation'}`"
            )
        return out


def _profile_lines(model) -> list[str]:
    from corebt_viewer.core.errors import CoreBTError
    from corebt_viewer.services.fusion import model_profile

    try:
        return model_profile(model).describe()
    except CoreBTError as exc:
        return [f"unknown: {exc}"]


def model_card(model, folder: str | Path) -> ModelCard:
    """The card of a loaded model (a FusionPredictor) saved in `folder`."""
    folder = Path(folder)
    config = folder / "config.json"
    saved = ""
    if config.is_file():
        saved = datetime.fromtimestamp(config.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    evaluation = ""
    for name in EVALUATION_DIRS:
        table = folder / name / "table.md"
        if table.is_file():
            evaluation = table.read_text(encoding="utf-8")
            break
    split = getattr(model, "split", {}) or {}
    return ModelCard(
        folder=folder,
        task=model.task,
        task_title=get_task(model.task).title,
        classes=tuple(model.classes),
        modalities=tuple(m.title for m in model.modalities),
        encoders={m.title: str(e) for m, e in (getattr(model, "encoders", {}) or {}).items()},
        profile=_profile_lines(model),
        embedding_counts=embedding_record_lines(getattr(model, "metrics", {}).get("embedding", {})),
        n_train=len(split.get("train", ())),
        n_validation=len(split.get("validation", ())),
        n_test=len(split.get("test", ())),
        saved=saved,
        temperature=float(getattr(model, "temperature", 1.0)),
        evaluation=evaluation,
    )
