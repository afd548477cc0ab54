"""The viewer on a native-space NIfTI case and a DICOM case: QC view, DICOM series dialog.

The cohort is made from the real TCGA-DU-7294 files: a NIfTI case whose sequences sit on
other grids (rotated, other voxel size, shifted, flipped), and a DICOM patient folder
written from the cropped NIfTI (classic, enhanced, coronal, oblique, a localizer) whose
files carry distinctive patient attributes that must never show in the viewer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from corebt_viewer.core.modalities import Sequence
from tests.clinical_mri_data import other_grid, small_case_from, write_volume
from tests.gui.conftest import settle, wait_until

pytest.importorskip("pydicom")
from tests.io.dicom._dicom_writer import SECRETS, write_classic, write_enhanced  # noqa: E402

pytestmark = pytest.mark.gui
CROP = (slice(40, 200, 4), slice(40, 200, 4), slice(20, 140, 4))  # 40 x 40 x 30


def rotation_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return rot


def write_dicom_case(folder, real_mri_dir) -> None:
    import nibabel as nib

    src = {}
    for key, suffix in (("t1", "t1"), ("t1c", "t1c"), ("t2", "t2"), ("flair", "fla")):
        img = nib.load(real_mri_dir / f"TCGA-DU-7294_{suffix}_bet.nii.gz").slicer[CROP]
        src[key] = (np.asarray(img.dataobj).astype(np.int16), img.affine.copy())
    data, affine = src["t1"]
    write_classic(folder, data, affine, name=lambda k: f"x/a{k:03d}.dcm", number=2,
                  description="AX T1 SE", te=12.0, tr=500.0)  # fmt: skip
    data, affine = src["t1c"]
    write_enhanced(folder / "deep" / "T2_export.dcm", data, affine, number=3,
                   description="AX 3D", protocol="t1_mprage_tra", agent="Gadovist",
                   te=3.0, tr=2000.0, ti=900.0)  # fmt: skip
    data, affine = src["t2"]
    write_classic(folder, data.transpose(0, 2, 1), affine[:, [0, 2, 1, 3]],
                  name=lambda k: f"b/{k:05x}", number=4, description="COR T2 TSE",
                  te=100.0, tr=4000.0)  # fmt: skip
    data, affine = src["flair"]
    write_classic(folder, data, rotation_z(10.0) @ affine, name=lambda k: f"c/IMG{k}",
                  number=5, description="Brain 7", te=120.0, tr=9000.0, ti=2500.0)  # fmt: skip
    data, affine = src["t1"]
    write_classic(folder, data[:, :, 10:13], affine, name=lambda k: f"loc{k}.dcm", number=1,
                  description="3-plane loc", te=2.0, tr=8.0,
                  image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))  # fmt: skip


@pytest.fixture(scope="module")
def cohort_root(tmp_path_factory, shared_data, real_mri_dir):
    root = tmp_path_factory.mktemp("native") / "cohort"
    small = small_case_from(shared_data)
    case = root / "P1"
    write_volume(case / "P1_t1c.nii.gz", small.volumes["t1c"], small.affine)
    shape, affine = other_grid(small.shape, small.affine, angles=(0, 0, 15), spacing=(3, 3, 3))
    from corebt_viewer.io.resample import resample_to_grid

    t1 = resample_to_grid(small.volumes["t1"], small.affine, shape, affine)
    write_volume(case / "P1_t1.nii.gz", t1, affine)
    write_volume(case / "P1_t2.nii.gz", small.volumes["t2"], small.affine)
    shape, affine = other_grid(small.shape, small.affine, shift=(2, 0, 0), flip=True)
    flair = resample_to_grid(small.volumes["flair"], small.affine, shape, affine)
    write_volume(case / "P1_flair.nii.gz", flair, affine)
    write_dicom_case(root / "pacs01", real_mri_dir)
    return root


@pytest.fixture(scope="module")
def window(qapp, cohort_root, tmp_path_factory):
    from corebt_viewer.gui.app import configure_napari_settings, register_napari_theme_paths
    from corebt_viewer.gui.main_window import MainWindow
    from corebt_viewer.io.manifest import read_cohort

    configure_napari_settings()
    register_napari_theme_paths()
    cohort = read_cohort(cohort_root)
    assert set(cohort.ids) == {"P1", "pacs01"}
    win = MainWindow()
    win.resize(1400, 850)
    win.show()
    win.open_cohort(cohort, model_dir=tmp_path_factory.mktemp("no-model"), case_id="P1")
    wait_until(lambda: win.is_case_ready(), timeout=120)
    yield win
    for name in ("mri_qc_dialog", "dicom_dialog"):
        if getattr(win, name, None) is not None:
            getattr(win, name).close()
    win.close()
    settle(0.2)


def open_case(win, pid: str) -> None:
    win.case_list.select(pid)
    wait_until(lambda: win.case is not None and win.case.patient_id == pid, timeout=60)
    wait_until(lambda: win.is_case_ready(), timeout=120)


def open_qc(win):
    win.mri_qc_dialog = None
    win.actions["mri_qc"].trigger()
    wait_until(lambda: getattr(win, "mri_qc_dialog", None) is not None, timeout=60)
    return win.mri_qc_dialog


def shown_rgb(dialog, tmp_path) -> np.ndarray:
    """What the dialog's picture shows, as RGB (through a PNG file)."""
    from PIL import Image

    path = tmp_path / "qc.png"
    assert dialog.picture.pixmap().save(str(path))
    return np.asarray(Image.open(path).convert("RGB"))


