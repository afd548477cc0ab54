"""The viewer on real public files (TCGA MRI, Aperio SVS, Hamamatsu NDPI) and broken ones."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.modalities import Sequence
from tests.gui.conftest import settle, wait_until

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def real_cohort(real_mri_dir, svs_path, ndpi_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    stem = real_mri_dir / "TCGA-DU-7294"
    real = Case(
        "TCGA-DU-7294",
        mri={
            Sequence.T1: stem.with_name("TCGA-DU-7294_t1_bet.nii.gz"),
            Sequence.T1C: stem.with_name("TCGA-DU-7294_t1c_bet.nii.gz"),
            Sequence.T2: stem.with_name("TCGA-DU-7294_t2_bet.nii.gz"),
            Sequence.FLAIR: stem.with_name("TCGA-DU-7294_fla_bet.nii.gz"),
        },
        segmentation=stem.with_name("TCGA-DU-7294_seg_fusion_mav.nii.gz"),
        slides=(svs_path, ndpi_path),
        labels=CaseLabels(level1="Oligodendroglioma"),
    )
    broken_mri = root / "broken_t1.nii.gz"
    broken_mri.write_bytes(b"\x1f\x8b not really a gzip file")
    broken_slide = root / "broken.svs"
    broken_slide.write_bytes(b"II*\x00 truncated tiff")
    broken = Case(
        "BROKEN",
        mri={Sequence.T1: broken_mri},
        slides=(broken_slide,),
        report=root / "missing-report.txt",
    )
    return Cohort(root, (real, broken))


@pytest.fixture(scope="module")
def real_window(qapp, real_cohort, tmp_path_factory):
    from corebt_viewer.gui.app import configure_napari_settings, register_napari_theme_paths
    from corebt_viewer.gui.main_window import MainWindow

    configure_napari_settings()
    register_napari_theme_paths()
    win = MainWindow()
    win.resize(1400, 850)
    win.show()
    win.open_cohort(real_cohort, model_dir=tmp_path_factory.mktemp("no-model"))
    wait_until(lambda: win.is_case_ready(), timeout=120)
    win.mri.steps.flush()
    yield win
    win.close()
    settle(0.2)


def test_real_mri_in_millimetres_with_brats_mask(real_window):
    canvas = real_window.mri
    for seq in Sequence:
        layer = canvas.image_layers[seq]
        assert layer.data.shape == (240, 240, 155)
        lo, hi = layer.contrast_limits
        inside = layer.data[layer.data != 0]
        assert np.percentile(inside, 1) <= hi and lo < np.percentile(inside, 99)
    labels = canvas.labels_layer
    assert set(np.unique(labels.data)) == {0, 1, 2}  # this low-grade glioma has no enhancing part
    assert tuple(labels.scale) == pytest.approx((1.0, 1.0, 1.0))
    centre = np.argwhere(labels.data > 0).mean(axis=0)
    z = (canvas.viewer.dims.point[2] - labels.translate[2]) / labels.scale[2]
    assert abs(z - centre[2]) <= 1.0
    assert real_window.prediction.headline.text() == "No model for this cohort"


def test_real_slides_lazy_pyramid_and_chooser(real_window, svs_path, ndpi_path):
    slides = real_window.slides
    wait_until(lambda: slides.slide_layer is not None)
    assert slides.chooser.count() == 2 and slides.chooser.isEnabled()
    layer = slides.slide_layer
    assert layer.multiscale and layer.rgb
    assert layer.data[0].shape[:2] == (2967, 2220)
    assert layer.scale[0] == pytest.approx(0.499, abs=1e-3)  # microns per pixel
    slides.chooser.setCurrentIndex(1)
    wait_until(lambda: slides.slide_layer is not None and slides.slide_layer.name == ndpi_path.name)
    assert len(slides.slide_layer.data) >= 2
    assert slides.slide_layer.data[0].shape[:2] == (4864, 3968)
    settle(0.5)
    assert slides.stack.currentWidget() is slides.qt_viewer


def test_unreadable_files_show_messages_and_app_keeps_working(real_window, real_cohort):
    real_window.open_case("BROKEN")
    wait_until(real_window.is_case_ready, timeout=60)
    assert real_window.mri.stack.currentWidget() is real_window.mri.message
    assert "broken_t1.nii.gz" in real_window.mri.message.text()
    wait_until(lambda: real_window.slides.stack.currentWidget() is real_window.slides.message)
    wait_until(
        lambda: (
            "broken.svs" in real_window.slides.message.text()
            and "Opening" not in real_window.slides.message.text()
        )
    )
    assert "missing-report.txt" in real_window.report.text.placeholderText()
    real_window.open_case("TCGA-DU-7294")
    wait_until(real_window.is_case_ready, timeout=60)
    real_window.mri.steps.flush()
    assert real_window.mri.stack.currentWidget() is real_window.mri.qt_viewer
