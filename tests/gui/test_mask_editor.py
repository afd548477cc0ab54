"""Mask editor dock under Xvfb: paint, tools, save, versions, recovery, leaving a case."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.review import ReviewStatus
from corebt_viewer.core.segmentation import Region
from corebt_viewer.gui import _napari_compat as compat
from corebt_viewer.services import mask_editing as me
from tests.gui.conftest import make_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory, "mask", 3)


@pytest.fixture
def canvas(qtbot):
    """A napari model with the case's T1c and an (empty) mask slot, like the MRI canvas."""
    from napari.components import ViewerModel

    viewer = ViewerModel()
    image = viewer.add_image(np.zeros((2, 2, 2), np.float32), name="T1c")
    labels = viewer.add_labels(np.zeros((2, 2, 2), np.uint8), name="Tumour mask")
    return viewer, image, labels


@pytest.fixture
def editor(qtbot, cohort):
    from corebt_viewer.gui.mask_editor import MaskEditor
    from corebt_viewer.gui.mask_guard import FixedPrompts

    widget = MaskEditor(prompts=FixedPrompts(), autosave_ms=100_000)
    widget.set_cohort(cohort.root, cohort.ids)
    qtbot.addWidget(widget)
    widget.resize(420, 700)
    widget.show()
    yield widget
    widget.shutdown()


def open_case(editor, canvas, case, cohort):
    from corebt_viewer.io.nifti import load_volume
    from corebt_viewer.services.mask_session import MaskSession

    viewer, image, labels = canvas
    image.data = load_volume(case.mri[case.sequences[1]]).data
    image.contrast_limits_range = (float(image.data.min()), float(image.data.max()))
    session = MaskSession(cohort_root=cohort.root, case=case, author="tester")
    editor.bind(session, labels, viewer=viewer, image_layer=lambda: image)
    return session


def case_without_mask(cohort, folder):
    """A copy of a demo case's MRI in its own folder, with no mask."""
    import shutil

    source = cohort.cases[2]
    folder.mkdir(parents=True, exist_ok=True)
    mri = {seq: shutil.copy(path, folder / path.name) for seq, path in source.mri.items()}
    return dataclasses.replace(
        source, patient_id=f"NOMASK-{folder.name}", mri=mri, segmentation=None, slides=()
    )


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_stats(qtbot, editor):
    with qtbot.waitSignal(editor.stats_shown, timeout=10_000) as blocker:
        pass
    return blocker.args[0]


def test_paint_updates_table_and_save_writes_new_version(qtbot, editor, canvas, cohort):
    import nibabel as nib

    case = cohort.cases[0]
    original_hash = sha(case.segmentation)
    session = open_case(editor, canvas, case, cohort)
    labels = canvas[2]
    assert labels.data is session.labels
    before = editor.refresh_stats_now().regions[Region.ENHANCING].volume_ml

    with qtbot.waitSignal(editor.stats_shown, timeout=10_000) as blocker:
        labels.paint((30, 30, 70), int(Region.ENHANCING))  # away from the tumour
    stats = blocker.args[0]
    assert stats.regions[Region.ENHANCING].volume_ml > before
    assert stats.regions[Region.ENHANCING].dice < 1.0
    assert stats.changed_voxels > 0
    assert editor.table.item(2, 3).text() == f"{stats.regions[Region.ENHANCING].changed_voxels:,}"
    assert "unsaved" in editor.state_label.text()

    saved = editor.save()
    assert saved is not None and saved.version.path.is_file()
    assert saved.version.path != case.segmentation
    assert sha(case.segmentation) == original_hash  # the original is never written
    new, old = nib.load(saved.version.path), nib.load(case.segmentation)
    np.testing.assert_allclose(new.affine, old.affine)
    assert new.get_data_dtype() == old.get_data_dtype()
    assert not session.has_unsaved_edits
    assert editor.versions_list.count() == 2  # original + v001
    assert editor.review.db.get(case.patient_id).status is ReviewStatus.IN_PROGRESS


