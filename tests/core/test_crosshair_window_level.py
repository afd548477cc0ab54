from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.crosshair import Crosshair
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.window_level import (
    PRESETS,
    drag_window_level,
    next_preset,
    preset_limits,
    to_window_level,
)


def test_crosshair_tells_every_listener_once_per_move():
    cross = Crosshair()
    seen = []
    cross.connect(lambda pos, src: seen.append((pos, src)))
    assert cross.set((1, 2, 3), source="axial")
    assert not cross.set((1, 2, 3), source="coronal")  # no move, no event
    assert cross.set_axis(2, 7.5, source="scroll")
    assert seen == [((1.0, 2.0, 3.0), "axial"), ((1.0, 2.0, 7.5), "scroll")]
    with pytest.raises(ValueError, match="three finite"):
        cross.set((1, np.nan, 2))


def test_drag_widens_window_and_raises_level():
    start = (100.0, 300.0)
    lo, hi = drag_window_level(start, 128, 0, span=512, pixels=256)
    assert to_window_level((lo, hi)) == (456.0, 200.0)
    lo, hi = drag_window_level(start, 0, -10, span=256, pixels=256)  # drag up
    assert to_window_level((lo, hi)) == (200.0, 210.0)
    lo, hi = drag_window_level(start, -10_000, 0, span=256)
    assert hi > lo  # never an empty window


def test_presets_per_sequence_in_volume_units():
    rng = np.random.default_rng(0)
    data = np.zeros((30, 30, 30), np.float32)
    data[5:25, 5:25, 5:25] = rng.uniform(100, 1100, (20, 20, 20))  # brain
    for seq in (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR):
        lo, hi = preset_limits(data, PRESETS[seq][0])
        assert 100 <= lo < 120 and 1080 < hi <= 1100  # zeros (background) ignored
    full = preset_limits(data, PRESETS[Sequence.T1][-1])
    assert full == pytest.approx((data[data > 0].min(), data.max()))
    assert next_preset(Sequence.T1C, "brain").name == "enhancement"
    assert next_preset(Sequence.T1C, "full").name == "brain"
    with pytest.raises(ValueError, match="no voxel"):
        preset_limits(np.zeros((3, 3, 3)), PRESETS[Sequence.T1][0])
