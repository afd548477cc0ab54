"""``corebt-viewer COHORT --screenshot`` end to end, in a child process (slow)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_screenshot_of_a_cohort_without_model(demo_cohort, tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "corebt_viewer.gui",
            str(demo_cohort.root),
            "--case",
            demo_cohort.ids[0],
            "--screenshot",
            str(out),
            "--without",
            "wsi",
            "--size",
            "1400x900",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "drawn after" in result.stderr
    from PIL import Image

    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] == 900 and image.shape[1] >= 1400  # at least the asked size
    assert image.std() > 10
