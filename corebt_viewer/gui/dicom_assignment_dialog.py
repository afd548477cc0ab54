"""The DICOM assignment dialog: which series plays T1 / T1c / T2 / FLAIR, and why.

A Qt widget over :mod:`corebt_viewer.services.dicom`: it lists the case's series by number
and description only (the allow-listed attributes; never a patient attribute), the role
proposed for each with the reason, and the skipped series with theirs. The user picks a
series per sequence and saves (:func:`save_dicom_assignment`); :attr:`saved` then carries
the saved :class:`DicomCase`.
"""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import MRI_SEQUENCES

COLUMNS = ("Number", "Description", "Images", "Status", "Reason")


def series_status(dicom_case, series) -> str:
    """``t1c`` (its role), ``skipped``, ``conflict`` or ``unassigned``."""
    assignment = dicom_case.assignment
    role = assignment.role_of(series.uid)
    if role is not None:
        return role.value
    if series.uid in assignment.skipped:
        return "skipped"
    if any(series.uid in uids for uids in assignment.conflicts.values()):
        return "conflict"
    return "unassigned"


class DicomAssignmentDialog(QDialog):
    """Confirm or change a DICOM case's series assignment.

    Signals
    -------
    saved(object)
        The :class:`~corebt_viewer.services.dicom.DicomCase` as saved.
    """

    saved = Signal(object)

    def __init__(self, dicom_case, parent=None):
        super().__init__(parent)
        self.dicom_case = dicom_case
        self.setWindowTitle(f"DICOM series — {dicom_case.case}")
        state = "saved (confirmed)" if dicom_case.saved else "proposed by the rules, not saved"
        self.state = QLabel(f"Assignment {state}.")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.choices: dict[str, QComboBox] = {}
        self.message: QMessageBox | None = None
        form = QFormLayout()
        for seq in MRI_SEQUENCES:
            box = QComboBox()
            box.addItem("(none)", None)
            for s in dicom_case.scan.series:
                box.addItem(s.label, s.uid)
            self.choices[seq.value] = box
            form.addRow(seq.title, box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Series for each sequence:"))
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(820, 480)
        self._fill()

    def _fill(self) -> None:
        case = self.dicom_case
        series = case.scan.series
        self.table.setRowCount(len(series))
        for row, s in enumerate(series):
            values = (
                "?" if s.number is None else str(s.number),
                s.description or s.protocol or "(no description)",
                str(s.n_frames),
                series_status(case, s),
                case.assignment.reasons.get(s.uid, ""),
            )
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(value))
        for seq in MRI_SEQUENCES:
            box = self.choices[seq.value]
            box.setCurrentIndex(box.findData(case.assignment.roles.get(seq)))

    def changes(self) -> dict[str, str | None]:
        """Sequence value -> chosen series UID (None: unassigned), as the boxes say."""
        return {seq: box.currentData() for seq, box in self.choices.items()}

    def save(self) -> None:
        """Save the boxes' assignment; a bad one (a series twice) is shown, not saved."""
        from corebt_viewer.services.dicom import save_dicom_assignment

        try:
            result = save_dicom_assignment(dicom_case=self.dicom_case, changes=self.changes())
        except InputError as exc:
            self._tell("Assignment not saved", str(exc))
            return
        self.dicom_case = result
        self.state.setText("Assignment saved (confirmed).")
        self._fill()
        if result.removed:
            lines = "\n".join(f"{k}: {v}" for k, v in result.removed.items())
            self._tell("Derived files removed", lines, parent=self.parent())
        self.saved.emit(result)
        self.accept()

    def _tell(self, title: str, text: str, parent=None) -> None:
        """A non-blocking message box (kept in :attr:`message`)."""
        box = QMessageBox(parent if parent is not None else self)
        box.setWindowTitle(title)
        box.setText(text)
        box.setModal(False)
        box.show()
        self.message = box
