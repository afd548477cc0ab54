"""The viewer on a model trained with Prov-GigaPath's slide encoder (the paper's path).

The profile comes from the model: the viewer loads the cohort's cached embeddings of that
profile, shows the prediction with every modality and an approximate heat map, labelled so.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import FOUNDATION_RUN, longnet_options
from tests.gui.conftest import open_main_window, settle, wait_until

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def longnet_model(foundation_cohort, gigapath_weights, slide_weights, tmp_path_factory):
    from corebt_viewer.cli.main import main

    profile = longnet_options(gigapath_weights, slide_weights)
    assert main(["embed", str(foundation_cohort), *profile, *FOUNDATION_RUN]) == 0
    model = tmp_path_factory.mktemp("longnet") / "model"
    argv = ["train", str(foundation_cohort), "--task", "level1", "--out", str(model)]
    assert main([*argv, "--profile", "gigapath-longnet"]) == 0
    return model


def test_the_viewer_shows_the_slide_encoder_models_prediction_and_heat_map(
    qapp, foundation_cohort, longnet_model
):
    from corebt_viewer.core.modalities import Modality
    from corebt_viewer.gui.mask_guard import FixedPrompts
    from corebt_viewer.io.manifest import read_cohort

    cohort = read_cohort(foundation_cohort / "manifest.csv")
    config = json.loads((longnet_model / "config.json").read_text())
    case = next(
        c
        for c in cohort
        if c.patient_id in config["split"]["test"] and c.slides and c.mri and c.report
    )
    win = open_main_window(qapp, cohort, (longnet_model, None), FixedPrompts(unsaved="discard"))
    try:
        win.open_case(case.patient_id)

        def shown():
            prediction = win.current_prediction()
            return (
                win.is_case_ready()
                and prediction is not None
                and prediction.patient_id == case.patient_id
                and win.slides.heat_layer is not None
                and win.slides.heat_layer.visible
            )

        wait_until(shown, timeout=180)
        settle(0.3)
        prediction = win.current_prediction()
        assert {Modality.MRI, Modality.WSI} <= prediction.used
        assert prediction.tile_contributions and prediction.tile_contributions[0].approximate
        assert "approx" in win.slides.heat_check.text()
        assert "approximate" in prediction.flags["tiles"]
        assert win.session.embeddings[case.patient_id].profile == "gigapath-longnet"
    finally:
        win.close()
        settle(0.2)
