"""Progress reporting shared by the services, the CLI and the GUI worker threads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A progress event.

    Attributes
    ----------
    done, total : int
        Units finished and expected (``total`` 0 when unknown).
    message : str
        What is being done, e.g. ``"embedding slide 3/12"``.
    stage : str
        Short name of the current stage (``"tiles"``, ``"mri"``, ``"train"``...).
    """

    done: int
    total: int
    message: str = ""
    stage: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def report(
    callback: ProgressCallback | None, done: int, total: int, message: str = "", stage: str = ""
):
    """Send a progress event to `callback` when there is one."""
    if callback is not None:
        callback(Progress(done, total, message, stage))


class Cancelled(Exception):
    """Raised inside a service when its cancel check says stop."""
