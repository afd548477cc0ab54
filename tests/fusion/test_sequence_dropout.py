"""Sequence dropout and the incomplete-MRI rows re-pool a case's own sequence embeddings."""

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.sequence_dropout import sequence_subsets, subset_vectors, with_sequences


def test_every_variant_keeps_at_least_one_sequence_and_drops_one():
    subsets = sequence_subsets(4)
    assert len(subsets) == 14 and all(1 <= len(s) <= 3 for s in subsets)
    assert sequence_subsets(1) == []


def test_repooling_is_the_mean_of_the_kept_sequences(rng):
    feats = rng.normal(size=(4, 3))
    parts = PooledParts(feats, np.full(4, 0.25), ("t1", "t1c", "t2", "flair"))
    e = CaseEmbedding("p", {Modality.MRI: parts.vector}, parts={Modality.MRI: parts})
    flair_t1c = with_sequences(e, frozenset({"flair", "t1c"}))
    np.testing.assert_allclose(flair_t1c.vectors[Modality.MRI], feats[[1, 3]].mean(0), rtol=1e-5)
    assert flair_t1c.parts[Modality.MRI].labels == ("t1c", "flair")
    two = PooledParts(feats[:2], np.full(2, 0.5), ("t1", "t1c"))
    short = CaseEmbedding("q", {Modality.MRI: two.vector}, parts={Modality.MRI: two})
    assert with_sequences(short, frozenset({"t1", "t2"})) is None  # lacks T2: not scored
    assert subset_vectors(parts).shape == (14, 3)
