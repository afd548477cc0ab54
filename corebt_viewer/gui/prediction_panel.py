"""The prediction panel: class probabilities, modality weights, contributions, ablation.

It shows a :class:`~corebt_viewer.core.prediction.CasePrediction` exactly as the fusion
service returned it; the MRI / Pathology / Report boxes ask the owner (the main window)
for a new prediction with those modalities treated as missing.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from qtpy.QtCore import Qt, QThreadPool, Signal
from qtpy.QtGui import QBrush, QColor, QImage, QPixmap
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.lru import LRUCache
from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.gui.workers import Worker

MODALITY_TITLES = {Modality.MRI: "MRI", Modality.WSI: "Pathology", Modality.REPORT: "Report"}
TERM_TITLES = {"mri": "MRI", "wsi": "Pathology", "report": "Report", "residual": "Bias"}
BACKGROUND = "#262930"
FOREGROUND = "#d6d6d6"
PLOT_CACHE = 32  # rendered plots kept (a case has at most 7 subsets of modalities)
ACCENT = "#e8a33d"
BAR = "#5a8fd0"


def subset_title(modalities) -> str:
    names = [MODALITY_TITLES[m] for m in ALL_MODALITIES if m in modalities]
    return " + ".join(names) if names else "none"


def short_class(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def abbreviate_class(name: str) -> str:
    """Compact class name for narrow columns (``"GBM / IDH-wt HGG"`` -> ``"GBM"``)."""
    head = name.split(" / ")[0].strip()
    replacements = {
        "IDH-mutant Astrocytoma": "IDH-mut astro",
        "Oligodendroglioma": "Oligodendro",
        "Other glioma": "Other",
        "Circumscribed Astrocytic Glioma": "Circumscribed",
        "Glioneuronal": "Glioneuronal",
        "Pediatric Diffuse Astrocytoma": "Ped. diffuse",
    }
    return replacements.get(head, short_class(head, 16))


def subset_short(modalities) -> str:
    names = {Modality.MRI: "MRI", Modality.WSI: "Path", Modality.REPORT: "Rep"}
    parts = [names[m] for m in ALL_MODALITIES if m in modalities]
    return "+".join(parts) if parts else "none"


class PlotLabel(QLabel):
    """Shows a rendered plot; tells when its size changes so the plot can be redrawn."""

    resized = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setStyleSheet(f"background: {BACKGROUND};")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.resized.emit()


class RenderedPlot(NamedTuple):
    """A plot drawn for a prediction, and its bar lengths (as drawn)."""

    prediction: object
    pixmap: object  # QPixmap (made on the UI thread)
    values: dict


class PredictionPanel(QWidget):
    """Class probabilities, weights ``w_i``, each term's contribution and the ablation table.

    Signals
    -------
    without_changed(frozenset)
        The modalities the user switched off.
    """

    without_changed = Signal(object)
    plot_rendered = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.prediction = None
        self.available: frozenset[Modality] = frozenset()
        self._prob_layout: tuple = ()
        self._term_layout: tuple = ()
        self.probability_bars: list = []
        self.term_bars: list = []
        self.headline = QLabel("No prediction")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-size: 14px; font-weight: bold; color: #f0c060;")
        self.subline = QLabel("")
        self.subline.setWordWrap(True)
        self.subline.setStyleSheet("color: #a8a8a8;")
        self.checks: dict[Modality, QCheckBox] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Use:"))
        for modality in ALL_MODALITIES:
            box = QCheckBox(MODALITY_TITLES[modality])
            box.setChecked(True)
            box.toggled.connect(self._on_toggle)
            row.addWidget(box)
            self.checks[modality] = box
        row.addStretch(1)

        self.figure = Figure(figsize=(4.2, 3.6), dpi=90, facecolor=BACKGROUND)
        self.figure.subplots_adjust(left=0.04, right=0.97, top=0.94, bottom=0.07, hspace=0.75)
        self.ax_probs = self.figure.add_subplot(3, 1, (1, 2))
        self.ax_terms = self.figure.add_subplot(3, 1, 3)
        # matplotlib renders in a worker thread (text layout costs tens of milliseconds);
        # the UI thread only shows the finished image
        self._agg = FigureCanvasAgg(self.figure)
        self.canvas = PlotLabel()
        self.canvas.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.canvas.setMinimumHeight(240)
        self.canvas.resized.connect(lambda: self._request_render())
        self.rendered = None  # the prediction the plot shows
        #: the bar lengths in the plot shown: {"probabilities": [...], "terms": [...]}
        self.plotted: dict[str, list[float]] = {}
        self._render_lock = threading.Lock()
        self._render_job = None  # (prediction, true_label, generation, size)
        self._rendering = False
        self._render_workers: set = set()
        self._render_generation = 0
        self._true_label = None
        #: (prediction id, true label, size) -> RenderedPlot: switching a modality back
        #: shows its plot in the same frame as the text, with no render
        self._pixmaps: LRUCache = LRUCache(PLOT_CACHE)

        self.ablation = QTableWidget(0, 3)
        self.ablation.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ablation.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.ablation.verticalHeader().setVisible(False)
        self.ablation.setMinimumHeight(120)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.headline)
        layout.addWidget(self.subline)
        layout.addLayout(row)
        layout.addWidget(self.canvas, 3)
        ablation_title = QLabel(
            "<b>Ablation</b>: the prediction with each subset of the available modalities"
        )
        ablation_title.setWordWrap(True)
        layout.addWidget(ablation_title)
        layout.addWidget(self.ablation, 2)
        self.clear()

    # ------------------------------------------------------------------ state
    def without(self) -> frozenset[Modality]:
        """Available modalities the user switched off."""
        return frozenset(m for m in self.available if not self.checks[m].isChecked())

    def set_available(
        self, available: frozenset[Modality], usable: frozenset[Modality] | None = None
    ) -> None:
        """Enable a box per modality the case has (and the model can use); others disabled."""
        usable = frozenset(ALL_MODALITIES) if usable is None else usable
        self.available = frozenset(available) & usable
        for modality, box in self.checks.items():
            box.blockSignals(True)
            box.setEnabled(modality in self.available)
            box.setChecked(modality in self.available)
            if modality not in available:
                box.setToolTip(f"{MODALITY_TITLES[modality]}: not available for this case")
            elif modality not in usable:
                box.setToolTip(f"{MODALITY_TITLES[modality]}: not used by this model")
            else:
                box.setToolTip(
                    f"Use {MODALITY_TITLES[modality]} (switch off to predict as if missing)"
                )
            box.blockSignals(False)

    def set_modality_checked(self, modality: Modality, on: bool) -> None:
        box = self.checks[modality]
        if box.isEnabled():
            box.setChecked(on)

    def _on_toggle(self, _checked: bool) -> None:
        self.without_changed.emit(self.without())

    # ------------------------------------------------------------------ drawing
    def clear(self, message: str = "No prediction") -> None:
        self.prediction = None
        self.headline.setText(message)
        self.subline.setText("")
        self.ablation.setRowCount(0)
        self._request_render()

    def show_prediction(
        self, prediction, *, true_label: str | None = None, task_title: str = ""
    ) -> None:
        """Draw `prediction` (a CasePrediction) as returned by the fusion service."""
        self.prediction = prediction
        probs = [float(p) for p in prediction.probabilities]
        best = max(probs) if probs else 0.0
        self.headline.setText(f"{prediction.predicted}  ·  {best:.0%}")
        used = subset_title(prediction.used)
        truth = f" · true: {true_label}" if true_label else ""
        verdict = ""
        if true_label:
            verdict = "  ✓" if true_label == prediction.predicted else "  ✗"
        self.subline.setText(
            f"{task_title}{' · ' if task_title else ''}from {used}{truth}{verdict}"
        )
        self._true_label = true_label
        self._fill_ablation(prediction)
        self._request_render()

    # ------------------------------------------------------------------ rendering
    def _request_render(self) -> None:
        """Render the plot for the current prediction off the UI thread (latest wins)."""
        self._render_generation += 1
        size = (max(self.canvas.width(), 200), max(self.canvas.height(), 200))
        key = self._pixmap_key(self.prediction, self._true_label, size)
        cached = self._pixmaps.get(key)
        with self._render_lock:
            if cached is not None and cached.prediction is self.prediction:
                self._render_job = None  # a render under way is now only for the cache
            else:
                job = (self.prediction, self._true_label, self._render_generation, size)
                self._render_job = job
                cached = None
        if cached is not None:
            self._show_plot(cached)
            self.plot_rendered.emit()
        elif not self._rendering:
            self._start_render()

    def _start_render(self) -> None:
        self._rendering = True
        worker = Worker(lambda progress, cancelled: self._render(), name="")
        worker.signals.finished.connect(self._on_rendered)
        worker.signals.failed.connect(self._on_render_failed)
        self._render_workers.add(worker)  # keep it (and its signals) alive until done
        worker.signals.done.connect(lambda w=worker: self._render_workers.discard(w))
        QThreadPool.globalInstance().start(worker)

    def _show_plot(self, plot: RenderedPlot) -> None:
        self.canvas.setPixmap(plot.pixmap)
        self.rendered = plot.prediction
        self.plotted = plot.values

    @staticmethod
    def _pixmap_key(prediction, true_label, size) -> tuple:
        return (id(prediction), true_label, size)

    def _render(self):
        """Worker thread: update the artists and draw the figure into an RGBA buffer.

        Takes the latest job; ``None`` when there is none left (a cached plot was shown).
        """
        with self._render_lock:
            job, self._render_job = self._render_job, None
        if job is None:
            return None
        prediction, true_label, generation, (width, height) = job
        key = self._pixmap_key(prediction, true_label, (width, height))
        dpi = self.figure.dpi
        self.figure.set_size_inches(width / dpi, height / dpi)
        if prediction is None:
            for ax in (self.ax_probs, self.ax_terms):
                ax.set_visible(False)
        else:
            self._draw_probabilities(prediction, true_label)
            self._draw_terms(prediction)
            for ax in (self.ax_probs, self.ax_terms):
                ax.set_visible(True)
        self._agg.draw()
        buffer = bytes(self._agg.buffer_rgba())
        w, h = self._agg.get_width_height()
        values = {}
        if prediction is not None:
            values = {
                "probabilities": [bar.get_width() for bar in self.probability_bars],
                "terms": [bar.get_width() for bar in self.term_bars],
            }
        return buffer, w, h, generation, key, RenderedPlot(prediction, None, values)

    def _on_render_failed(self, message: str, _detail: str = "") -> None:
        self.canvas.setPixmap(QPixmap())
        self.canvas.setText(f"Cannot draw the plot: {message}")
        self.rendered = None
        self._on_rendered(None)

    def _on_rendered(self, result) -> None:
        """Show a finished plot if it is still the one wanted; start the next job if any.

        A plot the user has already switched away from is only cached: showing it would
        flash a stale picture, and rendering it again would keep a worker busy for nothing.
        """
        self._rendering = False
        if result is not None:
            buffer, w, h, generation, key, plot = result
            image = QImage(buffer, w, h, QImage.Format.Format_RGBA8888).copy()
            plot = plot._replace(pixmap=QPixmap.fromImage(image))
            if plot.prediction is not None:
                self._pixmaps.put(key, plot)
            if generation == self._render_generation:
                self._show_plot(plot)
                self.plot_rendered.emit()
        with self._render_lock:
            pending = self._render_job is not None
        if pending:
            self._start_render()

    def _style(self, ax) -> None:
        ax.set_facecolor(BACKGROUND)
        ax.tick_params(colors=FOREGROUND, labelsize=8)
        for side, spine in ax.spines.items():
            spine.set_color("#555555")
            spine.set_visible(side in ("left", "bottom"))
        ax.title.set_color(FOREGROUND)

    # Artists are made once per layout and then only updated: clearing and rebuilding
    # matplotlib axes costs far more than drawing them.
    def _draw_probabilities(self, prediction, true_label: str | None) -> None:
        ax = self.ax_probs
        classes = tuple(prediction.classes)
        if self._prob_layout != classes:
            ax.clear()
            self._style(ax)
            y = list(range(len(classes)))[::-1]
            self.probability_bars = ax.barh(y, [0.0] * len(classes), height=0.42)
            self._class_texts = [
                ax.text(0, yi + 0.28, "", va="bottom", ha="left", fontsize=8, color=FOREGROUND)
                for yi in y
            ]
            self._prob_texts = [
                ax.text(0, yi, "", va="center", fontsize=8, color=FOREGROUND) for yi in y
            ]
            ax.set_yticks([])
            ax.set_ylim(-0.5, len(classes) - 0.2)
            ax.set_xlim(0, 1)
            ax.set_title("Class probability", fontsize=9, loc="left")
            self._prob_layout = classes
        for bar, name_text, value_text, name, p in zip(
            self.probability_bars,
            self._class_texts,
            self._prob_texts,
            classes,
            prediction.probabilities,
            strict=True,
        ):
            p = float(p)
            bar.set_width(p)
            bar.set_color(ACCENT if name == prediction.predicted else BAR)
            name_text.set_text(name + ("  (true class)" if name == true_label else ""))
            value_text.set_text(f"{p:.2f}")
            value_text.set_x(min(p + 0.015, 0.9))

    def _draw_terms(self, prediction) -> None:
        ax = self.ax_terms
        k = list(prediction.classes).index(prediction.predicted)
        keys, labels, values = [], [], []
        for modality in ALL_MODALITIES:
            if modality in prediction.weights:
                w = float(prediction.weights[modality])
                contribution = prediction.contributions.get(modality.value)
                used = modality in prediction.used
                keys.append(modality.value)
                labels.append(
                    f"{MODALITY_TITLES[modality]}  w={w:.2f}" + ("" if used else "  (off)")
                )
                values.append(float(contribution[k]) if contribution is not None else 0.0)
        if "residual" in prediction.contributions:
            keys.append("residual")
            labels.append(f"Residual  gate={float(prediction.gate):.2f}")
            values.append(float(prediction.contributions["residual"][k]))
        if self._term_layout != tuple(keys):
            ax.clear()
            self._style(ax)
            y = list(range(len(keys)))[::-1]
            self.term_bars = ax.barh(y, [0.0] * len(keys), height=0.55)
            self._term_texts = [
                ax.text(0, yi, "", va="center", ha="left", fontsize=8, color=FOREGROUND) for yi in y
            ]
            self._term_values = [
                ax.text(0, yi, "", va="center", fontsize=7, color=FOREGROUND) for yi in y
            ]
            self._term_zero = ax.axvline(0, color="#777777", linewidth=0.8)
            ax.set_yticks([])
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.set_ylim(-0.6, len(keys) - 0.4)
            self._term_layout = tuple(keys)
        bound = max((abs(v) for v in values), default=1.0) or 1.0
        ax.set_xlim(-2.9 * bound, 1.6 * bound)
        for key, bar, label_text, value_text, label, v in zip(
            keys, self.term_bars, self._term_texts, self._term_values, labels, values, strict=True
        ):
            bar.set_width(v)
            bar.set_color("#888888" if key == "residual" else ("#d9534f" if v >= 0 else "#4a7fd6"))
            label_text.set_text(label)
            label_text.set_x(-2.85 * bound)
            value_text.set_text(f"{v:+.2f}")
            value_text.set_x(max(v, 0) + 0.05 * bound)
        ax.set_title(
            f"Weight w_i · logit contribution to {abbreviate_class(prediction.predicted)}",
            fontsize=9,
            loc="left",
        )

    def _fill_ablation(self, prediction) -> None:
        headers = ["Modalities", "Prediction", "p"]
        table = self.ablation
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        rows = list(prediction.ablation)
        table.setRowCount(len(rows))
        current = frozenset(prediction.used)
        classes = list(prediction.classes)
        for r, row in enumerate(rows):
            probs = [float(p) for p in row.probabilities]
            p_pred = probs[classes.index(row.predicted)]
            cells = [subset_short(row.modalities), abbreviate_class(row.predicted), f"{p_pred:.2f}"]
            tip = "\n".join(f"{c}: {p:.3f}" for c, p in zip(classes, probs, strict=True))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{subset_title(row.modalities)}\n{tip}")
                if c == 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if frozenset(row.modalities) == current:
                    item.setBackground(QBrush(QColor("#3d4a5c")))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setDefaultSectionSize(20)
