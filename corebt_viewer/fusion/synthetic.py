"""Generated case embeddings with a known signal design (tests, benchmarks, examples)."""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality

SEQUENCES = ("t1", "t1c", "t2", "flair")


def class_codes(n_classes: int, design: str) -> np.ndarray:
    """Per class, the code a modality's mean carries (rows: classes)."""
    eye = np.eye(n_classes)
    if design == "full":
        return eye
    if design == "none":
        return np.zeros_like(eye)
    if design == "high_bit":  # separates {0,1} from {2,3}
        return np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])[:n_classes]
    if design == "low_bit":  # separates {0,2} from {1,3}
        return np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])[:n_classes]
    raise ValueError(design)


def make_embeddings(
    n: int,
    *,
    n_classes: int = 4,
    designs: dict[Modality, str] | None = None,
    dim: int = 12,
    separation: float = 2.5,
    missing: dict[Modality, float] | None = None,
    n_tiles: int = 6,
    seed: int = 0,
) -> tuple[dict[str, CaseEmbedding], dict[str, int]]:
    """Embeddings and labels; each modality's mean encodes the class per its design.

    Pathology vectors pool tiles (mean over two slides' tiles) and MRI vectors pool four
    sequences, so the parts reproduce the vectors exactly.
    """
    rng = np.random.default_rng(seed)
    designs = designs or {Modality.MRI: "full", Modality.WSI: "full"}
    missing = missing or {}
    projections = {}
    for m, design in designs.items():
        codes = class_codes(n_classes, design)
        projections[m] = (codes, rng.normal(size=(codes.shape[1], dim)))
    targets = rng.permutation(np.arange(n) % n_classes)
    embeddings, labels = {}, {}
    for i in range(n):
        pid = f"case{i:04d}"
        y = int(targets[i])
        vectors, parts, encoders = {}, {}, {}
        for m, (codes, proj) in projections.items():
            if rng.random() < missing.get(m, 0.0):
                continue
            centre = separation * codes[y] @ proj / np.sqrt(dim) * np.sqrt(dim) / 2
            if m == Modality.WSI:
                feats = centre + rng.normal(size=(n_tiles, dim)) * 2.0
                weights = np.full(n_tiles, 1.0 / n_tiles)
                group = np.repeat([0, 1], [n_tiles // 2, n_tiles - n_tiles // 2])
                coords = rng.integers(0, 5000, size=(n_tiles, 2))
                labels_ = tuple("a.svs" if g == 0 else "b.svs" for g in group)
                part = PooledParts(
                    feats.astype(np.float32), weights, labels_, coords=coords, group=group
                )
            elif m == Modality.MRI:
                feats = centre + rng.normal(size=(4, dim)) * 1.0
                part = PooledParts(feats.astype(np.float32), np.full(4, 0.25), SEQUENCES)
            else:
                feats = centre + rng.normal(size=(1, dim)) * 0.5
                part = PooledParts(feats.astype(np.float32), np.ones(1), ("report",))
            vectors[m] = part.vector.astype(np.float32)
            parts[m] = part
            encoders[m] = f"synthetic-{m.value}"
        if not vectors:
            vectors[Modality.MRI] = rng.normal(size=dim).astype(np.float32)
        embeddings[pid] = CaseEmbedding(pid, vectors, encoders, parts)
        labels[pid] = y
    return embeddings, labels
