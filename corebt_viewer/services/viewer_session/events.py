"""The events a :class:`~corebt_viewer.services.viewer_session.ViewerSession` emits.

psygnal (napari's own event library, no Qt) gives ``events.case_changed.connect(cb)``;
callbacks run in the thread that emits, which is the UI thread in the viewer: the task
runner delivers every result there.
"""

from __future__ import annotations

from psygnal import Signal, SignalGroup


class SessionEvents(SignalGroup):
    """Signals of a viewer session.

    Attributes
    ----------
    cohort_changed(Cohort)
        A cohort is open (its cases, their true labels for the model's task).
    model_changed(object)
        The model finished loading (``None``: no model, see ``session.model_state``).
    case_changed(Case)
        The open case changed; its files are for the views to show.
    prediction_changed(PredictionState)
        What the prediction panel, the slide overlays and the case list show now.
    case_predictions(dict)
        Patient id -> CasePrediction (with every modality) for the case list.
    review_changed(dict)
        Patient id -> review status title.
    case_ready(str)
        Every part of the open case is on screen (or its message is).
    progress(Progress)
        Progress of a session task.
    message(str)
        A line for the status bar.
    """

    cohort_changed = Signal(object)
    model_changed = Signal(object)
    case_changed = Signal(object)
    prediction_changed = Signal(object)
    case_predictions = Signal(dict)
    review_changed = Signal(dict)
    case_ready = Signal(str)
    progress = Signal(object)
    message = Signal(str)
