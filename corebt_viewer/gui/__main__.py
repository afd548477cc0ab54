"""``corebt-viewer``: the desktop app (being built; parses its arguments for now)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corebt-viewer", description="CoRe-BT Viewer")
    parser.add_argument("cohort", nargs="?", help="cohort folder or manifest.csv")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo cohort")
    parser.add_argument("--model", help="fusion model folder")
    parser.add_argument("--case", help="patient id to open first")
    parser.add_argument("--screenshot", help="render the window to this PNG and exit")
    parser.add_argument("--without", help="modalities to switch off, e.g. wsi,report")
    return parser


def main(argv: list[str] | None = None) -> int:
    build_parser().parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
