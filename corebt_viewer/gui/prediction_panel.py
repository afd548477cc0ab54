"""The prediction panel: class probabilities, modality weights, contributions, ablation.

It shows a :class:`~corebt_viewer.core.prediction.CasePrediction` exactly as the fusion
service returned it; the MRI / Pathology / Report boxes ask the owner (the main window)
for a new prediction with those modalities treated as missing.
"""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.core.prediction import modality_set_name
from corebt_viewer.gui.prediction_plot import PredictionPlot, abbreviate_class


def subset_short(modalities) -> str:
    names = {Modality.MRI: "MRI", Modality.WSI: "Path", Modality.REPORT: "Rep"}
    parts = [names[m] for m in ALL_MODALITIES if m in modalities]
    return "+".join(parts) if parts else "none"


class PredictionPanel(QWidget):
    """Class probabilities, weights ``w_i``, each term's contribution and the ablation table.

    Signals
    -------
    without_changed(frozenset)
        The modalities the user switched off.
    """

    without_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.prediction = None
        self.available: frozenset[Modality] = frozenset()
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
            box = QCheckBox(modality.title)
            box.setChecked(True)
            box.toggled.connect(self._on_toggle)
            row.addWidget(box)
            self.checks[modality] = box
        row.addStretch(1)
        self.plot = PredictionPlot()

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
        layout.addWidget(self.plot, 3)
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
                box.setToolTip(f"{modality.title}: not available for this case")
            elif modality not in usable:
                box.setToolTip(f"{modality.title}: not used by this model")
            else:
                box.setToolTip(f"Use {modality.title} (switch off to predict as if missing)")
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
        self.plot.set_prediction(None)

    def show_prediction(
        self, prediction, *, true_label: str | None = None, task_title: str = ""
    ) -> None:
        """Draw `prediction` (a CasePrediction) as returned by the fusion service."""
        self.prediction = prediction
        probs = [float(p) for p in prediction.probabilities]
        best = max(probs) if probs else 0.0
        self.headline.setText(f"{prediction.predicted}  ·  {best:.0%}")
        used = modality_set_name(prediction.used)
        truth = f" · true: {true_label}" if true_label else ""
        verdict = ""
        if true_label:
            verdict = "  ✓" if true_label == prediction.predicted else "  ✗"
        self.subline.setText(
            f"{task_title}{' · ' if task_title else ''}from {used}{truth}{verdict}"
        )
        self._fill_ablation(prediction)
        self.plot.set_prediction(prediction, true_label)

    @property
    def rendered(self):
        """The prediction the plot on screen shows (its last paint)."""
        return self.plot.drawn

    @property
    def plotted(self) -> dict[str, list[float]]:
        """The bar lengths on screen: ``{"probabilities": [...], "terms": [...]}``."""
        return self.plot.values

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
                item.setToolTip(f"{modality_set_name(row.modalities)}\n{tip}")
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
