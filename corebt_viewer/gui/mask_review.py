"""Wire the mask editor into the main window: dock, case switching, closing, summary.

:class:`MaskReview` owns the "Mask and review" dock (a tab beside the prediction). When the MRI canvas has shown a case it
opens the case's :class:`~corebt_viewer.services.mask_session.MaskSession` in a worker and
binds it to the canvas's labels layer; before the window switches case or closes it asks
about unsaved edits (through the editor's guard); it keeps the case list's review column
in step and exports the case summary.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qtpy.QtCore import QObject, QSignalBlocker, Qt, Signal
from qtpy.QtWidgets import QDockWidget, QFileDialog, QFrame, QScrollArea, QTabWidget

from corebt_viewer.gui.mask_editor import MaskEditor
from corebt_viewer.gui.mask_guard import AUTOSAVE_MS, Prompts
from corebt_viewer.gui.workers import Worker

log = logging.getLogger("corebt_viewer.gui")


class MaskReview(QObject):
    """The mask editor docked in a :class:`~corebt_viewer.gui.main_window.MainWindow`.

    Signals
    -------
    session_bound(str)
        The case whose mask is now editable.
    summary_written(list)
        Paths of an exported case summary.
    """

    session_bound = Signal(str)
    summary_written = Signal(list)

    def __init__(self, window, *, prompts: Prompts | None = None, autosave_ms: int = AUTOSAVE_MS):
        super().__init__(window)
        self.window = window
        self.editor = MaskEditor(
            window, prompts=prompts, autosave_ms=autosave_ms, workers=window.workers
        )
        self.dock = QDockWidget("Mask and review", window)
        self.dock.setObjectName("Mask and review")
        scroll = QScrollArea()  # small screens scroll; the dock never widens the window
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.editor)
        self.dock.setWidget(scroll)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        # a tab beside the prediction: the canvases keep their width
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.tabifyDockWidget(window.prediction_dock, self.dock)
        window.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.North)
        window.prediction_dock.raise_()
        self._generation = 0
        self._cohort_root: Path | None = None
        window.mri.study_shown.connect(self._on_study_shown)
        self.editor.saved.connect(self._on_saved)
        self.editor.review.review_changed.connect(self._on_review_changed)
        self.editor.review.next_case_requested.connect(self.go_to_case)
        self.editor.mask_created.connect(self._on_mask_created)
        self.editor.summary_requested.connect(lambda: self.export_summary())
        for button in window.mri.sequence_buttons.values():  # the paint limit follows the view
            button.clicked.connect(self.editor.refresh_intensity_source)

    # ------------------------------------------------------------------ cases
    def _ensure_cohort(self) -> None:
        cohort = self.window.cohort
        if cohort is not None and cohort.root != self._cohort_root:
            self._cohort_root = cohort.root
            self.editor.set_cohort(cohort.root, list(cohort.ids))

    def _on_study_shown(self, case_id: str) -> None:
        window = self.window
        case = window.case
        if case is None or case.patient_id != case_id or window.mri.labels_layer is None:
            return
        if not window.mri.present:  # no MRI could be shown: nothing to edit
            self.editor.unbind()
            return
        self._ensure_cohort()
        self._generation += 1
        generation = self._generation
        root, db, author = window.cohort.root, self.editor.db, self.editor.review.reviewer

        def task(progress, cancelled):
            from corebt_viewer.services.mask_session import MaskSession

            return MaskSession(cohort_root=root, case=case, author=author, db=db)

        worker = Worker(task, name=f"opening the mask of {case_id}")
        worker.signals.finished.connect(lambda s, g=generation: self._bind(g, s))
        worker.signals.failed.connect(
            lambda message, _d: self.editor.state_label.setText(f"Mask not editable: {message}")
        )
        window.workers.start(worker)

    def _bind(self, generation: int, session) -> None:
        window = self.window
        if (
            generation != self._generation
            or window.case is None
            or window.case.patient_id != session.case_id
            or window.mri.case_id != session.case_id
        ):
            return
        mri = window.mri
        self.editor.bind(
            session,
            mri.labels_layer,
            viewer=mri.viewer,
            image_layer=lambda: mri.image_layers.get(mri.sequence),
        )
        window.session.mask = session  # the case session holds the open mask session
        if session.has_unsaved_edits:  # restored after a crash: show the mask
            self._on_mask_created()
        self.session_bound.emit(session.case_id)

    def confirm_leave(self) -> bool:
        """Before opening another case: False keeps the current one (the user stayed)."""
        if not self.editor.confirm_leave():
            return False
        self._generation += 1
        self.editor.unbind()
        self.window.session.mask = None
        return True

    def stay_on(self, patient_id: str) -> None:
        """Select `patient_id` again in the case list without reopening it."""
        with QSignalBlocker(self.window.case_list):
            self.window.case_list.select(patient_id)

    def confirm_close(self) -> bool:
        """Before the window closes: False cancels the close."""
        if not self.editor.confirm_leave():
            return False
        self._generation += 1  # a mask still being opened is dropped when it arrives
        self.editor.unbind()
        self.editor.shutdown()
        return True

    def sequence_changed(self) -> None:
        """Keys 1-4 switched the sequence in view."""
        self.editor.refresh_intensity_source()

    def go_to_case(self, patient_id: str) -> None:
        self.window.case_list.select(patient_id)

    def save(self):
        """Ctrl+S."""
        saved = self.editor.save()
        if saved is not None:
            self.window.statusBar().showMessage(
                f"Saved {saved.version.path.name} ({saved.voxels_changed:,} voxels changed "
                "against the original)",
                8000,
            )
        return saved

    def next_case_to_review(self) -> str | None:
        return self.editor.review.go_next()

    # ------------------------------------------------------------------ canvas and list
    def _on_mask_created(self) -> None:
        self.window.mri.show_new_mask()

    def _on_saved(self, saved) -> None:
        session = self.editor.session
        if session is not None:
            self._on_review_changed(session.case_id, self.editor.review.status().title)
            self.window.session.mask_saved(session.case_id)  # re-embed and re-predict

    def _on_review_changed(self, case_id: str, title: str) -> None:
        self.window.session.set_review_status({case_id: title})

    # ------------------------------------------------------------------ outputs
    def show_surfaces(self) -> None:
        self.editor.surfaces.show_surfaces()

    def export_meshes(self) -> None:
        self.editor.surfaces.choose_export()

    def export_summary(self, out: str | Path | None = None) -> Worker | None:
        """Write the open case's one-page summary (asks where unless `out` is given)."""
        from corebt_viewer.gui.case_summary import summary_task

        window = self.window
        case = window.case
        if case is None:
            return None
        if out is None:
            path, _ = QFileDialog.getSaveFileName(
                window, "Export case summary", f"{case.patient_id}_summary.pdf", "PDF (*.pdf)"
            )
            if not path:
                return None
            out = path
        mri = window.mri
        image = mri.image_layers.get(mri.sequence)
        present = mri.sequence in mri.present and image is not None
        mask = mri.labels_layer.data if mri.has_mask and mri.labels_layer is not None else None
        try:
            prediction = window.current_prediction()
        except Exception:  # noqa: BLE001 - the page is drawn without the prediction
            prediction = None
        review = self.editor.review
        task = summary_task(
            case=case,
            out=out,
            mri=image.data if present else None,
            mask=mask if present else None,
            voxel_size=tuple(abs(float(s)) for s in image.scale) if present else None,
            sequence_name=mri.sequence.title if present else "",
            prediction=prediction,
            review=review.status().title if review.case_id == case.patient_id else "",
            notes=review.notes_edit.toPlainText() if review.case_id == case.patient_id else "",
            slide_problems=window.slides.problems,
        )
        worker = Worker(task, name=f"case summary of {case.patient_id}")
        worker.signals.finished.connect(self._on_summary)
        worker.signals.failed.connect(
            lambda message, _d: window.statusBar().showMessage(f"Summary failed: {message}", 15000)
        )
        window.workers.start(worker)
        return worker

    def _on_summary(self, paths) -> None:
        paths = [Path(p) for p in paths]
        names = ", ".join(p.name for p in paths)
        self.window.statusBar().showMessage(f"Case summary written: {names}", 10000)
        self.summary_written.emit(paths)
