"""``corebt-viewer``: the desktop app.

Examples
--------
corebt-viewer --demo
corebt-viewer path/to/cohort --case P001
corebt-viewer --demo --screenshot shot.png --without wsi,report
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

START = time.perf_counter()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corebt-viewer", description="CoRe-BT Viewer")
    parser.add_argument("cohort", nargs="?", help="cohort folder or manifest.csv")
    parser.add_argument(
        "--demo", action="store_true", help="open the built-in demo cohort (built on first use)"
    )
    parser.add_argument(
        "--model", help="fusion model folder (default: <cohort>/.corebt/models/level1)"
    )
    parser.add_argument("--case", help="patient id to open first")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window to this PNG and exit"
    )
    parser.add_argument("--without", default="", help="modalities to switch off, e.g. wsi,report")
    parser.add_argument("--size", default="1680x1000", help="window size WxH (default 1680x1000)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="with --screenshot: give up after this many seconds",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from corebt_viewer.core.modalities import Modality

    try:
        without = Modality.parse_list(args.without)
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as exc:
        print(f"corebt-viewer: {exc}", file=sys.stderr)
        return 2
    if args.demo and args.cohort:
        print("corebt-viewer: give either a cohort or --demo, not both", file=sys.stderr)
        return 2

    prefetch = start_prefetch(args)  # read files while Qt and napari load
    from corebt_viewer.gui.app import create_application, install_excepthook

    app = create_application(sys.argv[:1])
    install_excepthook()
    from napari.qt import get_stylesheet

    app.setStyleSheet(get_stylesheet("dark"))
    from corebt_viewer.gui.launcher import Launcher

    launcher = Launcher(
        app,
        size=(width, height),
        without=without,
        screenshot=Path(args.screenshot) if args.screenshot else None,
        timeout_s=args.timeout,
        start=START,
        prefetch=prefetch,
    )
    if args.demo:
        launcher.open_demo(case_id=args.case)
    elif args.cohort:
        launcher.open_path(args.cohort, model_dir=args.model, case_id=args.case)
    else:
        launcher.open_empty()
    return launcher.exec()


def start_prefetch(args):
    """Start reading the cohort to open (and its first case's MRI) in the background."""
    # import what the reading thread needs here first (numpy and the readers, 0.2 s that
    # napari needs anyway): imports in that thread can race PySide6's (see gui.prefetch)
    import corebt_viewer.gui.layers  # noqa: F401
    import corebt_viewer.io.manifest  # noqa: F401
    from corebt_viewer.gui.prefetch import Prefetch

    if args.cohort:
        return Prefetch(args.cohort, args.case)
    if args.demo:
        from corebt_viewer.gui.app import user_cache_dir
        from corebt_viewer.gui.demo_setup import demo_is_ready, demo_root

        cache = user_cache_dir()
        if demo_is_ready(cache):
            return Prefetch(demo_root(cache) / "manifest.csv", args.case)
    return None


if __name__ == "__main__":
    sys.exit(main())
