"""One-case predictions: weights, contributions, ablation table."""

import numpy as np
import pytest

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.calibration import softmax


def full_case(model, embeddings):
    return next(embeddings[p] for p in model.split["test"] if len(embeddings[p].modalities) == 3)


@pytest.mark.parametrize("ablation", ["missing", "paper"])
def test_prediction_parts_add_up(complementary, ablation):
    model, embeddings, _ = complementary
    case = full_case(model, embeddings)
    p = model.predict(case, without={Modality.REPORT}, ablation=ablation)
    assert p.available == frozenset(Modality)
    assert p.used == {Modality.MRI, Modality.WSI}
    np.testing.assert_allclose(sum(p.contributions.values()), p.logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.probabilities, softmax(p.logits, p.temperature))
    assert p.predicted == p.classes[int(np.argmax(p.probabilities))]
    assert sum(p.weights.values()) == pytest.approx(1.0, abs=1e-6)
    if ablation == "missing":
        assert set(p.weights) == {Modality.MRI, Modality.WSI}
    else:  # the probes still see the report
        assert set(p.weights) == set(Modality)
    assert 0 < p.gate < 1


def test_ablation_table_has_every_subset_and_matches_hiding(complementary):
    model, embeddings, _ = complementary
    case = full_case(model, embeddings)
    p = model.predict(case)
    assert len(p.ablation) == 7
    assert {row.modalities for row in p.ablation} == {
        frozenset(s)
        for s in [
            {Modality.MRI},
            {Modality.WSI},
            {Modality.REPORT},
            {Modality.MRI, Modality.WSI},
            {Modality.MRI, Modality.REPORT},
            {Modality.WSI, Modality.REPORT},
            set(Modality),
        ]
    }
    for row in p.ablation:
        alone = model.predict(case, without=frozenset(Modality) - row.modalities)
        np.testing.assert_allclose(row.probabilities, alone.probabilities, rtol=1e-5, atol=1e-7)
        assert row.predicted == alone.predicted


def test_case_with_fewer_modalities_and_everything_hidden(complementary):
    model, embeddings, _ = complementary
    case = full_case(model, embeddings)
    only_mri = CaseEmbedding("x", {Modality.MRI: case.vectors[Modality.MRI]})
    p = model.predict(only_mri)
    assert p.available == {Modality.MRI} and len(p.ablation) == 1
    assert p.weights == {Modality.MRI: pytest.approx(1.0)}
    with pytest.raises(InputError, match="every modality is hidden"):
        model.predict(only_mri, without={Modality.MRI})
    # the paper's meaning still predicts (probes see everything, the residual nothing)
    assert model.predict(only_mri, without={Modality.MRI}, ablation="paper").used == frozenset()
    wrong_size = CaseEmbedding("y", {Modality.MRI: np.zeros(3, np.float32)})
    with pytest.raises(InputError, match="none of the model's modalities"):
        model.predict(wrong_size)
    with pytest.raises(ValueError, match="ablation mode"):
        model.predict(case, ablation="zero")


def test_to_dict_is_json_ready(complementary):
    import json

    model, embeddings, _ = complementary
    d = model.predict(full_case(model, embeddings)).to_dict()
    assert json.loads(json.dumps(d))["predicted"] in model.classes
    assert len(d["ablation"]) == 7


def test_training_cases_are_flagged(complementary):
    model, embeddings, _ = complementary
    assert "split" in model.predict(embeddings[model.split["train"][0]]).flags
    assert "split" not in model.predict(embeddings[model.split["test"][0]]).flags


def test_embeddings_of_another_encoder_are_refused(complementary, monkeypatch):
    model, embeddings, _ = complementary
    case = full_case(model, embeddings)
    monkeypatch.setattr(model, "encoders", {**model.encoders, Modality.WSI: "builtin"})
    foreign = CaseEmbedding(
        case.patient_id, dict(case.vectors), encoders={**case.encoders, Modality.WSI: "gigapath"}
    )
    with pytest.raises(InputError, match="'gigapath' but the model was trained on 'builtin'"):
        model.predict(foreign)


def test_predictions_in_several_threads_match_one_thread(complementary):
    """A viewer predicts in its UI thread and in workers at once, on one predictor."""
    from concurrent.futures import ThreadPoolExecutor
    from itertools import combinations

    model, embeddings, _ = complementary
    cases = [embeddings[p] for p in model.split["test"]][:6]
    jobs = [
        (case, frozenset(off))
        for case in cases
        for n in range(len(case.modalities))
        for off in combinations(sorted(case.modalities, key=lambda m: m.value), n)
    ]
    alone = [model.predict(case, without=off).probabilities for case, off in jobs]
    model._parts_cache.clear()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: model.predict(job[0], without=job[1]), jobs * 3))
    for i, prediction in enumerate(together):
        np.testing.assert_allclose(prediction.probabilities, alone[i % len(jobs)], rtol=1e-6)
