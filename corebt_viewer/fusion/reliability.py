"""Calibration figures: expected calibration error, Brier score, reliability diagrams, and
the choice between one temperature and one per modality-availability pattern.

ECE follows Guo et al. (2017): the top-label confidence is binned into 15 equal-width bins
and ECE is the case-weighted mean of ``|accuracy - confidence|`` over the bins. The Brier
score is the mean over cases of the squared distance between the probability vector and
the one-hot truth (0 is perfect, 2 the worst).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corebt_viewer.fusion.calibration import fit_temperature, softmax

N_BINS = 15


def _checked(probabilities, targets) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(targets, dtype=np.int64)
    if p.ndim != 2 or p.shape[0] != t.size:
        raise ValueError("probabilities must be (n, C) with one target per row")
    return p, t


def reliability_bins(probabilities, targets, n_bins: int = N_BINS) -> dict[str, np.ndarray]:
    """Per bin of top-label confidence: its count, mean confidence and accuracy.

    Bins are ``(k/n, (k+1)/n]`` (the first one includes 0); empty bins have count 0 and
    NaN means.
    """
    p, t = _checked(probabilities, targets)
    confidence = p.max(1) if p.size else np.zeros(0)
    correct = (p.argmax(1) == t).astype(np.float64) if p.size else np.zeros(0)
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype(np.float64)
    conf_sum = np.bincount(index, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(index, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "count": count,
            "confidence": np.where(count > 0, conf_sum / count, np.nan),
            "accuracy": np.where(count > 0, acc_sum / count, np.nan),
            "edges": np.linspace(0.0, 1.0, n_bins + 1),
        }


def expected_calibration_error(probabilities, targets, n_bins: int = N_BINS) -> float:
    """ECE with `n_bins` equal-width bins of top-label confidence (NaN with no case)."""
    bins = reliability_bins(probabilities, targets, n_bins)
    n = bins["count"].sum()
    if n == 0:
        return float("nan")
    filled = bins["count"] > 0
    gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float((bins["count"][filled] * gaps).sum() / n)


def brier_score(probabilities, targets) -> float:
    """Multi-class Brier score: mean of ``sum_c (p_c - [y = c])^2`` (NaN with no case)."""
    p, t = _checked(probabilities, targets)
    if t.size == 0:
        return float("nan")
    onehot = np.zeros_like(p)
    onehot[np.arange(t.size), t] = 1.0
    return float(((p - onehot) ** 2).sum(1).mean())


def calibration_summary(logits, targets, temperature) -> dict[str, float | None]:
    """ECE and Brier before (T = 1) and after temperature scaling.

    `temperature` is a float or one per case (per-pattern temperatures).
    """
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.int64)
    if t.size == 0:
        return {"n": 0, "ece_before": None, "ece_after": None}
    before = softmax(z)
    after = softmax(z, np.reshape(np.asarray(temperature, dtype=np.float64), (-1, 1)))
    return summary_of(before, after, t)


def summary_of(before, after, targets) -> dict[str, float | None]:
    """ECE and Brier of two probability arrays for the same cases."""
    t = np.asarray(targets, dtype=np.int64)
    if t.size == 0:
        return {"n": 0, "ece_before": None, "ece_after": None}
    return {
        "n": int(t.size),
        "ece_before": expected_calibration_error(before, t),
        "ece_after": expected_calibration_error(after, t),
        "brier_before": brier_score(before, t),
        "brier_after": brier_score(after, t),
    }


# ----------------------------------------------------------- per-pattern temperatures
def pattern_key(available_row: Sequence[bool], modalities: Sequence) -> str:
    """``"mri+wsi"``: the modalities used by a case, in the model's order."""
    used = [
        getattr(m, "value", str(m)) for m, a in zip(modalities, available_row, strict=True) if a
    ]
    return "+".join(used) or "none"


