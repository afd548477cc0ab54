"""The application object: what must hold in a process that draws with OpenGL."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

TRAIN_AFTER_GL = """
from corebt_viewer.gui.app import create_application
from corebt_viewer.gui.widgets import opengl_renderer
app = create_application()
print("renderer:", opengl_renderer(), flush=True)
import torch
model = torch.nn.Linear(3, 2)
optimizer = torch.optim.AdamW(model.parameters())  # imports torch._dynamo
model(torch.randn(4, 3)).sum().backward()
optimizer.step()
print("trained", flush=True)
"""


def test_training_after_a_window_draws_does_not_crash(qapp):
    """torch importing Triton after Mesa's llvmpipe crashed the process (segfault)."""
    out = subprocess.run(
        [sys.executable, "-c", TRAIN_AFTER_GL], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "trained" in out.stdout


def test_the_app_lets_the_ui_thread_take_python_back_within_a_millisecond(qapp):
    """Workers running Python delayed the UI thread by up to 5 ms per Qt call (the default
    switch interval), which added up to stalls of over 100 ms while switching cases."""
    from corebt_viewer.gui.app import SWITCH_INTERVAL_S, create_application

    sys.setswitchinterval(0.005)
    try:
        create_application()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
        assert SWITCH_INTERVAL_S <= 0.001
    finally:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
