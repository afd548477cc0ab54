"""Exact decomposition of the linear probe terms over tiles and sequences.

A modality's subject vector pools its parts, ``e = sum_p a_p f_p`` (tiles of the slides,
MRI sequences), see :class:`corebt_viewer.core.embedding.PooledParts`. Its probe term is

``w * Probe((e - mean) / std) = w * (W' e + b')`` with ``W' = W / std`` and
``b' = b - W' mean`` (standardisation is affine, so it folds into the probe). Giving part
``p`` the share ``a_p W' f_p + (a_p / sum_q a_q) b'`` of the logit distributes the constant
in proportion to the pooling weights, and the shares sum *exactly* to the term, whatever
the weights sum to.
"""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.embedding import PooledParts
from corebt_viewer.fusion.standardise import Standardiser


def folded_probe(
    weight: np.ndarray, bias: np.ndarray, standardiser: Standardiser
) -> tuple[np.ndarray, np.ndarray]:
    """Probe weights acting on raw embeddings: ``W' = W / std``, ``b' = b - W' mean``."""
    w = np.asarray(weight, dtype=np.float64) / standardiser.std.astype(np.float64)
    b = np.asarray(bias, dtype=np.float64) - w @ standardiser.mean.astype(np.float64)
    return w, b


def parts_match_vector(parts: PooledParts, vector: np.ndarray, *, rtol: float = 1e-3) -> bool:
    """Whether ``weights @ features`` reproduces the subject vector (else no decomposition)."""
    features = np.asarray(parts.features)
    weights = np.asarray(parts.weights)
    if features.ndim != 2 or weights.shape != (features.shape[0],) or features.shape[0] == 0:
        return False
    if features.shape[1] != np.asarray(vector).shape[-1]:
        return False
    pooled = weights.astype(np.float64) @ features.astype(np.float64)
    scale = max(float(np.abs(vector).max()), 1e-12)
    return bool(np.abs(pooled - np.asarray(vector, dtype=np.float64)).max() <= rtol * scale)


def part_logits(
    parts: PooledParts, weight: np.ndarray, bias: np.ndarray, standardiser: Standardiser
) -> np.ndarray:
    """Each part's share of the (unweighted) probe logits, shape (n_parts, n_classes).

    The rows sum to ``Probe(standardise(parts.vector))``.
    """
    w, b = folded_probe(weight, bias, standardiser)
    a = np.asarray(parts.weights, dtype=np.float64)
    total = a.sum()
    share = a / total if total != 0 else np.full_like(a, 1.0 / a.size)
    features = np.asarray(parts.features)
    linear = (features @ w.T.astype(features.dtype)).astype(np.float64)
    return a[:, None] * linear + share[:, None] * b[None, :]


def term_contributions(
    parts: PooledParts,
    weight: np.ndarray,
    bias: np.ndarray,
    standardiser: Standardiser,
    modality_weight: float,
) -> np.ndarray:
    """Each part's contribution to the term ``w_i * Probe_i(e_i)``, shape (n_parts, C)."""
    return modality_weight * part_logits(parts, weight, bias, standardiser)
