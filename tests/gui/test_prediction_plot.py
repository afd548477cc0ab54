"""The prediction plot widget: bars drawn where and how long the prediction says."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import CasePrediction
from corebt_viewer.gui.prediction_plot import (
    ACCENT,
    BAR,
    PUSHES_DOWN,
    PUSHES_UP,
    RESIDUAL,
    PredictionPlot,
    contribution_terms,
)
from tests.gui.conftest import grab_array

CLASSES = ("Glioblastoma", "Astrocytoma", "Oligodendroglioma")


def prediction(used=frozenset({Modality.MRI, Modality.WSI})) -> CasePrediction:
    both = frozenset({Modality.MRI, Modality.WSI})
    return CasePrediction(
        patient_id="P1",
        task="level1",
        classes=CLASSES,
        probabilities=np.array([0.15, 0.7, 0.15]),
        predicted="Astrocytoma",
        available=both,
        used=used,
        ablation_mode="missing",
        weights={Modality.MRI: 0.4, Modality.WSI: 0.6},
        gate=0.25,
        contributions={
            "mri": np.array([0.0, 1.2, 0.0]),
            "wsi": np.array([0.0, -0.6, 0.0]),
            "residual": np.array([0.0, 0.3, 0.0]),
        },
        logits=np.array([0.0, 0.9, 0.0]),
    )


@pytest.fixture
def plot(qtbot):
    widget = PredictionPlot()
    qtbot.addWidget(widget)
    widget.resize(420, 400)
    return widget


def colour_at(widget, image: np.ndarray, rect) -> tuple[int, int, int]:
    """The colour in the middle of `rect` (widget coordinates) of a grabbed `image`."""
    ratio = image.shape[1] / widget.width()
    y, x = int(rect.center().y() * ratio), int(rect.center().x() * ratio)
    return tuple(int(v) for v in image[y, x])


def same_colour(found, colour, tol: int = 8) -> bool:
    """`found` is `colour` (a QColor), within what the screen's format may round."""
    return all(abs(a - b) <= tol for a, b in zip(found, colour.getRgb()[:3], strict=True))


def test_terms_follow_equation_2_for_the_predicted_class():
    terms = contribution_terms(prediction(used=frozenset({Modality.MRI})))
    assert [t.key for t in terms] == ["mri", "wsi", "residual"]
    assert [t.value for t in terms] == [1.2, -0.6, 0.3]
    assert terms[0].label == "MRI  w=0.40"
    assert terms[1].label.endswith("(off)")
    assert terms[2].label == "Residual  gate=0.25"


def test_bars_are_as_long_and_coloured_as_the_prediction_says(plot):
    shown = prediction()
    plot.set_prediction(shown, true_label="Glioblastoma")
    image = grab_array(plot)
    assert plot.drawn is shown
    np.testing.assert_allclose(plot.values["probabilities"], [0.15, 0.7, 0.15])
    np.testing.assert_allclose(plot.values["terms"], [1.2, -0.6, 0.3])
    probs = plot.bars["probabilities"]
    # lengths proportional to the probabilities, on one scale
    assert probs[1].width() / probs[0].width() == pytest.approx(0.7 / 0.15, rel=0.01)
    for rect, colour in zip(probs, (BAR, ACCENT, BAR), strict=True):
        assert same_colour(colour_at(plot, image, rect), colour)
    terms = plot.bars["terms"]
    assert terms[0].width() / terms[2].width() == pytest.approx(1.2 / 0.3, rel=0.01)
    assert terms[1].right() == pytest.approx(terms[0].left())  # both start at zero
    for rect, colour in zip(terms, (PUSHES_UP, PUSHES_DOWN, RESIDUAL), strict=True):
        assert same_colour(colour_at(plot, image, rect), colour)
    assert all(plot.rect().contains(r.toRect()) for r in probs + terms)


def test_an_empty_plot_and_a_tiny_one_paint_without_error(plot):
    plot.set_prediction(None)
    grab_array(plot)
    assert plot.drawn is None and plot.values == {}
    plot.set_prediction(prediction())
    plot.resize(60, 240)
    grab_array(plot)
    assert plot.drawn is not None and len(plot.bars["terms"]) == 3
