"""Temperature scaling recovers a known over-confidence."""

import numpy as np
import pytest

from corebt_viewer.fusion.calibration import fit_temperature, negative_log_likelihood, softmax


def test_recovers_the_temperature_of_overconfident_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 3)) * 2
    targets = np.array([rng.choice(3, p=p) for p in softmax(logits)])
    temperature = fit_temperature(logits * 3.0, targets)
    assert temperature == pytest.approx(3.0, rel=0.1)
    assert negative_log_likelihood(logits * 3, targets, temperature) < negative_log_likelihood(
        logits * 3, targets, 1.0
    )


def test_too_few_cases_leave_the_logits_alone():
    assert fit_temperature(np.zeros((1, 2)), np.array([0])) == 1.0
