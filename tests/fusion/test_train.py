"""Training behaves as the paper's design intends, on embeddings with a known signal."""

import numpy as np

from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.metrics import classification_metrics
from corebt_viewer.fusion.train import TrainSettings, class_weights, split_cases


def balanced_accuracy(model, embeddings, labels, ids, **kw):
    cases = [embeddings[p] for p in ids]
    y = np.array([labels[p] for p in ids])
    out = model.predict_many(cases, **kw)
    return classification_metrics(y, out.probabilities.argmax(1), 4)["accuracy_macro"], out


def test_noise_modality_gets_low_weight_and_ablating_it_barely_matters(noise_wsi):
    model, embeddings, labels = noise_wsi
    test = model.split["test"]
    full, out = balanced_accuracy(model, embeddings, labels, test)
    wsi = model.modalities.index(Modality.WSI)
    assert out.weights[:, wsi].mean() < 0.2
    assert full > 0.85
    for mode in ("missing", "paper"):
        ablated, _ = balanced_accuracy(
            model, embeddings, labels, test, without={Modality.WSI}, ablation=mode
        )
        assert abs(full - ablated) <= 0.05


def test_ablating_the_only_informative_modality_falls_to_chance(noise_wsi):
    model, embeddings, labels = noise_wsi
    ablated, _ = balanced_accuracy(
        model, embeddings, labels, model.split["test"], without={Modality.MRI}
    )
    assert ablated < 0.25 + 0.15


def test_complementary_modalities_fusion_beats_each_probe(complementary):
    model, embeddings, labels = complementary
    test = model.split["test"]
    y = np.array([labels[p] for p in test])
    fused, out = balanced_accuracy(model, embeddings, labels, test)
    for j, m in enumerate(model.modalities):
        probe = classification_metrics(y, out.probe_logits[:, j].argmax(1), 4)["accuracy_macro"]
        assert fused > probe + 0.2, m
    assert fused > 0.8


def test_split_is_stratified_disjoint_and_tests_only_cases_with_mri_and_pathology(complementary):
    model, embeddings, labels = complementary
    split = model.split
    parts = [set(split[k]) for k in ("train", "validation", "calibration", "test")]
    assert sum(len(p) for p in parts) == len(set().union(*parts))  # disjoint
    assert set().union(*parts) == set(embeddings)
    assert parts[2]  # the temperature has cases of its own
    for pid in split["test"]:
        assert {Modality.MRI, Modality.WSI} <= embeddings[pid].modalities
    counts = np.bincount([labels[p] for p in split["test"]], minlength=4)
    assert counts.min() >= counts.max() - 1 and counts.min() > 0
    assert model.metrics["n_cases"]["test"] == len(split["test"])


def test_training_is_reproducible_with_a_seed(noise_wsi, train_synthetic):
    model, embeddings, _ = noise_wsi
    again, _, _ = train_synthetic({Modality.MRI: "full", Modality.WSI: "none"})
    assert again.split == model.split
    cases = [embeddings[p] for p in model.split["test"]]
    np.testing.assert_array_equal(
        again.predict_many(cases).logits, model.predict_many(cases).logits
    )
    assert again.temperature == model.temperature


def test_class_weights_balance_the_loss():
    w = class_weights(np.array([0, 0, 0, 1, 2, 2]), 4)
    np.testing.assert_allclose(w, [6 / 9, 2.0, 1.0, 0.0])


def test_split_with_given_test_ids():
    ids = [f"p{i}" for i in range(20)]
    y = np.arange(20) % 2
    split = split_cases(ids, y, np.ones(20, bool), TrainSettings(), 0, test_ids=["p3", "p4"])
    assert split.test == ["p3", "p4"]
    assert "p3" not in split.train + split.validation


def test_no_labelled_case_is_an_input_error():
    import pytest

    from corebt_viewer.core.errors import InputError
    from corebt_viewer.fusion.synthetic import make_embeddings
    from corebt_viewer.fusion.train import train_fusion

    embeddings, _ = make_embeddings(10)
    with pytest.raises(InputError, match="no labelled case"):
        train_fusion(embeddings, {}, task="level1", classes=("A", "B", "C", "D"))


def test_mri_only_model_has_the_rows_it_can_fill(train_synthetic):
    from corebt_viewer.fusion.evaluate import evaluate_holdout

    model, embeddings, labels = train_synthetic({Modality.MRI: "full"}, n=80)
    assert model.modalities == (Modality.MRI,)
    evaluation = evaluate_holdout(model, embeddings, labels, n_boot=50)
    incomplete = ["MRI only, FLAIR + T1c only", "MRI only, T1 + T2 only"]
    assert [r["name"] for r in evaluation.rows["missing"]] == ["MRI only", "Fusion", *incomplete]
    assert [r["name"] for r in evaluation.rows["paper"]] == [
        "MRI only",
        "Fusion",
        "Fusion (MRI ablated)",
        *incomplete,
    ]
