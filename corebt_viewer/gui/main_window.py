"""The main window: case list, MRI and slide canvases, report and prediction panel."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
from qtpy.QtCore import QSettings, Qt, QTimer, Signal
from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QWidget,
)

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.lru import LRUCache
from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality
from corebt_viewer.core.tasks import get_task
from corebt_viewer.gui import layers as L
from corebt_viewer.gui.activity import ActivityIndicator
from corebt_viewer.gui.app import show_error_dialog
from corebt_viewer.gui.case_list import CaseList
from corebt_viewer.gui.mask_review import MaskReview
from corebt_viewer.gui.mri_canvas import VIEWS, MriCanvas
from corebt_viewer.gui.prediction_panel import PredictionPanel
from corebt_viewer.gui.report_view import ReportView
from corebt_viewer.gui.shortcuts import SHORTCUTS, shortcuts_html
from corebt_viewer.gui.slide_canvas import SlideCanvas
from corebt_viewer.gui.workers import FramePacer, StallMonitor, Worker, WorkerPool

log = logging.getLogger("corebt_viewer.gui")
DEFAULT_TASK = "level1"
PREDICTION_CACHE = 512  # (case, switched-off modalities) -> prediction


def default_model_dir(cohort: Cohort, task: str = DEFAULT_TASK) -> Path:
    return cohort.root / ".corebt" / "models" / task


def load_mri_task(case: Case, prefetched=None):
    """Worker task: :func:`corebt_viewer.gui.prefetch.load_study` of the case."""

    def task(progress, cancelled):
        if prefetched is not None:
            try:
                return prefetched.result()
            except Exception:  # noqa: BLE001 - read again below (see gui.prefetch)
                log.warning("prefetching the MRI of %s failed; reading it again", case.patient_id)
        from corebt_viewer.gui.prefetch import load_study

        return load_study(case)

    return task


def read_report_task(path: Path):
    def task(progress, cancelled):
        from corebt_viewer.io.reports import read_report

        return read_report(path)

    return task


class MainWindow(QMainWindow):
    """CoRe-BT Viewer main window.

    Signals
    -------
    case_ready(str)
        A case's MRI, slide, report and prediction are all on screen (or their
        messages are): used by ``--screenshot`` and the tests.
    cohort_ready()
        The cohort, its model and embeddings are loaded.
    """

    case_ready = Signal(str)
    cohort_ready = Signal()
    prediction_shown = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("CoRe-BT Viewer")
        self.workers = WorkerPool(self)
        self.stall_monitor = StallMonitor(parent=self)
        self.frame_pacer = FramePacer(self)  # a long handler and its frame: two turns
        self.cohort: Cohort | None = None
        self.predictor = None
        self.model_state = "none"  # "loading", "ready", "none" (no model), "failed"
        self.model_dir: Path | None = None
        self.embeddings: dict = {}
        #: (patient, switched-off modalities) -> CasePrediction; emptied whenever the
        #: model or an embedding changes. Filled with ``add``: a prediction cached already
        #: is kept, since the panel and its plot cache know it by identity
        self._predictions: LRUCache = LRUCache(PREDICTION_CACHE)
        self.case: Case | None = None
        self.without: frozenset[Modality] = frozenset()
        self._pending: set[str] = set()
        self._generation = 0
        self._embed_worker: Worker | None = None
        self.actions: dict[str, QAction] = {}
        self.prefetch = None  # a gui.prefetch.Prefetch started before the window existed
        self._model_request: tuple | None = None
        self._build()
        self._build_actions()
        self.workers.busy_changed.connect(self.activity.set_busy)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        # both napari canvases exist before any layer is added (else they draw black)
        self.mri = MriCanvas()
        self.slides = SlideCanvas(self.workers)
        self.case_list = CaseList()
        self.prediction = PredictionPanel()
        self.report = ReportView()

        self.canvases = QSplitter(Qt.Orientation.Horizontal)
        self.canvases.addWidget(self.mri)
        self.canvases.addWidget(self.slides)
        self.canvases.setStretchFactor(0, 1)
        self.canvases.setStretchFactor(1, 1)
        self.canvases.setChildrenCollapsible(False)
        self.setCentralWidget(self.canvases)

        self.case_dock = self._dock("Cases", self.case_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.prediction_dock = self._dock(
            "Prediction", self.prediction, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.report_dock = self._dock("Report", self.report, Qt.DockWidgetArea.RightDockWidgetArea)
        self.splitDockWidget(self.prediction_dock, self.report_dock, Qt.Orientation.Vertical)
        self.mask_review = MaskReview(self)  # "Mask and review": a tab beside the prediction
        self.resizeDocks(
            [self.case_dock, self.prediction_dock], [400, 410], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.prediction_dock, self.report_dock], [620, 280], Qt.Orientation.Vertical
        )

        self.case_list.case_selected.connect(self.open_case)
        self.prediction.without_changed.connect(self.set_without)
        self.mri.study_shown.connect(lambda _id: self._done("mri"))
        self.slides.slide_shown.connect(lambda _name: self._done("slides"))

        bar = self.statusBar()
        self.device_label = QLabel("Device: …")
        self.model_label = QLabel("No model")
        self.activity = ActivityIndicator(self)
        self.activity.cancel.clicked.connect(self.cancel_work)
        bar.addWidget(self.activity.label, 1)
        bar.addPermanentWidget(self.activity.bar)
        bar.addPermanentWidget(self.activity.cancel)
        bar.addPermanentWidget(self.model_label)
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

    def _build_actions(self) -> None:
        handlers = {
            "next_case": lambda: self.case_list.step(+1),
            "previous_case": lambda: self.case_list.step(-1),
            "find_case": lambda: (
                self.case_list.search.setFocus(),
                self.case_list.search.selectAll(),
            ),
            "open_cohort": self.choose_cohort,
            "mosaic": lambda: self.mri.set_mosaic(not self.mri.mosaic),
            "toggle_mask": lambda: self.mri.set_mask_visible(not self.mri.mask_check.isChecked()),
            "outline": lambda: self.mri.outline_check.toggle(),
            "next_slide": lambda: self.slides.open_slide(self.slides.chooser.currentIndex() + 1),
            "previous_slide": lambda: self.slides.open_slide(
                self.slides.chooser.currentIndex() - 1
            ),
            "heatmap": lambda: self.slides.heat_check.toggle(),
            "tile_grid": lambda: self.slides.grid_check.toggle(),
            "toggle_mri": lambda: self._toggle_modality(Modality.MRI),
            "toggle_wsi": lambda: self._toggle_modality(Modality.WSI),
            "toggle_report": lambda: self._toggle_modality(Modality.REPORT),
            "find_report": self.report.focus_find,
            "reset_views": self.reset_views,
            "screenshot": self.choose_screenshot,
            "cancel": self.cancel_work,
            "shortcuts": self.show_shortcuts,
            "save_mask": self.mask_review.save,
            "next_to_review": self.mask_review.next_case_to_review,
            "surfaces": self.mask_review.show_surfaces,
            "export_meshes": self.mask_review.export_meshes,
            "export_summary": self.mask_review.export_summary,
            "quit": self.close,
        }
        for seq in MRI_SEQUENCES:
            handlers[f"sequence_{seq.value}"] = lambda s=seq: (
                self.mri.set_sequence(s),
                self.mask_review.sequence_changed(),  # intensity-limited paint follows the view
            )
        for view in VIEWS:
            handlers[f"view_{view}"] = lambda v=view: self.mri.set_view(v)
        for shortcut in SHORTCUTS:
            action = QAction(shortcut.text, self)
            action.setShortcut(QKeySequence(shortcut.keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, f=handlers[shortcut.action]: f())
            self.addAction(action)
            self.actions[shortcut.action] = action
        menus = {
            "&File": ["open_cohort", "save_mask", "export_summary", "screenshot", None, "quit"],
            "&Case": ["next_case", "previous_case", "find_case", None, "next_to_review"],
            "&MRI": [
                "sequence_t1",
                "sequence_t1c",
                "sequence_t2",
                "sequence_flair",
                "mosaic",
                None,
                "view_axial",
                "view_coronal",
                "view_sagittal",
                "view_3d",
                None,
                "toggle_mask",
                "outline",
                None,
                "surfaces",
                "export_meshes",
            ],
            "&Pathology": ["next_slide", "previous_slide", "heatmap", "tile_grid"],
            "&Prediction": ["toggle_mri", "toggle_wsi", "toggle_report", None, "cancel"],
            "&View": ["reset_views", "find_report"],
        }
        for title, names in menus.items():
            menu = self.menuBar().addMenu(title)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(self.actions[name])
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.actions["shortcuts"])
        about = QAction("About CoRe-BT Viewer", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    # ------------------------------------------------------------------ cohort
    def open_cohort(
        self,
        cohort: Cohort,
        *,
        model_dir: Path | None = None,
        case_id: str | None = None,
        embeddings: dict | None = None,
    ) -> None:
        """Show `cohort`; load its model and cached embeddings in the background.

        Parameters
        ----------
        model_dir : Path, optional
            Fusion model folder (default ``<root>/.corebt/models/level1``).
        case_id : str, optional
            Case to open first (default: the first).
        embeddings : dict of str -> CaseEmbedding, optional
            Use these instead of the cohort's embedding cache.
        """
        self.cohort = cohort
        self.predictor = None
        self.embeddings = {}
        self._predictions.clear()
        self.model_dir = Path(model_dir) if model_dir else default_model_dir(cohort)
        self.setWindowTitle(f"CoRe-BT Viewer — {cohort.root.name}")
        task = get_task(DEFAULT_TASK)
        truth = {c.patient_id: task.class_name(c.labels.level1, c.labels.who_grade) for c in cohort}
        self.case_list.set_cohort(cohort, truth)
        self._load_review_status()
        first = case_id if case_id in cohort.ids else (cohort.ids[0] if cohort.ids else None)
        if case_id and case_id not in cohort.ids:
            self.statusBar().showMessage(f"No case {case_id!r} in this cohort", 8000)
        # the model loads once the first case's images are up: importing torch next to
        # the UI thread's first layer building would slow both
        self.model_state = "loading"
        self._model_request = (embeddings,)
        if not first or not cohort[first].mri:
            self._start_model_load()
        if first:
            self.case_list.select(first)

    def open_cohort_path(self, path: str | Path, **kwargs) -> None:
        """Read a cohort (folder or manifest) in a worker, then show it."""
        prefetch = (
            self.prefetch
            if self.prefetch is not None and self.prefetch.path == Path(path)
            else None
        )

        def task(progress, cancelled):
            if prefetch is not None:
                try:
                    return prefetch.cohort.result()
                except Exception:  # noqa: BLE001 - read again below (see gui.prefetch)
                    log.warning("prefetching %s failed; reading it again", path)
            from corebt_viewer.io.manifest import read_cohort

            return read_cohort(path)

        worker = Worker(task, name=f"reading {Path(path).name}")
        worker.signals.finished.connect(lambda cohort: self.open_cohort(cohort, **kwargs))
        worker.signals.failed.connect(
            lambda msg, detail: show_error_dialog("Cannot open cohort", msg, detail)
        )
        self.workers.start(worker)

    def _load_review_status(self) -> None:
        """Review status per case from the cohort's review database, when there is one."""
        path = self.cohort.root / ".corebt" / "review.sqlite"
        if not path.exists():
            return
        try:
            from corebt_viewer.io.review_db import ReviewDB

            with ReviewDB(path) as db:
                reviews = db.reviews(self.cohort.ids)
            self.case_list.set_review_status({pid: r.status.title for pid, r in reviews.items()})
        except Exception as exc:  # noqa: BLE001 - the list works without it
            log.warning("review database %s: %s", path, exc)

    def _load_model(self, given_embeddings: dict | None = None) -> None:
        cohort, model_dir = self.cohort, self.model_dir

        def task(progress, cancelled):
            from corebt_viewer.core.progress import report

            report(progress, 0, 3, "checking the device", "model")
            device = describe_device()
            if not model_dir.is_dir() or not any(model_dir.iterdir()):
                return device, None, {}, {}
            from corebt_viewer.services.embedding import load_cohort_embeddings
            from corebt_viewer.services.fusion import load_model, model_profile

            report(progress, 1, 3, "loading the model", "model")
            predictor = load_model(model_dir)
            profile = model_profile(predictor)
            report(progress, 2, 3, f"loading cached embeddings ({profile.name})", "model")
            if given_embeddings is not None:
                embeddings = dict(given_embeddings)
            else:
                embeddings = load_cohort_embeddings(cohort=cohort, profile=profile)
            predictions = {}
            ready = [embeddings[pid] for pid in cohort.ids if pid in embeddings]
            for emb in ready:
                predictions[emb.patient_id] = predictor.predict(emb)
            return device, predictor, embeddings, predictions

        self.model_state = "loading"
        worker = Worker(task, name="loading the model")
        worker.signals.finished.connect(self._on_model_loaded)
        worker.signals.failed.connect(self._on_model_failed)
        worker.signals.progress.connect(self.activity.set_progress)
        self.workers.start(worker)

    def _on_model_loaded(self, result) -> None:
        device, predictor, embeddings, predictions = result
        self.device_label.setText(f"Device: {device}")
        self.predictor = predictor
        self.model_state = "ready" if predictor is not None else "none"
        self.embeddings = dict(embeddings)
        self._predictions.clear()
        for pid, pred in predictions.items():  # made in the loader: no UI-thread work
            self._predictions.add((pid, frozenset()), pred)
        if predictor is None:
            self.model_label.setText("No model")
            self.model_label.setToolTip(
                f"No model in {self.model_dir}: train one with `corebt train`"
            )
        else:
            self.model_label.setText(f"Model: {predictor.task} · {len(predictor.classes)} classes")
            self.model_label.setToolTip(str(self.model_dir))
        for pid, pred in predictions.items():
            self.case_list.set_prediction(pid, pred.predicted, pred.confidence)
        self.cohort_ready.emit()
        if self.case is not None:
            self._update_prediction()

    def _on_model_failed(self, message: str, detail: str) -> None:
        self.model_state = "failed"
        self.model_label.setText("Model failed")
        self.model_label.setToolTip(message)
        self.statusBar().showMessage(message, 15000)
        log.warning("model: %s\n%s", message, detail)
        if self.case is not None:
            self.prediction.clear(f"No prediction: {message}")
            self._done("prediction")
        self.cohort_ready.emit()

    # ------------------------------------------------------------------ case
    def open_case(self, patient_id: str) -> None:
        """Show a case: MRI, slides and report load in workers; the prediction is immediate."""
        if self.cohort is None:
            return
        if self.case is not None and self.case.patient_id != patient_id:
            if not self.mask_review.confirm_leave():  # unsaved mask edits: the user stays
                self.mask_review.stay_on(self.case.patient_id)
                return
        case = self.cohort[patient_id]
        self._generation += 1
        generation = self._generation
        self.case = case
        self.without = frozenset()
        self._pending = {"mri", "slides", "report", "prediction"}
        if self._embed_worker is not None:
            self._embed_worker.cancel()
            self._embed_worker = None
        if self.case_list.current_id() != patient_id:
            # no case_selected signal: it would re-enter here and load the case twice
            self.case_list.select(patient_id, notify=False)
        self.statusBar().showMessage(f"Case {patient_id}", 3000)
        # MRI
        if case.mri:
            self.mri.show_loading(f"Loading MRI of {patient_id}…")
            prefetched = self.prefetch.take_mri(patient_id) if self.prefetch is not None else None
            worker = Worker(load_mri_task(case, prefetched), name=f"loading MRI of {patient_id}")
            worker.signals.finished.connect(lambda r, g=generation: self._on_mri(g, r))
            worker.signals.failed.connect(lambda m, d, g=generation: self._on_mri_failed(g, m))
            self.workers.start(worker)
        else:
            self.mri.clear()
            self.mri.show_message(f"{patient_id} has no MRI.")
            self._done("mri")
        # slides
        self.slides.show_slides(case.slides, patient_id)
        # report
        if case.report is not None:
            self.report.set_report(None, message="Loading report…")
            worker = Worker(read_report_task(case.report), name="reading the report")
            worker.signals.finished.connect(lambda text, g=generation: self._on_report(g, text, ""))
            worker.signals.failed.connect(lambda m, d, g=generation: self._on_report(g, None, m))
            self.workers.start(worker)
        else:
            self.report.set_report(None, message=f"{patient_id} has no pathology report.")
            self._done("report")
        # prediction: in the next event-loop turn, so the window repaints in between
        usable = frozenset(self.predictor.modalities) if self.predictor is not None else None
        self.prediction.set_available(case.modalities, usable)
        QTimer.singleShot(0, lambda g=generation: self._deferred_prediction(g))

    def _deferred_prediction(self, generation: int) -> None:
        if generation == self._generation:
            self._update_prediction()

    def _on_mri(self, generation: int, result) -> None:
        if generation != self._generation:
            return
        study, windows, centre = result
        self.mri.show_study(study, self.case.patient_id, windows, centre=centre)

    def _on_mri_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.mri.clear()
        self.mri.show_message(f"Cannot show the MRI of {self.case.patient_id}:\n{message}")
        self._done("mri")

    def _on_report(self, generation: int, text: str | None, message: str) -> None:
        if generation != self._generation:
            return
        self.report.set_report(text, message=f"Cannot read the report:\n{message}")
        self._done("report")

    # ------------------------------------------------------------------ prediction
    def set_without(self, without: frozenset[Modality]) -> None:
        """Predict as if `without` were missing (the panel's boxes call this)."""
        self.without = frozenset(without)
        self._update_prediction()

    def _toggle_modality(self, modality: Modality) -> None:
        box = self.prediction.checks[modality]
        if box.isEnabled():
            box.toggle()

    def current_prediction(self):
        """Prediction of the open case with the current switches, or ``None``."""
        if self.case is None or self.predictor is None:
            return None
        embedding = self.embeddings.get(self.case.patient_id)
        if embedding is None:
            return None
        # switching a modality back and forth, or coming back to a case, costs nothing
        key = (self.case.patient_id, self.without)
        prediction = self._predictions.get(key)
        if prediction is None:
            prediction = self._predictions.add(
                key, self.predictor.predict(embedding, without=self.without)
            )
        return prediction

    def _predict_variants(self) -> None:
        """Predict the open case with each set of its modalities switched off, in a worker.

        Then switching modalities in the panel (the demo's heart) shows the result in
        the same frame, with no model run on the UI thread.
        """
        case, predictor = self.case, self.predictor
        embedding = self.embeddings.get(case.patient_id) if case is not None else None
        if embedding is None or predictor is None:
            return
        pid = case.patient_id
        switchable = sorted(self.prediction.available, key=lambda m: m.value)
        variants = [
            frozenset(off)
            for n in range(1, len(switchable))
            for off in itertools.combinations(switchable, n)
            if (pid, frozenset(off)) not in self._predictions
        ]
        if not variants:
            return

        def task(progress, cancelled):
            done = {}
            for off in variants:
                if cancelled():
                    break
                done[off] = predictor.predict(embedding, without=off)
            return done

        worker = Worker(task)  # no name: too short to show in the status bar
        worker.signals.finished.connect(
            lambda done, p=predictor: self._store_variants(p, pid, done)
        )
        self.workers.start(worker)

    def _store_variants(self, predictor, patient_id: str, done: dict) -> None:
        if predictor is not self.predictor:  # the model changed meanwhile
            return
        for off, prediction in done.items():
            self._predictions.add((patient_id, off), prediction)

    def _usable(self) -> frozenset[Modality]:
        embedding = self.embeddings.get(self.case.patient_id) if self.case is not None else None
        known = embedding.modalities if embedding is not None else frozenset()
        return known & frozenset(self.predictor.modalities) if self.predictor is not None else known

    def _update_prediction(self) -> None:
        case = self.case
        if case is None:
            return
        if self.predictor is None:
            loading = self.model_state == "loading"
            self.prediction.clear("Loading the model…" if loading else "No model for this cohort")
            if not loading:
                self._done("prediction")
            return
        if case.patient_id not in self.embeddings:
            self._embed_current()
            return
        if not (self._usable() - self.without):
            self.prediction.clear("Every modality is switched off: nothing to predict from")
            self._done("prediction")
            return
        try:
            prediction = self.current_prediction()
        except CoreBTError as exc:
            self.prediction.clear(f"No prediction: {exc}")
            self._done("prediction")
            return
        task = get_task(self.predictor.task)
        truth = task.class_name(case.labels.level1, case.labels.who_grade)
        self.prediction.show_prediction(prediction, true_label=truth, task_title=task.title)
        self.slides.set_overlays(self._slide_overlays(prediction))
        if not self.without:
            self.case_list.set_prediction(
                case.patient_id, prediction.predicted, prediction.confidence
            )
        self.prediction_shown.emit(prediction)
        self._done("prediction")
        if not self.without:
            self._predict_variants()

    def _slide_overlays(self, prediction) -> dict:
        embedding = self.embeddings.get(self.case.patient_id)
        parts = embedding.parts.get(Modality.WSI) if embedding is not None else None
        overlays: dict[int, tuple] = {}
        if parts is not None and parts.coords is not None and len(parts.coords):
            group = parts.group if parts.group is not None else np.zeros(len(parts.coords), int)
            for index in np.unique(group):
                coords = parts.coords[group == index]
                overlays[int(index)] = (L.tile_map(coords, np.ones(len(coords))), None)
        for tiles in getattr(prediction, "tile_contributions", ()) or ():
            if tiles.coords is None or len(tiles.coords) == 0:
                continue
            grid = overlays.get(tiles.group, (None, None))[0]
            size = grid.tile_size if grid is not None else None
            heat = L.tile_map(tiles.coords, tiles.values, size)
            overlays[tiles.group] = (
                grid or L.tile_map(tiles.coords, np.ones(len(tiles.coords)), size),
                heat,
            )
        return overlays

    def _embed_current(self) -> None:
        case, cohort, predictor = self.case, self.cohort, self.predictor
        self.prediction.clear(f"Embedding {case.patient_id}…")

        def task(progress, cancelled):
            from corebt_viewer.services.embedding import embed_case
            from corebt_viewer.services.fusion import model_profile

            return embed_case(
                cohort=cohort,
                case=case,
                profile=model_profile(predictor),
                progress=progress,
                cancel=cancelled,
            )

        worker = Worker(task, name=f"embedding {case.patient_id}")
        worker.signals.progress.connect(self.activity.set_progress)
        worker.signals.finished.connect(
            lambda emb, pid=case.patient_id: self._on_embedded(pid, emb)
        )
        worker.signals.failed.connect(
            lambda m, d, pid=case.patient_id: self._on_embed_failed(pid, m)
        )
        worker.signals.cancelled.connect(
            lambda pid=case.patient_id: self._on_embed_failed(pid, "cancelled")
        )
        self._embed_worker = self.workers.start(worker)

    def _on_embedded(self, patient_id: str, embedding) -> None:
        self.embeddings[patient_id] = embedding
        self._predictions.clear()
        if self.case is not None and self.case.patient_id == patient_id:
            self._update_prediction()

    def _on_embed_failed(self, patient_id: str, message: str) -> None:
        if self.case is not None and self.case.patient_id == patient_id:
            self.prediction.clear(f"No prediction: {message}")
            self._done("prediction")

    # ------------------------------------------------------------------ status
    def _start_model_load(self) -> None:
        if self._model_request is not None:
            (embeddings,) = self._model_request
            self._model_request = None
            self._load_model(embeddings)

    def _done(self, part: str) -> None:
        if part == "mri":
            self._start_model_load()
        if part in self._pending:
            self._pending.discard(part)
            if not self._pending and self.case is not None:
                self.case_ready.emit(self.case.patient_id)

    def is_case_ready(self) -> bool:
        return self.case is not None and not self._pending

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

    def show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(shortcuts_html())
        box.setModal(False)
        box.show()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About CoRe-BT Viewer",
            "<b>CoRe-BT Viewer</b><br>Brain-tumour typing from MRI, whole-slide pathology "
            "and the pathology report, after the CoRe-BT paper.<br>Research use only: "
            "not a medical device.",
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if not self.mask_review.confirm_close():  # unsaved mask edits: the user stays
            event.ignore()
            return
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
