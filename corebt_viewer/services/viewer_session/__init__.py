"""The viewer's state with no Qt: one :class:`ViewerSession` per window (or napari dock).

It owns the cohort, the model, the open case, the prediction cache with its ablation
variants, the mask version each embedding used and the review states. Views subscribe to
``session.events`` (plain callbacks) and long work goes through an injected
:class:`TaskRunner`, so the tests drive it synchronously with no display.
"""

from corebt_viewer.services.viewer_session.events import SessionEvents
from corebt_viewer.services.viewer_session.runner import Latest, SyncRunner, TaskHandle, TaskRunner
from corebt_viewer.services.viewer_session.session import ViewerSession
from corebt_viewer.services.viewer_session.shown import PredictionState, SlideTiles

__all__ = [
    "Latest",
    "PredictionState",
    "SessionEvents",
    "SlideTiles",
    "SyncRunner",
    "TaskHandle",
    "TaskRunner",
    "ViewerSession",
]
