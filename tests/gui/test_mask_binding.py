"""The mask panel and the napari layer agree both ways; napari's keys cannot pick a foreign
label; unsaved edits are counted from paint and undo; autosave writes in a worker."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import Qt

from corebt_viewer.core.segmentation import Region

SEG, T1C = "TCGA-DU-7294_seg_fusion_mav.nii.gz", "TCGA-DU-7294_t1c_bet.nii.gz"


def real_cohort(folder, real_mri_dir, enhancing: int | None = None):
    """A one-case cohort of the real TCGA-DU-7294 MRI and mask; with `enhancing` (4 or
    3) a small enhancing block makes the mask's convention visible (BraTS 2021 or 2023)."""
    import nibabel as nib

    from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_cohort

    folder.mkdir(parents=True, exist_ok=True)
    source = nib.load(real_mri_dir / SEG)
    values = np.asarray(source.dataobj).copy()  # its regions: 1 and 2 (no enhancing)
    if enhancing is not None:
        values[5:8, 5:8, 5:8] = enhancing
    nib.save(nib.Nifti1Image(values, source.affine, source.header), folder / SEG)
    (folder / T1C).symlink_to(real_mri_dir / T1C)
    row = {"patient_id": "TCGA-DU-7294", "t1c": T1C, "seg": SEG}
    lines = [",".join(MANIFEST_COLUMNS), ",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS)]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return read_cohort(folder)


@pytest.fixture
def cohort(tmp_path, real_mri_dir):
    return real_cohort(tmp_path / "cohort", real_mri_dir)


@pytest.fixture
def bound(qtbot, cohort):
    """An editor bound to a real QtViewer's mask layer (keys go through napari)."""
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    from corebt_viewer.gui.mask_editor import MaskEditor
    from corebt_viewer.gui.mask_guard import FixedPrompts
    from corebt_viewer.services.mask_session import MaskSession

    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    qtbot.addWidget(qt_viewer)
    qt_viewer.resize(300, 300)
    qt_viewer.show()
    layer = viewer.add_labels(np.zeros((2, 2, 2), np.uint8), name="Tumour mask")
    editor = MaskEditor(prompts=FixedPrompts(), autosave_ms=100_000)
    qtbot.addWidget(editor)
    editor.set_cohort(cohort.root, cohort.ids)
    session = MaskSession(cohort_root=cohort.root, case=cohort.cases[0])
    editor.bind(session, layer, viewer=viewer)
    editor.set_mode("paint")  # the mask layer is active: napari's keys act on it
    yield editor, layer, qt_viewer, session
    editor.unbind()
    editor.shutdown()


def press(qtbot, qt_viewer, key, modifier=Qt.KeyboardModifier.NoModifier, times=1):
    for _ in range(times):
        qtbot.keyClick(qt_viewer.canvas.native, key, modifier)


def test_napari_label_keys_cannot_pick_a_foreign_label(qtbot, bound):
    editor, layer, qt_viewer, _session = bound
    editor.set_label(int(Region.ENHANCING))
    press(qtbot, qt_viewer, Qt.Key.Key_Equal, times=2)  # napari: increase label (4, 5)
    assert layer.selected_label == int(Region.ENHANCING)
    assert editor.selected_label() == int(Region.ENHANCING)
    assert "not one of this mask's labels" in editor.state_label.text()
    press(qtbot, qt_viewer, Qt.Key.Key_M)  # napari: "largest label + 1" = 4
    assert layer.selected_label == int(Region.ENHANCING)
    press(qtbot, qt_viewer, Qt.Key.Key_Minus)  # decrease: the panel follows
    assert editor.selected_label() == int(Region.OEDEMA)
    assert editor.edit_tab.label_buttons[int(Region.OEDEMA)].isChecked()
    press(qtbot, qt_viewer, Qt.Key.Key_Minus, times=2)  # to background: erasing
    assert layer.selected_label == 0 and editor.edit_tab.label_name.text().startswith("Backgr")
    assert not any(b.isChecked() for b in editor.edit_tab.label_buttons.values())


def test_panel_follows_napari_keys_and_layer_follows_panel(qtbot, bound):
    editor, layer, qt_viewer, _session = bound
    tab = editor.edit_tab
    editor.set_brush_size(10)
    assert layer.brush_size == 10
    press(qtbot, qt_viewer, Qt.Key.Key_BracketRight)  # napari: brush + 1
    assert tab.brush_slider.value() == 11 and tab.brush_label.text() == "11 px"
    press(qtbot, qt_viewer, Qt.Key.Key_B)  # napari: toggle preserve labels
    assert layer.preserve_labels and tab.preserve_check.isChecked()
    tab.preserve_check.setChecked(False)
    assert not layer.preserve_labels
    layer.n_edit_dimensions = 3  # e.g. napari's own layer controls
    assert tab.edit_3d.isChecked() and not tab.dim_warning.isHidden()
    tab.edit_2d.click()
    assert layer.n_edit_dimensions == 2
    press(qtbot, qt_viewer, Qt.Key.Key_E)  # napari: eraser
    assert tab.mode_buttons["erase"].isChecked()
    tab.mode_buttons["fill"].click()
    assert layer.mode == "fill"


def test_unsaved_edits_are_counted_from_paint_and_undo(qtbot, bound, monkeypatch):
    editor, layer, qt_viewer, session = bound
    # no whole-volume comparison on the editing path
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: pytest.fail("volume compared"))
    assert not session.has_unsaved_edits
    layer.paint((30, 30, 70), int(Region.ENHANCING))
    layer.paint((40, 30, 70), int(Region.ENHANCING))
    assert session.history.edits == 2 and "2 unsaved edits" in editor.state_label.text()
    press(qtbot, qt_viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, times=2)
    assert not session.has_unsaved_edits
    press(qtbot, qt_viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # nothing left
    assert not session.has_unsaved_edits
    editor.redo()
    assert session.history.edits == 1


def test_autosave_copies_then_writes_in_a_worker(qtbot, bound):
    editor, layer, _qt_viewer, session = bound
    guard = editor.guard
    assert guard.autosave_in_background() is None  # nothing unsaved
    layer.paint((30, 30, 70), int(Region.ENHANCING))
    painted = session.labels.copy()
    threads = []
    write = session.write_autosave

    def recording(snapshot):
        threads.append(threading.get_ident())
        return write(snapshot)

    session.write_autosave = recording
    with qtbot.waitSignal(guard.autosaved, timeout=10_000):
        worker = guard.autosave_in_background()
        assert worker is not None
        layer.paint((60, 60, 70), int(Region.OEDEMA))  # painting goes on meanwhile
    assert threads and threads[0] != threading.get_ident()
    np.testing.assert_array_equal(session.recovery().labels, painted)  # the snapshot
    assert guard.dirty  # the second stroke is not in the recovery file yet


@pytest.mark.parametrize("convention", ["brats2021", "brats2023"])
def test_increment_key_on_a_real_mask_saves_in_its_convention(
    qtbot, real_mri_dir, tmp_path, convention
):
    """The defect: ``=`` selected label 4 or 5 and saving refused. Now the key stops at the
    mask's last region and the saved file holds only the convention's labels."""
    import nibabel as nib
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    from corebt_viewer.gui.mask_editor import MaskEditor
    from corebt_viewer.gui.mask_guard import FixedPrompts
    from corebt_viewer.services.mask_session import MaskSession

    enhancing = 4 if convention == "brats2021" else 3
    cohort = real_cohort(tmp_path / "cohort", real_mri_dir, enhancing)
    session = MaskSession(cohort_root=cohort.root, case=cohort.cases[0])
    assert session.convention.value == convention

    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    qtbot.addWidget(qt_viewer)
    qt_viewer.show()
    layer = viewer.add_labels(np.zeros((2, 2, 2), np.uint8))
    editor = MaskEditor(prompts=FixedPrompts(unsaved="discard"), autosave_ms=100_000)
    qtbot.addWidget(editor)
    editor.set_cohort(cohort.root, cohort.ids)
    editor.bind(session, layer, viewer=viewer)
    editor.set_mode("paint")
    editor.set_label(int(Region.OEDEMA))
    press(qtbot, qt_viewer, Qt.Key.Key_Equal, times=3)  # 3, then 4 and 5 refused
    assert layer.selected_label == editor.selected_label() == int(Region.ENHANCING)
    layer.paint((40, 40, 77), layer.selected_label)
    saved = editor.save()
    assert saved is not None, editor.state_label.text()
    written = set(np.unique(np.asarray(nib.load(saved.version.path).dataobj)).tolist())
    assert written == ({0, 1, 2, 4} if convention == "brats2021" else {0, 1, 2, 3})
    editor.unbind()
    editor.shutdown()
