"""Incomplete MRI: subject vectors pooled from some of a case's sequences.

The paper's subject MRI embedding is the mean of its sequence embeddings, so a case with two
or three sequences lands elsewhere than the same case with four. Training therefore sees
MRI vectors re-pooled from random subsets of the sequences (at least one kept), and the
evaluation scores the common incomplete patterns (FLAIR + T1c, T1 + T2) by re-pooling the
test cases' own sequence embeddings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from itertools import combinations

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality

#: The incomplete-MRI patterns scored by ``corebt evaluate`` (name, kept sequences).
MRI_PATTERNS: tuple[tuple[str, frozenset[str]], ...] = (
    ("FLAIR + T1c only", frozenset({"flair", "t1c"})),
    ("T1 + T2 only", frozenset({"t1", "t2"})),
)


def pooled_subset(parts: PooledParts, keep: Iterable[int]) -> np.ndarray:
    """The subject vector re-pooled from the parts at indices `keep` (weights renormalised)."""
    index = np.asarray(sorted(keep), dtype=int)
    w = np.asarray(parts.weights, dtype=np.float64)[index]
    w = w / w.sum() if w.sum() > 0 else np.full(index.size, 1.0 / index.size)
    return (w @ np.asarray(parts.features, dtype=np.float64)[index]).astype(np.float32)


def sequence_subsets(n_parts: int) -> list[tuple[int, ...]]:
    """Every non-empty proper subset of ``range(n_parts)`` (none for fewer than 2 parts)."""
    return [c for size in range(1, n_parts) for c in combinations(range(n_parts), size)]


def subset_vectors(parts: PooledParts) -> np.ndarray:
    """(n_subsets, dim) MRI vectors of every non-empty proper subset of the sequences."""
    subsets = sequence_subsets(len(parts.weights))
    if not subsets:
        return np.zeros((0, np.asarray(parts.features).shape[1]), dtype=np.float32)
    return np.stack([pooled_subset(parts, s) for s in subsets])


def with_sequences(embedding: CaseEmbedding, keep: frozenset[str]) -> CaseEmbedding | None:
    """The embedding with its MRI re-pooled from the sequences in `keep` only.

    Returns ``None`` when the case lacks MRI parts or any sequence of `keep` (so a pattern
    is scored only on cases that really had those sequences).
    """
    parts = embedding.parts.get(Modality.MRI)
    if parts is None or Modality.MRI not in embedding.vectors:
        return None
    labels = [str(label).lower() for label in parts.labels]
    if len(labels) != len(parts.weights) or not keep <= set(labels):
        return None
    index = [i for i, label in enumerate(labels) if label in keep]
    vector = pooled_subset(parts, index)
    w = np.asarray(parts.weights, dtype=np.float64)[index]
    sub = PooledParts(
        np.asarray(parts.features)[index],
        w / w.sum(),
        tuple(parts.labels[i] for i in index),
    )
    return replace(
        embedding,
        vectors={**embedding.vectors, Modality.MRI: vector},
        parts={**embedding.parts, Modality.MRI: sub},
    )
