"""Turning case embeddings into the arrays the fusion model consumes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.fusion.standardise import Standardiser


def modalities_of(
    embeddings: Sequence[CaseEmbedding], allowed: frozenset[Modality]
) -> tuple[Modality, ...]:
    """Modalities (canonical order) that at least one embedding has and `allowed` permits."""
    present = {m for e in embeddings for m in e.vectors}
    return tuple(m for m in ALL_MODALITIES if m in present and m in allowed)


def common_dims(embeddings: Sequence[CaseEmbedding], modalities: Sequence[Modality]) -> dict:
    """The most frequent vector size per modality (cases of another size count as missing)."""
    dims = {}
    for m in modalities:
        sizes = [int(np.asarray(e.vectors[m]).shape[-1]) for e in embeddings if m in e.vectors]
        values, counts = np.unique(sizes, return_counts=True)
        dims[m] = int(values[np.argmax(counts)])
    return dims


def common_encoders(
    embeddings: Sequence[CaseEmbedding], modalities: Sequence[Modality]
) -> dict[Modality, str]:
    """The most frequent encoder name per modality (``""`` when none is recorded)."""
    out = {}
    for m in modalities:
        names = [e.encoders.get(m, "") for e in embeddings if m in e.vectors]
        out[m] = max(set(names), key=names.count) if names else ""
    return out


def usable(embedding: CaseEmbedding, modality: Modality, dim: int) -> bool:
    """Whether the embedding has a finite vector of the model's size for `modality`."""
    vector = embedding.vectors.get(modality)
    if vector is None:
        return False
    vector = np.asarray(vector)
    return vector.shape == (dim,) and bool(np.isfinite(vector).all())


def stack(
    embeddings: Sequence[CaseEmbedding],
    modalities: Sequence[Modality],
    dims: Mapping[Modality, int],
    standardisers: Mapping[Modality, Standardiser] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Arrays per modality (n, dim) and the availability mask (n, k).

    Missing vectors are zeros (the model masks them exactly); with `standardisers` the
    present ones are standardised.
    """
    n = len(embeddings)
    arrays = []
    available = np.zeros((n, len(modalities)), dtype=bool)
    for j, m in enumerate(modalities):
        x = np.zeros((n, dims[m]), dtype=np.float32)
        for i, e in enumerate(embeddings):
            if usable(e, m, dims[m]):
                x[i] = e.vectors[m]
                available[i, j] = True
        if standardisers is not None:
            x[available[:, j]] = standardisers[m].transform(x[available[:, j]])
        arrays.append(x)
    return arrays, available
