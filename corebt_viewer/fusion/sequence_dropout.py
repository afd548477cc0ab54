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
from corebt_viewer.fusion.explain import parts_match_vector

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


# --------------------------------------------------------------- training
def sequence_variants(
    cases, modalities, raw, available, tr, standardisers, fold_probes, settings, notes
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per training case with per-sequence MRI parts: the standardised MRI vectors of every
    proper subset of its sequences and their cross-fitted probe logits."""
    if Modality.MRI not in modalities or settings.sequence_dropout <= 0:
        return {}
    jm = modalities.index(Modality.MRI)
    out = {}
    for i in tr[available[tr, jm]]:
        parts = cases[i].parts.get(Modality.MRI)
        if parts is None or len(parts.weights) < 2 or int(i) not in fold_probes:
            continue
        if not parts_match_vector(parts, raw[jm][i]):
            continue
        z = standardisers[Modality.MRI].transform(subset_vectors(parts)).astype(np.float32)
        w, b = fold_probes[int(i)]
        out[int(i)] = (z, (z.astype(np.float64) @ w.T.astype(np.float64) + b).astype(np.float32))
    if not out:
        notes.append(
            "sequence dropout not applied: no training case carries per-sequence MRI "
            "embeddings (at least two sequences)"
        )
    return out


def drop_sequences(inputs, cross, batch, dropped, variants, probability, generator, jm):
    """Replace, with `probability`, a case's MRI input (position `jm`) and probe logits by a
    random variant pooled from fewer sequences (cases whose MRI is dropped as a whole are
    left alone)."""
    import torch

    rows = batch.tolist()
    draws = torch.rand(len(rows), generator=generator).tolist()
    mri, out_cross = None, cross
    for r, (i, u) in enumerate(zip(rows, draws, strict=True)):
        if u >= probability or i not in variants or bool(dropped[r, jm]):
            continue
        zv, lv = variants[i]
        v = int(torch.randint(zv.shape[0], (1,), generator=generator))
        if mri is None:
            mri, out_cross = inputs[jm].clone(), cross.clone()
        mri[r] = torch.from_numpy(zv[v])
        out_cross[r, jm] = torch.from_numpy(lv[v])
    if mri is None:
        return inputs, cross
    inputs = list(inputs)
    inputs[jm] = mri
    return inputs, out_cross
