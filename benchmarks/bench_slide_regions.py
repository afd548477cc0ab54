"""Benchmark: drawing and editing regions on a large slide holding 500 regions.

Measures, in one run under a display (``xvfb-run -a``), the longest UI-thread stall
(:class:`~corebt_viewer.gui.workers.StallMonitor`) of each region operation, in the app's
own window (a :class:`~corebt_viewer.gui.main_window.MainWindow` showing a one-case cohort
whose slide is the 50,000-px one, with its regions dock, table and frame pacing), against
the frame floor that ``bench_viewer.py`` reports (the longest stall while the same window
repaints every widget with nothing to compute):

- load: 500 regions put on the canvas (a full layer rebuild),
- draw: a region added the way napari's drawing modes add it,
- move: a region dragged (napari's "changed" event) -> one editor move,
- class: a selected region's class changed from the dock,
- undo / redo (Ctrl+Z / Ctrl+Shift+Z).

Usage::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python benchmarks/bench_slide_regions.py
    ... bench_slide_regions.py --regions 500 --repeats 10
    ... bench_slide_regions.py --unpaced     # frames painted in the handler's turn (before)
    ... bench_slide_regions.py --profile draw  # a cProfile of one operation's calls
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_viewer import big_slide, p95, spin  # noqa: E402


def random_regions(n: int, width: int, height: int, seed: int = 0):
    """`n` star-shaped polygons of 24-64 corners spread over the slide (level-0 px)."""
    from corebt_viewer.core.annotations import DEFAULT_REGION_CLASSES, Region

    rng = np.random.default_rng(seed)
    names = [c.name for c in DEFAULT_REGION_CLASSES]
    out = []
    for i in range(n):
        k = int(rng.integers(24, 65))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(200, 1500) * rng.uniform(0.6, 1.0, k)
        cx, cy = rng.uniform(2000, width - 2000), rng.uniform(2000, height - 2000)
        ring = np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)]
        out.append(Region.polygon([ring], class_name=names[i % len(names)]))
    return out


def open_window(app, slide: Path, root: Path):
    """The app's main window on a one-case cohort (in `root`) whose one slide is `slide`."""
    from corebt_viewer.core.case import Case, Cohort
    from corebt_viewer.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1680, 1000)
    window.show()
    window.open_cohort(Cohort(root=root, cases=(Case("bench", slides=(slide,)),)))
    regions = window.slide_tools.regions
    regions.dock.raise_()

    def ready() -> bool:
        layer = regions.layer
        return (
            regions.session.has_slide
            and regions._loading is None  # noqa: SLF001 - waiting for the app's own load
            and layer is not None
            and layer.visible
            and not regions.sync.busy
        )

    spin(app, ready, 180)
    if not ready():
        raise SystemExit(f"the regions of {slide} did not load")
    spin(app, lambda: False, 2.0)  # first draws settle
    return window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--slide", type=Path, help="slide to use (default: the 50,000-px one)")
    parser.add_argument(
        "--unpaced",
        action="store_true",
        help="turn the window's frame pacing off (a frame painted in its handler's turn)",
    )
    parser.add_argument(
        "--profile", metavar="OPERATION", help="print a cProfile of OPERATION's calls (e.g. draw)"
    )
    args = parser.parse_args(argv)

    from qtpy.QtWidgets import QWidget

    from corebt_viewer.core.annotations import SlideAnnotations
    from corebt_viewer.gui.app import create_application
    from corebt_viewer.gui.workers import StallMonitor

    slide = args.slide or big_slide()
    app = create_application()
    root = Path(tempfile.mkdtemp(prefix="bench-regions-"))
    window = open_window(app, slide, root)
    if args.unpaced:
        window.removeEventFilter(window.frame_pacer)
    tools = window.slide_tools.regions
    layer, sync, session = tools.layer, tools.sync, tools.session
    reader = window.slides.reader
    width, height = reader.dimensions
    mpp = reader.mpp or 1.0
    regions = random_regions(args.regions, width, height)
    results: dict[str, dict] = {}

    sample_ms = float(os.environ.get("BENCH_STALL_SAMPLE_MS", "0"))  # where the UI stalls

    def measure(name: str, operation, repeats: int, settle_s: float = 0.15) -> None:
        monitor = StallMonitor(parent=window, sample_after_ms=sample_ms)
        monitor.start()
        took = []
        profile = None
        if args.profile and name.startswith(args.profile):
            import cProfile

            profile = cProfile.Profile()
        for i in range(repeats):
            started = time.perf_counter()
            if profile is not None:
                profile.runcall(operation, i)
            else:
                operation(i)
            took.append((time.perf_counter() - started) * 1000)
            spin(app, lambda: False, settle_s)
        monitor.stop()
        if profile is not None:
            import pstats

            order = os.environ.get("BENCH_PROFILE_SORT", "cumtime")
            pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(40)
        print(f"  {name}: worst stall {monitor.worst_ms:.0f} ms", file=sys.stderr)
        for late_ms, samples in sorted(monitor.episodes, key=lambda e: e[0])[-2:]:
            top = sorted(samples.items(), key=lambda kv: -kv[1])[:6]
            print(f"    a {late_ms:.0f} ms stall, sampled:", file=sys.stderr)
            print("\n".join(f"      x{n} {where}" for where, n in top), file=sys.stderr)
        results[name] = {
            "worst_stall_ms": round(monitor.worst_ms, 1),
            "p95_stall_ms": round(p95(monitor.stalls), 1),
            "median_call_ms": round(sorted(took)[len(took) // 2], 1),
        }

    def load(i):  # even: 500 regions onto an empty layer (a full rebuild); odd: cleared
        shown = SlideAnnotations(tuple(r.translated(0, 0) for r in regions) if i % 2 == 0 else ())
        session.set_slide(
            cohort_root=root, case_id="bench", slide=slide, mpp=mpp, annotations=shown
        )

    loading = f"load / clear {args.regions}"
    measure(loading, load, 4, settle_s=1.5)
    load(0)
    spin(app, lambda: not sync.busy, 10)
    spin(app, lambda: False, 0.5)

    def draw(i):  # what napari's rectangle mode adds
        x, y = 5000 + 300 * i, 5000
        layer.add([np.array([[y, x], [y, x + 250], [y + 250, x + 250], [y + 250, x]], float)],
                  shape_type="rectangle")  # fmt: skip

    measure("draw", draw, args.repeats)

    def move(i):
        index = i % layer.nshapes
        data = layer.data
        moved = np.asarray(data[index]) + [40.0, 40.0]
        layer.selected_data = {index}
        layer._data_view.edit(index, moved)  # what napari's drag does
        layer.events.data(value=data, action="changed", data_indices=(index,),
                          vertex_indices=((),))  # fmt: skip

    measure("move", move, args.repeats)

    def reclass(i):  # a region selected on the canvas, its class chosen in the dock
        layer.selected_data = {k for k, owner in enumerate(sync.owners)
                               if owner[0] == session.regions[i].id}  # fmt: skip
        tools.set_class("necrosis" if i % 2 else "normal")

    measure("class", reclass, args.repeats)
    layer.selected_data = set()
    measure("undo", lambda _i: tools.undo(), args.repeats)
    measure("redo", lambda _i: tools.redo(), args.repeats)

    frames = StallMonitor(parent=window, sample_after_ms=sample_ms)  # as bench_viewer does
    frames.start()
    for _ in range(10):
        for widget in window.findChildren(QWidget):
            widget.update()
        spin(app, lambda: False, 0.3)
    frames.stop()
    for late_ms, samples in sorted(frames.episodes, key=lambda e: e[0])[-2:]:
        top = sorted(samples.items(), key=lambda kv: -kv[1])[:6]
        print(f"  floor: a {late_ms:.0f} ms stall, sampled:", file=sys.stderr)
        print("\n".join(f"      x{n} {where}" for where, n in top), file=sys.stderr)
    floor = frames.worst_ms
    edits = [r["worst_stall_ms"] for name, r in results.items() if not name.startswith("load")]
    summary = {
        "slide": f"{slide.name} ({width:,} x {height:,} px)",
        "frames": "not paced (--unpaced)" if args.unpaced else "paced, as in the app",
        "regions": len(session.regions),
        "shapes": layer.nshapes,
        "rebuilds": sync.rebuilds,
        "frame_floor_worst_ms": round(floor, 1),
        "operations": results,
        "worst_edit_stall_ms": max(edits),
        "worst_edit_over_floor": round(max(edits) / floor, 2) if floor else None,
        "load_over_floor": round(results[loading]["worst_stall_ms"] / floor, 2) if floor else None,
    }
    print(json.dumps(summary, indent=2))
    window.close()  # unsaved edits become a version in the temporary cohort
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
