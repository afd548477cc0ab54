"""Dock widgets for a plain napari window: the case list and the prediction panel.

Both are thin wrappers around the app's own widgets (:class:`~corebt_viewer.gui.case_list.CaseList`,
:class:`~corebt_viewer.gui.prediction_panel.PredictionPanel`). They follow the case the
viewer shows through the ``metadata["corebt"]`` entry that the plugin's readers put on
every layer, so opening a case folder, picking a case in the list, or loading the sample
data keeps both in step. Files are read and models run in worker threads.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from corebt_viewer.gui.case_list import CaseList
from corebt_viewer.gui.prediction_panel import PredictionPanel
from corebt_viewer.gui.workers import Worker, WorkerPool

DEFAULT_TASK = "level1"


def layer_case(layer) -> tuple[str, str] | None:
    """``(cohort, case id)`` of a layer opened by this plugin, else ``None``."""
    info = (getattr(layer, "metadata", None) or {}).get("corebt") or {}
    if info.get("cohort") and info.get("case"):
        return str(info["cohort"]), str(info["case"])
    return None


def viewer_case(viewer) -> tuple[str, str] | None:
    """The case the viewer shows: the active layer's, else the top-most plugin layer's."""
    active = viewer.layers.selection.active
    if active is not None and layer_case(active) is not None:
        return layer_case(active)
    for layer in reversed(list(viewer.layers)):
        found = layer_case(layer)
        if found is not None:
            return found
    return None


def _status_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet("color: #9a9a9a;")
    return label


class CaseListWidget(QWidget):
    """The cohort's cases; picking one replaces the viewer's case layers with it.

    Signals
    -------
    cohort_opened(str)
        Source (manifest or folder) of the cohort now listed.
    case_opened(str)
        Patient id whose layers were just added to the viewer.
    """

    cohort_opened = Signal(str)
    case_opened = Signal(str)

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self.workers = WorkerPool(self, max_threads=2)
        self.cohort = None
        self.source: str | None = None
        self.case_list = CaseList()
        self.open_button = QPushButton("Open cohort…")
        self.open_button.setToolTip("A cohort folder (manifest.csv or BraTS 2021/2023 layout)")
        self.open_button.clicked.connect(self.choose_cohort)
        self.status = _status_label()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.open_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.case_list, 1)
        layout.addWidget(self.status)
        self.case_list.case_selected.connect(self.open_case)
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        shown = viewer_case(self.viewer)
        if shown is not None:
            self.open_cohort(shown[0], select=shown[1])

    # ------------------------------------------------------------------ cohort
    def choose_cohort(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a cohort folder")
        if path:
            self.open_cohort(path)

    def open_cohort(self, source: str | Path, *, select: str | None = None) -> None:
        """List the cohort at `source` (read in a worker); `select` marks a case as open."""
        source = str(source)
        self.source = source
        self.status.setText(f"Reading {Path(source).name}…")

        def task(progress, cancelled):
            from corebt_viewer.io.manifest import read_cohort

            return read_cohort(source)

        worker = Worker(task, name=f"reading {Path(source).name}")
        worker.signals.finished.connect(lambda cohort: self._on_cohort(source, cohort, select))
        worker.signals.failed.connect(lambda message, _detail: self.status.setText(message))
        self.workers.start(worker)

    def _on_cohort(self, source: str, cohort, select: str | None) -> None:
        if source != self.source:
            return
        from corebt_viewer.core.tasks import get_task

        task = get_task(DEFAULT_TASK)
        truth = {c.patient_id: task.class_name(c.labels.level1, c.labels.who_grade) for c in cohort}
        self.cohort = cohort
        self.case_list.set_cohort(cohort, truth)
        self.status.setText(f"{cohort.root}")
        if select is not None:
            self._mark_current(select)
        self.cohort_opened.emit(source)

    def _on_layer_inserted(self, event) -> None:
        found = layer_case(event.value)
        if found is None:
            return
        source, case_id = found
        if source != self.source:
            self.open_cohort(source, select=case_id)
        elif self.case_list.current_id() != case_id:
            self._mark_current(case_id)

    def _mark_current(self, case_id: str) -> None:
        """Select a case whose layers are already on screen, without loading it again."""
        self.case_list.blockSignals(True)
        try:
            self.case_list.select(case_id)
        finally:
            self.case_list.blockSignals(False)

    # ------------------------------------------------------------------ case
    def open_case(self, patient_id: str) -> None:
        """Load a case of the listed cohort and put its layers in the viewer."""
        if self.cohort is None or patient_id not in self.cohort.ids:
            return
        cohort, case = self.cohort, self.cohort[patient_id]
        self.status.setText(f"Loading {patient_id}…")

        def task(progress, cancelled):
            from corebt_viewer.gui.plugin.readers import case_layer_data

            return case_layer_data(cohort, case)

        worker = Worker(task, name=f"loading {patient_id}")
        worker.signals.finished.connect(lambda result: self._show_case(patient_id, result))
        worker.signals.failed.connect(lambda message, _detail: self.status.setText(message))
        self.workers.start(worker)

    def _show_case(self, patient_id: str, result) -> None:
        if self.case_list.current_id() != patient_id:
            return  # the user moved on
        from napari.layers import Layer

        layers, errors = result
        for layer in [lay for lay in self.viewer.layers if layer_case(lay) is not None]:
            self.viewer.layers.remove(layer)
        for data, kwargs, layer_type in layers:
            self.viewer.add_layer(Layer.create(data, kwargs, layer_type))
        self.viewer.reset_view()
        problems = "; ".join(f"{role}: {message}" for role, message in errors.items())
        self.status.setText(f"{patient_id}" + (f" — {problems}" if problems else ""))
        self.case_opened.emit(patient_id)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.workers.cancel_all()
        self.workers.wait(3000)
        super().closeEvent(event)


class PredictionWidget(QWidget):
    """The fusion model's prediction for the case on screen, with the modality switches.

    A :class:`~corebt_viewer.services.viewer_session.ViewerSession` of its own does the
    work, as in the app's window: the model is the cohort's ``.corebt/models/level1``, the
    case's embedding comes from the cohort's cache (computed and cached when missing), and
    every flag, the mask version and the model card are shown as there.

    Signals
    -------
    prediction_shown(object)
        The CasePrediction just drawn.
    unavailable(str)
        Why there is no prediction (no model, the model failed...).
    """

    prediction_shown = Signal(object)
    unavailable = Signal(str)

    def __init__(self, napari_viewer, parent: QWidget | None = None):
        super().__init__(parent)
        from corebt_viewer.services.viewer_session import ViewerSession

        self.viewer = napari_viewer
        self.workers = WorkerPool(self, max_threads=2)
        self.session = ViewerSession(self.workers)
        self.panel = PredictionPanel()
        self.status = _status_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.status)
        self.shown: tuple[str, str] | None = None
        self.source: str | None = None
        self.panel.without_changed.connect(self.session.set_without)
        self.panel.ablation_changed.connect(self.session.set_ablation)
        self.panel.card_button.clicked.connect(self.show_model_card)
        events = self.session.events
        events.prediction_changed.connect(self._on_state)
        events.model_changed.connect(self._on_model)
        events.progress.connect(lambda event: self.status.setText(event.message or event.stage))
        layer_events = self.viewer.layers.events
        layer_events.inserted.connect(self._follow)
        layer_events.removed.connect(self._follow)
        self.viewer.layers.selection.events.active.connect(self._follow)
        self._follow()

    @property
    def case(self):
        return self.session.case

    @property
    def predictor(self):
        return self.session.model

    def _follow(self, _event=None) -> None:
        found = viewer_case(self.viewer)
        if found == self.shown:
            return
        self.shown = found
        if found is None:
            self.panel.clear("Open a CoRe-BT case to see the model's prediction")
            return
        source, case_id = found
        self.panel.clear(f"Predicting {case_id}…")
        if source == self.source and self.session.cohort is not None:
            self._open_case(case_id)
            return

        def task(progress, cancelled):
            from corebt_viewer.io.manifest import read_cohort

            return read_cohort(source)

        self.workers.submit(
            task,
            name=f"reading {Path(source).name}",
            key="cohort",
            done=lambda cohort: self._on_cohort(source, cohort, case_id),
            failed=lambda message, _detail: self._unavailable(message),
        )

    def _on_cohort(self, source: str, cohort, case_id: str) -> None:
        self.source = source
        self.session.open_cohort(cohort)
        self._open_case(case_id)

    def _open_case(self, case_id: str) -> None:
        if case_id not in self.session.cohort.ids:
            self._unavailable(f"No case {case_id!r} in {self.source}")
            return
        case = self.session.open_case(case_id)
        model = self.session.model
        self.panel.set_available(
            case.modalities, frozenset(model.modalities) if model is not None else None
        )

    def _on_model(self, model) -> None:
        session = self.session
        if model is None:
            message = session.model_error or f"No model for this cohort ({session.model_dir})"
            self._unavailable(message)
        elif session.case is not None:
            self.panel.set_available(session.case.modalities, frozenset(model.modalities))

    def _unavailable(self, message: str) -> None:
        self.panel.clear(message)
        self.status.setText("Train one with `corebt train` to see predictions.")
        self.unavailable.emit(message)

    def _on_state(self, state) -> None:
        if self.session.case is None or state.patient_id != self.session.case.patient_id:
            return
        if state.status == "no_model":
            return  # said by _on_model
        self.panel.show_state(state)
        if state.prediction is not None:
            self.status.setText("")
            self.prediction_shown.emit(state.prediction)

    def current_prediction(self):
        """Prediction of the shown case with the panel's switches, or ``None``."""
        return self.session.current_prediction()

    def show_model_card(self):
        from corebt_viewer.gui.dialogs import model_card

        return model_card(self, self.session.model_card(), self.status.text())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.session.close()
        self.workers.cancel_all()
        self.workers.wait(3000)
        super().closeEvent(event)