def all_widget_text(qapp) -> str:
    """Every text a widget shows: labels, buttons, combo items, tables, menus, titles."""
    from qtpy.QtCore import QAbstractListModel, QModelIndex, Qt
    from qtpy.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLabel,
        QLineEdit,
        QMenu,
        QMessageBox,
        QPlainTextEdit,
        QTextEdit,
    )

    parts = []
    for w in qapp.allWidgets():
        parts += [w.windowTitle(), w.toolTip(), w.statusTip()]
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            parts.append(w.text())
        if isinstance(w, QPlainTextEdit | QTextEdit):
            parts.append(w.toPlainText())
        if isinstance(w, QComboBox):
            parts += [w.itemText(i) for i in range(w.count())]
        if isinstance(w, QMenu):
            parts += [a.text() for a in w.actions()]
        if isinstance(w, QMessageBox):
            parts += [w.text(), w.detailedText(), w.informativeText()]
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            model, root = w.model(), QModelIndex()
            # a list model has one column (its columnCount is private in PySide6)
            columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount(root)
            for r in range(model.rowCount(root)):
                for c in range(columns):
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        value = model.data(model.index(r, c), role)
                        parts.append("" if value is None else str(value))
    return "\n".join(str(p) for p in parts)


def write_registration(cohort_root, case) -> None:
    """A stored rigid registration of the case's T1 (as ``corebt coregister`` writes it)."""
    from corebt_viewer.io.registration import rigid_matrix
    from corebt_viewer.services.native_space import file_identity, registration_dir

    record = {
        "format": "corebt-registration/1",
        "matrix_ras": rigid_matrix((0.0, 0.0, 2.0), (0.5, 0.0, 0.0)).tolist(),
        "rotation_deg": 2.0,
        "metric": "Mattes mutual information (lower is better)",
        "metric_before": -0.35,
        "metric_after": -0.61,
        "sources": {r: file_identity(case.mri[Sequence(r)]) for r in ("t1", "t1c")},
    }
    folder = registration_dir(cohort_root, case.patient_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t1_to_t1c.json").write_text(json.dumps(record))


def test_native_space_case_shows_its_qc(window, cohort_root, tmp_path):
    open_case(window, "P1")
    write_registration(cohort_root, window.case)
    dialog = open_qc(window)
    assert dialog.qc.case == "P1" and dialog.qc.reference == "t1c"
    assert [dialog.sequence.itemData(i) for i in range(dialog.sequence.count())] == [
        "t1",
        "flair",
    ]
    notes = dialog.notes.toPlainText()
    assert "t1: resampled (trilinear) from" in notes and "flair: resampled" in notes
    assert "through its registration transform" in notes and "registration transform (" in notes
    assert "-0.3500 -> -0.6100" in notes and "rotation 2.00 deg" in notes
    dialog.set_view("t1", "checkerboard")
    board = shown_rgb(dialog, tmp_path)
    spread = np.abs(board.astype(int) - board[..., :1]).max()
    assert board.std() > 10 and spread <= 8  # grey squares (Xvfb's pixmaps are 16-bit)
    dialog.set_view("flair", "edges")
    edges = shown_rgb(dialog, tmp_path)
    red = (edges[..., 0] > 200) & (edges[..., 1] < 50) & (edges[..., 2] < 50)
    assert red.sum() > 50  # FLAIR's edges in red over the T1c
    dialog.slider.setValue(0)
    assert dialog.slice_label.text().startswith("slice 1/")
    old = window.case
    window.session.open_case("P1")  # shown again: the MRI pane uses the registration too
    wait_until(lambda: window.is_case_ready(), timeout=60)
    window.mri.steps.flush()
    shown = np.asarray(window.mri.image_layers[Sequence.T1].data)
    assert window.case is old
    np.testing.assert_allclose(shown, dialog.qc.study.volumes[Sequence.T1].data, atol=1e-4)
    message = window.statusBar().currentMessage()
    assert "P1: t1, flair moved onto the reference grid" in message
    window.actions["dicom_assignment"].trigger()  # a NIfTI case has no DICOM series
    bar = window.statusBar()
    wait_until(lambda: "was not read from DICOM" in bar.currentMessage(), timeout=30)


def no_secret_in_output(capfd, caplog) -> None:
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    text = f"{out}\n{err}\n{logged}".lower()
    assert not [s for s in SECRETS if s.lower() in text]


def test_dicom_case_opens_with_qc_and_no_patient_tag_anywhere(window, qapp, capfd, caplog):
    open_case(window, "pacs01")
    assert set(window.case.mri) == set(Sequence)
    qc = open_qc(window)
    assert qc.qc.roles == ("flair",)  # the oblique FLAIR; the others share the T1c grid
    assert "onto the t1c grid" in qc.notes.toPlainText()
    window.dicom_dialog = None
    window.actions["dicom_assignment"].trigger()
    wait_until(lambda: getattr(window, "dicom_dialog", None) is not None, timeout=60)
    dialog = window.dicom_dialog
    rows = {
        dialog.table.item(r, 0).text(): [dialog.table.item(r, c).text() for c in range(5)]
        for r in range(dialog.table.rowCount())
    }
    assert rows["3"][1] == "AX 3D" and rows["3"][3] == "t1c" and rows["3"][4]
    assert rows["1"][3] == "skipped" and "LOCALIZER" in rows["1"][4]
    assert "proposed by the rules" in dialog.state.text()
    settle(0.2)
    text = all_widget_text(qapp)
    assert "AX 3D" in text and "3-plane loc" in text  # the check sees the dialog's texts
    assert not [s for s in SECRETS if s.lower() in text.lower()]
    no_secret_in_output(capfd, caplog)


def test_dicom_assignment_is_saved_and_the_case_reloads(window, cohort_root, qapp, capfd, caplog):
    open_case(window, "pacs01")
    window.dicom_dialog = None
    window.actions["dicom_assignment"].trigger()
    wait_until(lambda: getattr(window, "dicom_dialog", None) is not None, timeout=60)
    dialog = window.dicom_dialog
    old_case, model_dir = window.case, window.model_dir
    dialog.choices["t1"].setCurrentIndex(dialog.choices["t1"].findData(None))
    box = dialog.choices["flair"]
    t1_series = dialog.dicom_case.assignment.roles[Sequence.T1]
    box.setCurrentIndex(box.findData(t1_series))  # one series twice: refused, not saved
    dialog.choices["t1"].setCurrentIndex(dialog.choices["t1"].findData(t1_series))
    dialog.save()
    assert dialog.message is not None and "assigned to two sequences" in dialog.message.text()
    saved_file = cohort_root / ".corebt" / "dicom" / "pacs01" / "assignment.json"
    assert not saved_file.exists()
    dialog.message.close()
    dialog.choices["t1"].setCurrentIndex(dialog.choices["t1"].findData(None))
    dialog.save()  # FLAIR <- the T1 series, no T1
    doc = json.loads(saved_file.read_text())
    assert doc["confirmed"] and doc["roles"]["t1"] is None
    assert doc["roles"]["flair"] == t1_series
    assert not [s for s in SECRETS if s in saved_file.read_text()]
    wait_until(lambda: window.case is not None and window.case is not old_case, timeout=60)
    wait_until(lambda: window.is_case_ready(), timeout=120)
    assert window.case.patient_id == "pacs01" and window.model_dir == model_dir
    assert set(window.case.mri) == {Sequence.T1C, Sequence.T2, Sequence.FLAIR}
    flair = json.loads((saved_file.parent / "flair.json").read_text())
    assert flair["series"]["number"] == 2  # the derived FLAIR now comes from series 2
    settle(0.2)
    text = all_widget_text(qapp)
    assert not [s for s in SECRETS if s.lower() in text.lower()]
    no_secret_in_output(capfd, caplog)


def test_qc_dialog_of_a_case_on_one_grid_says_nothing_was_moved(qapp, shared_data, tmp_path):
    from corebt_viewer.core.case import Case
    from corebt_viewer.gui.mri_qc_view import MriQcDialog
    from corebt_viewer.services.mri_qc import case_qc

    small = small_case_from(shared_data)
    mri = {
        Sequence(r): write_volume(tmp_path / f"{r}.nii.gz", small.volumes[r], small.affine)
        for r in ("t1c", "t2")
    }
    dialog = MriQcDialog(case_qc(case=Case("c", mri=mri), cohort_root=tmp_path))
    assert "nothing was resampled or registered" in dialog.picture.text()
    assert not dialog.sequence.isEnabled() and not dialog.slider.isEnabled()
    assert dialog.current_picture() is None
    dialog.close()
