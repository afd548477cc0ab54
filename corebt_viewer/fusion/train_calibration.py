"""The temperature of a freshly trained fusion model, fitted on a calibration split."""

from __future__ import annotations

import numpy as np

from corebt_viewer.fusion.predictor import nonempty_subsets
from corebt_viewer.fusion.reliability import calibration_summary, choose_temperatures, pattern_key


def calibrate(net, z_t, available, y_all, ca, modalities, seed, notes) -> dict:
    """Temperature(s) fitted on the calibration cases, each under every subset of its
    modalities ("missing" meaning), with ECE and Brier before and after on those rows."""
    import torch

    if ca.size < 2:
        notes.append(
            f"not calibrated: {ca.size} calibration case(s), at least 2 needed (temperature 1)"
        )
        return {"temperature": 1.0, "by_pattern": {}, "fitted_on": "none", "n_cases": int(ca.size)}
    logits, targets, patterns, groups = [], [], [], []
    net.eval()
    with torch.inference_mode():
        for i in ca:
            have = [m for j, m in enumerate(modalities) if available[i, j]]
            for keep in nonempty_subsets(have):
                mask = np.array([[m in keep for m in modalities]])
                avail = torch.from_numpy(available[i : i + 1])
                ablated = torch.from_numpy(available[i : i + 1] & ~mask)
                out = net([z[i : i + 1] for z in z_t], avail, ablated, mode="missing")
                logits.append(out.logits.numpy()[0].astype(np.float64))
                targets.append(int(y_all[i]))
                patterns.append(pattern_key(mask[0], modalities))
                groups.append(int(i))
    logits, targets = np.asarray(logits), np.asarray(targets)
    choice = choose_temperatures(logits, targets, patterns, seed=seed, groups=groups)
    if "chosen" not in choice["selection"]:
        notes.append(choice["selection"]["decision"])
    by_pattern = choice["by_pattern"]
    per_row = [by_pattern.get(p, choice["temperature"]) for p in patterns]
    return {
        "temperature": choice["temperature"],
        "by_pattern": by_pattern,
        "selection": choice["selection"],
        "fitted_on": "calibration split (cases that neither train nor choose the epoch), "
        "each under every subset of its modalities",
        "n_cases": int(ca.size),
        "fit_rows": calibration_summary(logits, targets, per_row),
    }
