"""The case list: every patient with modalities present, labels, prediction and review status."""

from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from qtpy.QtGui import QColor
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
from corebt_viewer.gui.prediction_panel import abbreviate_class

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
    "Misclassified": lambda row: bool(row.truth and row.predicted and row.truth != row.predicted),
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
            return f"{short} {self.confidence:.0%}" if self.confidence is not None else short
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
            return f"{self.predicted} (p = {self.confidence:.2f})"
        return self.cell(column)


class CaseTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[CaseRow] = []

    def set_rows(self, rows: list[CaseRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802, B008 - Qt API
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {
                1: "MRI sequences: 1 = T1, c = T1c, 2 = T2, F = FLAIR (· = missing)",
                2: "number of slides",
                3: "pathology report",
                4: "true class",
                5: "model prediction (all available modalities)",
                6: "review status",
            }.get(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cell(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip(column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 5 and row.truth and row.predicted:
            return QColor("#6fcf6f") if row.truth == row.predicted else QColor("#ff7b72")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2, 3):
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.case.patient_id
        return None


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

    def set_prediction(self, patient_id: str, predicted: str, confidence: float | None) -> None:
        i = self._row_of(patient_id)
        if i < 0:
            return
        row = self.model.rows[i]
        if row.predicted == predicted and row.confidence == confidence:
            return
        row.predicted = predicted
        row.confidence = confidence
        self.model.dataChanged.emit(self.model.index(i, 5), self.model.index(i, 5))

    def set_review_status(self, statuses: dict[str, str]) -> None:
        for row in self.model.rows:
            row.review = statuses.get(row.case.patient_id, row.review)
        if self.model.rows:
            self.model.dataChanged.emit(
                self.model.index(0, 6), self.model.index(len(self.model.rows) - 1, 6)
            )

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
