"""Calibration figures: the temperature fit recovers a known temperature, ECE falls, and a
perfectly calibrated sampler has an ECE near 0."""

import numpy as np

from corebt_viewer.fusion.calibration import fit_temperature, softmax
from corebt_viewer.fusion.reliability import (
    brier_score,
    calibration_summary,
    choose_temperatures,
    expected_calibration_error,
    plot_reliability,
)


def sample(rng, probabilities):
    cumulative = probabilities.cumsum(1)
    u = rng.random((probabilities.shape[0], 1))
    return np.minimum((u > cumulative).sum(1), probabilities.shape[1] - 1)


def test_fit_recovers_a_known_temperature_and_ece_falls(rng):
    true_logits = rng.normal(0, 1.5, (4000, 4))
    targets = sample(rng, softmax(true_logits))
    overconfident = 2.5 * true_logits  # a model whose temperature should be 2.5
    t = fit_temperature(overconfident, targets)
    assert abs(t - 2.5) / 2.5 < 0.1
    summary = calibration_summary(overconfident, targets, t)
    assert summary["ece_after"] < summary["ece_before"] / 3
    assert summary["ece_after"] < 0.03
    assert summary["brier_after"] < summary["brier_before"]


def test_ece_of_a_perfectly_calibrated_sampler_is_near_zero(rng):
    probabilities = rng.dirichlet(np.full(3, 0.7), size=20000)
    targets = sample(rng, probabilities)
    assert expected_calibration_error(probabilities, targets) < 0.015
    # and a confidently wrong predictor is far from it
    wrong = np.eye(3)[(targets + 1) % 3]
    assert expected_calibration_error(wrong, targets) > 0.99
    assert brier_score(np.eye(3)[targets], targets) == 0.0


def test_per_pattern_temperatures_kept_only_when_they_help(rng):
    z = rng.normal(0, 1.5, (3000, 3))
    y = sample(rng, softmax(z))
    patterns = np.where(np.arange(3000) % 2 == 0, "mri", "mri+wsi")
    scale = np.where(patterns == "mri", 0.4, 3.0)[:, None]  # opposite miscalibrations
    choice = choose_temperatures(z * scale, y, patterns)
    assert choice["by_pattern"], choice["selection"]
    assert abs(choice["by_pattern"]["mri"] - 0.4) < 0.08
    assert abs(choice["by_pattern"]["mri+wsi"] - 3.0) < 0.4
    assert choice["selection"]["chosen"] == "per_pattern"
    same = choose_temperatures(z * 2.0, y, patterns)
    ece = same["selection"]["heldout_ece"]
    assert (same["by_pattern"] != {}) == (ece["per_pattern"] < min(ece["one"], ece["none"]))
    assert same["selection"]["chosen"] != "none" and abs(same["temperature"] - 2.0) < 0.3
    # a temperature that does not help on held-out folds is not applied
    calibrated = choose_temperatures(z, y, patterns)
    ece = calibrated["selection"]["heldout_ece"]
    assert (calibrated["temperature"] == 1.0) == (min(ece.values()) == ece["none"])
    few = choose_temperatures(z[:4], y[:4], patterns[:4])
    assert few["temperature"] == 1.0 and "too few" in few["selection"]["decision"]


def test_reliability_diagram_is_written(rng, tmp_path):
    p = rng.dirichlet(np.ones(3), size=200)
    path = plot_reliability([("model", p, sample(rng, p))], "test", tmp_path / "r.png")
    assert path.stat().st_size > 1000
