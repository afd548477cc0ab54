"""Entry script of the desktop bundle: ``corebt-viewer``, opening the demo when given nothing.

A double-click (no arguments) opens the built-in demo cohort, built on first use in the
user cache folder; any argument is handled as by the ``corebt-viewer`` command.
``corebt-viewer --self-test`` checks that the bundled libraries load (torch, OpenSlide,
VTK, the MiniLM report model, Qt, napari and its plugin manifest) and exits.
``corebt-viewer -m MODULE ARGS...`` runs a bundled module as ``python -m`` would: the
viewer starts helpers such as the demo builder with ``sys.executable -m ...``, and in the
bundle ``sys.executable`` is this program (``-m corebt_viewer.cli.main`` is the CLI).
"""

from __future__ import annotations

import multiprocessing
import sys


def _check_torch() -> str:
    import torch

    x = torch.ones(4, 4) @ torch.ones(4, 4)
    assert float(x.sum()) == 64.0
    return f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}"


def _check_openslide() -> str:
    import numpy as np
    import openslide

    from corebt_viewer.io.slides import open_slide

    with open_slide(np.zeros((64, 64, 3), np.uint8)) as slide:
        assert slide.read_region((0, 0), 0, (8, 8)).shape == (8, 8, 3)
    return f"OpenSlide library {openslide.__library_version__}"


def _check_vtk() -> str:
    from vtkmodules.vtkCommonCore import vtkVersion

    return f"VTK {vtkVersion.GetVTKVersion()}"


def _check_minilm() -> str:
    from corebt_viewer.embed.encoders.report import MiniLMReportEncoder

    features, _weights, _labels = MiniLMReportEncoder(device="cpu").encode_text(
        "Diffuse astrocytoma, IDH-mutant, WHO grade 2."
    )
    assert features.shape[1] == 384
    return f"MiniLM report model: {features.shape[1]}-d"


def _check_napari() -> str:
    import napari
    import npe2
    from qtpy import QT_VERSION

    pm = npe2.PluginManager.instance()
    pm.discover()
    names = sorted(m.name for m in pm.iter_manifests())
    assert "corebt-viewer" in names, names
    return f"napari {napari.__version__}, Qt {QT_VERSION}, plugins: {', '.join(names)}"


def self_test() -> int:
    """Load every bundled library once; 0 when all load."""
    failed = False
    for name, check in (
        ("torch", _check_torch),
        ("openslide", _check_openslide),
        ("vtk", _check_vtk),
        ("minilm", _check_minilm),
        ("napari", _check_napari),
    ):
        try:
            print(f"ok     {name}: {check()}", flush=True)
        except Exception as exc:  # noqa: BLE001 - reported, then a non-zero exit
            failed = True
            print(f"FAILED {name}: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failed else 0


def run_module(module: str, args: list[str]) -> int:
    """``python -m module args...`` inside the bundle; its exit status."""
    import runpy

    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0


def preload_before_qt() -> None:
    """Import pydantic (through napari's settings) before PySide6.

    Once PySide6 is imported, its import hook (shibokensupport ``feature_imported``) calls
    ``inspect.getsource`` on newly imported modules; in the bundle, where no ``.py`` files
    exist, that reaches pydantic's lazy module ``__getattr__`` while pydantic is half
    imported and fails with a circular import (seen in about half of the starts).
    """
    import napari.settings  # noqa: F401 - imports pydantic fully
    import pydantic._internal._validators  # noqa: F401


def main() -> int:
    multiprocessing.freeze_support()  # the demo generator's worker processes re-enter here
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if len(args) >= 2 and args[0] == "-m":
        return run_module(args[1], args[2:])
    preload_before_qt()
    from corebt_viewer.gui.__main__ import main as viewer_main

    return viewer_main(args or ["--demo"])


if __name__ == "__main__":
    sys.exit(main())
