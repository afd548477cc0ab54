"""The slide canvas: a whole-slide image as a lazy napari pyramid, in microns.

The slide is opened off the UI thread; its pyramid levels read 256-px tiles on demand
through one bounded, shared tile cache, and napari's asynchronous slicing keeps the reads
off the UI thread, so the overview shows at once and sharpens as you zoom.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.gui import layers as L
from corebt_viewer.gui.scheduler import StepRunner, UiScheduler
from corebt_viewer.gui.slide_overlays import SlideOverlays, placeholder_map
from corebt_viewer.gui.slide_stain import StainPreviewControl
from corebt_viewer.gui.widgets import (
    CanvasPane,
    MessagePane,
    PaneBar,
    plain_canvas_overlays,
)
from corebt_viewer.gui.workers import Worker, WorkerPool
from corebt_viewer.services.viewer_session import Latest

TILE_CACHE_BYTES = 128 * 1024 * 1024


def make_tile_cache(max_bytes: int = TILE_CACHE_BYTES):
    """The shared, byte-capped tile cache of :mod:`corebt_viewer.io.slides`."""
    from corebt_viewer.io.slides import TileCache

    try:
        return TileCache(max_bytes=max_bytes)
    except TypeError:  # positional-only signature
        return TileCache(max_bytes)


class SlideCanvas(CanvasPane, SlideOverlays):
    """napari canvas showing one of a case's slides with optional tile overlays.

    Signals
    -------
    slide_shown(str)
        Emitted with the slide's file name once its layer is on the canvas (or its
        error message is shown).
    """

    slide_shown = Signal(str)

    def __init__(
        self,
        workers: WorkerPool,
        parent: QWidget | None = None,
        tile_cache=None,
        scheduler: UiScheduler | None = None,
    ):
        super().__init__(parent)
        self.workers = workers
        self._make_canvas("Pathology")
        self.cache = tile_cache
        self.paths: tuple[Path, ...] = ()
        self.reader = None
        self.slide_layer = None
        self.grid_layer = None
        self.heat_layer = None
        #: by slide FILE name: (tissue tile map, contribution map), None where unknown
        self.overlays: dict[str, tuple[L.TileMap | None, L.TileMap | None]] = {}
        #: by slide file name: why the slide is left out of the prediction, or cannot open
        self.problems: dict[str, str] = {}
        self._retired: list = []
        self.tool_layers: list = []  # layers that keep the focus when overlays change
        self._latest = Latest()  # only the latest slide opened is shown (stale: closed)
        self._fit_pending = False
        self._fitted: tuple | None = None  # (canvas size, slide data) of the last fit
        self.steps = StepRunner(self, scheduler)
        self._build()
        plain_canvas_overlays(self.viewer)
        # keep a newly opened slide fitted while Qt settles the canvas size, until the user
        # pans or zooms (a hidden canvas only learns its size after it is shown)
        self.viewer.canvas.events.size.connect(self._on_canvas_resized)
        self.slide_shown.connect(self.stain.refresh)
        self.viewer.mouse_drag_callbacks.append(self._on_user_moves)
        self.viewer.mouse_wheel_callbacks.append(self._on_user_moves)
        self.show_message("No slide.")

    def _build(self) -> None:
        self.bar = bar = PaneBar()
        bar.addWidget(QLabel("<b>Pathology</b>"))
        self.chooser = QComboBox()
        self.chooser.setMinimumContentsLength(14)
        self.chooser.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.chooser.setToolTip("Slide of this case (PgUp / PgDn)")
        self.chooser.currentIndexChanged.connect(self._on_choose)
        bar.addWidget(self.chooser)
        self.grid_check = QCheckBox("Tiles")
        self.grid_check.setToolTip("Outline the tissue tiles the model read (G)")
        self.grid_check.toggled.connect(self._apply_overlays)
        self.heat_check = QCheckBox("Heat map")
        self.heat_check.setToolTip(
            "Per-tile contribution to the predicted class: red for, blue against (H)"
        )
        self.heat_check.setChecked(True)
        self.heat_check.toggled.connect(self._apply_overlays)
        # what does not fit goes to the bar's overflow menu, from the right: the overlays
        # before the slide's resolution (the scale bar shows it too)
        bar.addWidget(self.heat_check)
        bar.addWidget(self.grid_check)
        self.stain = StainPreviewControl(self, self.workers)
        bar.addWidget(self.stain.check)
        bar.addWidget(self.stain.label)
        bar.add_stretch()
        self.info = QLabel("")
        self.info.setStyleSheet("color: #9a9a9a;")
        bar.addWidget(self.info)
        self.stack = QStackedWidget()
        self.message = MessagePane()
        self.stack.addWidget(self.qt_viewer)
        self.stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(bar)
        layout.addWidget(self.stack, 1)

    def prepare_layers(self) -> None:
        """Create the slide and overlay layers now, hidden; slides then only swap data."""
        if self.slide_layer is None:
            self.slide_layer = self.viewer.add_image(
                L.blank_pyramid(),
                rgb=True,
                multiscale=True,
                contrast_limits=(0, 255),
                units=("um", "um"),
                visible=False,
            )
        if self.grid_layer is None:
            data, kwargs = L.tile_grid_layer(placeholder_map(), 1.0)
            self.grid_layer = self.viewer.add_labels(data, visible=False, **kwargs)
            self.grid_layer.contour = 1
        if self.heat_layer is None:
            data, kwargs = L.heatmap_layer(placeholder_map(), 1.0)
            self.heat_layer = self.viewer.add_image(data, visible=False, **kwargs)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    # ------------------------------------------------------------------ slides
    def show_slides(self, paths, case_id: str = "") -> None:
        """List a case's slides in the chooser and open the first one."""
        self._latest.drop()
        self.paths = tuple(Path(p) for p in paths)
        self.overlays = {}
        self.problems = {}
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for p in self.paths:
            self.chooser.addItem(p.name, str(p))
        self.chooser.blockSignals(False)
        self.chooser.setEnabled(len(self.paths) > 1)
        self.info.setText("")
        if not self.paths:
            self.blank()
            self.show_message(f"No slide for {case_id}." if case_id else "No slide.")
            self.slide_shown.emit("")
            # behind the message, in a step of its own: swapping the layer's data costs
            # tens of milliseconds of the UI thread, too much on top of a case switch
            self.steps.run([self._release_reader])
            return
        self.open_slide(0)

    def open_slide(self, index: int) -> None:
        if not 0 <= index < len(self.paths):
            return
        if self.chooser.currentIndex() != index:
            self.chooser.setCurrentIndex(index)  # re-enters through _on_choose
            return
        generation = self._latest.next()
        path = self.paths[index]
        self.blank()
        if self.stack.currentWidget() is self.qt_viewer:
            # keep the canvas up (hiding and re-showing it costs a full re-render)
            self.info.setText(f"Opening {path.name}…")
        else:
            self.show_message(f"Opening {path.name}…")

        def task(progress, cancelled):
            from corebt_viewer.io.slides import open_slide

            reader = open_slide(path)
            if self.cache is None:
                self.cache = make_tile_cache()
            levels, kwargs = L.slide_layer(reader, self.cache)
            # read the smallest level now, off the UI thread: napari needs it for the overview
            np.asarray(levels[-1])
            return reader, levels, kwargs

        worker = Worker(task, name=f"opening {path.name}")
        worker.signals.finished.connect(lambda r, g=generation, i=index: self._on_opened(g, i, r))
        worker.signals.failed.connect(
            lambda msg, _d, g=generation, p=path: self._on_failed(g, p, msg)
        )
        self.workers.start(worker)

    def _on_choose(self, index: int) -> None:
        if index >= 0:
            self.open_slide(index)

    def _on_opened(self, generation: int, index: int, result) -> None:
        """Put an opened slide on the canvas, in short UI-thread steps."""
        reader, levels, kwargs = result
        if not self._latest.is_current(generation):
            self._retire(reader)
            return
        old = self.reader
        self.reader = reader
        if old is not None and old is not reader:
            self._retire(old)

        def swap_step():
            self.hold_redraws(True)  # one frame when all is in place
            if self.slide_layer is None:
                self.slide_layer = self.viewer.add_image(levels, **kwargs)
            else:  # swapping data costs milliseconds; a new layer hundreds (and a gc pass)
                L.replace_image_data(self.slide_layer, levels, kwargs)

        def show_step():
            self._fit_pending = True
            self.stack.setCurrentWidget(self.qt_viewer)
            L.set_visible(self.slide_layer, True)

        def fit_step():  # tens of milliseconds (napari's reset_view): a step alone
            self.fit_view()

        def overlay_step():  # swapping the heat map's data: tens of ms, so a step alone
            self._fill_overlays()

        def finish_step():
            self._show_overlays()
            self._show_problem()
            w, h = reader.dimensions
            mpp = f"{reader.mpp:.3f} µm/px" if reader.mpp else "pixel size unknown"
            self.info.setText(mpp)
            self.info.setToolTip(
                f"{self.paths[index].name}\n{w:,} × {h:,} px at level 0 · "
                f"{reader.level_count} levels · {mpp} ({reader.mpp_source}) · {reader.vendor}"
            )
            self.hold_redraws(False)
            self.slide_shown.emit(self.paths[index].name)

        self.steps.run([swap_step, show_step, fit_step, overlay_step, finish_step])

    def fit_view(self) -> None:
        """Fit the slide to the canvas, now and again whenever the canvas is resized,
        until the user pans or zooms."""
        self._fit_pending = True
        self._fitted = None
        self._fit_now()
        QTimer.singleShot(0, self._fit_now)  # after Qt lays out the just-shown canvas

    def _fit_now(self) -> None:
        if self._fit_pending and self.slide_layer is not None and self.slide_layer.visible:
            fit = (tuple(self.viewer.canvas.size), id(self.slide_layer.data))
            if fit != self._fitted:  # the same slide in a canvas of the same size: done
                self._fitted = fit
                self.viewer.reset_view()

    def _on_canvas_resized(self, _event=None) -> None:
        if self._fit_pending:
            self._fit_now()

    def _on_user_moves(self, _viewer=None, _event=None) -> None:
        self._fit_pending = False

    def _on_failed(self, generation: int, path: Path, message: str) -> None:
        if not self._latest.is_current(generation):
            return
        self._drop_layers()
        self.set_problems({**self.problems, path.name: f"cannot open: {message}"})
        self.show_message(f"Cannot show slide {path.name}:\n{message}")
        self.slide_shown.emit(path.name)

    def _drop_layers(self) -> None:
        """Hide the layers (kept for reuse: removing a napari layer runs a full gc pass)
        and let go of the slide."""
        self.blank()
        self._release_reader()

    def _release_reader(self) -> None:
        """Take the slide's pyramid off its layer and close the slide a little later."""
        if self.slide_layer is not None and self.reader is not None:
            # let go of the reader's pyramid so no slicing thread reads a closed file
            L.replace_image_data(self.slide_layer, L.blank_pyramid(), {})
        if self.reader is not None:
            self._retire(self.reader)
            self.reader = None

    def _retire(self, reader) -> None:
        """Close a reader a little later: slicing threads may still be reading from it."""
        self._retired.append(reader)
        QTimer.singleShot(15_000, lambda r=reader: self._close(r))

    def _close(self, reader) -> None:
        if reader in self._retired:
            self._retired.remove(reader)
            try:
                reader.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def close_all(self) -> None:
        self._drop_layers()
        # let napari's asynchronous slicer finish reads in flight before the files close
        from corebt_viewer.gui._napari_compat import wait_for_slicing

        wait_for_slicing(self.viewer, timeout=5.0)
        for reader in list(self._retired):
            self._close(reader)
