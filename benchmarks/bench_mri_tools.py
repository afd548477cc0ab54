"""Benchmark of the MRI reading tools (run under a display, e.g. ``xvfb-run -a``).

Measures, in one run on one machine, on a generated demo case:

1. the cost of the three-plane layout: milliseconds from a crosshair move to every canvas
   drawn (events drained), in the three-plane layout against the single view (baseline),
   and the ratio;
2. the 3D pane's redraw when its crosshair lines follow (once the crosshair rests), and
   the time to build the four extra canvases (paid once, the first time the layout opens);
3. the RANO measurement of a demo mask and of the real TCGA-DU-7294 mask (worker thread
   in the app; here timed directly).

Usage::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python benchmarks/bench_mri_tools.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("COREBT_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_MASK = SHARED / "mri/TCGA-DU-7294/TCGA-DU-7294_seg_fusion_mav.nii.gz"


def drain(app, seconds: float = 0.0) -> None:
    end = time.perf_counter() + seconds
    app.processEvents()
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()


def crosshair_ms(app, tools, moves: int = 20) -> float:
    """Median ms per crosshair move until the canvases have drawn."""
    x, y, z = tools.crosshair.position
    times = []
    for i in range(moves):
        start = time.perf_counter()
        tools.crosshair.set((x + (i % 5) * 2, y - (i % 3) * 2, z + (i % 4) * 2), source="bench")
        drain(app)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    from qtpy.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    from qtpy.QtWidgets import QApplication

    app = QApplication([])
    from corebt_viewer.core.crosshair import Crosshair
    from corebt_viewer.gui.app import configure_napari_settings
    from corebt_viewer.gui.main_window import MainWindow
    from corebt_viewer.gui.surface_pane import FOLLOW_AFTER_MS
    from corebt_viewer.gui.three_plane import ThreePlaneView
    from corebt_viewer.io.manifest import read_cohort
    from corebt_viewer.services.demo import make_demo_cohort
    from corebt_viewer.services.mri_measure import measure_rano

    configure_napari_settings()
    out = Path(tempfile.mkdtemp()) / "cohort"
    cohort = read_cohort(make_demo_cohort(out=out, patients=1, slide_size=1024, workers=1))
    win = MainWindow()
    win.resize(1680, 1000)
    win.show()
    win.open_cohort(cohort, model_dir=out / "no-model")
    deadline = time.perf_counter() + 180
    while not win.is_case_ready() and time.perf_counter() < deadline:
        drain(app, 0.05)
    win.mri.steps.flush()
    tools = win.mri_tools
    drain(app, 0.5)
    start = time.perf_counter()  # after the window's own canvases: napari is warm
    extra = ThreePlaneView(Crosshair(), win.workers)
    build_ms = (time.perf_counter() - start) * 1000
    extra.deleteLater()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        tools.set_layout("three")
        drain(app, 0.5)
        with cProfile.Profile() as prof:
            crosshair_ms(app, tools, 5)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        return
    single = crosshair_ms(app, tools)
    tools.set_layout("three")
    drain(app, 0.5)
    three = crosshair_ms(app, tools)
    surface = tools.three_plane.surface
    deadline = time.perf_counter() + 60
    while not surface.layers and time.perf_counter() < deadline:
        drain(app, 0.05)
    follow = []
    for _ in range(10):  # the 3D pane's lines, drawn once the crosshair rests
        start = time.perf_counter()
        surface.draw_crosshair()
        drain(app)
        follow.append((time.perf_counter() - start) * 1000)
    labels = win.mri.labels_layer
    start = time.perf_counter()
    measure_rano(labels.data, tuple(labels.scale))
    rano_demo = time.perf_counter() - start
    rano_real = float("nan")
    if REAL_MASK.exists():
        from corebt_viewer.io.nifti import load_segmentation

        seg = load_segmentation(REAL_MASK)
        start = time.perf_counter()
        measure_rano(seg.labels, seg.voxel_size)
        rano_real = time.perf_counter() - start
    print(f"crosshair move, single view (baseline): {single:7.1f} ms")
    print(f"crosshair move, three planes:           {three:7.1f} ms  ({three / single:.1f}x)")
    print(
        f"3D pane's crosshair, once it rests:      {statistics.median(follow):7.1f} ms "
        f"(after {FOLLOW_AFTER_MS} ms; {len(surface.layers)} surfaces)"
    )
    print(f"building the four canvases:             {build_ms:7.1f} ms (once, on first Q)")
    print(f"RANO, demo mask {labels.data.shape}:     {rano_demo:7.2f} s")
    print(f"RANO, TCGA-DU-7294 mask:                {rano_real:7.2f} s")
    win.mask_review.editor.guard.prompts = None
    app.quit()


if __name__ == "__main__":
    main()
