"""Subject-level metrics of the paper's section 6, macro-averaged, with bootstrap intervals.

Note on "macro accuracy"
------------------------
The paper defines ``Accuracy = 1/C sum_c (TP_c + TN_c) / T_c`` but, in every row of its
Tables 2 and 3, the reported macro accuracy equals the macro recall. We therefore report as
``accuracy_macro`` the balanced accuracy, ``1/C sum_c TP_c / (TP_c + FN_c)`` (scikit-learn's
``balanced_accuracy_score``), and give the plain fraction correct separately as
``accuracy_overall``.

Averages run over the ``C`` classes present among the true labels of the evaluated cases
(a class nobody has cannot be recalled); a class that is never predicted has precision 0.
Both choices match scikit-learn with ``labels=<present classes>, zero_division=0``.
"""

from __future__ import annotations

import numpy as np

METRIC_NAMES: tuple[str, ...] = ("accuracy_macro", "precision_macro", "recall_macro", "f1_macro")
METRIC_TITLES: dict[str, str] = {
    "accuracy_macro": "Acc. (Macro)",
    "precision_macro": "Prec. (Macro)",
    "recall_macro": "Rec. (Macro)",
    "f1_macro": "F1 (Macro)",
}


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes); rows are true classes, columns predicted ones."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError("y_true and y_pred differ in length")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from confusion matrices (..., C, C)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(-1)
    predicted = cm.sum(-2)
    fp = predicted - tp
    fn = support - tp
    return {
        "precision": _divide(tp, predicted),
        "recall": _divide(tp, support),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "support": support,
    }


def scores_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray | float]:
    """Macro metrics (see the module note) from confusion matrices (..., C, C)."""
    cm = np.asarray(cm, dtype=np.float64)
    per = per_class_scores(cm)
    present = per["support"] > 0
    n_present = present.sum(-1)

    def macro(values: np.ndarray) -> np.ndarray:
        return _divide((values * present).sum(-1), n_present.astype(np.float64))

    recall = macro(per["recall"])
    total = cm.sum((-2, -1))
    return {
        "accuracy_macro": recall,
        "precision_macro": macro(per["precision"]),
        "recall_macro": recall,
        "f1_macro": macro(per["f1"]),
        "accuracy_overall": _divide(np.diagonal(cm, axis1=-2, axis2=-1).sum(-1), total),
    }


def classification_metrics(y_true, y_pred, n_classes: int) -> dict[str, float]:
    """Macro accuracy (balanced), precision, recall, F1, and the overall accuracy."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    out = {k: float(v) for k, v in scores_from_confusion(cm).items()}
    out["n"] = int(cm.sum())
    return out


def bootstrap_intervals(
    y_true,
    y_pred,
    n_classes: int,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    groups=None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of the macro metrics.

    Parameters
    ----------
    groups : array-like, optional
        A group (patient) per row: whole groups are resampled together, for pooled
        predictions of repeated cross-validation where a patient appears once per repeat.
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.size == 0:
        return {k: (float("nan"), float("nan")) for k in METRIC_NAMES}
    rng = np.random.default_rng(seed)
    codes = t * n_classes + p
    if groups is None:
        idx = rng.integers(0, t.size, size=(n_boot, t.size))
        offsets = np.arange(n_boot)[:, None] * n_classes * n_classes
        flat = np.bincount((codes[idx] + offsets).ravel(), minlength=n_boot * n_classes**2)
        cms = flat.reshape(n_boot, n_classes, n_classes)
    else:
        _, inverse = np.unique(np.asarray(groups), return_inverse=True)
        n_groups = int(inverse.max()) + 1
        per_group = np.zeros((n_groups, n_classes * n_classes), dtype=np.int64)
        np.add.at(per_group, (inverse, codes), 1)
        picks = rng.integers(0, n_groups, size=(n_boot, n_groups))
        cms = per_group[picks].sum(1).reshape(n_boot, n_classes, n_classes)
    scores = scores_from_confusion(cms)
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return {
        k: (float(np.percentile(scores[k], lo)), float(np.percentile(scores[k], hi)))
        for k in METRIC_NAMES
    }


def class_report(y_true, y_pred, classes: tuple[str, ...]) -> str:
    """A per-class precision / recall / F1 / support table in Markdown."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    per = per_class_scores(cm)
    lines = ["| Class | Precision | Recall | F1 | Support |", "|---|---|---|---|---|"]
    for i, name in enumerate(classes):
        lines.append(
            f"| {name} | {per['precision'][i]:.3f} | {per['recall'][i]:.3f} | "
            f"{per['f1'][i]:.3f} | {int(per['support'][i])} |"
        )
    return "\n".join(lines)
