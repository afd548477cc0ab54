"""Per-tile and per-sequence contributions sum exactly to their probe terms."""

import numpy as np
import pytest

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.explain import part_logits, parts_match_vector
from corebt_viewer.fusion.standardise import Standardiser


@pytest.mark.parametrize("ablation", ["missing", "paper"])
def test_tiles_and_sequences_sum_to_their_terms(complementary, ablation):
    model, embeddings, _ = complementary
    checked = 0
    for pid in model.split["test"][:10]:
        prediction = model.predict(embeddings[pid], ablation=ablation)
        cls = prediction.classes.index(prediction.predicted)
        tiles = prediction.tile_contributions
        assert {t.slide for t in tiles} == {"a.svs", "b.svs"}
        total = sum(t.values.sum() for t in tiles)
        np.testing.assert_allclose(
            total, prediction.contributions["wsi"][cls], rtol=1e-5, atol=1e-6
        )
        for t in tiles:
            assert t.coords.shape == (t.values.size, 2)
        sequences = prediction.sequence_contributions
        assert set(sequences) == {"t1", "t1c", "t2", "flair"}
        np.testing.assert_allclose(
            sum(sequences.values()), prediction.contributions["mri"], rtol=1e-5, atol=1e-6
        )
        checked += 1
    assert checked == 10


def test_decomposition_is_exact_whatever_the_pooling_weights_sum_to():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(7, 5))
    weights = rng.random(7)  # not normalised
    parts = PooledParts(features, weights)
    st = Standardiser(rng.normal(size=5).astype(np.float32), rng.random(5).astype(np.float32) + 0.5)
    w, b = rng.normal(size=(3, 5)), rng.normal(size=3)
    direct = w @ ((parts.vector - st.mean) / st.std) + b
    np.testing.assert_allclose(part_logits(parts, w, b, st).sum(0), direct, rtol=1e-5)


def test_hidden_pathology_has_no_tile_map_and_parts_that_do_not_pool_are_flagged(complementary):
    model, embeddings, _ = complementary
    case = embeddings[model.split["test"][0]]
    hidden = model.predict(case, without={Modality.WSI})
    assert hidden.tile_contributions == ()
    assert "wsi" not in hidden.contributions
    bad_parts = dict(case.parts)
    wsi = case.parts[Modality.WSI]
    bad_parts[Modality.WSI] = PooledParts(wsi.features + 1.0, wsi.weights, wsi.labels)
    tampered = CaseEmbedding(case.patient_id + "x", case.vectors, case.encoders, bad_parts)
    assert not parts_match_vector(bad_parts[Modality.WSI], case.vectors[Modality.WSI])
    prediction = model.predict(tampered)
    assert prediction.tile_contributions == ()
    assert "tiles" in prediction.flags
