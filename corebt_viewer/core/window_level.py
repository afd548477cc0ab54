"""Window and level of MRI intensities: presets per sequence and mouse-drag arithmetic.

Numpy only. A *window* is the width of the displayed intensity range, the *level* its
centre; napari's ``contrast_limits`` are ``(level - window / 2, level + window / 2)``.
Presets come from percentiles of the voxels inside the brain, so they are in the
volume's own units whatever the scanner's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corebt_viewer.core.modalities import Sequence


@dataclass(frozen=True)
class Preset:
    """A named percentile window (``low`` and ``high`` percentiles of brain voxels)."""

    name: str
    low: float
    high: float


# The first preset of each sequence is the one a case opens with. Contrast-enhanced T1
# keeps more of its top percentiles (enhancement is the brightest signal), FLAIR a
# narrower top so oedema stands out from grey matter.
PRESETS: dict[Sequence, tuple[Preset, ...]] = {
    Sequence.T1: (Preset("brain", 0.5, 99.5), Preset("soft", 2, 98), Preset("full", 0, 100)),
    Sequence.T1C: (
        Preset("brain", 0.5, 99.8),
        Preset("enhancement", 30, 99.9),
        Preset("full", 0, 100),
    ),
    Sequence.T2: (Preset("brain", 0.5, 99.5), Preset("fluid", 5, 99.9), Preset("full", 0, 100)),
    Sequence.FLAIR: (
        Preset("brain", 0.5, 99.0),
        Preset("oedema", 20, 99.5),
        Preset("full", 0, 100),
    ),
}


def brain_sample(data: np.ndarray, max_voxels: int = 2_000_000) -> np.ndarray:
    """Voxels inside the brain (non-zero; above the 2nd percentile when nothing is zero)."""
    step = max(1, int(round((data.size / max_voxels) ** (1 / 3))))
    sample = np.asarray(data[::step, ::step, ::step]).ravel()
    sample = sample[np.isfinite(sample)]
    inside = sample != 0
    if inside.size and inside.mean() > 0.98:
        inside = sample > np.percentile(sample, 2)
    return sample[inside]


def preset_limits(data: np.ndarray, preset: Preset) -> tuple[float, float]:
    """Contrast limits of `preset` on a volume, in the volume's units."""
    sample = brain_sample(data)
    if sample.size == 0:
        raise ValueError("the volume has no voxel inside the brain (all zero)")
    lo, hi = np.percentile(sample, [preset.low, preset.high])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def to_window_level(limits: tuple[float, float]) -> tuple[float, float]:
    lo, hi = limits
    return float(hi - lo), float((hi + lo) / 2)


def to_limits(window: float, level: float) -> tuple[float, float]:
    window = max(float(window), 1e-6)
    return float(level - window / 2), float(level + window / 2)


def drag_window_level(
    start: tuple[float, float],
    dx: float,
    dy: float,
    *,
    span: float,
    pixels: float = 256.0,
) -> tuple[float, float]:
    """Contrast limits after dragging by (`dx`, `dy`) screen pixels from `start` limits.

    As in radiology workstations: dragging right widens the window, dragging up raises
    the level (screen y grows downwards). `span` is the intensity range that `pixels`
    of drag cover (e.g. the brain's 0.5-99.5 percentile range).
    """
    window, level = to_window_level(start)
    per_pixel = float(span) / float(pixels)
    window = max(window + dx * per_pixel, per_pixel)
    level = level - dy * per_pixel
    return to_limits(window, level)


def next_preset(sequence: Sequence, current: str | None) -> Preset:
    """The preset after `current` in `sequence`'s list (the first after the last)."""
    presets = PRESETS[sequence]
    names = [p.name for p in presets]
    if current not in names:
        return presets[0]
    return presets[(names.index(current) + 1) % len(presets)]
