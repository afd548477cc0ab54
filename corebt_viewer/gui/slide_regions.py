"""Region annotations on the slide canvas: the dock, the Shapes layer, the files.

:class:`SlideRegions` puts a "Slide regions" dock beside the prediction, a Shapes layer on
the slide canvas bound to a Qt-free
:class:`~corebt_viewer.services.slide_regions_session.SlideRegionsSession`, and does the
file work: when a slide is shown its newest annotation version loads (and autosaved edits
come back as unsaved edits); edits autosave every few seconds to a recovery file; Save
writes the next version (QuPath GeoJSON, atomic); leaving a slide with unsaved edits saves
them as a version first, so no edit is lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qtpy.QtCore import QObject, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFileDialog, QInputDialog

from corebt_viewer.core.annotations import RegionClass
from corebt_viewer.core.errors import InputError
from corebt_viewer.gui.mask_guard import AUTOSAVE_MS
from corebt_viewer.gui.scheduler import StepRunner
from corebt_viewer.gui.slide_regions_layer import RegionsLayerSync
from corebt_viewer.gui.slide_regions_panel import TOOLS, SlideRegionsPanel
from corebt_viewer.services.slide_regions_session import SlideRegionsSession, load_slide_regions

log = logging.getLogger("corebt_viewer.gui")

#: Colours for classes the user adds (after the default list's).
EXTRA_COLOURS = ((0, 160, 200), (230, 120, 0), (160, 80, 40), (255, 90, 200), (90, 90, 255))


class SlideRegions(QObject):
    """Region drawing on a :class:`~corebt_viewer.gui.main_window.MainWindow`'s slide canvas."""

    def __init__(self, window, *, autosave_ms: int = AUTOSAVE_MS):
        super().__init__(window)
        self.window = window
        self.canvas = window.slides
        self.session = SlideRegionsSession()
        self.panel = SlideRegionsPanel()
        self.layer = None
        self.sync: RegionsLayerSync | None = None
        self.dock = QDockWidget("Slide regions", window)
        self.dock.setObjectName("Slide regions")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.tabifyDockWidget(window.prediction_dock, self.dock)
        window.prediction_dock.raise_()

        panel = self.panel
        panel.set_classes(self.session.classes, self.session.current_class)
        panel.tool_chosen.connect(self.set_tool)
        panel.class_chosen.connect(self.set_class)
        panel.rows_selected.connect(self.select_regions)
        panel.add_class_button.clicked.connect(self.add_class)
        panel.undo_button.clicked.connect(self.undo)
        panel.redo_button.clicked.connect(self.redo)
        panel.delete_button.clicked.connect(self.delete_selected)
        panel.save_button.clicked.connect(self.save)
        panel.import_button.clicked.connect(self.choose_import)
        panel.brush_size.valueChanged.connect(self._on_brush_size)
        self.session.on_change(self._on_change)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave_in_background)
        self._autosaved = None  # the regions the last background autosave wrote
        self.autosave_timer.start()
        self._loading: tuple | None = None  # (case id, slide path) being loaded
        self.canvas.slide_shown.connect(self._on_slide_shown)
        window.session.events.case_changed.connect(self._on_case_changed)
        self._refresh()

    # ------------------------------------------------------------------ the layer
    def _ensure_layer(self):
        if self.layer is None:
            self.canvas.prepare_layers()  # the slide and its overlays stay below
            self.layer = self.canvas.viewer.add_shapes(name="Regions", ndim=2, visible=False)
            self.layer.bind_key("Control-z", lambda _layer: self.undo(), overwrite=True)
            self.layer.bind_key("Control-Shift-z", lambda _layer: self.redo(), overwrite=True)
            runner = StepRunner(self, scheduler=self.window.scheduler)  # large rebuilds
            self.sync = RegionsLayerSync(
                self.layer, self.session, notify=self.notify, runner=runner
            )
            tool_layers = getattr(self.canvas, "tool_layers", None)
            if tool_layers is not None:
                tool_layers.append(self.layer)
        return self.layer

    def _place_layer(self, mpp: float | None) -> None:
        """The slide's scale, and half a pixel up-left: data coordinates are QuPath's
        level-0 pixel coordinates."""
        step = float(mpp) if mpp else 1.0
        layer = self._ensure_layer()
        layer.scale = (step, step)
        layer.translate = (-step / 2, -step / 2)

    def set_tool(self, tool: str) -> None:
        """Choose a tool of :data:`~corebt_viewer.gui.slide_regions_panel.TOOLS`."""
        mode = {t: m for t, _text, m, _a in TOOLS}[tool]
        self.panel.set_tool(tool)
        if self.layer is None or not self.layer.visible:
            self.notify("No slide to draw on")
            return
        self.canvas.viewer.layers.selection.active = self.layer
        self.sync.set_mode(mode)  # napari's mode switch turns mouse panning back on
        self.sync.set_brush(self.brush_radius_px() if tool == "brush" else None)
        self.canvas.qt_viewer.canvas.native.setFocus()

    def brush_radius_px(self) -> float:
        """Half the brush width, in level-0 pixels."""
        mpp = self.session.mpp or 1.0
        return self.panel.brush_size.value() / 2 / mpp

    def _on_brush_size(self, _value: float) -> None:
        if self.sync is not None and self.sync.brush_radius:
            self.sync.set_brush(self.brush_radius_px())

    # ------------------------------------------------------------------ slides and cases
    def _on_case_changed(self, _case) -> None:
        self.save_if_dirty("leaving the case")

    def _on_slide_shown(self, name: str) -> None:
        canvas, session = self.canvas, self.window.session
        index = canvas.chooser.currentIndex()
        path = canvas.paths[index] if 0 <= index < len(canvas.paths) else None
        shown = (
            path is not None
            and canvas.reader is not None
            and canvas.slide_layer is not None
            and canvas.slide_layer.visible
            and session.case is not None
            and session.cohort is not None
        )
        self.save_if_dirty("leaving the slide")  # also when the same slide opens again
        if not shown:
            self.session.set_slide(cohort_root=None, case_id="", slide=None, mpp=None)
            if self.layer is not None:
                self.layer.visible = False
            self._refresh()
            return
        case_id, root, mpp = session.case.patient_id, session.cohort.root, canvas.reader.mpp
        self._place_layer(mpp)
        self.layer.visible = False  # the previous slide's regions never show on this one
        self.session.set_slide(cohort_root=None, case_id="", slide=None, mpp=None)
        self._loading = (case_id, path)
        self.panel.status.setText(f"Loading the regions of {path.name}…")

        def task(progress, cancelled):
            return load_slide_regions(
                cohort_root=root, case_id=case_id, slide=path, classes=self.session.classes
            )

        self.window.workers.submit(
            task,
            name=f"loading the regions of {path.name}",
            key="slide-regions",
            done=lambda found: self._on_loaded(root, case_id, path, mpp, found),
            failed=lambda message, _d: self._on_load_failed(root, case_id, path, mpp, message),
        )

    def _on_loaded(self, root, case_id, path, mpp, found) -> None:
        if self._loading != (case_id, path):
            return
        self._loading = None
        annotations, version, autosaved, notes = found
        self.session.set_slide(
            cohort_root=root,
            case_id=case_id,
            slide=path,
            mpp=mpp,
            annotations=annotations or _empty(self.session.classes),
            version=version,
        )
        if autosaved is not None:
            editor = self.session.editor
            with editor.group("restore autosave"):
                if autosaved.classes != editor.classes:
                    editor.set_classes(autosaved.classes)
                if editor.regions:
                    editor.delete([r.id for r in editor.regions])
                for region in autosaved.regions:
                    editor.add(region)
            notes.append("unsaved region edits were restored from the autosave (Save keeps them)")
        self.layer.visible = True
        self._on_brush_size(0.0)  # the brush's width in this slide's pixels
        for note in notes:
            self.notify(note)

    def _on_load_failed(self, root, case_id, path, mpp, message: str) -> None:
        if self._loading != (case_id, path):
            return
        self._loading = None
        # the newest version cannot be read: start empty, but never save over it unasked
        self.session.set_slide(cohort_root=root, case_id=case_id, slide=path, mpp=mpp)
        self.layer.visible = True
        self.notify(f"Cannot read the regions of {path.name}: {message}")

    # ------------------------------------------------------------------ edits
    def _on_change(self, _label: str = "") -> None:
        self._refresh()

    def _refresh(self) -> None:
        session, panel = self.session, self.panel
        panel.model.set_rows(session.rows())
        panel.set_classes(session.classes, session.current_class)
        editor = session.editor
        panel.undo_button.setEnabled(editor.can_undo)
        panel.redo_button.setEnabled(editor.can_redo)
        panel.save_button.setEnabled(session.has_slide)
        panel.import_button.setEnabled(session.has_slide)
        if not session.has_slide:
            panel.status.setText("No slide.")
            return
        parts = [f"{len(session.regions)} region(s)"]
        parts.append(f"version {session.version}" if session.version else "never saved")
        if session.dirty:
            parts.append("unsaved edits (autosaved)")
        if not session.mpp:
            parts.append("pixel size unknown: no areas")
        panel.status.setText(" · ".join(parts))

    def set_class(self, name: str) -> None:
        """The class of the next region, and of the selected regions."""
        session = self.session
        session.set_current_class(name)
        ids = self.sync.selected_ids() if self.sync is not None else []
        if ids:
            with session.editor.group("class"):
                for region_id in ids:
                    if session.editor.annotations.region(region_id).class_name != name:
                        session.editor.edit(region_id, class_name=name, color=None)
        if self.sync is not None:
            self.sync.set_drawing_class(name)
        self._refresh()

    def next_class(self) -> None:
        names = [c.name for c in self.session.classes]
        current = self.session.current_class
        following = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        self.set_class(following)

    def add_class(self) -> None:
        name, ok = QInputDialog.getText(self.panel, "Add a region class", "Class name:")
        if ok and name.strip():
            self.add_class_named(name.strip())

    def add_class_named(self, name: str) -> None:
        classes = self.session.classes
        if any(c.name == name for c in classes):
            self.notify(f"The class list has {name!r} already")
            return
        colour = EXTRA_COLOURS[len(classes) % len(EXTRA_COLOURS)]
        self.session.editor.set_classes((*classes, RegionClass(name, colour)))
        self.set_class(name)

    def select_regions(self, ids: list[str]) -> None:
        if self.sync is None:
            return
        wanted = set(ids)
        self.layer.selected_data = {
            i for i, owner in enumerate(self.sync.owners) if owner[0] in wanted
        }

    def delete_selected(self) -> None:
        ids = self.sync.selected_ids() if self.sync is not None else []
        if not ids:
            self.notify("Select regions to delete (Select tool, or rows of the table)")
            return
        self.session.editor.delete(ids)

    def undo(self) -> None:
        if not self.session.editor.undo():
            self.notify("Nothing to undo in the regions")

    def redo(self) -> None:
        if not self.session.editor.redo():
            self.notify("Nothing to redo in the regions")

    # ------------------------------------------------------------------ files
    def save(self):
        """Save the regions as the slide's next version; returns it (``None``: no slide)."""
        if not self.session.has_slide:
            self.notify("No slide to save regions of")
            return None
        try:
            saved = self.session.save()
        except OSError as exc:
            self.notify(f"Cannot save the regions: {exc}")
            return None
        self.notify(f"Regions saved: {saved.path.name}")
        self._refresh()
        return saved

    def save_if_dirty(self, why: str) -> None:
        if self.session.has_slide and self.session.dirty:
            log.info("saving region edits (%s)", why)
            self.save()

    def autosave_in_background(self):
        """The timer's autosave: the edits not yet autosaved, written in a worker (500
        regions are a 1 MB file: 30-300 ms that froze the window every few seconds)."""
        snapshot = self.session.autosave_snapshot()
        if snapshot is None or snapshot.annotations is self._autosaved:
            return None
        self._autosaved = snapshot.annotations
        session = self.session

        def task(progress, cancelled):
            return session.write_autosave(snapshot)

        def failed(message: str, _detail) -> None:
            self._autosaved = None  # try again at the next tick
            self.notify(f"Cannot autosave the regions: {message}")

        return self.window.workers.submit(
            task, name=f"autosaving the regions of {snapshot.path.name}", failed=failed
        )

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.panel, "Import QuPath GeoJSON", "", "GeoJSON (*.geojson *.json)"
        )
        if path:
            self.import_file(path)

    def import_file(self, path: str | Path) -> list[str]:
        """Add a QuPath GeoJSON export's regions (one undo step); returns the report lines."""
        if not self.session.has_slide:
            self.notify("Open a slide before importing regions")
            return []
        try:
            lines = self.session.import_geojson(path)
        except InputError as exc:
            self.notify(str(exc))
            return [str(exc)]
        self.notify(f"Imported {Path(path).name}: " + "; ".join(lines))
        return lines

    def close(self) -> None:
        """Before the window closes: unsaved edits become a version."""
        self.autosave_timer.stop()
        self.save_if_dirty("closing")

    def notify(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)
        self.panel.status.setToolTip(text)
        log.info("%s", text)


def _empty(classes):
    from corebt_viewer.core.annotations import SlideAnnotations

    return SlideAnnotations(classes=classes)
