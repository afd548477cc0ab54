"""Temperature scaling (Guo et al., 2017) fitted on held-out cases."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of ``logits / temperature`` (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    """Mean cross-entropy of the temperature-scaled probabilities."""
    p = softmax(logits, temperature)
    t = np.asarray(targets, dtype=np.int64)
    return float(-np.mean(np.log(np.clip(p[np.arange(t.size), t], 1e-12, None))))


def fit_temperature(
    logits: np.ndarray, targets: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """The temperature that minimises the held-out negative log-likelihood.

    Returns 1.0 when there are fewer than two cases (nothing to calibrate on).
    """
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if targets.size < 2:
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, targets, float(np.exp(log_t))),
        bounds=(np.log(bounds[0]), np.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))
