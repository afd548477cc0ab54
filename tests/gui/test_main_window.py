"""The viewer on a generated demo cohort: cases, canvases, prediction panel, screenshot."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from tests.gui.conftest import PaintCounter, grab_array, settle, wait_until

pytestmark = pytest.mark.gui


def open_and_wait(window, patient_id: str) -> None:
    window.open_case(patient_id)
    wait_until(lambda: window.is_case_ready() and window.case.patient_id == patient_id)
    window.mri.steps.flush()


def panel_matches(panel, expected) -> None:
    """The panel shows exactly `expected` (a CasePrediction)."""
    wait_until(lambda: panel.rendered is panel.prediction)
    shown = panel.prediction
    assert shown.used == expected.used
    assert shown.predicted == expected.predicted
    np.testing.assert_allclose(shown.probabilities, expected.probabilities)
    # the bars as drawn in the plot on screen (maybe rendered earlier, for this prediction)
    np.testing.assert_allclose(panel.plotted["probabilities"], expected.probabilities)
    assert panel.headline.text().startswith(expected.predicted)
    rows = panel.ablation.rowCount()
    assert rows == len(expected.ablation)
    classes = list(expected.classes)
    for r, row in enumerate(expected.ablation):
        p = float(row.probabilities[classes.index(row.predicted)])
        assert panel.ablation.item(r, 2).text() == f"{p:.2f}"
    k = classes.index(expected.predicted)
    terms = [
        float(expected.contributions[m.value][k]) for m in ALL_MODALITIES if m in expected.weights
    ]
    if "residual" in expected.contributions:
        terms.append(float(expected.contributions["residual"][k]))
    np.testing.assert_allclose(panel.plotted["terms"], terms)


def test_window_shows_case_on_both_canvases(window, demo_cohort, tmp_path):
    case = next(c for c in demo_cohort if c.slides and c.report is not None)
    open_and_wait(window, case.patient_id)
    wait_until(lambda: window.slides.slide_layer is not None)
    settle(1.0)
    assert window.mri.stack.currentWidget() is window.mri.qt_viewer
    visible = [layer for layer in window.mri.viewer.layers if layer.visible]
    assert window.mri.image_layers[window.mri.sequence] in visible
    assert window.mri.labels_layer.visible and window.mri.has_mask
    assert window.report.text.toPlainText().strip()
    assert window.slides.slide_layer.multiscale
    path = window.save_screenshot(tmp_path / "shot.png")
    assert path.stat().st_size > 10_000
    whole = grab_array(window)
    assert whole.std() > 10, "the window screenshot is blank"
    for canvas in (window.mri.qt_viewer.canvas.native, window.slides.qt_viewer.canvas.native):
        pixels = grab_array(canvas)
        assert pixels.std() > 5, "a canvas rendered blank"
        # each canvas composes in its own native window (cheap window repaints without a
        # GPU), and still shows in the window's own screenshot
        assert canvas.testAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        top_left = canvas.mapTo(window, QPoint(0, 0))
        ratio = whole.shape[1] / window.width()
        x, y = int(top_left.x() * ratio), int(top_left.y() * ratio)
        w, h = int(canvas.width() * ratio), int(canvas.height() * ratio)
        assert whole[y : y + h, x : x + w].std() > 5, "a canvas is blank in the window screenshot"


def test_switching_cases_and_toggling_modalities_matches_fusion_service(
    window, demo_cohort, demo_model
):
    from corebt_viewer.services.fusion import load_model

    model_dir, embeddings = demo_model
    predictor = load_model(model_dir)
    for case in demo_cohort:
        open_and_wait(window, case.patient_id)
        available = case.modalities & frozenset(predictor.modalities)
        panel = window.prediction
        for modality in ALL_MODALITIES:
            assert panel.checks[modality].isEnabled() == (modality in available)
        panel_matches(panel, predictor.predict(embeddings[case.patient_id]))
        if len(available) < 2:
            continue
        for modality in sorted(available, key=lambda m: m.value):
            panel.checks[modality].setChecked(False)
            expected = predictor.predict(embeddings[case.patient_id], without=frozenset({modality}))
            assert modality not in expected.used
            panel_matches(panel, expected)
            panel.checks[modality].setChecked(True)
        panel_matches(panel, predictor.predict(embeddings[case.patient_id]))


def test_missing_sequences_and_modalities_are_shown_as_missing(window, demo_cohort):
    case = next(c for c in demo_cohort if c.missing_sequences and c.mri)
    open_and_wait(window, case.patient_id)
    missing = case.missing_sequences[0]
    window.mri.set_sequence(missing)
    assert "not acquired" in window.mri.viewer.canvas.overlays.text.text
    assert window.mri.image_layers[missing].metadata.get("missing") is True
    assert "✕" in window.mri.sequence_buttons[missing].text()
    if not case.slides:
        assert window.slides.stack.currentWidget() is window.slides.message
        assert not window.prediction.checks[Modality.WSI].isEnabled()


def test_a_case_without_a_slide_lets_go_of_the_last_one(window, demo_cohort):
    without, with_slide = (
        next(c for c in demo_cohort if bool(c.slides) is s) for s in (False, True)
    )
    open_and_wait(window, with_slide.patient_id)
    wait_until(lambda: window.slides.reader is not None and not window.slides.steps.busy)
    assert window.slides.heat_check.isEnabled() and window.slides.grid_check.isEnabled()
    reader = window.slides.reader
    open_and_wait(window, without.patient_id)
    assert window.slides.stack.currentWidget() is window.slides.message
    assert not window.slides.heat_check.isEnabled()
    assert not window.slides.grid_check.isEnabled()
    wait_until(lambda: not window.slides.steps.busy)
    assert window.slides.reader is None
    assert reader in window.slides._retired  # closed a little later
    assert window.slides.slide_layer.data[0].shape[:2] != reader.dimensions[::-1]


def test_case_list_filters_and_steps(window, demo_cohort):
    cases = window.case_list
    first = demo_cohort.ids[0]
    cases.select(first)
    wait_until(window.is_case_ready)
    window.actions["next_case"].trigger()
    assert window.case.patient_id == demo_cohort.ids[1]
    window.actions["previous_case"].trigger()
    assert window.case.patient_id == first
    cases.filter_combo.setCurrentText("Has slides")
    assert cases.proxy.rowCount() == sum(1 for c in demo_cohort if c.slides)
    cases.filter_combo.setCurrentText("All cases")
    cases.search.setText(demo_cohort.ids[-1])
    assert cases.proxy.rowCount() == 1
    cases.search.clear()
    wait_until(window.is_case_ready)


def test_mri_views_mosaic_and_mask_controls(window, demo_cohort):
    case = next(c for c in demo_cohort if c.has_complete_mri and c.segmentation is not None)
    open_and_wait(window, case.patient_id)
    canvas = window.mri
    canvas.set_view("coronal")
    assert canvas.viewer.dims.order[-2:] == (2, 0)
    canvas.set_view("3d")
    assert canvas.viewer.dims.ndisplay == 3
    canvas.set_view("axial")
    canvas.set_mosaic(True)
    assert canvas.viewer.grid.enabled and canvas.viewer.grid.stride == 2
    assert all(layer.visible for layer in canvas.mirror_layers)
    assert all(m.data is canvas.labels_layer.data for m in canvas.mirror_layers)
    canvas.set_sequence(case.sequences[0])
    assert not canvas.viewer.grid.enabled
    canvas.outline_check.setChecked(True)
    assert canvas.labels_layer.contour > 0
    canvas.outline_check.setChecked(False)
    canvas.opacity_slider.setValue(30)
    assert canvas.labels_layer.opacity == pytest.approx(0.3)
    # the slice opens at the tumour centre
    centre = case_centre = canvas.labels_layer.data.nonzero()
    assert centre[0].size
    z_world = canvas.viewer.dims.point[2]
    z_voxel = (z_world - canvas.labels_layer.translate[2]) / canvas.labels_layer.scale[2]
    assert abs(z_voxel - case_centre[2].mean()) <= 1.0


def test_undo_history_does_not_leak_between_cases(window, demo_cohort):
    with_mask = [c for c in demo_cohort if c.segmentation is not None]
    open_and_wait(window, with_mask[0].patient_id)
    layer = window.mri.labels_layer
    layer.paint((10, 10, 10), 2)
    assert layer._undo_history
    open_and_wait(window, with_mask[-1].patient_id)
    assert window.mri.labels_layer is layer
    assert not layer._undo_history and not layer._redo_history
    before = layer.data.copy()
    layer.undo()
    np.testing.assert_array_equal(layer.data, before)


def test_report_find(window, demo_cohort):
    case = next(c for c in demo_cohort if c.report is not None)
    open_and_wait(window, case.patient_id)
    word = window.report.text.toPlainText().split()[3]
    window.report.find_edit.setText(word)
    assert window.report.matches() >= 1
    assert window.report.find_next()
    assert window.report.text.isReadOnly()
    window.report.find_edit.clear()


def test_opening_a_case_loads_it_once(window, demo_cohort):
    """Selecting the case in the list must not re-enter open_case (twice the reads)."""
    started: list[str] = []
    original = window.workers.start

    def counting_start(worker):
        started.append(worker.name)
        return original(worker)

    window.workers.start = counting_start
    try:
        target = next(c for c in demo_cohort if c.mri and c.slides and c.report)
        open_and_wait(window, target.patient_id)
    finally:
        window.workers.start = original
    assert window.case_list.current_id() == target.patient_id
    for what in ("loading MRI of", f"opening {target.slides[0].name}", "reading the report"):
        assert sum(name.startswith(what) for name in started) == 1, started


def test_canvases_keep_their_size_between_cases(window, demo_cohort):
    """Every resize of an OpenGL canvas re-renders it: switching cases must not resize."""
    complete = next(c for c in demo_cohort if c.slides and not c.missing_sequences)
    sparse = next(c for c in demo_cohort if not c.slides and c.missing_sequences and c.mri)
    open_and_wait(window, complete.patient_id)
    settle(0.3)
    canvases = (window.mri.qt_viewer.canvas.native, window.slides.qt_viewer.canvas.native)
    sizes = [(w.width(), w.height()) for w in (window.mri, window.slides)]
    mri_canvas_size = (canvases[0].width(), canvases[0].height())
    for case in (sparse, complete, sparse):
        open_and_wait(window, case.patient_id)
        settle(0.3)
        assert [(w.width(), w.height()) for w in (window.mri, window.slides)] == sizes
        assert (canvases[0].width(), canvases[0].height()) == mri_canvas_size
    # a long slide name in the canvas's tool bar must not re-divide the splitter either
    window.slides.info.setText("a-very-long-slide-name-" * 12)
    settle(0.3)
    assert [(w.width(), w.height()) for w in (window.mri, window.slides)] == sizes
    window.slides.info.setText("")
    for viewer in (window.mri.viewer, window.slides.viewer):
        assert viewer.canvas.overlays.scale_bar.visible
        assert not viewer.canvas.overlays.scale_bar.box  # a box relinks a shader per zoom


def test_no_pane_control_is_cut_short(window, demo_cohort):
    """Controls that do not fit a pane's bar go to its overflow menu; the legend wraps."""
    case = next(c for c in demo_cohort if c.slides and c.segmentation is not None)
    open_and_wait(window, case.patient_id)
    wait_until(lambda: window.slides.slide_layer is not None)
    settle(0.3)
    for bar in (window.mri.bar, window.slides.bar):
        shown = [
            widget
            for action in bar.actions()
            if (widget := bar.widgetForAction(action)) is not None and not widget.isHidden()
        ]
        assert shown, "the bar shows nothing"
        for widget in shown:
            assert widget.width() >= widget.sizeHint().width() - 1, widget
    # a narrow pane: the right-hand controls move to the overflow menu, whole
    mri_bar = window.mri.bar
    mri_bar.setFixedWidth(260)
    settle(0.2)
    try:
        assert window.mri.outline_check in mri_bar.hidden_widgets()
        assert window.mri.sequence_buttons[window.mri.sequence].width() >= 20
    finally:
        mri_bar.setMinimumWidth(0)
        mri_bar.setMaximumWidth(16_777_215)
    legend = window.mri.legend
    assert [n.split(" (")[0] for n in legend.names] == [
        "Necrotic core",
        "Oedema",
        "Enhancing tumour",
    ]
    assert legend.height() >= legend.heightForWidth(legend.width())
    assert legend.heightForWidth(200) > legend.heightForWidth(2000), "the legend does not wrap"


