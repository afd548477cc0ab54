"""The case list shows each case's state and repaints without calling Python."""

from __future__ import annotations

import sys

from corebt_viewer.gui.case_list import CaseList
from corebt_viewer.gui.prediction_plot import abbreviate_class


def python_calls_during(*actions) -> list[str]:
    """The Python functions called (at any depth) while the C++ `actions` run."""
    calls: list[str] = []

    def profile(frame, event, _arg):
        if event == "call":
            calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        for action in actions:
            action()
    finally:
        sys.setprofile(None)
    return [c for c in calls if not c.endswith(":python_calls_during")]


def test_repainting_the_list_runs_no_python(qtbot, demo_cohort):
    cases = CaseList()
    qtbot.addWidget(cases)
    cases.resize(520, 400)
    cases.set_cohort(demo_cohort, {pid: "Glioblastoma" for pid in demo_cohort.ids})
    cases.set_prediction(demo_cohort.ids[0], "Glioblastoma", 0.8)
    cases.show()
    qtbot.waitExposed(cases)
    qtbot.wait(300)  # the view lays its rows out on a timer
    viewport = cases.table.viewport()
    # a Python model is asked for a dozen roles of every visible cell on each repaint
    header = cases.table.horizontalHeader().viewport()
    calls = python_calls_during(viewport.repaint, header.repaint)
    assert calls == []


def test_rows_show_prediction_review_and_filter(qtbot, demo_cohort):
    from qtpy.QtCore import Qt

    cases = CaseList()
    qtbot.addWidget(cases)
    first, second = demo_cohort.ids[:2]
    cases.set_cohort(demo_cohort, {first: "Glioblastoma", second: "Astrocytoma"})
    cases.set_prediction(first, "Glioblastoma", 0.91)
    cases.set_prediction(second, "Glioblastoma", 0.55)
    cases.set_review_status({second: "In progress"})
    model = cases.model
    assert model.item(0, 5).text() == f"{abbreviate_class('Glioblastoma')} 91%"
    assert model.item(0, 5).foreground().color().name() == "#6fcf6f"
    assert model.item(1, 5).foreground().color().name() == "#ff7b72"
    assert model.item(1, 6).text() == "In progress"
    assert model.item(0, 0).data(Qt.ItemDataRole.UserRole) == first
    cases.filter_combo.setCurrentText("Misclassified")
    assert cases.proxy.rowCount() == 1
    cases.filter_combo.setCurrentText("All cases")
    cases.search.setText("in progress")
    assert cases.proxy.rowCount() == 1


def test_true_column_follows_the_task_and_training_cases_are_marked(qtbot, demo_cohort):
    """The True column shows the model task's class; a case the model was trained on is
    marked "seen", in neither the right nor the wrong colour, and not "misclassified"."""
    from qtpy.QtCore import Qt

    from corebt_viewer.core.tasks import get_task
    from corebt_viewer.gui.case_list import RIGHT, SEEN, WRONG

    cases = CaseList()
    qtbot.addWidget(cases)
    level1, who = get_task("level1"), get_task("who_grade")
    truth = {
        c.patient_id: level1.class_name(c.labels.level1, c.labels.who_grade) for c in demo_cohort
    }
    cases.set_cohort(demo_cohort, truth)
    graded = {
        c.patient_id: who.class_name(c.labels.level1, c.labels.who_grade) for c in demo_cohort
    }
    cases.set_truth(graded)
    first, second = demo_cohort.ids[:2]
    row = cases.model.rows[0]
    assert row.truth == (graded[first] or "")
    wrong = next(name for name in who.classes if name != graded[first])
    cases.set_prediction(first, wrong, 0.9, "train")
    cases.set_prediction(second, wrong, 0.9)
    seen = cases.model.item(0, 5)
    assert seen.text().endswith("· seen") and "seen in training" in seen.toolTip()
    assert seen.data(Qt.ItemDataRole.ForegroundRole) == SEEN
    assert cases.model.item(1, 5).data(Qt.ItemDataRole.ForegroundRole) in (RIGHT, WRONG)
    cases.filter_combo.setCurrentText("Misclassified")  # unseen cases only
    shown = {cases.proxy.index(r, 0).data() for r in range(cases.proxy.rowCount())}
    assert first not in shown
    cases.filter_combo.setCurrentText("Seen in training")
    assert cases.proxy.rowCount() == 1