def test_undo_and_tools_are_single_steps(qtbot, editor, canvas, cohort):
    session = open_case(editor, canvas, cohort.cases[1], cohort)
    labels = canvas[2]
    original = session.labels.copy()
    # a speck far from the tumour: an island
    speck = (np.array([10, 10]), np.array([10, 11]), np.array([10, 10]))
    labels.data_setitem(speck, int(Region.OEDEMA))
    assert session.has_unsaved_edits
    with_speck = session.labels.copy()
    expected = me.remove_small_islands(
        with_speck, min_ml=editor.islands_ml.value(), voxel_size=session.voxel_size
    )
    with qtbot.waitSignal(editor.tool_applied, timeout=20_000) as blocker:
        editor.apply_tool("islands")
    assert blocker.args == ["islands", int(np.count_nonzero(expected != with_speck))]
    np.testing.assert_array_equal(session.labels, expected)
    assert (session.labels[speck] == 0).all()
    editor.undo()  # the tool was one step: the speck comes back
    np.testing.assert_array_equal(session.labels, with_speck)
    editor.undo()
    np.testing.assert_array_equal(session.labels, original)

    editor.set_label(int(Region.NECROTIC_CORE))
    with qtbot.waitSignal(editor.tool_applied, timeout=20_000) as blocker:
        editor.apply_tool("smooth")
    changed = blocker.args[1]
    assert changed > 0
    assert np.count_nonzero(session.labels != original) == changed
    labels.undo()
    np.testing.assert_array_equal(session.labels, original)


def test_fill_between_slices_tool(qtbot, editor, canvas, cohort, tmp_path):
    case = case_without_mask(cohort, tmp_path / "interp")  # a clean new mask
    session = open_case(editor, canvas, case, cohort)
    editor.new_mask()
    viewer, _, labels = canvas
    viewer.dims.order = (2, 1, 0)  # axial slices, as the MRI canvas shows them
    for z in (20, 26):
        index = np.nonzero(np.ones((9, 9), bool))
        labels.data_setitem((index[0] + 20, index[1] + 20, np.full(81, z)), 1)
    editor.set_label(1)
    drawn = session.labels.copy()
    with qtbot.waitSignal(editor.tool_applied, timeout=20_000) as blocker:
        editor.apply_tool("interpolate")
    assert blocker.args[1] == 5 * 81
    assert (session.labels[20:29, 20:29, 20:27] == 1).all()
    assert np.count_nonzero(session.labels) == 7 * 81
    labels.undo()
    np.testing.assert_array_equal(session.labels, drawn)


def test_intensity_limited_paint(qtbot, editor, canvas, cohort):
    session = open_case(editor, canvas, cohort.cases[0], cohort)
    viewer, image, labels = canvas
    editor.set_intensity_limit(True)
    assert editor.limit is not None
    low = float(np.percentile(image.data, 90))
    editor.set_intensity_range(low, float(image.data.max()))
    before = session.labels.copy()
    editor.set_3d(True)
    assert labels.n_edit_dimensions == 3
    labels.paint((72, 88, 72), 1)
    changed = session.labels != before
    assert changed.any()
    assert image.data[changed].min() >= low  # nothing painted below the range
    ball = np.zeros_like(changed)
    ball[72 - 3 : 72 + 4, 88 - 3 : 88 + 4, 72 - 3 : 72 + 4] = True
    assert ((before != 1) & ball & (image.data < low)).any()  # there was something to skip
    labels.undo()  # one stroke, one step
    np.testing.assert_array_equal(session.labels, before)
    # another sequence in view: the range follows it
    image.data = image.data * 10.0
    image.contrast_limits_range = (0.0, float(image.data.max()))
    image.contrast_limits = (0.0, float(image.data.max()) / 2)
    editor.refresh_intensity_source()
    assert editor.range_slider.value() == pytest.approx((0.0, float(image.data.max()) / 2))
    assert editor.limit.high == pytest.approx(float(image.data.max()) / 2)
    editor.set_intensity_limit(False)
    assert not compat.labels_paint_hooked(labels)


def test_autosave_recovery_is_offered_and_restores(qtbot, editor, canvas, cohort):
    from corebt_viewer.gui.mask_guard import FixedPrompts

    case = cohort.cases[1]
    session = open_case(editor, canvas, case, cohort)
    canvas[2].paint((40, 40, 40), 2)
    painted = session.labels.copy()
    path = editor.guard.autosave()
    assert path is not None
    # the app "crashes": nothing saved; the case opens again in a fresh editor
    editor.guard.watch(None)
    editor.unbind()
    editor.guard.prompts = FixedPrompts(restore=True)
    again = open_case(editor, canvas, case, cohort)
    assert ("recovery", case.patient_id) in editor.guard.prompts.asked
    np.testing.assert_array_equal(again.labels, painted)
    assert again.has_unsaved_edits
    assert compat.labels_history_depth(canvas[2]) == (0, 0)
    # declining the offer drops the recovery file
    editor.unbind()
    editor.guard.prompts = FixedPrompts(restore=False)
    third = open_case(editor, canvas, case, cohort)
    assert not third.has_unsaved_edits
    assert third.recovery() is None


