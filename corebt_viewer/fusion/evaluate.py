"""Subject-level evaluation in the layout of the paper's Tables 2 and 3.

Rows (for each meaning of "ablated", see :mod:`corebt_viewer.fusion.model`):

* ``MRI only``, ``Pathology only`` (and ``Report only``): the modality's linear probe;
* ``Fusion``: the model given MRI and pathology (the report, if the model knows it, is
  withheld so the rows match the paper's two-modality setting);
* ``Fusion (MRI ablated)``, ``Fusion (Pathology ablated)``, ``Fusion (Both ablated)``;
* when the model knows reports: ``Fusion + Report`` and the same ablations, scored on the
  evaluated cases that have a report.

Only held-out cases that have both MRI and pathology are scored (as in the paper). Under
the ``missing`` meaning, ablating every modality leaves nothing to predict from, so that
row is empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import ABLATION_MODES
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.fusion.metrics import (
    METRIC_NAMES,
    METRIC_TITLES,
    bootstrap_intervals,
    class_report,
    classification_metrics,
    confusion_matrix,
)
from corebt_viewer.fusion.predictor import FusionPredictor

PAPER_MODALITIES = frozenset({Modality.MRI, Modality.WSI})


@dataclass(frozen=True)
class RowSpec:
    """One row of the table.

    Attributes
    ----------
    name : str
    probe : Modality or None
        For a probe row, its modality.
    shown : frozenset of Modality
        Modalities given to the model (the rest are withheld as missing).
    ablated : frozenset of Modality
        Modalities ablated in the row's meaning.
    requires : frozenset of Modality
        Modalities a case must have to be scored in this row.
    """

    name: str
    probe: Modality | None = None
    shown: frozenset[Modality] = frozenset()
    ablated: frozenset[Modality] = frozenset()
    requires: frozenset[Modality] = frozenset()

    def defined(self, mode: str) -> bool:
        """Whether the row has something to predict from under this meaning."""
        return self.probe is not None or mode == "paper" or bool(self.shown - self.ablated)


def table_rows(modalities: Sequence[Modality]) -> list[RowSpec]:
    """The rows for a model with these modalities."""
    have = frozenset(modalities)
    base = PAPER_MODALITIES & have
    rows = [
        RowSpec(f"{m.title} only", probe=m, requires=base)
        for m in (Modality.MRI, Modality.WSI)
        if m in have
    ]
    ablations = [frozenset({m}) for m in (Modality.MRI, Modality.WSI) if m in have]
    if len(base) == 2:
        ablations.append(base)

    def label(ablated: frozenset[Modality]) -> str:
        return "Both" if len(ablated) == 2 else next(iter(ablated)).title

    rows.append(RowSpec("Fusion", shown=base, requires=base))
    rows += [
        RowSpec(f"Fusion ({label(a)} ablated)", shown=base, ablated=a, requires=base)
        for a in ablations
    ]
    if Modality.REPORT in have:
        full = base | {Modality.REPORT}
        rows.append(RowSpec("Report only", probe=Modality.REPORT, requires=full))
        rows.append(RowSpec("Fusion + Report", shown=full, requires=full))
        rows += [
            RowSpec(f"Fusion + Report ({label(a)} ablated)", shown=full, ablated=a, requires=full)
            for a in ablations
        ]
        rows.append(
            RowSpec(
                "Fusion + Report (Report ablated)",
                shown=full,
                ablated=frozenset({Modality.REPORT}),
                requires=full,
            )
        )
    return rows


@dataclass
class RowPredictions:
    """Predictions of one row for the evaluated cases (``-1`` where not scored)."""

    spec: RowSpec
    mode: str
    predicted: np.ndarray
    probabilities: np.ndarray | None = None


def predict_rows(
    model: FusionPredictor, embeddings: Sequence[CaseEmbedding], mode: str
) -> list[RowPredictions]:
    """Predictions of every row defined under `mode` for these cases."""
    arrays, available = model.stack(embeddings)
    out = []
    for spec in table_rows(model.modalities):
        if not spec.defined(mode):
            continue
        need = np.array([m in spec.requires for m in model.modalities])
        scored = available[:, need].all(1)
        predicted = np.full(len(embeddings), -1, dtype=np.int64)
        probs = None
        if spec.probe is not None:
            result = model.forward_arrays(arrays, available)
            logits = result.probe_logits[:, model.modalities.index(spec.probe)]
            predicted[scored] = logits[scored].argmax(1)
        else:
            shown = np.array([m in spec.shown for m in model.modalities])
            avail = available & shown[None, :]
            ablated = model.ablation_mask(avail, spec.ablated)
            result = model.forward_arrays(arrays, avail, ablated, mode=mode)
            predicted[scored] = result.probabilities[scored].argmax(1)
            probs = result.probabilities
        out.append(RowPredictions(spec, mode, predicted, probs))
    return out


@dataclass
class Evaluation:
    """Scored rows for the evaluated cases of one task."""

    task: str
    classes: tuple[str, ...]
    patient_ids: list[str]
    targets: np.ndarray
    rows: dict[str, list[dict]] = field(default_factory=dict)
    groups: np.ndarray | None = None
    cv: dict | None = None


def score(
    predictions: Mapping[str, list[RowPredictions]],
    targets: np.ndarray,
    classes: tuple[str, ...],
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, list[dict]]:
    """Metrics, bootstrap intervals and confusion matrix per row and meaning."""
    n_classes = len(classes)
    scored_rows: dict[str, list[dict]] = {}
    for mode, rows in predictions.items():
        scored_rows[mode] = []
        for row in rows:
            keep = row.predicted >= 0
            y, p = targets[keep], row.predicted[keep]
            g = None if groups is None else groups[keep]
            scored_rows[mode].append(
                {
                    "name": row.spec.name,
                    "n": int(keep.sum()),
                    "n_patients": int(keep.sum() if g is None else np.unique(g).size),
                    "metrics": classification_metrics(y, p, n_classes),
                    "ci95": {
                        k: [None if np.isnan(x) else x for x in v]
                        for k, v in bootstrap_intervals(
                            y, p, n_classes, n_boot=n_boot, seed=seed, groups=g
                        ).items()
                    },
                    "confusion": confusion_matrix(y, p, n_classes).tolist(),
                    "report": class_report(y, p, classes),
                }
            )
    return scored_rows


def eligible_cases(
    model: FusionPredictor,
    embeddings: Mapping[str, CaseEmbedding],
    targets: Mapping[str, int | None],
    ids: Sequence[str],
) -> list[str]:
    """Those of `ids` that are labelled and have every paper modality the model knows."""
    need = PAPER_MODALITIES & frozenset(model.modalities)
    return [
        pid
        for pid in ids
        if pid in embeddings
        and targets.get(pid) is not None
        and need <= model.available_in(embeddings[pid])
    ]


def evaluate_holdout(
    model: FusionPredictor,
    embeddings: Mapping[str, CaseEmbedding],
    targets: Mapping[str, int | None],
    *,
    n_boot: int = 1000,
) -> Evaluation:
    """Score the model on its recorded test cases (never on a case it was trained on)."""
    seen = set(model.split.get("train", [])) | set(model.split.get("validation", []))
    test = [pid for pid in model.split.get("test", []) if pid not in seen]
    ids = eligible_cases(model, embeddings, targets, test)
    if not ids:
        raise InputError(
            None,
            "no held-out case with both MRI and pathology embeddings and a label "
            "(the model's test split is empty here); try --cv K",
        )
    cases = [embeddings[pid] for pid in ids]
    y = np.array([int(targets[pid]) for pid in ids])
    predictions = {mode: predict_rows(model, cases, mode) for mode in ABLATION_MODES}
    return Evaluation(
        model.task, model.classes, ids, y, score(predictions, y, model.classes, n_boot=n_boot)
    )


def stratified_folds(ids: Sequence[str], targets: np.ndarray, k: int, seed: int) -> list[list[str]]:
    """`k` folds of `ids`, each class spread evenly over them."""
    rng = np.random.default_rng(seed)
    folds: list[list[str]] = [[] for _ in range(k)]
    offset = 0
    for c in np.unique(targets):
        members = np.flatnonzero(targets == c)
        members = members[rng.permutation(members.size)]
        for i, m in enumerate(members):
            folds[(i + offset) % k].append(ids[m])
        offset += members.size
    return [sorted(f) for f in folds]


def evaluate_cv(
    template: FusionPredictor,
    embeddings: Mapping[str, CaseEmbedding],
    targets: Mapping[str, int | None],
    *,
    k: int,
    repeats: int | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    progress: ProgressCallback | None = None,
) -> Evaluation:
    """Repeated stratified `k`-fold cross-validation, retraining the model on every fold.

    The test folds partition the cases with both MRI and pathology; every other labelled
    case always trains. `repeats` defaults to enough repeats for about 100 scored
    predictions (at most 5). Predictions of all repeats are pooled; bootstrap intervals
    resample patients.
    """
    from corebt_viewer.fusion.train import TrainSettings, train_fusion

    if k < 2:
        raise InputError(None, "--cv needs at least 2 folds")
    ids = eligible_cases(template, embeddings, targets, sorted(embeddings))
    if len(ids) < k:
        raise InputError(
            None, f"only {len(ids)} cases have MRI, pathology and a label: too few for {k} folds"
        )
    y_elig = np.array([int(targets[pid]) for pid in ids])
    if repeats is None:
        repeats = int(min(5, max(1, np.ceil(100 / len(ids)))))
    known = {f for f in TrainSettings.__dataclass_fields__}
    settings = TrainSettings(
        **{
            k_: tuple(v) if k_ == "l2_grid" else v
            for k_, v in template.settings.items()
            if k_ in known
        }
    )
    allowed = frozenset(template.modalities)
    labelled = {pid: t for pid, t in targets.items() if t is not None}
    pooled_ids: list[str] = []
    pooled: dict[str, list[RowPredictions]] = {mode: [] for mode in ABLATION_MODES}
    total, done = repeats * k, 0
    for r in range(repeats):
        for fold in stratified_folds(ids, y_elig, k, seed + 1000 * r):
            model = train_fusion(
                embeddings,
                labelled,
                task=template.task,
                classes=template.classes,
                allowed=allowed,
                seed=seed + 1000 * r,
                settings=settings,
                test_ids=fold,
            )
            assert not set(fold) & (set(model.split["train"]) | set(model.split["validation"]))
            cases = [embeddings[pid] for pid in fold]
            for mode in ABLATION_MODES:
                pooled[mode].append(predict_rows(model, cases, mode))
            pooled_ids.extend(fold)
            done += 1
            report(progress, done, total, f"cross-validation fold {done}/{total}", "evaluate")
    predictions = {}
    for mode, per_fold in pooled.items():
        merged = []
        for i, first in enumerate(per_fold[0]):
            merged.append(
                RowPredictions(
                    first.spec, mode, np.concatenate([fold[i].predicted for fold in per_fold])
                )
            )
        predictions[mode] = merged
    y = np.array([int(targets[pid]) for pid in pooled_ids])
    groups = np.array(pooled_ids)
    rows = score(predictions, y, template.classes, groups=groups, n_boot=n_boot, seed=seed)
    return Evaluation(
        template.task,
        template.classes,
        pooled_ids,
        y,
        rows,
        groups=groups,
        cv={"folds": k, "repeats": repeats, "cases": len(ids)},
    )


# --------------------------------------------------------------------------- writing
def markdown_table(evaluation: Evaluation, title: str, with_ci: bool = True) -> str:
    """The two tables (one per meaning of "ablated") in the paper's layout."""
    lines = [f"# {title}", ""]
    if evaluation.cv:
        cv = evaluation.cv
        lines.append(
            f"{cv['repeats']} x {cv['folds']}-fold cross-validation over {cv['cases']} cases "
            "with MRI and pathology (predictions pooled; 95% bootstrap intervals over patients)."
        )
    else:
        lines.append(
            f"Held-out test split: {len(evaluation.patient_ids)} cases with MRI and pathology "
            "(95% bootstrap intervals)."
        )
    lines.append(
        "Acc. (Macro) is the balanced accuracy (mean per-class recall), as in the paper's tables."
    )
    notes = {
        "missing": "an ablated modality is absent (its term removed, weights renormalised)",
        "paper": "as in the paper, only the residual branch's input is masked",
    }
    for mode, rows in evaluation.rows.items():
        lines += ["", f"## Ablation meaning: {mode} ({notes.get(mode, '')})", ""]
        header = ["Task", "Model Configuration", "n", *(METRIC_TITLES[m] for m in METRIC_NAMES)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for i, row in enumerate(rows):
            cells = [evaluation.task if i == 0 else "", row["name"], str(row["n"])]
            for m in METRIC_NAMES:
                value = f"{row['metrics'][m]:.3f}"
                if with_ci and None not in row["ci95"][m]:
                    lo, hi = row["ci95"][m]
                    value += f" ({lo:.2f}-{hi:.2f})"
                cells.append(value)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], title: str, path: Path) -> None:
    """Save a confusion-matrix figure (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    fig = Figure(figsize=(1.2 * len(classes) + 2.5, 1.0 * len(classes) + 2))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(title, fontsize=9)
    top = matrix.max() if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_evaluation(
    evaluation: Evaluation, out: str | Path, *, title: str, extra: Mapping | None = None
) -> Path:
    """Write ``table.md``, ``metrics.json``, ``per_class.md`` and confusion PNGs into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(markdown_table(evaluation, title), encoding="utf-8")
    per_class = [f"# Per-class results: {title}", ""]
    plots = out / "confusion"
    plots.mkdir(exist_ok=True)
    for mode, rows in evaluation.rows.items():
        for row in rows:
            per_class += [f"## {row['name']} (ablation meaning: {mode}, n={row['n']})", ""]
            per_class += [row["report"], ""]
            if mode == "paper" and "ablated" not in row["name"]:
                continue  # identical to the 'missing' plot
            name = f"{mode}_{slug(row['name'])}.png"
            plot_confusion(
                np.array(row["confusion"]),
                evaluation.classes,
                f"{evaluation.task}: {row['name']} ({mode})",
                plots / name,
            )
    (out / "per_class.md").write_text("\n".join(per_class), encoding="utf-8")
    payload = {
        "task": evaluation.task,
        "classes": list(evaluation.classes),
        "cross_validation": evaluation.cv,
        "patients": sorted(set(evaluation.patient_ids)),
        "metric_note": "accuracy_macro is the balanced accuracy (= macro recall), as in the "
        "paper's tables; accuracy_overall is the fraction correct",
        "rows": {
            mode: [{k: v for k, v in row.items() if k != "report"} for row in rows]
            for mode, rows in evaluation.rows.items()
        },
        **(dict(extra) if extra else {}),
    }
    (out / "metrics.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return out