def test_a_case_switch_draws_the_mri_canvas_blank_then_done(window, demo_cohort):
    """The layers swapped behind the loading banner are hidden: no frame shows them."""
    first, second = [c for c in demo_cohort if c.mri and c.segmentation is not None][:2]
    open_and_wait(window, first.patient_id)
    settle(0.5)
    counter = PaintCounter(window.mri.qt_viewer.canvas.native)
    window.open_case(second.patient_id)
    wait_until(lambda: window.is_case_ready() and not window.mri.steps.busy)
    settle(0.5)
    assert window.mri.qt_viewer.canvas.native.updatesEnabled()
    # blank, the case, then follow-ups (the slicer, the mask editor): 8 or more before
    assert counter.count <= 5


def test_switching_a_modality_back_reuses_the_prediction(window, demo_cohort):
    case = next(c for c in demo_cohort if c.mri and c.slides)
    open_and_wait(window, case.patient_id)
    panel = window.prediction
    first = window.current_prediction()
    box = panel.checks[Modality.WSI]
    box.setChecked(False)
    hidden = window.current_prediction()
    assert Modality.WSI not in hidden.used
    wait_until(lambda: panel.rendered is hidden)
    box.setChecked(True)
    assert window.current_prediction() is first
    # its plot is painted with the text, in the next frame
    wait_until(lambda: panel.rendered is first, timeout=5)