def test_an_unreadable_recovery_file_is_said_and_kept(qtbot, editor, canvas, cohort):
    case = cohort.cases[0]
    session = open_case(editor, canvas, case, cohort)
    canvas[2].paint((40, 40, 40), 2)
    path = Path(editor.guard.autosave())
    editor.guard.watch(None)
    editor.unbind()
    path.write_bytes(b"not a zip")  # a crash in the middle of a disk failure
    again = open_case(editor, canvas, case, cohort)
    assert str(path) in editor.state_label.text() and "cannot be read" in editor.state_label.text()
    assert path.is_file() and not again.has_unsaved_edits
    assert session is not again


def test_leaving_with_unsaved_edits_asks(qtbot, editor, canvas, cohort):
    from corebt_viewer.gui.mask_guard import Answer, FixedPrompts

    case = cohort.cases[2]
    session = open_case(editor, canvas, case, cohort)
    prompts = editor.guard.prompts = FixedPrompts(unsaved=Answer.CANCEL)
    assert editor.confirm_leave()  # nothing edited: no question
    assert prompts.asked == []
    canvas[2].paint((50, 50, 50), 3)
    assert not editor.confirm_leave()
    assert prompts.asked == [("unsaved", case.patient_id)]
    assert session.has_unsaved_edits
    prompts.unsaved = Answer.DISCARD
    assert editor.confirm_leave()
    assert not session.has_unsaved_edits
    canvas[2].paint((50, 50, 50), 3)
    prompts.unsaved = Answer.SAVE
    n = len(session.versions())
    assert editor.confirm_leave()
    assert len(session.versions()) == n + 1


def test_undo_history_does_not_leak_across_cases(qtbot, editor, canvas, cohort):
    first = open_case(editor, canvas, cohort.cases[0], cohort)
    canvas[2].paint((60, 60, 60), 2)
    assert first.has_unsaved_edits
    editor.guard.prompts.unsaved = "discard"
    assert editor.confirm_leave()
    second = open_case(editor, canvas, cohort.cases[1], cohort)
    snapshot = second.labels.copy()
    canvas[2].undo()
    np.testing.assert_array_equal(second.labels, snapshot)
    assert not second.has_unsaved_edits


def test_versions_reopen_and_make_current(qtbot, editor, canvas, cohort):
    from corebt_viewer.services import review as rv

    case = cohort.cases[0]
    session = open_case(editor, canvas, case, cohort)
    canvas[2].paint((100, 100, 100), 1)
    edited = session.labels.copy()
    saved = editor.save()
    versions = session.versions()
    original = versions[0]
    assert original.is_original
    editor.open_version(original)
    np.testing.assert_array_equal(session.labels, session.original_labels)
    editor.open_version(saved.version)
    np.testing.assert_array_equal(session.labels, edited)
    editor.versions_list.setCurrentRow(0)
    editor.make_selected_current()
    assert rv.current_mask_version(location=session.location).is_original


def test_new_mask_for_case_without_one(qtbot, editor, canvas, cohort, tmp_path):
    case = case_without_mask(cohort, tmp_path / "new")
    session = open_case(editor, canvas, case, cohort)
    assert not session.location.has_original
    assert editor.new_button.isVisible()
    assert not editor.save_button.isEnabled()
    with qtbot.waitSignal(editor.mask_created):
        editor.new_mask()
    assert canvas[2].mode == "paint"
    canvas[2].paint((70, 80, 70), 3)
    saved = editor.save()
    assert saved is not None and saved.version.path.is_file()
    assert not session.location.original.exists()  # no fake "original" appears


def test_review_status_and_next_case(qtbot, editor, canvas, cohort):
    ids = cohort.ids
    for pid in ids[:2]:
        editor.db.update(pid, status="done")
    open_case(editor, canvas, cohort[ids[0]], cohort)
    with qtbot.waitSignal(editor.review.review_changed) as blocker:
        editor.review.set_status(ReviewStatus.FLAGGED)
    assert blocker.args == [ids[0], "Flagged"]
    editor.review.notes_edit.setPlainText("check the oedema margin")
    editor.review.commit()
    assert editor.db.get(ids[0]).notes == "check the oedema margin"
    with qtbot.waitSignal(editor.review.next_case_requested) as blocker:
        editor.review.go_next()
    assert blocker.args == [ids[2]]
