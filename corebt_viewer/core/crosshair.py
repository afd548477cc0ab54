"""A linked crosshair: one world position (mm) that every MRI view follows (numpy only).

Views call :meth:`Crosshair.set` when the user clicks and subscribe with
:meth:`Crosshair.connect`; a view that set the position is told too, with its own
``source`` so it can skip the echo. Nothing here knows about Qt or napari.

Examples
--------
>>> seen = []
>>> cross = Crosshair()
>>> cross.connect(lambda pos, source: seen.append((pos, source)))
>>> cross.set((1.0, 2.0, 3.0), source="axial")
True
>>> seen
[((1.0, 2.0, 3.0), 'axial')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Listener = Callable[[tuple[float, float, float], object], None]


class Crosshair:
    """The shared cursor of the MRI views: a 3-D world position in millimetres (RAS)."""

    def __init__(self, position: Sequence[float] = (0.0, 0.0, 0.0)):
        self._position = _as_point(position)
        self._listeners: list[Listener] = []
        self.visible = True

    @property
    def position(self) -> tuple[float, float, float]:
        return self._position

    def connect(self, listener: Listener) -> None:
        """Call ``listener(position, source)`` after every change."""
        self._listeners.append(listener)

    def disconnect(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def set(self, position: Sequence[float], *, source: object = None) -> bool:
        """Move the crosshair; returns whether it moved (listeners are told only then)."""
        point = _as_point(position)
        if np.allclose(point, self._position, atol=1e-6):
            return False
        self._position = point
        for listener in list(self._listeners):
            listener(point, source)
        return True

    def set_axis(self, axis: int, value: float, *, source: object = None) -> bool:
        """Move along one world axis (0 x, 1 y, 2 z), e.g. when a view's slice changes."""
        point = list(self._position)
        point[axis] = float(value)
        return self.set(point, source=source)


def _as_point(position: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(v) for v in position)
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ValueError(f"a crosshair position needs three finite numbers, got {position!r}")
    return values  # type: ignore[return-value]
