"""The case list: every patient with modalities present, labels, prediction and review status."""

from __future__ import annotations

from qtpy.QtCore import QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QColor, QStandardItem, QStandardItemModel
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality
from corebt_viewer.gui.prediction_plot import abbreviate_class

SEQUENCE_MARKS = {
    MRI_SEQUENCES[0]: "1",
    MRI_SEQUENCES[1]: "c",
    MRI_SEQUENCES[2]: "2",
    MRI_SEQUENCES[3]: "F",
}
COLUMNS = ("Case", "MRI", "WSI", "Rep", "True", "Predicted", "Review")
FILTERS = {
    "All cases": lambda row: True,
    "Complete (MRI + WSI + report)": lambda row: row.case.modalities == frozenset(Modality),
    "Has MRI": lambda row: row.case.has(Modality.MRI),
    "Has slides": lambda row: row.case.has(Modality.WSI),
    "Has report": lambda row: row.case.has(Modality.REPORT),
    "Misclassified": lambda row: bool(
        not row.seen_in and row.truth and row.predicted and row.truth != row.predicted
    ),
    "Seen in training": lambda row: bool(row.seen_in),
    "Not reviewed": lambda row: row.review.lower() in ("", "not started"),
}


class CaseRow:
    """What the list shows for one case."""

    def __init__(self, case: Case, truth: str | None):
        self.case = case
        self.truth = truth or ""
        self.predicted = ""
        self.confidence: float | None = None
        self.review = ""
        #: "train" or "validation" when the model saw this case: right or wrong says nothing
        self.seen_in: str | None = None

    def cell(self, column: int) -> str:
        case = self.case
        if column == 0:
            return case.patient_id
        if column == 1:
            if not case.mri:
                return "—"
            return "".join(SEQUENCE_MARKS[s] if s in case.mri else "·" for s in MRI_SEQUENCES)
        if column == 2:
            return str(len(case.slides)) if case.slides else "—"
        if column == 3:
            return "✓" if case.report is not None else "—"
        if column == 4:
            return abbreviate_class(self.truth) if self.truth else "?"
        if column == 5:
            if not self.predicted:
                return ""
            short = abbreviate_class(self.predicted)
            text = f"{short} {self.confidence:.0%}" if self.confidence is not None else short
            return f"{text} · seen" if self.seen_in else text
        if column == 6:
            return self.review
        return ""

    def tooltip(self, column: int) -> str:
        case = self.case
        if column == 1:
            present = ", ".join(s.title for s in case.sequences) or "none"
            missing = ", ".join(s.title for s in case.missing_sequences) or "none"
            mask = "yes" if case.segmentation is not None else "no"
            return f"MRI sequences: {present}\nmissing: {missing}\ntumour mask: {mask}"
        if column == 2:
            return "\n".join(p.name for p in case.slides) or "no slide"
        if column == 4:
            return self.truth or "unlabelled"
        if column == 5 and self.predicted:
            seen = (
                f"\nseen in training: the model's {self.seen_in} set holds this case, "
                "so right or wrong says nothing about unseen cases"
                if self.seen_in
                else ""
            )
            return f"{self.predicted} (p = {self.confidence:.2f}){seen}"
        return self.cell(column)


HEADER_TIPS = {
    1: "MRI sequences: 1 = T1, c = T1c, 2 = T2, F = FLAIR (· = missing)",
    2: "number of slides",
    3: "pathology report",
    4: "true class",
    5: "model prediction (all available modalities)",
    6: "review status",
}
RIGHT, WRONG, SEEN = QColor("#6fcf6f"), QColor("#ff7b72"), QColor("#8fa8c8")


class CaseTableModel(QStandardItemModel):
    """The rows as Qt items: painting the table then calls no Python at all.

    A Python ``data()`` is called a dozen times per visible cell on every repaint, which
    made each repaint of the list cost tens of milliseconds of the UI thread. Here the
    text, tooltips and colours are written into items once and again only when they change.

    Attributes
    ----------
    rows : list of CaseRow
        What each row shows, in source order.
    """

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.rows: list[CaseRow] = []
        for column, title in enumerate(COLUMNS):
            item = QStandardItem(title)
            if column in HEADER_TIPS:
                item.setToolTip(HEADER_TIPS[column])
            self.setHorizontalHeaderItem(column, item)

    def set_rows(self, rows: list[CaseRow]) -> None:
        self.rows = rows
        self.setRowCount(0)
        for row in rows:
            items = [QStandardItem() for _ in COLUMNS]
            for item in items:
                item.setEditable(False)
            for column in (1, 2, 3):
                items[column].setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            items[0].setData(row.case.patient_id, Qt.ItemDataRole.UserRole)
            self._fill(items, row, range(len(COLUMNS)))
            self.appendRow(items)

    def refresh(self, index: int, columns) -> None:
        """Show the current state of ``rows[index]`` in `columns`."""
        items = [self.item(index, column) for column in range(len(COLUMNS))]
        self._fill(items, self.rows[index], columns)

    @staticmethod
    def _fill(items, row: CaseRow, columns) -> None:
        for column in columns:
            item = items[column]
            text = row.cell(column)
            if item.text() != text:
                item.setText(text)
            tip = row.tooltip(column)
            if item.toolTip() != tip:
                item.setToolTip(tip)
            if column == 5:
                colour = None
                if row.predicted and row.seen_in:
                    colour = SEEN  # neither right nor wrong: the model learnt this case
                elif row.truth and row.predicted:
                    colour = RIGHT if row.truth == row.predicted else WRONG
                item.setData(colour, Qt.ItemDataRole.ForegroundRole)


class CaseFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.rule = FILTERS["All cases"]

    def set_text(self, text: str) -> None:
        self.text = text.strip().lower()
        self.invalidateFilter()

    def set_rule(self, name: str) -> None:
        self.rule = FILTERS[name]
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):  # noqa: N802 - Qt API
        row = self.sourceModel().rows[source_row]
        if not self.rule(row):
            return False
        if not self.text:
            return True
        haystack = " ".join([row.cell(0), row.truth, row.predicted, row.review]).lower()
        return self.text in haystack


class CaseList(QWidget):
    """Searchable, filterable table of the cohort's cases.

    Signals
    -------
    case_selected(str)
        Patient id of the case the user picked.
    """

    case_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = CaseTableModel(self)
        self.proxy = CaseFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search id, class, status (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.filter_combo = QComboBox()
        self.filter_combo.addItems(list(FILTERS))
        self.filter_combo.currentTextChanged.connect(self.proxy.set_rule)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        # fixed widths: re-measuring every row on each update stalls the UI
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((92, 44, 36, 32, 90, 110, 70)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.summary = QLabel("")
        self.summary.setStyleSheet("color: #9a9a9a;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.filter_combo)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self._current = ""

    def set_cohort(self, cohort: Cohort, truth: dict[str, str | None]) -> None:
        self.model.set_rows([CaseRow(case, truth.get(case.patient_id)) for case in cohort])
        counts = cohort.modality_counts()
        self.summary.setText(
            f"{len(cohort)} cases · MRI {counts['mri']} · slides {counts['wsi']} · reports {counts['report']}"
        )

    def _row_of(self, patient_id: str) -> int:
        for i, row in enumerate(self.model.rows):
            if row.case.patient_id == patient_id:
                return i
        return -1

    def set_truth(self, truth: dict[str, str | None]) -> None:
        """The true class of each case for the model's task."""
        for i, row in enumerate(self.model.rows):
            value = truth.get(row.case.patient_id) or ""
            if value != row.truth:
                row.truth = value
                self.model.refresh(i, (4, 5))

    def set_prediction(
        self,
        patient_id: str,
        predicted: str,
        confidence: float | None,
        seen_in: str | None = None,
    ) -> None:
        """Show a case's prediction; `seen_in` ("train", "validation") marks a case the
        model was fitted or tuned on."""
        i = self._row_of(patient_id)
        if i < 0:
            return
        row = self.model.rows[i]
        if (row.predicted, row.confidence, row.seen_in) == (predicted, confidence, seen_in):
            return
        row.predicted, row.confidence, row.seen_in = predicted, confidence, seen_in
        self.model.refresh(i, (5,))

    def set_review_status(self, statuses: dict[str, str]) -> None:
        for i, row in enumerate(self.model.rows):
            review = statuses.get(row.case.patient_id, row.review)
            if review != row.review:
                row.review = review
                self.model.refresh(i, (6,))

    def current_id(self) -> str:
        return self._current

    def select(self, patient_id: str, *, notify: bool = True) -> bool:
        """Make `patient_id` the current row; with ``notify=False`` no ``case_selected``."""
        source = self._row_of(patient_id)
        if source < 0:
            return False
        if not notify:
            self._current = patient_id
        index = self.proxy.mapFromSource(self.model.index(source, 0))
        if not index.isValid():  # filtered out: clear the filter so the case shows
            self.search.clear()
            self.filter_combo.setCurrentIndex(0)
            index = self.proxy.mapFromSource(self.model.index(source, 0))
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    def step(self, delta: int) -> None:
        """Select the next (``+1``) or previous (``-1``) visible case."""
        n = self.proxy.rowCount()
        if n == 0:
            return
        current = self.table.currentIndex()
        row = 0 if not current.isValid() else min(max(current.row() + delta, 0), n - 1)
        self.table.setCurrentIndex(self.proxy.index(row, 0))

    def _on_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        patient_id = self.proxy.data(self.proxy.index(current.row(), 0), Qt.ItemDataRole.UserRole)
        if patient_id and patient_id != self._current:
            self._current = patient_id
            self.case_selected.emit(patient_id)
