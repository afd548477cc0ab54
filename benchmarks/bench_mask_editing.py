"""Benchmark: the longest UI stall while painting a real mask with autosave running.

Paints 30 strokes a second for a few seconds on the real 240 x 240 x 155 mask of
TCGA-DU-7294 (the shared test data), in a napari canvas with the mask editor bound, with
the autosave timer firing every 500 ms (10x the app's 5 s, so each run holds several), and
measures the UI thread's longest stall (:class:`~corebt_viewer.gui.workers.StallMonitor`):

* ``paint only``: the same painting with autosave off (the floor: a stroke, its redraw);
* ``autosave in a worker``: what the editor does now (copy on the UI thread, compress and
  write in a worker; "unsaved" from the edit count);
* ``baseline``: what it did before, in the same run: ``np.savez_compressed`` of the whole
  volume on the UI thread at each tick, and a whole-volume comparison on every stroke.

Target: under 50 ms for ``autosave in a worker``. Usage::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python benchmarks/bench_mask_editing.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = Path(os.environ.get("COREBT_SHARED_DATA", SHARED)) / "mri" / "TCGA-DU-7294"
SEG, T1C = "TCGA-DU-7294_seg_fusion_mav.nii.gz", "TCGA-DU-7294_t1c_bet.nii.gz"


def make_cohort(folder: Path, data: Path):
    from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_cohort

    for name in (SEG, T1C):
        shutil.copyfile(data / name, folder / name)
    row = {"patient_id": "TCGA-DU-7294", "t1c": T1C, "seg": SEG}
    lines = [",".join(MANIFEST_COLUMNS), ",".join(f'"{row.get(c, "")}"' for c in MANIFEST_COLUMNS)]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return read_cohort(folder)


def rss_mb() -> float:
    """Resident memory of this process (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spin(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


WHY_MS = 0.0  # --why: sample the UI thread's stack in stalls longer than this


def run(mode: str, cohort, app, seconds: float) -> dict:
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    from corebt_viewer.gui import layers as L
    from corebt_viewer.gui.mask_editor import MaskEditor
    from corebt_viewer.gui.mask_guard import FixedPrompts
    from corebt_viewer.gui.widgets import make_canvas_native
    from corebt_viewer.gui.workers import StallMonitor
    from corebt_viewer.io.nifti import load_volume
    from corebt_viewer.services.mask_session import MaskSession

    case = cohort.cases[0]
    volume = load_volume(cohort.root / T1C)
    viewer = ViewerModel()
    qt_viewer = QtViewer(viewer)
    make_canvas_native(qt_viewer)  # as the app does with a software renderer
    qt_viewer.resize(700, 700)
    qt_viewer.show()
    data, kwargs = L.volume_layer(volume)
    image = viewer.add_image(data, **kwargs)
    session = MaskSession(cohort_root=cohort.root, case=case, author="bench")
    layer = viewer.add_labels(
        session.labels,
        colormap=L.region_colours(),
        **L.grid_transform(session.affine, session.voxel_size),
    )
    viewer.dims.order = L.PLANES["axial"]
    editor = MaskEditor(prompts=FixedPrompts(unsaved="discard", restore=False), autosave_ms=500)
    editor.resize(420, 800)
    editor.show()
    editor.set_cohort(cohort.root, cohort.ids)
    editor.bind(session, layer, viewer=viewer, image_layer=lambda: image)
    editor.set_mode("paint")
    editor.set_brush_size(6)
    viewer.reset_view()
    spin(app, 1.0)
    guard = editor.guard
    ticks: list[float] = []  # UI-thread ms of each autosave tick

    def timed(function):
        def wrapper(*args):
            start = time.perf_counter()
            function(*args)
            ticks.append((time.perf_counter() - start) * 1000.0)

        return wrapper

    if mode == "paint only":
        guard.timer.stop()
    elif mode == "autosave in a worker":
        guard.timer.timeout.disconnect()
        guard.timer.timeout.connect(timed(guard.autosave_in_background))
    elif mode == "baseline":  # the editor before: both on the UI thread
        guard.timer.timeout.disconnect()
        saved = session.labels.copy()

        def sync_autosave():  # as the editor wrote it then: savez_compressed (level 6)
            import io

            from corebt_viewer.io.atomic_files import atomic_write_bytes
            from corebt_viewer.io.mask_recovery import recovery_path

            if not np.array_equal(session.labels, saved):
                buffer = io.BytesIO()
                np.savez_compressed(buffer, labels=session.labels)
                target = recovery_path(session.location.original, directory=session.location.folder)
                atomic_write_bytes(target, buffer.getvalue(), mode=0o600)

        guard.timer.timeout.connect(timed(sync_autosave))
        layer.events.paint.connect(lambda _e: np.array_equal(session.labels, saved))
    written = []
    guard.autosaved.connect(written.append)
    z = int(session.labels.shape[2] // 2)
    rng = np.random.default_rng(0)
    for label in (1, 2, 3):  # warm up: the first stroke of each label builds GL state
        layer.paint((120, 120, z), label)
        spin(app, 0.3)
    layer.undo()
    monitor = StallMonitor(parent=editor, sample_after_ms=WHY_MS)
    rss_before = rss_mb()
    monitor.start()
    end = time.perf_counter() + seconds
    strokes, last = 0, 0.0
    while time.perf_counter() < end:
        now = time.perf_counter()
        if now - last >= 1 / 30:
            last = now
            x, y = rng.integers(60, 180, 2)
            layer.paint((int(x), int(y), z), int(1 + strokes % 3))
            strokes += 1
        app.processEvents()
        time.sleep(0.001)
    monitor.stop()
    rss_growth = rss_mb() - rss_before
    for late_ms, samples in sorted(monitor.episodes, key=lambda e: e[0])[-3:] if WHY_MS else ():
        top = sorted(samples.items(), key=lambda kv: -kv[1])[:4]
        print(f"  {mode}: a {late_ms:.0f} ms stall, sampled: " + " | ".join(k for k, _ in top))
    spin(app, 0.5)
    result = {
        "worst_ms": monitor.worst_ms,
        "p95_ms": float(np.percentile(monitor.stalls, 95)) if monitor.stalls else 0.0,
        "strokes": strokes,
        "autosaves": len(written) if mode != "baseline" else len(ticks),
        "tick_ms": max(ticks, default=0.0),
        "rss_growth_mb": rss_growth,
    }
    editor.guard.prompts = FixedPrompts(unsaved="discard")
    editor.unbind()
    editor.shutdown()
    editor.workers.wait(10_000)
    editor.close()
    qt_viewer.close()
    spin(app, 0.3)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="painting time per mode")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of TCGA-DU-7294")
    parser.add_argument(
        "--why",
        type=float,
        default=0.0,
        metavar="MS",
        help="print what the UI thread ran in the longest stalls over 4x MS (sampled)",
    )
    args = parser.parse_args(argv)
    global WHY_MS
    WHY_MS = args.why
    from qtpy.QtCore import QCoreApplication, Qt
    from qtpy.QtWidgets import QApplication

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication.instance() or QApplication(sys.argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cohort = make_cohort(Path(tmp), args.data)
        for mode in ("paint only", "autosave in a worker", "baseline"):
            results[mode] = run(mode, cohort, app, args.seconds)
            r = results[mode]
            print(
                f"{mode:>22}: longest UI stall {r['worst_ms']:6.1f} ms, "
                f"95th percentile {r['p95_ms']:5.1f} ms "
                f"({r['strokes']} strokes, {r['autosaves']} autosaves; longest autosave "
                f"tick on the UI thread {r['tick_ms']:.1f} ms; memory {r['rss_growth_mb']:+.0f} MB)",
                flush=True,
            )
    new, old = results["autosave in a worker"]["worst_ms"], results["baseline"]["worst_ms"]
    floor = results["paint only"]["worst_ms"]
    print(
        f"autosave in a worker vs baseline: {new / old:.2f}x the stall ({new:.1f} vs {old:.1f} ms)"
    )
    print(f"autosave in a worker vs paint only: {new / floor:.2f}x the floor")
    tick_new, tick_old = (results[m]["tick_ms"] for m in ("autosave in a worker", "baseline"))
    print(
        f"autosave's own UI-thread time: {tick_new:.1f} ms vs {tick_old:.1f} ms "
        f"({tick_old / max(tick_new, 1e-3):.0f}x less)"
    )
    print(f"target under 50 ms: {'met' if new < 50 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