def test_the_plot_is_painted_in_the_frame_with_no_worker(window, demo_cohort):
    """Switching a modality off and on again at once shows the 'on' plot in the next
    frame, and plotting starts no thread (a matplotlib render held the GIL ~80 ms)."""
    from qtpy.QtCore import QThreadPool

    case = next(c for c in demo_cohort if c.mri and c.slides)
    open_and_wait(window, case.patient_id)
    panel = window.prediction
    first = window.current_prediction()
    pool = QThreadPool.globalInstance()
    wait_until(lambda: pool.activeThreadCount() == 0, timeout=30)
    box = panel.checks[Modality.WSI]
    box.setChecked(False)
    hidden = window.current_prediction()
    wait_until(lambda: panel.rendered is hidden, timeout=5)
    assert pool.activeThreadCount() == 0
    box.setChecked(True)
    wait_until(lambda: panel.rendered is first, timeout=5)
    np.testing.assert_allclose(panel.plotted["probabilities"], first.probabilities)


def test_switching_modalities_runs_no_model_on_the_ui_thread(window, demo_cohort):
    """The case's prediction comes from the model loader, and every switched-off variant
    from a worker, before the user asks: a switch shows its result in the same frame."""
    import threading

    complete = [c for c in demo_cohort if c.mri and c.slides and c.report is not None]
    case = next((c for c in complete if c is not window.case), complete[0])
    if case is window.case:
        open_and_wait(window, next(c for c in demo_cohort if c is not case).patient_id)
    for key in [k for k in window.session.predictions if k[0] == case.patient_id and k[1]]:
        del window.session.predictions[key]  # (predicted while the fixture opened it)
    threads: list[int] = []
    original = window.predictor.predict

    def recording(*args, **kwargs):
        threads.append(threading.get_ident())
        return original(*args, **kwargs)

    window.predictor.predict = recording
    try:
        open_and_wait(window, case.patient_id)
        available = window.prediction.available
        assert len(available) == 3
        # all 2^3 - 1 sets of modalities used, each predicted once
        wait_until(lambda: sum(k[0] == case.patient_id for k in window.session.predictions) == 7)
        for modality in sorted(available, key=lambda m: m.value):
            box = window.prediction.checks[modality]
            box.setChecked(False)
            assert modality not in window.prediction.prediction.used
            box.setChecked(True)
    finally:
        del window.predictor.predict
    assert threads and threading.get_ident() not in threads
    assert len(threads) == 6


