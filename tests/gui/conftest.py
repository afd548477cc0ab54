"""GUI fixtures: a small generated demo cohort, synthetic embeddings and a trained model.

The cohort's files (MRI, slides, reports) are real demo files written by
``make_demo_cohort``; the embeddings are seeded synthetic :class:`CaseEmbedding` objects
(class-dependent, with per-tile parts on each slide's tile grid) so the GUI tests need no
encoder run, and the fusion model is trained on them by the real ``train_model``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import QCoreApplication, QEvent, QObject, Qt

from corebt_viewer.gui.app import keep_triton_out

# both napari canvases share GL contexts: must be set before the QApplication exists
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
keep_triton_out()  # as the app does: the demo model is trained after canvases exist

DIMS = {"mri": 12, "wsi": 10, "report": 8}
TILE = 256


def synthetic_embedding(case, class_index: int, rng: np.random.Generator, slide_sizes=None):
    """A class-dependent embedding for every modality `case` has."""
    from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
    from corebt_viewer.core.modalities import Modality

    vectors, parts = {}, {}
    if case.mri:
        names = [s.value for s in case.sequences]
        feats = rng.normal(0, 1, (len(names), DIMS["mri"])) + class_index
        weights = np.full(len(names), 1 / len(names))
        parts[Modality.MRI] = PooledParts(feats, weights, tuple(names))
    if case.slides:
        coords, groups = [], []
        for g, _slide in enumerate(case.slides):
            w, h = (slide_sizes or {}).get(g, (1024, 1024))
            for y in range(0, h - TILE + 1, TILE):
                for x in range(0, w - TILE + 1, TILE):
                    coords.append((x, y))
                    groups.append(g)
        coords = np.asarray(coords, int)
        feats = rng.normal(0, 1, (len(coords), DIMS["wsi"])) - class_index
        weights = np.full(len(coords), 1 / len(coords))
        labels = tuple(case.slides[g].name for g in groups)
        parts[Modality.WSI] = PooledParts(feats, weights, labels, coords, np.asarray(groups))
    if case.report is not None:
        feats = rng.normal(0, 1, (1, DIMS["report"])) + 0.5 * class_index
        parts[Modality.REPORT] = PooledParts(feats, np.ones(1), ("report",))
    for modality, part in parts.items():
        vectors[modality] = part.vector
    return CaseEmbedding(case.patient_id, vectors, {m: "synthetic" for m in vectors}, parts)


def make_cohort(tmp_path_factory, name: str, patients: int):
    """A small generated demo cohort (1,024-px slides) in a fresh temporary folder."""
    from corebt_viewer.io.manifest import read_cohort
    from corebt_viewer.services.demo import make_demo_cohort

    out = tmp_path_factory.mktemp(name) / "cohort"
    return read_cohort(make_demo_cohort(out=out, patients=patients, slide_size=1024, workers=1))


@pytest.fixture(scope="session")
def demo_cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory, "gui", 4)


@pytest.fixture(scope="session")
def demo_model(demo_cohort, tmp_path_factory):
    """(model folder, embeddings of the demo cases) trained on 32 synthetic cases."""
    from corebt_viewer.core.case import Case, CaseLabels, Cohort
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.core.tasks import get_task
    from corebt_viewer.services.fusion import train_model

    task = get_task("level1")
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("train")
    level1 = {name: name for name in task.classes[:-1]}
    names = [*level1, "Circumscribed Astrocytic Glioma"]
    cases, embeddings = [], {}
    for i in range(32):
        cls = names[i % len(names)]
        case = Case(
            f"T{i:03d}",
            mri={s: root / f"{i}_{s.value}.nii.gz" for s in (Sequence.T1, Sequence.T1C)},
            slides=(root / f"{i}.svs",) if i % 3 else (),
            report=root / f"{i}.txt" if i % 2 else None,
            labels=CaseLabels(level1=cls),
        )
        cases.append(case)
        embeddings[case.patient_id] = synthetic_embedding(case, task.class_index(cls, None), rng)
    training = Cohort(root, tuple(cases))
    out = root / "model"
    # the GUI tests exercise three modalities: the report extension (eq. 2 is the default)
    train_model(cohort=training, task="level1", out=out, embeddings=embeddings, with_report=True)
    shown = {}
    for case in demo_cohort:
        index = case.target(task) or 0
        shown[case.patient_id] = synthetic_embedding(
            case, index, rng, slide_sizes=_slide_sizes(case)
        )
    return out, shown


def _slide_sizes(case):
    from corebt_viewer.io.slides import open_slide

    sizes = {}
    for g, path in enumerate(case.slides):
        with open_slide(path) as reader:
            sizes[g] = reader.dimensions
    return sizes


def wait_until(condition, timeout: float = 60.0, interval: float = 0.01) -> None:
    """Process Qt events until `condition()` is true (fails the test on timeout)."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        app.processEvents()
        time.sleep(interval)


def grab_array(widget) -> np.ndarray:
    """What `widget` shows, as an (h, w, 3) uint8 RGB array."""
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3)


def settle(seconds: float = 0.3) -> None:
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def open_main_window(qapp, cohort, demo_model, prompts):
    """The main window on `cohort`, model loaded, first case on screen."""
    from napari.qt import get_stylesheet

    from corebt_viewer.gui.app import configure_napari_settings, register_napari_theme_paths
    from corebt_viewer.gui.main_window import MainWindow

    configure_napari_settings()
    register_napari_theme_paths()
    qapp.setStyleSheet(get_stylesheet("dark"))
    model_dir, embeddings = demo_model
    win = MainWindow()
    win.mask_review.editor.guard.prompts = prompts
    win.resize(1500, 900)
    win.show()
    win.mri.viewer.reset_view()
    win.slides.viewer.reset_view()
    win.open_cohort(cohort, model_dir=model_dir, embeddings=embeddings)
    wait_until(lambda: win.model_state != "loading" and win.is_case_ready(), timeout=120)
    return win


@pytest.fixture(scope="module")
def window(qapp, demo_cohort, demo_model):
    """The main window on the demo cohort, model loaded, first case on screen."""
    from corebt_viewer.gui.mask_guard import FixedPrompts

    # unsaved mask edits are discarded on switching case or closing (no modal dialog)
    win = open_main_window(qapp, demo_cohort, demo_model, FixedPrompts(unsaved="discard"))
    yield win
    win.close()
    settle(0.2)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


class PaintCounter(QObject):
    """Counts the paint events `widgets` receive (:attr:`count`)."""

    def __init__(self, *widgets):
        super().__init__()
        self.count = 0
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False
