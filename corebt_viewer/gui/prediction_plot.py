"""The prediction plot: class probabilities and each modality's logit contribution.

Painted with ``QPainter`` on the UI thread as part of the window's frame: a few dozen
rectangles and labels take about a millisecond, where the matplotlib figure it replaces
took ~80 ms of Python in a worker, holding the interpreter lock while the window drew.
"""

from __future__ import annotations

from typing import NamedTuple

from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

from corebt_viewer.core.modalities import ALL_MODALITIES

BACKGROUND = QColor("#262930")
FOREGROUND = QColor("#d6d6d6")
MUTED = QColor("#8c8c8c")
GRID = QColor("#3a3e46")
AXIS = QColor("#777777")
ACCENT = QColor("#e8a33d")  # the predicted class
BAR = QColor("#5a8fd0")
PUSHES_UP = QColor("#d9534f")  # a term raising the predicted class's logit
PUSHES_DOWN = QColor("#4a7fd6")
RESIDUAL = QColor("#888888")

MARGIN = 8.0
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


class Term(NamedTuple):
    """One bar of the contribution chart."""

    key: str  # "mri", "wsi", "report" or "residual"
    label: str
    value: float  # logit contribution to the predicted class


def contribution_terms(prediction) -> list[Term]:
    """The terms of equation 2 for the predicted class: each modality's ``w_i`` and
    contribution (switched-off ones marked), then the residual branch with its gate."""
    k = list(prediction.classes).index(prediction.predicted)
    terms = []
    for modality in ALL_MODALITIES:
        if modality not in prediction.weights:
            continue
        w = float(prediction.weights[modality])
        contribution = prediction.contributions.get(modality.value)
        off = "" if modality in prediction.used else "  (off)"
        value = float(contribution[k]) if contribution is not None else 0.0
        terms.append(Term(modality.value, f"{modality.title}  w={w:.2f}{off}", value))
    if "residual" in prediction.contributions:
        gate = float(prediction.gate)
        value = float(prediction.contributions["residual"][k])
        terms.append(Term("residual", f"Residual  gate={gate:.2f}", value))
    return terms


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


