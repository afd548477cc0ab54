"""The viewer and the paper's model: eq. 2 by default, the + report model from the
Prediction menu (said in the headline), the ablation meaning, the mask's convention."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from corebt_viewer.core.prediction import REPORT_REASON
from tests.gui.conftest import open_main_window, settle, synthetic_embedding, wait_until

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def models(demo_model, tmp_path_factory):
    """``models/level1`` (eq. 2, trained here) and ``models/level1+report`` (the fixture's)."""
    from corebt_viewer.core.case import Case, CaseLabels, Cohort
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.core.tasks import get_task
    from corebt_viewer.services.fusion import train_model

    report_dir, shown = demo_model
    task = get_task("level1")
    rng = np.random.default_rng(1)
    root = tmp_path_factory.mktemp("eq2")
    names = [*task.classes[:-1], "Circumscribed Astrocytic Glioma"]
    cases, embeddings = [], {}
    for i in range(32):
        cls = names[i % len(names)]
        case = Case(
            f"T{i:03d}",
            mri={s: root / f"{i}_{s.value}.nii.gz" for s in (Sequence.T1, Sequence.T1C)},
            slides=(root / f"{i}.svs",) if i % 3 else (),
            report=root / f"{i}.txt" if i % 2 else None,
            labels=CaseLabels(level1=cls),
        )
        cases.append(case)
        embeddings[case.patient_id] = synthetic_embedding(case, task.class_index(cls, None), rng)
    base = root / "models" / "level1"
    train_model(cohort=Cohort(root, tuple(cases)), task="level1", out=base, embeddings=embeddings)
    shutil.copytree(report_dir, base.with_name("level1+report"))
    return base, shown


@pytest.fixture(scope="module")
def window(qapp, demo_cohort, models):
    from corebt_viewer.gui.mask_guard import FixedPrompts

    win = open_main_window(qapp, demo_cohort, models, FixedPrompts(unsaved="discard"))
    yield win
    win.close()
    settle(0.2)


def test_eq2_by_default_then_the_report_model_from_the_menu(window, demo_cohort):
    session, panel, action = window.session, window.prediction, window.actions["report_model"]
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Prediction")
    assert action in menu.actions()
    assert action.isEnabled() and not action.isChecked()
    assert not session.model.uses_report and "(eq. 2)" in window.model_label.text()
    wait_until(lambda: panel.prediction is not None)
    assert "report" not in panel.headline.text()

    action.trigger()
    wait_until(
        lambda: (
            session.model is not None
            and session.model.uses_report
            and panel.prediction is not None
            and panel.prediction.uses_report
        )
    )
    assert panel.headline.text().endswith(f"(uses the report: {REPORT_REASON})")
    assert action.isChecked() and "eq. 2 + report" in window.model_label.text()
    assert session.model_dir.name == "level1+report"
    # the case list follows: every row shows the report model's prediction
    for pid in demo_cohort.ids:
        prediction = session.predictions.get((pid, frozenset(), "missing"))
        if prediction is None:
            continue
        row = window.case_list.model.rows[window.case_list._row_of(pid)]  # noqa: SLF001
        assert row.predicted == prediction.predicted
        assert row.confidence == pytest.approx(prediction.confidence)
    assert "note: this model uses the pathology report" in window.show_model_card().text()

    action.trigger()
    wait_until(lambda: session.model is not None and not session.model.uses_report)
    wait_until(lambda: panel.prediction is not None and not panel.prediction.uses_report)
    assert "report" not in panel.headline.text() and not action.isChecked()


def test_the_panel_switches_the_ablation_meaning_and_says_which(window):
    panel, session = window.prediction, window.session
    wait_until(lambda: panel.prediction is not None)
    assert panel.meaning_label.text().startswith("On screen: missing")
    n_missing = panel.ablation.rowCount()
    panel.meaning.setCurrentIndex(panel.meaning.findData("paper"))
    wait_until(lambda: panel.prediction.ablation_mode == "paper")
    assert session.ablation == "paper"
    assert panel.meaning_label.text().startswith("On screen: paper (as in the paper")
    assert panel.ablation.rowCount() == n_missing + 1  # "Both ablated (probes only)"
    assert panel.ablation.item(n_missing, 0).text() == "none"
    panel.meaning.setCurrentIndex(panel.meaning.findData("missing"))
    wait_until(lambda: panel.prediction.ablation_mode == "missing")
    assert panel.meaning_label.text().startswith("On screen: missing")


def test_the_mask_panel_states_the_convention(window, demo_cohort):
    case = next(c for c in demo_cohort if c.segmentation is not None)
    window.open_case(case.patient_id)
    wait_until(lambda: window.is_case_ready() and window.case.patient_id == case.patient_id)
    editor = window.mask_review.editor
    wait_until(lambda: editor.session is not None and editor.session.case_id == case.patient_id)
    text = editor.convention_label.text()
    assert text == f"Labels: {editor.session.convention_text}" or text.startswith("⚠ Labels:")
    assert "BraTS 20" in text and ("assumed" in text) == editor.session.convention_assumed