def test_a_failed_prefetch_is_read_again(window, demo_cohort):
    """A prefetch that lost an import race must not leave the window empty."""
    from concurrent.futures import Future
    from types import SimpleNamespace

    failed: Future = Future()
    failed.set_exception(AttributeError("partially initialized module 'typing'"))
    case = demo_cohort.cases[1]
    mri: Future = Future()
    mri.set_exception(AttributeError("partially initialized module 'typing'"))
    window.prefetch = SimpleNamespace(
        path=demo_cohort.root / "manifest.csv",
        cohort=failed,
        take_mri=lambda pid: mri if pid == case.patient_id else None,
    )
    try:
        window.open_cohort_path(  # the same model and embeddings: later tests see no change
            demo_cohort.root / "manifest.csv",
            case_id=case.patient_id,
            model_dir=window.model_dir,
            embeddings=dict(window.embeddings),
        )
        wait_until(
            lambda: (
                window.cohort is not demo_cohort
                and window.case is not None
                and window.case.patient_id == case.patient_id
                and window.model_state == "ready"
                and window.is_case_ready()
            ),
            timeout=120,
        )
    finally:
        window.prefetch = None
    assert window.mri.stack.currentWidget() is window.mri.qt_viewer
    assert window.mri.case_id == case.patient_id


