"""Entry point of the ``corebt`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``; the module
imports only :mod:`argparse` at top level so that ``corebt --help`` is instant, and imports
the heavy machinery inside the command's handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from corebt_viewer import __version__

#: Modules under ``corebt_viewer.cli`` that define sub-commands, in help order.
COMMAND_MODULES = (
    "cmd_demo",  # demo-data
    "cmd_data",  # validate, info
    "cmd_embed",  # tiles, embed
    "cmd_slide",  # slide-embed
    "cmd_fusion",  # train, evaluate, predict
    "cmd_review",  # review
    "cmd_annotations",  # annotations import, annotations export
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corebt",
        description="CoRe-BT: brain-tumour typing from MRI, whole-slide pathology and reports.",
    )
    parser.add_argument("--version", action="version", version=f"corebt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"corebt_viewer.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"corebt_viewer.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failures, 2 bad input)."""
    from corebt_viewer.core.errors import CoreBTError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = args.func(args)
    except CoreBTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
