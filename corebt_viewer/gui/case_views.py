"""The views of a case session: what each widget does when the session changes.

:class:`CaseViews` subscribes the window's widgets to the
:class:`~corebt_viewer.services.viewer_session.ViewerSession` events and loads what only
the views need (the MRI volumes, the slide pyramid, the report text) through the window's
one task runner, keeping only the latest result of each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.gui import layers as L


def load_mri_task(case, prefetched=None, cohort_root=None):
    """Task: :func:`corebt_viewer.gui.prefetch.load_study` of the case."""

    def task(progress, cancelled):
        from corebt_viewer.gui.prefetch import load_study, prefetched_or_read

        return prefetched_or_read(
            prefetched, lambda: load_study(case, cohort_root), f"the MRI of {case.patient_id}"
        )

    return task


def read_report_task(path: Path):
    def task(progress, cancelled):
        from corebt_viewer.io.reports import read_report

        return read_report(path)

    return task


def overlays_of(state) -> dict:
    """Slide file name -> (tile grid map, heat map) from a PredictionState."""
    overlays = {}
    for name, tiles in state.slide_tiles.items():
        grid = L.tile_map(tiles.coords, np.ones(len(tiles.coords)))
        heat = None
        if tiles.values is not None:
            heat = L.tile_map(tiles.coords, tiles.values, grid.tile_size)
        overlays[name] = (grid, heat)
    return overlays


class CaseViews:
    """Wire a window's widgets to its session (``window.session``)."""

    def __init__(self, window):
        self.window = window
        session = self.session = window.session
        events = session.events
        events.cohort_changed.connect(self._on_cohort)
        events.model_changed.connect(self._on_model)
        events.case_changed.connect(self._on_case)
        events.prediction_changed.connect(self._on_prediction)
        events.case_predictions.connect(self._on_case_predictions)
        events.review_changed.connect(window.case_list.set_review_status)
        events.case_ready.connect(window.case_ready.emit)
        events.progress.connect(window.activity.set_progress)
        events.message.connect(lambda text: window.statusBar().showMessage(text, 8000))
        window.mri.study_shown.connect(lambda _id: session.mark_done("mri"))
        window.slides.slide_shown.connect(lambda _name: session.mark_done("slides"))

    # ------------------------------------------------------------------ cohort and model
    def _truth(self) -> dict:
        session = self.session
        return {case.patient_id: session.truth(case) for case in session.cohort}

    def _on_cohort(self, cohort) -> None:
        self.window.setWindowTitle(f"CoRe-BT Viewer — {cohort.root.name}")
        self.window.case_list.set_cohort(cohort, self._truth())

    def _model_normalises_stain(self, model) -> bool | None:
        """Whether the model's profile normalises stain (None: no model, or no profile,
        which the prediction then reports)."""
        from corebt_viewer.core.errors import CoreBTError

        if model is None:
            return None
        try:
            return self.session.embedding_profile().stain_normalisation is not None
        except CoreBTError:
            return None

    def _on_model(self, model) -> None:
        window, session = self.window, self.session
        window.device_label.setText(f"Device: {session.device or '?'}")
        window.prediction.card_button.setEnabled(model is not None)
        report_action = window.actions["report_model"]  # eq. 2 or + report
        report_action.setEnabled(session.report_model_available())
        report_action.setChecked(session.uses_report_model)
        window.slides.stain.set_model_normalises(self._model_normalises_stain(model))
        if model is not None:
            inputs = "eq. 2 + report" if model.uses_report else "eq. 2"
            window.model_label.setText(
                f"Model: {model.task} ({inputs}) · {len(model.classes)} classes"
            )
            window.model_label.setToolTip(f"{session.model_dir}\n(Prediction ▸ Model card…)")
            window.case_list.set_truth(self._truth())
        elif session.model_state == "loading":
            window.model_label.setText("Loading the model…")
            window.model_label.setToolTip(str(session.model_dir))
        elif session.model_state == "failed":
            window.model_label.setText("Model failed")
            window.model_label.setToolTip(session.model_error)
            window.statusBar().showMessage(session.model_error, 15000)
        else:
            window.model_label.setText("No model")
            window.model_label.setToolTip(
                f"No model in {session.model_dir}: train one with `corebt train`"
            )
        window.cohort_ready.emit()

    def _on_case_predictions(self, predictions: dict) -> None:
        for pid, prediction in predictions.items():
            self.window.case_list.set_prediction(
                pid, prediction.predicted, prediction.confidence, self.session.seen_in(pid)
            )

    # ------------------------------------------------------------------ the case
    def _on_case(self, case) -> None:
        window, runner, pid = self.window, self.window.workers, case.patient_id
        if window.case_list.current_id() != pid:
            # no case_selected signal: it would re-enter here and load the case twice
            window.case_list.select(pid, notify=False)
        window.statusBar().showMessage(f"Case {pid}", 3000)
        if case.mri:
            window.mri.show_loading(f"Loading MRI of {pid}…")
            prefetch = window.prefetch
            prefetched = prefetch.take_mri(pid) if prefetch is not None else None
            runner.submit(
                load_mri_task(case, prefetched, self.session.cohort.root),
                name=f"loading MRI of {pid}",
                key="mri",
                done=lambda result: self._on_mri(case, result),
                failed=lambda message, _d: self._on_mri_failed(case, message),
            )
        else:
            window.mri.clear()
            window.mri.show_message(f"{pid} has no MRI.")
            self.session.mark_done("mri")
        window.slides.show_slides(case.slides, pid)
        if case.report is not None:
            window.report.set_report(None, message="Loading report…")
            runner.submit(
                read_report_task(case.report),
                name="reading the report",
                key="report",
                done=lambda text: self._on_report(text, ""),
                failed=lambda message, _d: self._on_report(None, message),
            )
        else:
            window.report.set_report(None, message=f"{pid} has no pathology report.")
            self.session.mark_done("report")
        model = self.session.model
        usable = frozenset(model.modalities) if model is not None else None
        window.prediction.set_available(case.modalities, usable)

    def _on_mri(self, case, result) -> None:
        study, windows, centre = result
        self.window.mri.show_study(study, case.patient_id, windows, centre=centre)
        moved = [s.value for s in study.volumes if s.value in study.notes]
        if moved:  # what loading did is shown in View ▸ MRI quality check…
            self.window.statusBar().showMessage(
                f"{case.patient_id}: {', '.join(moved)} moved onto the reference grid "
                "(View ▸ MRI quality check…)",
                15000,
            )

    def _on_mri_failed(self, case, message: str) -> None:
        self.window.mri.clear()
        self.window.mri.show_message(f"Cannot show the MRI of {case.patient_id}:\n{message}")
        self.session.mark_done("mri")

    def _on_report(self, text: str | None, message: str) -> None:
        self.window.report.set_report(text, message=f"Cannot read the report:\n{message}")
        self.session.mark_done("report")

    # ------------------------------------------------------------------ the prediction
    def _on_prediction(self, state) -> None:
        window = self.window
        if self.session.case is None or state.patient_id != self.session.case.patient_id:
            return
        window.prediction.show_state(state)
        window.slides.set_problems(state.slide_problems)
        if state.prediction is not None:
            window.slides.set_overlays(overlays_of(state))
            window.prediction_shown.emit(state.prediction)