def test_every_flag_and_seen_in_training_are_shown(window, demo_cohort):
    """Warnings are never computed and dropped; a training case is marked as such."""
    from dataclasses import replace

    session = window.session
    case = next(c for c in demo_cohort if c.mri and c.slides)
    open_and_wait(window, case.patient_id)
    pid = case.patient_id
    original = session.embeddings[pid]
    split = window.predictor.split
    saved_train = list(split.get("train", ()))
    try:
        session.embeddings[pid] = replace(
            original, flags={"mri": "no mask: whole-brain features only"}
        )
        split["train"] = [*saved_train, pid]
        session.mask_used.pop(pid, None)
        for key in [k for k in session.predictions if k[0] == pid]:
            del session.predictions[key]
        session.refresh_prediction()
        panel = window.prediction
        assert panel.flags.isVisible() and panel.flags.text().count("⚠") == 2
        assert "no mask: whole-brain features only" in panel.flags.text()
        assert "train set" in panel.flags.text()
        assert "seen in training" in panel.subline.text()
        assert "✓" not in panel.subline.text() and "✗" not in panel.subline.text()
        row = window.case_list.model.rows[window.case_list._row_of(pid)]  # noqa: SLF001
        assert row.seen_in == "train" and row.cell(5).endswith("· seen")
        assert "seen in training" in row.tooltip(5)
        box = window.show_model_card()
        assert "trained on" in box.text() and "temperature" in box.text()
        box.close()
    finally:
        split["train"] = saved_train
        session.embeddings[pid] = original
        for key in [k for k in session.predictions if k[0] == pid]:
            del session.predictions[key]
        session.refresh_prediction()


def test_closing_mid_switch_runs_no_more_steps(window, demo_cohort):
    """(Last: closes the module's window.) A case switch's UI steps stop with the window."""
    other = next(c for c in demo_cohort.ids if c != window.case.patient_id)
    window.case_list.select(other)
    wait_until(lambda: window.mri.steps.busy or window.slides.steps.busy, timeout=30)
    window.close()
    assert not window.isVisible()
    assert not window.mri.steps.busy and not window.slides.steps.busy
    assert window.mri.steps not in window.scheduler.runners_waiting
    assert window.slides.steps not in window.scheduler.runners_waiting
