"""Dock widgets inside a plain napari window, and the demo case sample data."""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.modalities import Modality

PLUGIN = "corebt-viewer"


def test_case_list_follows_the_reader_and_switches_cases(viewer, plugin_cohort, qtbot):
    from corebt_viewer.gui.plugin.widgets import CaseListWidget

    cohort, _ = plugin_cohort
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Case list")
    assert isinstance(widget, CaseListWidget)
    first = next(case for case in cohort if case.mri)
    with qtbot.waitSignal(widget.cohort_opened, timeout=30_000):
        viewer.open(str(cohort.manifest), plugin=PLUGIN)
    assert widget.case_list.model.rowCount() == len(cohort)
    assert widget.case_list.current_id() == first.patient_id
    other = next(c for c in cohort if c.mri and c.patient_id != first.patient_id)
    with qtbot.waitSignal(widget.case_opened, timeout=60_000) as blocker:
        widget.case_list.select(other.patient_id)
    assert blocker.args == [other.patient_id]
    cases = {layer.metadata["corebt"]["case"] for layer in viewer.layers}
    assert cases == {other.patient_id}  # the previous case's layers were replaced
    expected = len(other.sequences) + (other.segmentation is not None)
    assert len(viewer.layers) == expected


def test_prediction_panel_shows_the_fusion_models_prediction(
    viewer, plugin_cohort, qtbot, monkeypatch
):
    import corebt_viewer.services.embedding as embedding_service
    from corebt_viewer.gui.plugin.widgets import PredictionWidget
    from corebt_viewer.services.fusion import load_model

    cohort, embeddings = plugin_cohort
    # the cohort's cache holds these embeddings (no encoder run in a unit test)
    monkeypatch.setattr(
        embedding_service, "embed_case", lambda *, cohort, case, **_: embeddings[case.patient_id]
    )
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Prediction panel")
    assert isinstance(widget, PredictionWidget)
    case = next(c for c in cohort if c.mri and len(c.modalities) > 1)
    with qtbot.waitSignal(widget.prediction_shown, timeout=60_000) as blocker:
        viewer.open(str(next(iter(case.mri.values())).parent), plugin=PLUGIN)
    predictor = load_model(cohort.root / ".corebt" / "models" / "level1")
    expected = predictor.predict(embeddings[case.patient_id])
    shown = blocker.args[0]
    np.testing.assert_allclose(shown.probabilities, expected.probabilities)
    assert widget.panel.headline.text().startswith(expected.predicted)
    # switching a modality off predicts as if it were missing, at once
    off = next(m for m in (Modality.WSI, Modality.REPORT, Modality.MRI) if m in case.modalities)
    with qtbot.waitSignal(widget.prediction_shown, timeout=5_000) as blocker:
        widget.panel.checks[off].setChecked(False)
    without = predictor.predict(embeddings[case.patient_id], without=frozenset({off}))
    np.testing.assert_allclose(blocker.args[0].probabilities, without.probabilities)
    assert off not in blocker.args[0].used


def test_prediction_panel_says_when_a_cohort_has_no_model(viewer, demo_cohort, qtbot):
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Prediction panel")
    with qtbot.waitSignal(widget.unavailable, timeout=60_000) as blocker:
        viewer.open(str(demo_cohort.manifest), plugin=PLUGIN)
    assert "No model" in blocker.args[0]
    assert "No model" in widget.panel.headline.text()


def test_demo_case_sample_data(viewer, tmp_path, monkeypatch):
    monkeypatch.setenv("COREBT_CACHE_DIR", str(tmp_path))
    layers = viewer.open_sample(PLUGIN, "demo_case")
    kinds = sorted(layer._type_string for layer in layers)
    assert kinds == ["image"] * 4 + ["labels"]
    assert (tmp_path / "plugin-demo-v1" / "manifest.csv").is_file()
    labels = next(layer for layer in layers if layer._type_string == "labels")
    assert np.asarray(labels.data).max() > 0  # the demo tumour is there
