"""The mask editor inside the main window: bind per case, Ctrl+S, switching asks, closing asks."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.gui.conftest import make_cohort, open_main_window, settle, wait_until


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory, "review", 3)


@pytest.fixture(scope="module")
def win(qapp, cohort, demo_model):
    from corebt_viewer.gui.mask_guard import FixedPrompts

    window = open_main_window(qapp, cohort, demo_model, FixedPrompts())
    yield window
    window.mask_review.editor.guard.prompts = FixedPrompts(unsaved="discard")
    window.close()
    settle(0.2)


def bound(win, case_id: str) -> bool:
    session = win.mask_review.editor.session
    return (
        session is not None
        and session.case_id == case_id
        and win.mri.labels_layer.data is session.labels
    )


def open_and_bind(win, case_id: str) -> None:
    win.case_list.select(case_id)
    wait_until(lambda: win.is_case_ready() and bound(win, case_id), timeout=60)


def test_editor_is_docked_and_bound_to_the_canvas_mask(win, cohort):
    editor = win.mask_review.editor
    case_id = cohort.ids[0]
    wait_until(lambda: bound(win, case_id), timeout=60)
    assert win.mask_review.dock.isVisible()
    assert editor.save_button.isEnabled()
    assert win.actions["save_mask"].shortcut().toString() == "Ctrl+S"
    menus = [a.text() for a in win.menuBar().actions()]
    assert "&File" in menus and "&Case" in menus


def test_paint_save_with_ctrl_s_keeps_original(win, cohort, qtbot):
    import nibabel as nib

    case_id = cohort.ids[0]
    open_and_bind(win, case_id)
    editor = win.mask_review.editor
    layer = win.mri.labels_layer
    original_path = cohort[case_id].segmentation
    original_hash = hashlib.sha256(original_path.read_bytes()).hexdigest()
    before = editor.refresh_stats_now().whole_tumour.volume_ml
    with qtbot.waitSignal(editor.stats_shown, timeout=10_000) as blocker:
        layer.paint((20, 30, 40), 2)
    assert blocker.args[0].whole_tumour.volume_ml > before
    with qtbot.waitSignal(editor.saved, timeout=10_000) as blocker:
        win.actions["save_mask"].trigger()
    saved = blocker.args[0]
    assert saved.version.path.is_file() and saved.version.path != original_path
    assert hashlib.sha256(original_path.read_bytes()).hexdigest() == original_hash
    np.testing.assert_allclose(nib.load(saved.version.path).affine, nib.load(original_path).affine)
    row = win.case_list._row_of(case_id)
    assert win.case_list.model.rows[row].review == "In progress"


def test_switching_case_with_unsaved_edits_asks(win, cohort):
    from corebt_viewer.gui.mask_guard import Answer, FixedPrompts

    first, second = cohort.ids[0], cohort.ids[1]
    open_and_bind(win, first)
    prompts = win.mask_review.editor.guard.prompts = FixedPrompts(unsaved=Answer.CANCEL)
    session = win.mask_review.editor.session
    win.mri.labels_layer.paint((25, 35, 45), 3)
    assert session.has_unsaved_edits
    win.case_list.select(second)
    settle(0.3)
    assert prompts.asked == [("unsaved", first)]
    assert win.case.patient_id == first  # stayed
    assert win.case_list.current_id() == first
    assert win.mri.labels_layer.data is session.labels and session.has_unsaved_edits
    prompts.unsaved = Answer.DISCARD
    open_and_bind(win, second)
    assert not session.has_unsaved_edits
    # a fresh history: undo cannot reach the first case's strokes
    snapshot = win.mask_review.editor.session.labels.copy()
    win.mri.labels_layer.undo()
    np.testing.assert_array_equal(win.mask_review.editor.session.labels, snapshot)


def test_recovery_offered_when_case_reopens(win, cohort):
    from corebt_viewer.gui.mask_guard import Answer, FixedPrompts

    case_id, other = cohort.ids[2], cohort.ids[1]
    open_and_bind(win, case_id)
    editor = win.mask_review.editor
    win.mri.labels_layer.paint((30, 40, 50), 1)
    painted = editor.session.labels.copy()
    assert editor.guard.autosave() is not None
    # leave without deciding the session's fate, as a crash would
    editor.guard.watch(None)
    editor.session.history.reset(clean=True)  # the crash: nobody is asked about the edits
    editor.guard.prompts = FixedPrompts(unsaved=Answer.DISCARD, restore=True)
    open_and_bind(win, other)
    open_and_bind(win, case_id)
    wait_until(lambda: ("recovery", case_id) in editor.guard.prompts.asked, timeout=10)
    np.testing.assert_array_equal(editor.session.labels, painted)
    assert editor.session.has_unsaved_edits


def test_close_with_unsaved_edits_asks(win, cohort):
    from corebt_viewer.gui.mask_guard import Answer, FixedPrompts

    editor = win.mask_review.editor
    prompts = editor.guard.prompts = FixedPrompts(unsaved=Answer.CANCEL)
    if not editor.session.has_unsaved_edits:
        win.mri.labels_layer.paint((31, 41, 51), 1)
    win.close()
    settle(0.2)
    assert win.isVisible()  # the user stayed
    assert prompts.asked[-1][0] == "unsaved"


def test_export_summary_from_the_window(win, cohort, tmp_path, qtbot):
    with qtbot.waitSignal(win.mask_review.summary_written, timeout=60_000) as blocker:
        win.mask_review.export_summary(tmp_path / "case")
    paths = blocker.args[0]
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 1000 for p in paths)
