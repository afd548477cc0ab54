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
