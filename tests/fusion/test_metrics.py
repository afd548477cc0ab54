"""Metrics agree with scikit-learn; the macro accuracy is the balanced accuracy."""

import numpy as np
import pytest
from sklearn import metrics as skm

from corebt_viewer.fusion.metrics import (
    bootstrap_intervals,
    class_report,
    classification_metrics,
    confusion_matrix,
)

CASES = {
    "perfect": ([0, 1, 2, 3, 0, 1], [0, 1, 2, 3, 0, 1], 4),
    "imbalanced": ([0, 0, 0, 0, 0, 0, 1, 1, 2], [0, 0, 0, 1, 2, 0, 1, 0, 2], 3),
    "never_predicted": ([0, 1, 2, 2, 1, 0], [0, 0, 0, 0, 1, 0], 3),
    "absent_class_predicted": ([0, 0, 1, 1, 1], [0, 3, 1, 3, 1], 4),
    "binary": ([0, 1, 1, 1, 0, 1, 0, 0], [0, 1, 0, 1, 1, 1, 0, 0], 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_scikit_learn(name):
    y_true, y_pred, n_classes = CASES[name]
    ours = classification_metrics(y_true, y_pred, n_classes)
    present = sorted(set(y_true))
    kw = {"labels": present, "average": "macro", "zero_division": 0}
    assert ours["precision_macro"] == pytest.approx(skm.precision_score(y_true, y_pred, **kw))
    assert ours["recall_macro"] == pytest.approx(skm.recall_score(y_true, y_pred, **kw))
    assert ours["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, **kw))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            balanced = skm.balanced_accuracy_score(y_true, y_pred)
    assert ours["accuracy_macro"] == pytest.approx(balanced)
    assert ours["accuracy_macro"] == ours["recall_macro"]
    assert ours["accuracy_overall"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, n_classes),
        skm.confusion_matrix(y_true, y_pred, labels=list(range(n_classes))),
    )


def test_hand_computed_values():
    # class 0: TP 3 FN 1 FP 1; class 1: TP 1 FN 1 FP 1
    m = classification_metrics([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0], 2)
    assert m["recall_macro"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert m["precision_macro"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert m["f1_macro"] == pytest.approx((6 / 8 + 2 / 4) / 2)


def test_bootstrap_intervals_bracket_the_estimate_and_are_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    point = classification_metrics(y, p, 3)
    ci = bootstrap_intervals(y, p, 3, n_boot=500, seed=1)
    for key, (lo, hi) in ci.items():
        assert lo <= point[key] <= hi
        assert hi - lo < 0.25
    assert ci == bootstrap_intervals(y, p, 3, n_boot=500, seed=1)
    # one row per group: resampling groups is resampling rows
    grouped = bootstrap_intervals(y, p, 3, n_boot=500, seed=1, groups=np.arange(200))
    for key in ci:
        assert grouped[key] == pytest.approx(ci[key], abs=0.05)


def test_grouped_bootstrap_keeps_a_patient_s_rows_together():
    y = np.array([0, 0, 1, 1] * 10)
    p = y.copy()
    p[:4] = 1 - p[:4]  # patient 0's four predictions are all wrong
    groups = np.repeat(np.arange(10), 4)
    ci = bootstrap_intervals(y, p, 2, n_boot=300, seed=0, groups=groups)
    assert ci["accuracy_macro"][1] == pytest.approx(1.0)
    assert ci["accuracy_macro"][0] < 0.9


def test_class_report_lists_every_class():
    text = class_report([0, 1, 1], [0, 1, 0], ("A", "B", "C"))
    assert "| A | 0.500 | 1.000 | 0.667 | 1 |" in text
    assert "| C | 0.000 | 0.000 | 0.000 | 0 |" in text
