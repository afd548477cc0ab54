"""The main window: it lays out the case list, the canvases and the panels, and wires menus.

The state lives in a Qt-free :class:`~corebt_viewer.services.viewer_session.ViewerSession`
(``window.session``); :class:`~corebt_viewer.gui.case_views.CaseViews` makes the widgets
follow its events; every task runs in the window's one :class:`WorkerPool`.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QSettings, Qt, Signal
from qtpy.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QWidget,
)

from corebt_viewer.core.case import Cohort
from corebt_viewer.core.modalities import Modality
from corebt_viewer.gui import dialogs
from corebt_viewer.gui._vispy_compat import prepare_changed_meshes
from corebt_viewer.gui.activity import ActivityIndicator
from corebt_viewer.gui.app import show_error_dialog
from corebt_viewer.gui.case_list import CaseList
from corebt_viewer.gui.case_views import CaseViews
from corebt_viewer.gui.mask_review import MaskReview
from corebt_viewer.gui.mri_canvas import MriCanvas
from corebt_viewer.gui.mri_tools import MriTools
from corebt_viewer.gui.prediction_panel import PredictionPanel
from corebt_viewer.gui.report_view import ReportView
from corebt_viewer.gui.scheduler import FramePacer, UiScheduler
from corebt_viewer.gui.slide_canvas import SlideCanvas
from corebt_viewer.gui.slide_tools import SlideTools
from corebt_viewer.gui.window_actions import build_actions
from corebt_viewer.gui.workers import StallMonitor, WorkerPool
from corebt_viewer.services.viewer_session import ViewerSession
from corebt_viewer.services.viewer_session.session import DEFAULT_TASK, default_model_dir

__all__ = ["DEFAULT_TASK", "MainWindow", "default_model_dir", "describe_device"]


class MainWindow(QMainWindow):
    """CoRe-BT Viewer main window.

    Signals
    -------
    case_ready(str)
        A case's MRI, slide, report and prediction are all on screen (or their messages).
    cohort_ready()
        The cohort's model and embeddings are loaded (or known to be absent).
    prediction_shown(object)
        The CasePrediction the panel now shows.
    """

    case_ready = Signal(str)
    cohort_ready = Signal()
    prediction_shown = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("CoRe-BT Viewer")
        self.workers = WorkerPool(self)  # the one pool: Cancel, the indicator and close see all
        self.session = ViewerSession(self.workers, device=describe_device)
        self.stall_monitor = StallMonitor(parent=self)
        self.scheduler = UiScheduler(self)  # the window's one: its pacer and both canvases
        self.frame_pacer = FramePacer(self, self.scheduler)  # a handler and its frame: 2 turns
        self.scheduler.before_frame.append(prepare_changed_meshes)  # the frame only draws
        self.prefetch = None  # a gui.prefetch.Prefetch started before the window existed
        self._build()
        self.mri_tools = MriTools(self)  # its canvases exist before any layer is added
        self.slide_tools = SlideTools(self)  # regions, minimap, ruler, magnification
        self.actions = build_actions(self)  # before the views: they enable actions
        self.views = CaseViews(self)
        self.workers.busy_changed.connect(self.activity.set_busy)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        # both napari canvases exist before any layer is added (else they draw black)
        self.mri = MriCanvas(scheduler=self.scheduler)
        self.slides = SlideCanvas(self.workers, scheduler=self.scheduler)
        self.case_list = CaseList()
        self.prediction = PredictionPanel()
        self.report = ReportView()
        self.canvases = QSplitter(Qt.Orientation.Horizontal)
        for canvas in (self.mri, self.slides):
            self.canvases.addWidget(canvas)
        self.canvases.setStretchFactor(0, 1)
        self.canvases.setStretchFactor(1, 1)
        self.canvases.setChildrenCollapsible(False)
        self.setCentralWidget(self.canvases)

        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.case_dock = self._dock("Cases", self.case_list, left)
        self.prediction_dock = self._dock("Prediction", self.prediction, right)
        self.report_dock = self._dock("Report", self.report, right)
        self.splitDockWidget(self.prediction_dock, self.report_dock, Qt.Orientation.Vertical)
        self.mask_review = MaskReview(self)  # "Mask and review": a tab beside the prediction
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.resizeDocks([self.case_dock, self.prediction_dock], [400, 410], horizontal)
        self.resizeDocks([self.prediction_dock, self.report_dock], [620, 280], vertical)

        self.case_list.case_selected.connect(self.open_case)
        self.prediction.without_changed.connect(self.session.set_without)
        self.prediction.ablation_changed.connect(self.session.set_ablation)
        self.prediction.card_button.clicked.connect(self.show_model_card)

        bar = self.statusBar()
        self.device_label = QLabel("Device: …")
        self.model_label = QLabel("No model")
        self.activity = ActivityIndicator(self)
        self.activity.cancel.clicked.connect(self.cancel_work)
        bar.addWidget(self.activity.label, 1)
        for widget in (self.activity.bar, self.activity.cancel, self.model_label):
            bar.addPermanentWidget(widget)
        bar.addPermanentWidget(self.device_label)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------------------ the session's state
    cohort = property(lambda self: self.session.cohort)
    case = property(lambda self: self.session.case)
    predictor = property(lambda self: self.session.model)
    model_state = property(lambda self: self.session.model_state)
    model_dir = property(lambda self: self.session.model_dir)
    embeddings = property(lambda self: self.session.embeddings)

    def is_case_ready(self) -> bool:
        return self.session.is_case_ready

    def current_prediction(self):
        """Prediction of the open case with the current switches, or ``None``."""
        return self.session.current_prediction()

    # ------------------------------------------------------------------ cohort and case
    def open_cohort(
        self,
        cohort: Cohort,
        *,
        model_dir: Path | None = None,
        case_id: str | None = None,
        embeddings: dict | None = None,
    ) -> None:
        """Show `cohort`; its model and cached embeddings load once the first images are up.

        Parameters
        ----------
        model_dir : Path, optional
            Fusion model folder (default ``<root>/.corebt/models/level1``).
        case_id : str, optional
            Case to open first (default: the first).
        embeddings : dict of str -> CaseEmbedding, optional
            Use these instead of the cohort's embedding cache.
        """
        first = case_id if case_id in cohort.ids else (cohort.ids[0] if cohort.ids else None)
        if case_id and case_id not in cohort.ids:
            self.statusBar().showMessage(f"No case {case_id!r} in this cohort", 8000)
        # importing torch next to the UI thread's first layer building would slow both
        wait = bool(first and cohort[first].mri)
        self.session.open_cohort(
            cohort, model_dir=model_dir, embeddings=embeddings, load_model=not wait
        )
        if first:
            self.case_list.select(first)

    def open_cohort_path(self, path: str | Path, **kwargs) -> None:
        """Read a cohort (folder or manifest) in a worker, then show it."""
        prefetch = self.prefetch
        prefetch = prefetch if prefetch is not None and prefetch.path == Path(path) else None

        def task(progress, cancelled):
            from corebt_viewer.gui.prefetch import prefetched_or_read
            from corebt_viewer.io.manifest import read_cohort

            future = prefetch.cohort if prefetch is not None else None
            return prefetched_or_read(future, lambda: read_cohort(path), str(path))

        self.workers.submit(
            task,
            name=f"reading {Path(path).name}",
            done=lambda cohort: self.open_cohort(cohort, **kwargs),
            failed=lambda msg, detail: show_error_dialog("Cannot open cohort", msg, detail),
        )

    def open_case(self, patient_id: str) -> None:
        """Show a case: MRI, slides and report load in workers; the prediction follows."""
        session = self.session
        if session.cohort is None:
            return
        if session.case is not None and session.case.patient_id != patient_id:
            if not self.mask_review.confirm_leave():  # unsaved mask edits: the user stays
                self.mask_review.stay_on(session.case.patient_id)
                return
        session.open_case(patient_id)

    def toggle_modality(self, modality: Modality) -> None:
        box = self.prediction.checks[modality]
        if box.isEnabled():
            box.toggle()

    def use_report_model(self, on: bool) -> None:
        """Show the ``+report`` model (`on`) or the eq. 2 model (Prediction menu)."""
        from corebt_viewer.core.errors import CoreBTError

        try:
            self.session.use_report_model(on)
        except CoreBTError as exc:
            show_error_dialog("Cannot switch the model", str(exc), "")
        self.actions["report_model"].setChecked(self.session.uses_report_model)

    def cancel_work(self) -> None:
        self.workers.cancel_all()
        self.statusBar().showMessage("Cancelling…", 3000)

    # ------------------------------------------------------------------ actions
    def reset_views(self) -> None:
        self.mri.viewer.reset_view()
        self.slides.viewer.reset_view()

    def choose_cohort(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a cohort folder")
        if path:
            self.open_cohort_path(path)

    def choose_screenshot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screenshot", "corebt-viewer.png", "PNG (*.png)"
        )
        if path:
            self.save_screenshot(path)

    def save_screenshot(self, path: str | Path) -> Path:
        """Render the whole window (canvases included) to a PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path)):
            raise OSError(f"cannot write {path}")
        return path

    def show_model_card(self):
        """The model's card: task, classes, profile, training cases, date, evaluation."""
        return dialogs.model_card(self, self.session.model_card(), self.model_label.toolTip())

    def show_shortcuts(self) -> None:
        dialogs.shortcuts(self)

    def show_about(self) -> None:
        dialogs.about(self)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.mask_review.confirm_close():  # unsaved mask edits: the user stays
            event.ignore()
            return
        self.slide_tools.close()  # unsaved region edits become a version
        self.session.close()
        self.workers.cancel_all()
        for runner in (self.mri.steps, self.slides.steps):  # no step runs on a closed window
            runner.cancel()
        self.stall_monitor.stop()
        self.workers.wait(3000)
        self.slides.close_all()
        QSettings("CoRe-BT", "corebt-viewer").setValue("geometry", self.saveGeometry())
        super().closeEvent(event)


def describe_device() -> str:
    """``CUDA: <name>`` when a GPU is usable, else ``CPU``."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"CUDA: {torch.cuda.get_device_name(0)}"
    except Exception:  # noqa: BLE001 - no torch, no GPU
        pass
    return "CPU"