class PredictionPlot(QWidget):
    """Bars of a :class:`~corebt_viewer.core.prediction.CasePrediction`.

    Top: one bar per class, its probability (the predicted class highlighted, the true
    class marked). Bottom: the weight ``w_i`` of each modality and its term's logit
    contribution to the predicted class, and the residual branch.

    Attributes
    ----------
    drawn : CasePrediction or None
        The prediction of the last paint (what is on screen).
    values : dict
        The bar lengths of the last paint: ``{"probabilities": [...], "terms": [...]}``.
    bars : dict
        Their rectangles in widget coordinates, same keys (for tests and tooltips).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.prediction = None
        self.true_label: str | None = None
        self.drawn = None
        self.values: dict[str, list[float]] = {}
        self.bars: dict[str, list[QRectF]] = {}
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(240)
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(8.5)
        self._title_font = QFont(self._label_font)
        self._title_font.setBold(True)
        self._label_metrics = QFontMetricsF(self._label_font)
        self._title_metrics = QFontMetricsF(self._title_font)

    def set_prediction(self, prediction, true_label: str | None = None) -> None:
        """Show `prediction` (``None``: an empty plot) from the next frame on."""
        self.prediction = prediction
        self.true_label = true_label
        self.update()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            painter.fillRect(self.rect(), BACKGROUND)
            prediction = self.prediction
            values: dict[str, list[float]] = {}
            bars: dict[str, list[QRectF]] = {}
            if prediction is not None and len(prediction.classes):
                terms = contribution_terms(prediction)
                line = self._label_metrics.height()
                title = self._title_metrics.height()
                term_rows = len(terms) * (line + 6) + title + 10 if terms else 0.0
                room = max(self.height() - term_rows, self.height() * 0.5)
                values["probabilities"], bars["probabilities"], bottom = self._paint_probabilities(
                    painter, prediction, QRectF(0, 0, self.width(), room)
                )
                values["terms"], bars["terms"] = self._paint_terms(
                    painter, prediction, terms, QRectF(0, bottom + 8, self.width(), term_rows)
                )
            self.values, self.bars, self.drawn = values, bars, prediction
        finally:
            painter.end()

    def _paint_probabilities(self, painter: QPainter, prediction, area: QRectF):
        fm = self._label_metrics
        line = fm.height()
        y = area.top() + MARGIN
        painter.setFont(self._title_font)
        painter.setPen(FOREGROUND)
        title_h = self._title_metrics.height()
        painter.drawText(QRectF(MARGIN, y, area.width() - 2 * MARGIN, title_h), "Class probability")
        y += title_h + 4
        value_w = fm.horizontalAdvance("0.00") + 8
        left, right = MARGIN, max(area.width() - MARGIN - value_w, MARGIN + 20)
        scale_h = line + 4  # tick labels under the rows
        n = len(prediction.classes)
        row = min(max((area.bottom() - y - scale_h) / n, line + 8), 3.2 * line)
        bar_h = max(row - line - 4, 5.0)
        top = y
        # grid behind the bars
        painter.setPen(QPen(GRID, 1))
        for t in TICKS:
            x = left + t * (right - left)
            painter.drawLine(QPointF(x, top), QPointF(x, top + n * row))
        painter.setFont(self._label_font)
        lengths, rects = [], []
        for name, p in zip(prediction.classes, prediction.probabilities, strict=True):
            p = min(max(float(p), 0.0), 1.0)
            text = name + ("  (true class)" if name == self.true_label else "")
            painter.setPen(FOREGROUND)
            painter.drawText(
                QRectF(left, y, area.width() - 2 * MARGIN, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(text, Qt.TextElideMode.ElideRight, area.width() - 2 * MARGIN),
            )
            rect = QRectF(left, y + line + 1, p * (right - left), bar_h)
            painter.fillRect(rect, ACCENT if name == prediction.predicted else BAR)
            painter.drawText(
                QRectF(rect.right() + 4, rect.top(), value_w, bar_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{p:.2f}",
            )
            lengths.append(p)
            rects.append(rect)
            y += row
        painter.setPen(MUTED)
        for t in TICKS:
            x = left + t * (right - left)
            label = f"{t:g}"
            width = fm.horizontalAdvance(label)
            painter.drawText(QPointF(x - width / 2, y + fm.ascent() + 2), label)
        return lengths, rects, y + scale_h

    def _paint_terms(self, painter: QPainter, prediction, terms: list[Term], area: QRectF):
        if not terms:
            return [], []
        fm = self._label_metrics
        line = fm.height()
        title_h = self._title_metrics.height()
        y = area.top() + 4
        painter.setFont(self._title_font)
        painter.setPen(FOREGROUND)
        title = f"Weight w_i · logit contribution to {abbreviate_class(prediction.predicted)}"
        painter.drawText(
            QRectF(MARGIN, y, area.width() - 2 * MARGIN, title_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self._title_metrics.elidedText(
                title, Qt.TextElideMode.ElideRight, area.width() - 2 * MARGIN
            ),
        )
        y += title_h + 6
        painter.setFont(self._label_font)
        label_w = min(max(fm.horizontalAdvance(t.label) for t in terms) + 10, area.width() * 0.55)
        value_w = fm.horizontalAdvance("+0.00") + 6
        left = MARGIN + label_w + value_w
        right = max(area.width() - MARGIN - value_w, left + 20)
        low = min(0.0, *(t.value for t in terms))
        high = max(0.0, *(t.value for t in terms))
        span = (high - low) or 1.0
        zero = left + (0.0 - low) / span * (right - left)
        row = line + 6
        painter.setPen(QPen(AXIS, 1))
        painter.drawLine(QPointF(zero, y - 2), QPointF(zero, y + len(terms) * row - 2))
        lengths, rects = [], []
        for term in terms:
            painter.setPen(FOREGROUND)
            painter.drawText(
                QRectF(MARGIN, y, label_w, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(term.label, Qt.TextElideMode.ElideRight, label_w - 4),
            )
            end = left + (term.value - low) / span * (right - left)
            rect = QRectF(min(zero, end), y + 2, abs(end - zero), line - 4)
            if term.key == "residual":
                colour = RESIDUAL
            else:
                colour = PUSHES_UP if term.value >= 0 else PUSHES_DOWN
            painter.fillRect(rect, colour)
            text = f"{term.value:+.2f}"
            if term.value >= 0:
                where = QRectF(rect.right() + 3, y, value_w, line)
                align = Qt.AlignmentFlag.AlignLeft
            else:
                where = QRectF(rect.left() - value_w - 3, y, value_w, line)
                align = Qt.AlignmentFlag.AlignRight
            painter.drawText(where, align | Qt.AlignmentFlag.AlignVCenter, text)
            lengths.append(term.value)
            rects.append(rect)
            y += row
        return lengths, rects