def choose_temperatures(
    logits: np.ndarray,
    targets: np.ndarray,
    patterns: Sequence[str],
    *,
    folds: int = 5,
    min_cases: int = 8,
    seed: int = 0,
    groups: Sequence[object] | None = None,
) -> dict:
    """No scaling, one temperature, or one per availability pattern: whichever gives the
    lowest ECE on held-out folds of these cases.

    Each option is fitted on the other folds and scored on the held-out one (rows of one
    `groups` value, a case seen under several patterns, stay in one fold). The per-pattern
    option fits a temperature on each pattern with at least `min_cases` rows (the others use
    the global one). A simpler option wins ties. With fewer groups than `folds` nothing can
    be checked on held-out cases, and the logits are left unscaled (temperature 1).

    Returns
    -------
    dict
        ``temperature``, ``by_pattern`` (empty unless chosen), and ``selection`` (the
        held-out ECE of each option and the decision, for the record).
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets, dtype=np.int64)
    patterns = np.asarray(list(patterns))
    names, counts = np.unique(patterns, return_counts=True)
    _, group_index = np.unique(
        np.arange(y.size) if groups is None else np.asarray([str(g) for g in groups]),
        return_inverse=True,
    )
    n_groups = int(group_index.max()) + 1 if y.size else 0
    record = {
        "n_rows": int(y.size),
        "n_cases": n_groups,
        "patterns": {str(n): int(c) for n, c in zip(names, counts, strict=True)},
    }
    if n_groups < folds:
        record["decision"] = (
            f"no scaling: {n_groups} calibration case(s), too few to check on {folds} "
            "held-out folds that scaling helps"
        )
        return {"temperature": 1.0, "by_pattern": {}, "selection": record}
    global_t = fit_temperature(z, y)
    fitted = {
        str(n): fit_temperature(z[patterns == n], y[patterns == n])
        for n, c in zip(names, counts, strict=True)
        if c >= min_cases
    }
    rng = np.random.default_rng(seed)
    fold = (rng.permutation(n_groups) % folds)[group_index]
    p_global = np.zeros((y.size, z.shape[1]))
    p_pattern = np.zeros_like(p_global)
    for f in range(folds):
        test, train = fold == f, fold != f
        t_all = fit_temperature(z[train], y[train])
        p_global[test] = softmax(z[test], t_all)
        for name in np.unique(patterns[test]):
            rows = test & (patterns == name)
            inside = train & (patterns == name)
            t_p = fit_temperature(z[inside], y[inside]) if inside.sum() >= min_cases else t_all
            p_pattern[rows] = softmax(z[rows], t_p)
    ece = {
        "none": expected_calibration_error(softmax(z), y),
        "one": expected_calibration_error(p_global, y),
    }
    if names.size >= 2 and fitted:
        ece["per_pattern"] = expected_calibration_error(p_pattern, y)
    best = "none"
    for option in ("one", "per_pattern"):
        if option in ece and ece[option] < ece[best]:
            best = option
    decisions = {
        "none": "no scaling (it did not lower the held-out ECE)",
        "one": "one temperature",
        "per_pattern": "one temperature per pattern",
    }
    record.update(
        {
            "heldout_ece": ece,
            "fitted_temperature": global_t,
            "chosen": best,
            "decision": decisions[best],
        }
    )
    return {
        "temperature": global_t if best != "none" else 1.0,
        "by_pattern": fitted if best == "per_pattern" else {},
        "selection": record,
    }


# ----------------------------------------------------------------------------- plot
def plot_reliability(
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str, path: str | Path
) -> Path:
    """Save a reliability diagram (matplotlib, Agg) of (label, probabilities, targets).

    Each curve is drawn as accuracy against mean confidence per bin, with its ECE in the
    legend; the diagonal is perfect calibration.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.8, 4.6))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for label, probs, targets in curves:
        bins = reliability_bins(probs, targets)
        filled = bins["count"] > 0
        ece = expected_calibration_error(probs, targets)
        ax.plot(
            bins["confidence"][filled],
            bins["accuracy"][filled],
            marker="o",
            label=f"{label} (ECE {ece:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"confidence (top class, {N_BINS} bins)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path
