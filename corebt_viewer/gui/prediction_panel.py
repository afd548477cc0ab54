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
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.core.prediction import (
    ABLATION_MEANINGS,
    ABLATION_MODES,
    modality_set_name,
    report_headline,
)
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
    ablation_changed(str)
        The ablation meaning the user chose, ``"missing"`` or ``"paper"``.
    """

    without_changed = Signal(object)
    ablation_changed = Signal(str)

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
        #: every flag of the prediction shown (warnings are never computed and dropped)
        self.flags = QLabel("")
        self.flags.setWordWrap(True)
        self.flags.setStyleSheet("color: #ffb454;")
        # a line kept for it: a flag coming or going between cases moves no other widget
        self.flags.setMinimumHeight(self.flags.fontMetrics().lineSpacing())
        self.card_button = QPushButton("Model card…")
        self.card_button.setToolTip("What this model is: task, classes, encoders, training")
        self.card_button.setEnabled(False)
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
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.headline, 1)
        top.addWidget(self.card_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        layout.addWidget(self.subline)
        layout.addWidget(self.flags)
        layout.addLayout(row)
        layout.addWidget(self.plot, 3)
        ablation_title = QLabel(
            "<b>Ablation</b>: the prediction with each subset of the available modalities"
        )
        ablation_title.setWordWrap(True)
        layout.addWidget(ablation_title)
        meaning_row = QHBoxLayout()
        meaning_row.setContentsMargins(0, 0, 0, 0)
        meaning_row.addWidget(QLabel("A switched-off modality is:"))
        #: the ablation meaning asked for; :attr:`meaning_label` says the one on screen
        self.meaning = QComboBox()
        for mode in ABLATION_MODES:
            self.meaning.addItem(mode, mode)
            self.meaning.setItemData(
                self.meaning.count() - 1, ABLATION_MEANINGS[mode], Qt.ItemDataRole.ToolTipRole
            )
        self.meaning.currentIndexChanged.connect(
            lambda i: self.ablation_changed.emit(self.meaning.itemData(i))
        )
        meaning_row.addWidget(self.meaning)
        meaning_row.addStretch(1)
        layout.addLayout(meaning_row)
        self.meaning_label = QLabel("")
        self.meaning_label.setWordWrap(True)
        self.meaning_label.setStyleSheet("color: #a8a8a8;")
        layout.addWidget(self.meaning_label)
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
    def show_state(self, state) -> None:
        """Draw a session's :class:`~corebt_viewer.services.viewer_session.PredictionState`."""
        if state.prediction is None:
            self.clear(state.message)
            return
        self.show_prediction(
            state.prediction,
            true_label=state.truth,
            task_title=state.task_title,
            seen_in=state.seen_in,
            mask_version=state.mask_version,
        )
        self.set_flags(state.flags)

    def set_flags(self, flags: dict[str, str]) -> None:
        """List every flag of the prediction (none: hidden)."""
        text = "\n".join(f"⚠ {text}" for text in flags.values())
        if text != self.flags.text():  # a relayout re-renders the plot: only on a change
            self.flags.setText(text)

    def clear(self, message: str = "No prediction") -> None:
        self.prediction = None
        self.headline.setText(message)
        self.subline.setText("")
        self.set_flags({})
        self.meaning_label.setText("")
        self.ablation.setRowCount(0)
        self.plot.set_prediction(None)

    def show_prediction(
        self,
        prediction,
        *,
        true_label: str | None = None,
        task_title: str = "",
        seen_in: str | None = None,
        mask_version: str = "",
    ) -> None:
        """Draw `prediction` (a CasePrediction) as returned by the fusion service.

        `seen_in` ("train", "validation") replaces the right/wrong mark: the model learnt
        this case. `mask_version` names the mask its MRI embedding used.
        """
        self.prediction = prediction
        probs = [float(p) for p in prediction.probabilities]
        best = max(probs) if probs else 0.0
        note = report_headline(prediction.uses_report)
        self.headline.setText(f"{prediction.predicted}  ·  {best:.0%}{'  ' if note else ''}{note}")
        used = modality_set_name(prediction.used)
        truth = f" · true: {true_label}" if true_label else ""
        verdict = ""
        if seen_in:
            verdict = f" · seen in training ({seen_in} set)"
        elif true_label:
            verdict = "  ✓" if true_label == prediction.predicted else "  ✗"
        mask = f" · mask {mask_version}" if mask_version else ""
        self.subline.setText(
            f"{task_title}{' · ' if task_title else ''}from {used}{truth}{verdict}{mask}"
        )
        mode = prediction.ablation_mode
        self.meaning_label.setText(f"On screen: {mode} ({ABLATION_MEANINGS.get(mode, '?')})")
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
