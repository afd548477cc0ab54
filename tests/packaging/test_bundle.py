"""The desktop bundle: build it with packaging/build.sh, then run the built binary.

Slow (a PyInstaller build of torch, Qt, napari and VTK takes many minutes and several GB
of disk): run with ``pytest -m slow tests/packaging``. ``COREBT_REUSE_BUNDLE=1`` skips the
build when ``dist/CoRe-BT Viewer/`` already exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "dist" / "CoRe-BT Viewer"
BINARY = APP_DIR / "corebt-viewer"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle() -> Path:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    if not (os.environ.get("COREBT_REUSE_BUNDLE") == "1" and BINARY.is_file()):
        result = subprocess.run(
            ["bash", str(REPO / "packaging" / "build.sh")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=3 * 3600,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert BINARY.is_file()
    for name in ("corebt-viewer.desktop", "corebt-viewer.png", "install-desktop-entry.sh"):
        assert (APP_DIR / name).is_file(), name
    return BINARY


def _clean_env(tmp_path: Path) -> dict:
    """No Python from this machine may leak into the bundle's process."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "QT_"))
    }
    env["PATH"] = "/usr/bin:/bin"
    env["HOME"] = str(tmp_path / "home")
    env["COREBT_CACHE_DIR"] = str(tmp_path / "cache")
    env["COREBT_CONFIG_DIR"] = str(tmp_path / "config")
    return env


def test_bundled_libraries_load(bundle, tmp_path):
    result = subprocess.run(
        [str(bundle), "--self-test"],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("torch", "openslide", "vtk", "minilm", "napari"):
        assert f"ok     {name}" in result.stdout


def test_bundle_runs_bundled_modules_like_python_dash_m(bundle, tmp_path):
    """The viewer starts its demo builder as ``sys.executable -m ...``: the bundle obeys."""
    env = _clean_env(tmp_path)
    result = subprocess.run(
        [str(bundle), "-m", "corebt_viewer.cli.main", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo-data" in result.stdout
    result = subprocess.run(
        [str(bundle), "-m", "corebt_viewer.gui.demo_setup"],  # no cache folder: its usage
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "usage: python -m corebt_viewer.gui.demo_setup" in result.stderr


def test_bundle_writes_a_screenshot_of_a_cohort_under_xvfb(bundle, tmp_path):
    from PIL import Image

    from corebt_viewer.services.demo import make_demo_cohort

    manifest = make_demo_cohort(out=tmp_path / "cohort", patients=3, slide_size=1024, workers=1)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1920x1200x24",
            str(bundle),
            str(manifest.parent),
            "--screenshot",
            str(shot),
            "--timeout",
            "300",
        ],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "screenshot saved" in result.stderr
    image = np.asarray(Image.open(shot).convert("RGB"))
    height, width = image.shape[:2]
    assert height >= 900 and width >= 1600  # the default 1680x1000 window (or its minimum)
    assert image.std() > 10  # not a blank window
    # both canvases drew something: the MRI (left) and slide (right) halves of the centre
    centre = image[height // 5 : 4 * height // 5, width // 4 : 3 * width // 4]
    assert centre[:, : centre.shape[1] // 2].std() > 5
    assert centre[:, centre.shape[1] // 2 :].std() > 5
    shot_copy = os.environ.get("COREBT_BUNDLE_SCREENSHOT")
    if shot_copy:  # keep the picture for a person to look at
        shutil.copy(shot, shot_copy)
