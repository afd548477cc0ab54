"""Saving and loading a fusion model: ``model.safetensors`` plus ``config.json``.

No pickle anywhere: tensors go through safetensors, everything else is JSON (classes, task,
modalities, encoders, standardisation statistics, temperature, training metrics, the hash
of the training manifest and the train/validation/test split).
"""

from __future__ import annotations

import json
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.predictor import FusionPredictor
from corebt_viewer.fusion.standardise import Standardiser

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "corebt-fusion"
FORMAT_VERSION = 1


def model_config(model: FusionPredictor) -> dict:
    """The JSON side of a saved model."""
    from corebt_viewer import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "corebt_version": __version__,
        "task": model.task,
        "classes": list(model.classes),
        "modalities": [m.value for m in model.modalities],
        "dims": {m.value: model.standardisers[m].dim for m in model.modalities},
        "encoders": {m.value: model.encoders.get(m, "") for m in model.modalities},
        "architecture": {
            "gate_hidden": model.settings.get("gate_hidden", 16),
            "residual_hidden": model.settings.get("residual_hidden", 64),
            "dropout": model.settings.get("dropout", 0.1),
        },
        "standardisation": {m.value: model.standardisers[m].to_json() for m in model.modalities},
        "temperature": model.temperature,
        "training_metrics": model.metrics,
        "training_settings": model.settings,
        "manifest_sha256": model.manifest_hash,
        "split": model.split,
    }


def save_model(model: FusionPredictor, folder: str | Path) -> Path:
    """Write the model into `folder` (created if needed); returns the folder."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.net.state_dict().items()}
    tmp_weights = folder / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp_weights), metadata={"format": FORMAT, "task": model.task})
    tmp_config = folder / (CONFIG_FILE + ".tmp")
    tmp_config.write_text(json.dumps(model_config(model), indent=1), encoding="utf-8")
    tmp_weights.replace(folder / WEIGHTS_FILE)
    tmp_config.replace(folder / CONFIG_FILE)
    return folder


def read_config(folder: str | Path) -> dict:
    """The config of a saved model, checked for the format."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise InputError(path, "no fusion model here (config.json missing); run `corebt train`")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable model config: {exc}") from None
    if config.get("format") != FORMAT:
        raise InputError(path, "not a CoRe-BT fusion model config")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(path, "model saved by a newer version of corebt-viewer")
    return config


def load_model(folder: str | Path) -> FusionPredictor:
    """Load a model saved by :func:`save_model`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from corebt_viewer.fusion.model import FusionNet

    folder = Path(folder)
    config = read_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise InputError(weights, "model weights missing")
    try:
        modalities = tuple(Modality(m) for m in config["modalities"])
        arch = config["architecture"]
        net = FusionNet(
            [int(config["dims"][m.value]) for m in modalities],
            len(config["classes"]),
            gate_hidden=int(arch["gate_hidden"]),
            residual_hidden=int(arch["residual_hidden"]),
            dropout=float(arch["dropout"]),
        )
        net.load_state_dict(load_file(str(weights)), strict=True)
        standardisers = {
            m: Standardiser.from_json(config["standardisation"][m.value]) for m in modalities
        }
    except (KeyError, ValueError, RuntimeError, SafetensorError) as exc:
        raise InputError(folder, f"model files do not match each other: {exc}") from None
    return FusionPredictor(
        net=net.eval(),
        task=config["task"],
        classes=tuple(config["classes"]),
        modalities=modalities,
        standardisers=standardisers,
        encoders={Modality(k): v for k, v in config.get("encoders", {}).items()},
        temperature=float(config["temperature"]),
        split={k: list(v) for k, v in config.get("split", {}).items()},
        metrics=config.get("training_metrics", {}),
        settings=config.get("training_settings", {}),
        manifest_hash=config.get("manifest_sha256", ""),
    )
