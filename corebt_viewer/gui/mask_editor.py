"""The mask editor dock: correct a case's tumour mask safely, and review the case.

It edits the MRI canvas's labels layer in place (the layer's array *is* the
:class:`~corebt_viewer.services.mask_session.MaskSession`'s working labels), so napari's
own painting, undo and redo apply. This module assembles the parts: the tabs (``mask_edit_tab``,
``mask_tools``, ``mask_versions_tab``, ``mask_outputs_tab``, the review), the two-way layer
binding (``mask_binding``), the statistics (``mask_stats``) and the guard (``mask_guard``).
The state lives in Qt-free objects: the session, its edit history and the edit settings
(:mod:`corebt_viewer.services.mask_settings`). Every task runs on one worker pool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from corebt_viewer.gui import layers as L
from corebt_viewer.gui.mask_binding import LayerBinding
from corebt_viewer.gui.mask_edit_tab import EditTab
from corebt_viewer.gui.mask_guard import AUTOSAVE_MS, MaskGuard, Prompts
from corebt_viewer.gui.mask_outputs_tab import OutputsTab
from corebt_viewer.gui.mask_saving import SavingAndVersions
from corebt_viewer.gui.mask_stats import StatsScheduler, StatsTable
from corebt_viewer.gui.mask_tools import TOOLS, ToolsTab  # noqa: F401 - TOOLS re-exported
from corebt_viewer.gui.mask_versions_tab import VersionsTab
from corebt_viewer.gui.review_panel import ReviewPanel
from corebt_viewer.gui.task_runner import LatestOnly
from corebt_viewer.gui.workers import WorkerPool
from corebt_viewer.services import mask_editing as me
from corebt_viewer.services.mask_settings import EditSettings

MUTED, WARN, ERROR = "color: #9a9a9a;", "color: #ffb347;", "color: #ff6b6b;"


class MaskEditor(SavingAndVersions, QWidget):
    """Dock widget editing the open case's tumour mask.

    Parameters
    ----------
    prompts : Prompts, optional
        Who answers "unsaved edits?" and "restore?" (default: dialogs).
    autosave_ms : int
        Autosave period.
    workers : WorkerPool, optional
        The window's pool (default: a pool of the editor's own).

    Signals
    -------
    saved(object)
        A :class:`~corebt_viewer.services.review.SavedMask` (Ctrl+S).
    stats_shown(object)
        The :class:`~corebt_viewer.services.mask_editing.EditStats` now in the table.
    tool_applied(str, int)
        Tool name and voxels it changed (0: nothing to change).
    mask_created()
        "New mask" was chosen for a case without one (the canvas should show the layer).
    version_opened(str)
        A version was loaded into the working labels.
    summary_requested()
        "Export case summary" was pressed (the window gathers the prediction and slides).
    """

    saved = Signal(object)
    stats_shown = Signal(object)
    tool_applied = Signal(str, int)
    mask_created = Signal()
    version_opened = Signal(str)
    summary_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        autosave_ms: int = AUTOSAVE_MS,
        workers: WorkerPool | None = None,
    ):
        super().__init__(parent)
        self.session = None
        self.layer = None
        self.viewer = None
        self.binding: LayerBinding | None = None
        self._image_layer: Callable[[], object] = lambda: None
        self.db = None
        self.cohort_root: Path | None = None
        self.workers = workers if workers is not None else WorkerPool(self)
        self.settings = EditSettings()
        self.guard = MaskGuard(
            self, interval_ms=autosave_ms, prompts=prompts, runner=LatestOnly(self.workers)
        )
        self.guard.labels_replaced.connect(self._labels_replaced)
        self.guard.saved.connect(self._on_saved)
        self.guard.autosaved.connect(
            lambda p: self.state_label.setText(f"Autosaved {datetime.now():%H:%M:%S}")
        )
        self.guard.autosave_failed.connect(lambda m: self._say(f"Autosave failed: {m}", ERROR))
        self.last_stats: me.EditStats | None = None
        self.stats_ms: list[float] = []
        self.stats = StatsScheduler(LatestOnly(self.workers), self)
        self.stats.computed.connect(self._show_stats)
        self._build()
        self._set_enabled(False)

    # ================================================================== widgets
    def _build(self) -> None:
        self.setStyleSheet(
            "QToolButton:checked { background: #3b6ea8; color: white; border-radius: 3px; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(4)
        self.case_label = QLabel("No case open")
        self.case_label.setStyleSheet("font-weight: bold;")
        self.state_label = QLabel("")
        self.state_label.setStyleSheet(MUTED)
        self.state_label.setWordWrap(True)
        #: the BraTS convention of the open mask, and whether it was assumed
        self.convention_label = QLabel("")
        self.convention_label.setWordWrap(True)
        self.convention_label.setStyleSheet(MUTED)
        layout.addWidget(self.case_label)
        layout.addWidget(self.state_label)
        layout.addWidget(self.convention_label)

        self.edit_tab = EditTab(self.settings)
        self.edit_tab.undo_requested.connect(self.undo)
        self.edit_tab.redo_requested.connect(self.redo)
        self.intensity = self.edit_tab.intensity
        self.tools_tab = ToolsTab(LatestOnly(self.workers))
        self.tools_tab.target = self._tool_target
        self.tools_tab.applied.connect(self.tool_applied)
        self.versions_tab = VersionsTab()
        self.versions_tab.open_requested.connect(self.open_version)
        self.versions_tab.make_current_requested.connect(self.make_current)
        self.review = ReviewPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.edit_tab, "Edit")
        self.tabs.addTab(self.tools_tab, "Tools")
        self.tabs.addTab(self.versions_tab, "Versions")
        self.tabs.addTab(self.review, "Review")
        self.outputs_tab = OutputsTab()
        self.outputs_tab.summary_requested.connect(self.summary_requested)
        self.surfaces = self.outputs_tab.surfaces
        self.tabs.addTab(self.outputs_tab, "3D")
        self.tabs.setTabToolTip(4, "3D surfaces, mesh export and the case summary")
        layout.addWidget(self.tabs)
        self.stats_table = StatsTable()
        self.table = self.stats_table.table
        layout.addWidget(self.stats_table)

        save_row = QHBoxLayout()
        self.new_button = QPushButton("New mask")
        self.new_button.setToolTip("Start an empty mask for this case (it has none)")
        self.new_button.clicked.connect(self.new_mask)
        self.new_button.hide()
        self.save_button = QPushButton("Save version  (Ctrl+S)")
        self.save_button.setToolTip("Write the edits as a new version beside the original")
        self.save_button.clicked.connect(self.save)
        save_row.addWidget(self.new_button)
        save_row.addStretch(1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)
        # short names the window, tests and scripts use
        self.versions_list = self.versions_tab.list
        self.range_slider = self.intensity.slider
        self.islands_ml = self.tools_tab.islands_ml
        self.tool_status = self.tools_tab.status

    def _set_enabled(self, on: bool) -> None:
        self.edit_tab.setEnabled(on)
        self.tools_tab.setEnabled(on)
        self.save_button.setEnabled(on)

    def _say(self, text: str, style: str = MUTED) -> None:
        self.state_label.setText(text)
        if self.state_label.styleSheet() != style:  # a new style sheet re-polishes
            self.state_label.setStyleSheet(style)

    # ================================================================== binding
    def set_cohort(self, cohort_root: str | Path, case_ids: list[str], db=None) -> None:
        """Use the cohort's review database (opened here unless given)."""
        from corebt_viewer.io.review_db import ReviewDB

        if self.db is not None and db is not self.db:
            self.db.close()
        self.cohort_root = Path(cohort_root)
        self.db = db if db is not None else ReviewDB.for_cohort(cohort_root)
        self.review.set_database(self.db, case_ids)

    def bind(self, session, layer, *, viewer=None, image_layer=None) -> None:
        """Edit `session`'s labels through `layer` (its data becomes ``session.labels``).

        Parameters
        ----------
        session : MaskSession
        layer : napari Labels layer
            The canvas's mask layer; its undo history is cleared.
        viewer : ViewerModel, optional
            To make the layer active while editing and find the slice axis.
        image_layer : callable, optional
            Returns the image layer in view (for the intensity range).
        """
        self.unbind()
        self.session, self.layer, self.viewer = session, layer, viewer
        self._image_layer = image_layer or (lambda: None)
        if layer.data is not session.labels:
            L.set_labels_data(layer, session.labels)
        L.reset_labels_history(layer)
        self.settings.set("mode", "pan_zoom")
        self.binding = LayerBinding(
            layer,
            self.settings,
            session.history,
            on_labels_changed=self.stats.schedule,
            on_refused=lambda message: self._say(message, WARN),
        )
        self.settings.changed.connect(self._on_setting)
        session.history.changed.connect(self._update_state)  # the state line follows
        self.guard.watch(session)
        self.stats.watch(session)
        if viewer is not None:
            self.surfaces.set_target(viewer, layer, session.case_id, affine=session.affine)
        self.case_label.setText(f"Mask of {session.case_id}")
        self.convention_label.setText(
            f"{'⚠ ' if session.convention_assumed else ''}Labels: {session.convention_text}"
            if session.convention_text
            else ""
        )
        self.convention_label.setStyleSheet(WARN if session.convention_assumed else MUTED)
        self.review.show_case(session.case_id)
        self.guard.offer_recovery()
        has_mask = session.location.has_original or session.base is not None
        blank = not has_mask and not session.has_unsaved_edits
        self.new_button.setVisible(blank)
        self._set_enabled(not blank)
        if blank:
            self._say("No mask yet")
        else:
            self._update_state()
        if self.guard.recovery_problem:
            self._say(self.guard.recovery_problem, ERROR)
        self.intensity.attach(layer, self._image_layer)
        self.refresh_versions()
        self.stats.schedule(now=True)

    def unbind(self) -> None:
        """Stop editing the current layer (the layer itself is left to its canvas)."""
        self.review.commit()
        self.intensity.detach()
        if self.session is not None:
            self.session.history.changed.disconnect(self._update_state)
        if self.binding is not None:
            self.settings.changed.disconnect(self._on_setting)
            self.binding.release()  # the layer goes back to pan/zoom
            self.binding = None
            self.settings.set("mode", "pan_zoom")
        self.surfaces.remove_surfaces()
        self.guard.watch(None)
        self.stats.watch(None)
        self.session = None
        self.layer = None
        self._set_enabled(False)
        self.case_label.setText("No case open")
        self.convention_label.setText("")
        self.review.show_case(None)

    def confirm_leave(self) -> bool:
        """True when the open case may be left (asks about unsaved edits)."""
        self.review.commit()
        return self.guard.confirm_leave()

    # ================================================================== editing settings
    def set_label(self, label: int) -> None:
        self.edit_tab.choose_label(int(label))

    def selected_label(self) -> int:
        return int(self.settings.label)

    def set_mode(self, mode: str) -> None:
        self.settings.set("mode", mode)

    def set_brush_size(self, size: int) -> None:
        self.settings.set("brush_size", size)

    def set_3d(self, on: bool) -> None:
        self.settings.set("edit_3d", on)

    def set_preserve(self, on: bool) -> None:
        self.settings.set("preserve_labels", on)

    def _on_setting(self, name: str, value) -> None:
        """The active layer follows the mode: the mask while editing, the image otherwise."""
        if name != "mode" or self.viewer is None or self.layer is None:
            return
        if value != "pan_zoom":
            self.viewer.layers.selection.active = self.layer
        else:
            image = self._image_layer()
            if image is not None:
                self.viewer.layers.selection.active = image

    @property
    def limit(self):
        """The intensity limit on the layer's strokes (None: not limited)."""
        return self.intensity.limit

    def set_intensity_limit(self, on: bool) -> None:
        """Limit paint and fill to the range of the slider in the sequence in view."""
        self.intensity.set_on(on)

    def refresh_intensity_source(self) -> None:
        self.intensity.refresh_source()

    def set_intensity_range(self, low: float, high: float) -> None:
        self.intensity.set_range(low, high)

    # ================================================================== edits
    def undo(self) -> None:
        if self.binding is not None:
            self.binding.undo()

    def redo(self) -> None:
        if self.binding is not None:
            self.binding.redo()

    def _labels_replaced(self) -> None:
        """Labels changed outside the layer (restore, discard, open a version)."""
        if self.layer is not None:
            L.reset_labels_history(self.layer)
            self.layer.refresh()
        self._update_state()
        self.stats.schedule(now=True)

    def _update_state(self) -> None:
        session = self.session
        if session is None:
            self._say("")
            return
        base = session.base.label if session.base is not None else "new mask"
        if session.has_unsaved_edits:
            edits = session.history.edits
            count = (
                f"{edits} unsaved edit{'s' if edits != 1 else ''}" if edits > 0 else "unsaved edits"
            )
            self._say(f"● {count} (from {base})", WARN)
        else:
            self._say(f"{base} · saved")

    # ================================================================== statistics
    def refresh_stats_now(self) -> me.EditStats | None:
        """Compute and show the table on the UI thread (tests, screenshots)."""
        return self.stats.compute_now()

    def _show_stats(self, stats: me.EditStats, ms: float) -> None:
        self.stats_ms.append(ms)
        self.last_stats = stats
        self.stats_table.show_stats(stats)
        self.stats_shown.emit(stats)

    # ================================================================== tools
    def _slice_axis(self) -> int:
        """Axis across the slices in view (2, axial, without a viewer or in 3D)."""
        if self.viewer is None or self.viewer.dims.ndisplay == 3:
            return 2
        return int(self.viewer.dims.order[0])

    def _tool_target(self) -> tuple:
        return self.session, self.layer, self.selected_label(), self._slice_axis()

    def apply_tool(self, name: str) -> None:
        """Run a tool in a worker; its result lands as one undoable step."""
        self.tools_tab.run(name)

    def shutdown(self) -> None:
        """Window closing: save the review, stop autosaving, close the database."""
        self.stats.watch(None)
        self.review.commit()
        self.guard.stop()
        if self.db is not None:
            self.db.close()
            self.db = None
