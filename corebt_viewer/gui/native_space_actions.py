"""View-menu actions for native-space and DICOM cases: the MRI QC and the series assignment.

Both work on the open case of a main window: the data are prepared in the window's worker
pool (Qt-free services), the dialogs show them. After the assignment of a DICOM case is
saved, the cohort is read again (its derived NIfTI files follow the assignment) and the
case reopened.
"""

from __future__ import annotations

from qtpy.QtGui import QAction

from corebt_viewer.gui.app import show_error_dialog


def _open_case(window):
    session = window.session
    if session.cohort is None or session.case is None:
        window.statusBar().showMessage("Open a case first", 5000)
        return None
    return session.case


def show_mri_qc(window) -> None:
    """Compute the open case's QC in a worker, then show it in :attr:`window.mri_qc_dialog`."""
    case = _open_case(window)
    if case is None:
        return
    if not case.mri:
        window.statusBar().showMessage(f"{case.patient_id} has no MRI", 5000)
        return
    root = window.session.cohort.root

    def task(progress, cancelled):
        from corebt_viewer.services.mri_qc import case_qc

        return case_qc(case=case, cohort_root=root)

    def done(qc) -> None:
        from corebt_viewer.gui.mri_qc_view import MriQcDialog

        window.mri_qc_dialog = MriQcDialog(qc, window)
        window.mri_qc_dialog.show()

    window.workers.submit(
        task,
        name=f"MRI quality check of {case.patient_id}",
        key="mri_qc",
        done=done,
        failed=lambda msg, detail: show_error_dialog("MRI quality check failed", msg, detail),
    )


def show_dicom_assignment(window) -> None:
    """Scan the open DICOM case's folder in a worker, then show the assignment dialog."""
    case = _open_case(window)
    if case is None:
        return
    root = window.session.cohort.root

    def task(progress, cancelled):
        from corebt_viewer.services.dicom import open_dicom_case
        from corebt_viewer.services.mri_qc import dicom_source_folder

        folder = dicom_source_folder(case, root)
        if folder is None:
            return None
        return open_dicom_case(folder=folder, cohort_root=root, case=case.patient_id)

    def done(dicom_case) -> None:
        from corebt_viewer.gui.dicom_assignment_dialog import DicomAssignmentDialog

        if dicom_case is None:
            window.statusBar().showMessage(f"{case.patient_id} was not read from DICOM", 8000)
            return
        dialog = DicomAssignmentDialog(dicom_case, window)
        dialog.saved.connect(lambda _saved: reload_case(window, case.patient_id))
        window.dicom_dialog = dialog
        dialog.show()

    window.workers.submit(
        task,
        name=f"scanning the DICOM of {case.patient_id}",
        key="dicom_scan",
        done=done,
        failed=lambda msg, detail: show_error_dialog("Cannot read the DICOM case", msg, detail),
    )


def reload_case(window, patient_id: str) -> None:
    """Read the cohort again (derived files follow a new assignment) and reopen the case."""
    cohort, model_dir = window.session.cohort, window.session.model_dir
    source = cohort.manifest or cohort.root

    def task(progress, cancelled):
        from corebt_viewer.io.manifest import read_cohort

        return read_cohort(source)

    def done(new_cohort) -> None:
        window.open_cohort(new_cohort, model_dir=model_dir, case_id=patient_id)
        session = window.session
        if patient_id in new_cohort.ids and (
            session.case is None or session.case is not new_cohort[patient_id]
        ):
            window.open_case(patient_id)

    window.workers.submit(
        task,
        name=f"reloading {patient_id}",
        done=done,
        failed=lambda msg, detail: show_error_dialog("Cannot reload the cohort", msg, detail),
    )


def add_native_space_actions(window, menu) -> dict[str, QAction]:
    """Add "MRI quality check…" and "DICOM series…" to `menu`; returns name -> action."""
    actions = {}
    for name, text, handler in (
        ("mri_qc", "MRI quality check…", show_mri_qc),
        ("dicom_assignment", "DICOM series…", show_dicom_assignment),
    ):
        action = QAction(text, window)
        action.triggered.connect(lambda _=False, f=handler: f(window))
        menu.addAction(action)
        actions[name] = action
    return actions
