"""The architecture rules: heavy and GUI libraries stay out of start-up and out of core."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import corebt_viewer

#: Modules that define torch ``nn.Module`` classes and so import torch at top level; every
#: other module must import them lazily.
TORCH_MODULES = ("corebt_viewer.fusion.model", "corebt_viewer.embed.slide_encoders.longnet")

HEAVY = ("torch", "openslide", "nibabel", "h5py", "napari", "PySide6", "vtk", "sklearn", "timm")


def _non_gui_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(corebt_viewer.__path__, "corebt_viewer."):
        if not info.name.startswith("corebt_viewer.gui") and info.name not in TORCH_MODULES:
            names.append(info.name)
    return names


def test_importing_every_non_gui_module_pulls_in_no_heavy_library():
    modules = _non_gui_modules()
    assert "corebt_viewer.cli.main" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at module top level: {out.stdout.strip()}"


def test_cli_help_is_instant_and_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "corebt_viewer.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in (
        "demo-data",
        "validate",
        "info",
        "tiles",
        "embed",
        "train",
        "evaluate",
        "predict",
        "review",
    ):
        assert command in out.stdout


def test_import_contracts_hold():
    lint = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
