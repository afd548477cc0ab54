"""Subject-level evaluation in the layout of the paper's Tables 2 and 3.

Rows (for each meaning of "ablated", see :mod:`corebt_viewer.fusion.model`):

* ``MRI only``, ``Pathology only`` (and ``Report only``): the modality's linear probe;
* ``Fusion``: the model given MRI and pathology (the report, if the model knows it, is
  withheld so the rows match the paper's two-modality setting);
* ``Fusion (MRI ablated)``, ``Fusion (Pathology ablated)``, ``Fusion (Both ablated)``;
* incomplete MRI (section ``mri``): ``MRI only`` and ``Fusion`` with the MRI re-pooled from
  FLAIR + T1c only, and from T1 + T2 only, scored on the cases that have those sequences;
* when the model knows reports (section ``report``, kept apart: the paper has no such
  rows): ``Report only``, ``Fusion + Report`` and its ablations, scored on the evaluated
  cases that have a report.

Only held-out cases that have both MRI and pathology are scored (as in the paper). Under
the ``missing`` meaning, ablating every modality leaves nothing to predict from, so that
row is empty. Every row also gets ECE and Brier before and after temperature scaling
(:mod:`corebt_viewer.fusion.reliability`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.prediction import ABLATION_MODES
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.fusion.calibration import softmax
from corebt_viewer.fusion.metrics import (
    bootstrap_intervals,
    class_report,
    classification_metrics,
    confusion_matrix,
)
from corebt_viewer.fusion.predictor import FusionPredictor
from corebt_viewer.fusion.reliability import summary_of
from corebt_viewer.fusion.sequence_dropout import with_sequences
from corebt_viewer.fusion.table_rows import PAPER_MODALITIES, RowSpec, table_rows


@dataclass
class RowPredictions:
    """Predictions of one row for the evaluated cases (``-1`` where not scored).

    ``logits`` are the uncalibrated outputs (NaN where not scored) and ``temperatures`` the
    temperature each case's probabilities use (``None`` for probe rows: no scaling).
    """

    spec: RowSpec
    mode: str
    predicted: np.ndarray
    probabilities: np.ndarray | None = None
    logits: np.ndarray | None = None
    temperatures: np.ndarray | None = None


def _sequence_variant(model, embeddings, sequences, cache):
    if sequences not in cache:
        subs = [with_sequences(e, sequences) for e in embeddings]
        present = np.array([s is not None for s in subs], dtype=bool)
        arrays, available = model.stack(
            [s if s is not None else e for s, e in zip(subs, embeddings, strict=True)]
        )
        cache[sequences] = (arrays, available, present)
    return cache[sequences]


def predict_rows(
    model: FusionPredictor, embeddings: Sequence[CaseEmbedding], mode: str
) -> list[RowPredictions]:
    """Predictions of every row defined under `mode` for these cases."""
    base_arrays, base_available = model.stack(embeddings)
    everyone = np.ones(len(embeddings), dtype=bool)
    variants: dict = {}
    out = []
    for spec in table_rows(model.modalities):
        if not spec.defined(mode):
            continue
        if spec.sequences is None:
            arrays, available, present = base_arrays, base_available, everyone
        else:
            arrays, available, present = _sequence_variant(
                model, embeddings, spec.sequences, variants
            )
        need = np.array([m in spec.requires for m in model.modalities])
        scored = available[:, need].all(1) & present
        predicted = np.full(len(embeddings), -1, dtype=np.int64)
        logits = np.full((len(embeddings), len(model.classes)), np.nan)
        probs = temperatures = None
        if spec.probe is not None:
            result = model.forward_arrays(arrays, available)
            row_logits = result.probe_logits[:, model.modalities.index(spec.probe)]
        else:
            shown = np.array([m in spec.shown for m in model.modalities])
            avail = available & shown[None, :]
            ablated = model.ablation_mask(avail, spec.ablated)
            result = model.forward_arrays(arrays, avail, ablated, mode=mode)
            row_logits = result.logits
            probs = result.probabilities
            temperatures = model.row_temperatures(avail, ablated, mode)
        predicted[scored] = row_logits[scored].argmax(1)
        logits[scored] = row_logits[scored]
        out.append(RowPredictions(spec, mode, predicted, probs, logits, temperatures))
    return out


def row_calibration(row: RowPredictions, targets: np.ndarray) -> dict:
    """ECE (15 bins) and Brier score of the row's scored cases, before and after scaling."""
    keep = row.predicted >= 0
    if row.logits is None or not keep.any():
        return {"n": 0, "ece_before": None, "ece_after": None}
    z = row.logits[keep]
    before = softmax(z)
    if row.temperatures is None:  # a probe: no temperature of its own
        summary = summary_of(before, before, targets[keep])
        return {**summary, "ece_after": None, "brier_after": None}
    return summary_of(before, softmax(z, row.temperatures[keep][:, None]), targets[keep])


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
    predictions: dict[str, list[RowPredictions]] = field(default_factory=dict, repr=False)


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
            if row.spec.section == "mri" and not keep.any():
                continue  # no case carries its sequence embeddings: nothing to show
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
                    "section": row.spec.section,
                    "calibration": row_calibration(row, targets),
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
        model.task,
        model.classes,
        ids,
        y,
        score(predictions, y, model.classes, n_boot=n_boot),
        predictions=predictions,
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
    folds: Sequence[Sequence[Sequence[str]]] | None = None,
) -> Evaluation:
    """Repeated stratified `k`-fold cross-validation, retraining the model on every fold.

    The test folds partition the cases with both MRI and pathology; every other labelled
    case always trains. `repeats` defaults to enough repeats for about 100 scored
    predictions (at most 5). Predictions of all repeats are pooled; bootstrap intervals
    resample patients.

    `folds` (repeats, then folds, then ids), when given, are the cohort's shared folds
    (:mod:`corebt_viewer.fusion.split`): each test fold is restricted to the cases that are
    eligible for this task, so every task is tested on the same patients per fold.
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
    if folds is not None:
        eligible = set(ids)
        plan = [[sorted(set(f) & eligible) for f in repeat] for repeat in folds]
        repeats = len(plan)
    else:
        plan = [stratified_folds(ids, y_elig, k, seed + 1000 * r) for r in range(repeats)]
    total, done = sum(len(repeat) for repeat in plan), 0
    for r, repeat in enumerate(plan):
        for fold in repeat:
            if not fold:
                continue
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
            temps = [fold[i].temperatures for fold in per_fold]
            merged.append(
                RowPredictions(
                    first.spec,
                    mode,
                    np.concatenate([fold[i].predicted for fold in per_fold]),
                    logits=np.concatenate([fold[i].logits for fold in per_fold]),
                    temperatures=None if temps[0] is None else np.concatenate(temps),
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
        predictions=predictions,
        cv={
            "folds": k,
            "repeats": repeats,
            "cases": len(ids),
            "shared_folds": folds is not None,
        },
    )


from corebt_viewer.fusion.evaluation_report import (  # noqa: E402  (re-exported)
    markdown_table,
    plot_confusion,
    slug,
    write_evaluation,
)

__all__ = [
    "PAPER_MODALITIES",
    "Evaluation",
    "RowPredictions",
    "RowSpec",
    "evaluate_cv",
    "evaluate_holdout",
    "markdown_table",
    "plot_confusion",
    "predict_rows",
    "score",
    "slug",
    "stratified_folds",
    "table_rows",
    "write_evaluation",
]
