"""Benchmark: drawing and editing regions on a large slide holding 500 regions.

Measures, in one run under a display (``xvfb-run -a``), the longest UI-thread stall
(:class:`~corebt_viewer.gui.workers.StallMonitor`) of each region operation on the slide
canvas, against the frame floor that ``bench_viewer.py`` reports (the longest stall while the
same window repaints every widget with nothing to compute):

- load: 500 regions put on the canvas (a full layer rebuild),
- draw: a region added the way napari's drawing modes add it,
- move: a region dragged (napari's "changed" event) -> one editor move,
- class: the selection's class changed (a rebuild),
- undo / redo (rebuilds).

Usage::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python benchmarks/bench_slide_regions.py
    ... bench_slide_regions.py --regions 500 --repeats 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--slide", type=Path, help="slide to use (default: the 50,000-px one)")
    parser.add_argument(
        "--profile", metavar="OPERATION", help="print a cProfile of OPERATION's calls (e.g. draw)"
    )
    args = parser.parse_args(argv)

    from qtpy.QtWidgets import QWidget

    from corebt_viewer.core.annotations import SlideAnnotations
    from corebt_viewer.gui.app import create_application
    from corebt_viewer.gui.slide_canvas import SlideCanvas
    from corebt_viewer.gui.slide_regions_layer import RegionsLayerSync
    from corebt_viewer.gui.workers import StallMonitor, WorkerPool
    from corebt_viewer.services.slide_regions_session import SlideRegionsSession

    slide = args.slide or big_slide()
    app = create_application()
    workers = WorkerPool()
    canvas = SlideCanvas(workers)
    canvas.resize(1400, 1000)
    canvas.show()
    canvas.show_slides([slide], "bench")
    shown = lambda: canvas.slide_layer is not None and canvas.slide_layer.visible  # noqa: E731
    spin(app, lambda: canvas.reader is not None and shown(), 120)
    spin(app, lambda: False, 2.0)
    reader = canvas.reader
    width, height = reader.dimensions
    mpp = reader.mpp or 1.0
    session = SlideRegionsSession()
    layer = canvas.viewer.add_shapes(name="Regions", ndim=2, scale=(mpp, mpp))
    sync = RegionsLayerSync(layer, session)
    regions = random_regions(args.regions, width, height)
    results: dict[str, dict] = {}

    sample_ms = float(os.environ.get("BENCH_STALL_SAMPLE_MS", "0"))  # where the UI stalls

    def measure(name: str, operation, repeats: int) -> None:
        monitor = StallMonitor(parent=canvas, sample_after_ms=sample_ms)
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
            spin(app, lambda: False, 0.15)
        monitor.stop()
        if profile is not None:
            import pstats

            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumtime").print_stats(40)
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
        session.set_slide(cohort_root=None, case_id="bench", slide=None, mpp=mpp, annotations=shown)

    measure("load / clear 500", load, 4)
    load(0)

    def draw(i):
        x, y = 5000 + 300 * i, 5000
        layer.add([np.array([[y, x], [y, x + 250], [y + 250, x + 250], [y + 250, x]], float)],
                  shape_type="rectangle")  # fmt: skip
        session.areas_mm2()  # what the table shows

    measure("draw", draw, args.repeats)

    def move(i):
        index = i % layer.nshapes
        data = layer.data
        moved = np.asarray(data[index]) + [40.0, 40.0]
        layer.selected_data = {index}
        layer._data_view.edit(index, moved)  # what napari's drag does
        layer.events.data(value=data, action="changed", data_indices=(index,),
                          vertex_indices=((),))  # fmt: skip
        session.areas_mm2()

    measure("move", move, args.repeats)

    def reclass(i):
        ids = [session.regions[i].id]
        with session.editor.group("class"):
            for region_id in ids:
                session.editor.edit(region_id, class_name="necrosis" if i % 2 else "normal")

    measure("class", reclass, args.repeats)
    measure("undo", lambda _i: session.editor.undo(), args.repeats)
    measure("redo", lambda _i: session.editor.redo(), args.repeats)

    frames = StallMonitor(parent=canvas)  # the floor, as bench_viewer measures it
    frames.start()
    for _ in range(10):
        for widget in canvas.findChildren(QWidget):
            widget.update()
        spin(app, lambda: False, 0.3)
    frames.stop()
    floor = frames.worst_ms
    worst = max(r["worst_stall_ms"] for r in results.values())
    summary = {
        "slide": f"{slide.name} ({width:,} x {height:,} px)",
        "regions": len(session.regions),
        "shapes": layer.nshapes,
        "rebuilds": sync.rebuilds,
        "frame_floor_worst_ms": round(floor, 1),
        "operations": results,
        "worst_stall_ms": worst,
        "worst_over_floor": round(worst / floor, 2) if floor else None,
    }
    print(json.dumps(summary, indent=2))
    canvas.close_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
