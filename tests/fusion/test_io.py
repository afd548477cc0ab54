"""Saving and loading: identical predictions, safetensors + JSON only, no pickle."""

import json
from pathlib import Path

import numpy as np
import pytest

import corebt_viewer.fusion
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.io import load_model, save_model


def test_round_trip_gives_identical_predictions(complementary, tmp_path):
    model, embeddings, _ = complementary
    folder = save_model(model, tmp_path / "model")
    loaded = load_model(folder)
    assert loaded.classes == model.classes and loaded.modalities == model.modalities
    assert loaded.temperature == model.temperature
    assert loaded.split == model.split
    for m in model.modalities:
        np.testing.assert_array_equal(loaded.standardisers[m].mean, model.standardisers[m].mean)
        np.testing.assert_array_equal(loaded.standardisers[m].std, model.standardisers[m].std)
    cases = [embeddings[p] for p in model.split["test"]]
    for ablation in ("missing", "paper"):
        a = model.predict_many(cases, without={Modality.MRI}, ablation=ablation)
        b = loaded.predict_many(cases, without={Modality.MRI}, ablation=ablation)
        np.testing.assert_array_equal(a.logits, b.logits)
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
    one, two = model.predict(cases[0]), loaded.predict(cases[0])
    assert one.to_dict() == two.to_dict()


def test_saved_files_are_safetensors_and_json(complementary, tmp_path):
    model, _, _ = complementary
    folder = save_model(model, tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    for key in (
        "classes",
        "task",
        "modalities",
        "encoders",
        "standardisation",
        "temperature",
        "training_metrics",
        "manifest_sha256",
        "split",
    ):
        assert key in config
    assert config["encoders"]["mri"] == "synthetic-mri"
    header = (folder / "model.safetensors").read_bytes()[:8]
    assert int.from_bytes(header, "little") < 100_000  # safetensors: a JSON header length


def test_no_pickle_in_the_fusion_code():
    root = Path(corebt_viewer.fusion.__file__).parent
    sources = [*root.glob("*.py"), root.parents[0] / "services" / "fusion.py"]
    for path in sources:
        text = path.read_text()
        for word in ("import pickle", "torch.load(", "allow_pickle=True", "joblib"):
            assert word not in text, f"{word} in {path}"


def test_missing_or_broken_model_is_a_clear_input_error(complementary, tmp_path):
    with pytest.raises(InputError, match="no fusion model"):
        load_model(tmp_path)
    model, _, _ = complementary
    folder = save_model(model, tmp_path / "m")
    (folder / "model.safetensors").write_bytes(b"not tensors")
    with pytest.raises(InputError):
        load_model(folder)
