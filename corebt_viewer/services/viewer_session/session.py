"""The viewer's case session: cohort, model, open case, predictions, masks, reviews."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.lru import LRUCache
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import ABLATION_MODES
from corebt_viewer.core.progress import report
from corebt_viewer.core.tasks import get_task
from corebt_viewer.services.model_card import ModelCard, model_card, model_task
from corebt_viewer.services.viewer_session.embeddings import CaseEmbeddings
from corebt_viewer.services.viewer_session.events import SessionEvents
from corebt_viewer.services.viewer_session.model_choice import ModelChoice
from corebt_viewer.services.viewer_session.runner import TaskRunner
from corebt_viewer.services.viewer_session.shown import (
    PredictionState,
    all_flags,
    slide_problems,
    slide_tiles,
)

log = logging.getLogger("corebt_viewer.session")
DEFAULT_TASK = "level1"
PREDICTION_CACHE = 512  # (case, switched-off modalities, ablation meaning) -> prediction
CASE_PARTS = frozenset({"mri", "slides", "report", "prediction"})


def default_model_dir(cohort: Cohort, task: str = DEFAULT_TASK) -> Path:
    """``<cohort root>/.corebt/models/<task>``."""
    return Path(cohort.root) / ".corebt" / "models" / task


class ViewerSession(CaseEmbeddings, ModelChoice):
    """The state of one viewer window, with no Qt.

    Parameters
    ----------
    runner : TaskRunner
        Runs long work (model loading, embedding, ablation variants); a
        :class:`~corebt_viewer.services.viewer_session.SyncRunner` in tests.
    device : callable, optional
        Returns the compute device's description (run in the model-loading task).

    Attributes
    ----------
    events : SessionEvents
    cohort : Cohort or None
    model : FusionPredictor or None
    model_state : str
        ``"none"`` (no model folder), ``"loading"``, ``"ready"`` or ``"failed"``.
    case : Case or None
    without : frozenset of Modality
        The modalities the user switched off for the open case.
    ablation : {"missing", "paper"}
        What switching a modality off means (predictions are cached per meaning).
    embeddings : dict of str -> CaseEmbedding
    mask_used : dict of str -> str
        Per case, the mask version its MRI embedding used (``"original"``, ``"v002"``).
    reviews : dict of str -> str
        Review status title per case.
    """

    def __init__(self, runner: TaskRunner, *, device=None):
        self.events = SessionEvents()
        self.runner = runner
        self._device = device
        self.device = ""
        self.cohort: Cohort | None = None
        self.model = None
        self.model_dir: Path | None = None
        self.model_state = "none"
        self.model_error = ""
        self.embeddings: dict = {}
        self.mask_used: dict[str, str] = {}
        #: (patient, switched-off modalities, ablation meaning) -> CasePrediction; a cached
        #: prediction is kept (the panel and its plot cache know it by identity)
        self.predictions: LRUCache = LRUCache(PREDICTION_CACHE)
        self.case: Case | None = None
        self.without: frozenset[Modality] = frozenset()
        self.ablation = "missing"
        self.reviews: dict[str, str] = {}
        self.mask = None  # the open case's MaskSession, bound by the mask editor
        self.pending: set[str] = set()
        self._given_embeddings: dict | None = None
        self._model_wanted = False
        self._embedding = None  # the open case's embedding task

    # ------------------------------------------------------------------ cohort and model
    def open_cohort(
        self,
        cohort: Cohort,
        *,
        model_dir: str | Path | None = None,
        embeddings: dict | None = None,
        load_model: bool = True,
    ) -> None:
        """Open `cohort`; its model and cached embeddings load now or at :meth:`load_model`.

        Parameters
        ----------
        model_dir : path, optional
            Default ``<root>/.corebt/models/level1``.
        embeddings : dict, optional
            Use these instead of the cohort's embedding cache.
        load_model : bool
            False: wait for :meth:`load_model` (the viewer starts it once the first
            images are up).
        """
        self.runner.cancel_all()
        self.cohort = cohort
        self.model, self.model_error = None, ""
        self.embeddings, self.mask_used = {}, {}
        self.predictions.clear()
        self.case, self.without, self.pending = None, frozenset(), set()
        self.model_dir = Path(model_dir) if model_dir else default_model_dir(cohort)
        self._given_embeddings = dict(embeddings) if embeddings is not None else None
        self.model_state = "loading"
        self._model_wanted = True
        self.reviews = self._read_reviews()
        self.events.cohort_changed.emit(cohort)
        if self.reviews:
            self.events.review_changed.emit(dict(self.reviews))
        if load_model:
            self.load_model()

    def _read_reviews(self) -> dict[str, str]:
        from corebt_viewer.io.review_db import review_db_path

        path = review_db_path(self.cohort.root)
        if not path.exists():
            return {}
        try:
            from corebt_viewer.io.review_db import ReviewDB

            with ReviewDB(path) as db:
                found = db.reviews(self.cohort.ids)
        except CoreBTError as exc:
            self.events.message.emit(f"Review database: {exc}")
            return {}
        return {pid: r.status.title for pid, r in found.items()}

    @property
    def task(self):
        """The model's task (level 1 until a model is loaded)."""
        return model_task(self.model) if self.model is not None else get_task(DEFAULT_TASK)

    def truth(self, case: Case) -> str | None:
        """The case's class for the model's task."""
        return self.task.class_name(case.labels.level1, case.labels.who_grade)

    def seen_in(self, patient_id: str) -> str | None:
        """``"train"`` or ``"validation"`` when the model was fitted or tuned on the case."""
        split = getattr(self.model, "split", None) or {}
        for part in ("train", "validation"):
            if patient_id in split.get(part, ()):
                return part
        return None

    def model_card(self) -> ModelCard | None:
        return model_card(self.model_dir, self.model) if self.model is not None else None

    def set_ablation(self, mode: str) -> None:
        """What switching a modality off means: ``"missing"`` or ``"paper"``."""
        if mode not in ABLATION_MODES:
            raise ValueError(f"unknown ablation meaning {mode!r}; expected one of {ABLATION_MODES}")
        if mode != self.ablation:
            self.ablation = mode
            self.refresh_prediction()

    def load_model(self) -> None:
        """Load the model, the cached embeddings and every case's prediction, in a task."""
        if not self._model_wanted or self.cohort is None:
            return
        self._model_wanted = False
        cohort, model_dir, given = self.cohort, self.model_dir, self._given_embeddings
        device = self._device

        def task(progress, cancelled):
            report(progress, 0, 3, "checking the device", "model")
            described = device() if device is not None else ""
            if not model_dir.is_dir() or not any(model_dir.iterdir()):
                return described, None, {}, {}, {}
            from corebt_viewer.services.fusion import load_model

            report(progress, 1, 3, "loading the model", "model")
            model = load_model(model_dir)
            report(progress, 2, 3, "loading cached embeddings", "model")
            found = (
                dict(given) if given is not None else self._load_cohort_embeddings(cohort, model)
            )
            predictions = {pid: model.predict(emb) for pid, emb in found.items()}
            # which mask each cached embedding used (file checks: here, off the UI thread)
            used = (
                {}
                if given is not None
                else {pid: self.mask_version(cohort[pid], cohort) for pid in found}
            )
            return described, model, found, predictions, used

        self.model_state = "loading"
        self.runner.submit(
            task,
            name="loading the model",
            key="model",
            done=self._on_model_loaded,
            failed=self._on_model_failed,
            progress=self.events.progress.emit,
        )

    def _on_model_loaded(self, result) -> None:
        self.device, self.model, embeddings, predictions, used = result
        self.model_state = "ready" if self.model is not None else "none"
        self.embeddings = dict(embeddings)
        self.mask_used = dict(used)
        self.predictions.clear()
        for pid, prediction in predictions.items():
            self.predictions.add((pid, frozenset(), "missing"), prediction)
        self.events.model_changed.emit(self.model)  # true labels follow the model's task
        self.events.case_predictions.emit(dict(predictions))
        if self.case is not None:
            self.refresh_prediction()

    def _on_model_failed(self, message: str, detail: str) -> None:
        self.model_state, self.model_error = "failed", message
        log.warning("model: %s\n%s", message, detail)
        self.events.model_changed.emit(None)
        if self.case is not None:
            self.refresh_prediction()

    # ------------------------------------------------------------------ the open case
    def open_case(self, patient_id: str) -> Case:
        """Make `patient_id` the open case; its prediction follows after the views' turn."""
        case = self.cohort[patient_id]
        if self._embedding is not None and (self.case is None or self.case is not case):
            self._embedding.cancel()  # the case left: its embedding is not waited for
            self._embedding = None
        self.case, self.without = case, frozenset()
        self.pending = set(CASE_PARTS)
        self.events.case_changed.emit(case)
        self.runner.later(lambda c=case: self.case is c and self.refresh_prediction())
        return case

    def mark_done(self, part: str) -> None:
        """A part of the open case (``mri``, ``slides``, ``report``) is on screen."""
        if part == "mri":
            self.load_model()  # waited for the first images (torch next to them slows both)
        if part in self.pending:
            self.pending.discard(part)
            if not self.pending and self.case is not None:
                self.events.case_ready.emit(self.case.patient_id)

    @property
    def is_case_ready(self) -> bool:
        return self.case is not None and not self.pending

    def usable(self) -> frozenset[Modality]:
        """The open case's modalities that its embedding has and the model uses."""
        if self.case is None:
            return frozenset()
        embedding = self.embeddings.get(self.case.patient_id)
        known = embedding.modalities if embedding is not None else frozenset(self.case.modalities)
        return known & frozenset(self.model.modalities) if self.model is not None else known

    def set_without(self, without) -> None:
        """Predict as if the modalities in `without` were missing."""
        self.without = frozenset(without)
        self.refresh_prediction()

    def current_prediction(self):
        """The open case's prediction with the current switches, or ``None``."""
        if self.case is None or self.model is None:
            return None
        embedding = self.embeddings.get(self.case.patient_id)
        if embedding is None:
            return None
        key = (self.case.patient_id, self.without, self.ablation)
        prediction = self.predictions.get(key)
        if prediction is None:
            prediction = self.predictions.add(
                key, self.model.predict(embedding, without=self.without, ablation=self.ablation)
            )
        return prediction

    def refresh_prediction(self) -> None:
        """Emit what the panel shows for the open case now (embedding it when needed)."""
        case = self.case
        if case is None:
            return
        pid = case.patient_id
        if self.model is None:
            message = {
                "loading": "Loading the model…",
                "failed": f"No prediction: {self.model_error}",
            }.get(self.model_state, "No model for this cohort")
            status = "loading" if self.model_state == "loading" else "no_model"
            self._show(PredictionState(pid, status, message))
            return
        if pid not in self.embeddings:
            version = self.mask_version(case)
            mask = f" with mask {version}" if version and version != "original" else ""
            self._show(PredictionState(pid, "embedding", f"Embedding {pid}{mask}…"))
            self._start_embedding(case)
            return
        if self.ablation == "missing" and not (self.usable() - self.without):
            self._show(
                PredictionState(
                    pid, "all_off", "Every modality is switched off: nothing to predict from"
                )
            )
            return
        try:
            prediction = self.current_prediction()
        except CoreBTError as exc:
            self._show(PredictionState(pid, "failed", f"No prediction: {exc}"))
            return
        embedding = self.embeddings[pid]
        problems = slide_problems(case.slides, embedding)
        self._show(
            PredictionState(
                pid,
                "ready",
                prediction=prediction,
                truth=self.truth(case),
                task_title=self.task.title,
                flags=all_flags(prediction, embedding, problems),
                seen_in=self.seen_in(pid),
                mask_version=self._mask_used(case),
                slide_tiles=slide_tiles(prediction, embedding),
                slide_problems=problems,
            )
        )
        if not self.without:
            self.events.case_predictions.emit({pid: prediction})
            self._predict_variants()

    def _mask_used(self, case: Case) -> str:
        """The mask version the case's embedding used (looked up once: file checks)."""
        pid = case.patient_id
        if pid not in self.mask_used:
            self.mask_used[pid] = self.mask_version(case) if case.segmentation else ""
        return self.mask_used[pid]

    def _show(self, state: PredictionState) -> None:
        self.events.prediction_changed.emit(state)
        if state.status not in ("loading", "embedding"):
            self.mark_done("prediction")

    def _predict_variants(self) -> None:
        """Predict the open case with each set of its modalities switched off, in a task,
        so that a switch in the panel shows its result with no model run on the UI thread."""
        case, model, ablation = self.case, self.model, self.ablation
        embedding = self.embeddings.get(case.patient_id)
        pid = case.patient_id
        switchable = sorted(self.usable(), key=lambda m: m.value)
        variants = [
            frozenset(off)
            for n in range(1, len(switchable) + (ablation == "paper"))
            for off in itertools.combinations(switchable, n)
            if (pid, frozenset(off), ablation) not in self.predictions
        ]
        if not variants:
            return

        def task(progress, cancelled):
            done = {}
            for off in variants:
                if cancelled():
                    break
                done[off] = model.predict(embedding, without=off, ablation=ablation)
            return done

        def store(done: dict) -> None:
            if model is self.model and self.embeddings.get(pid) is embedding:
                for off, prediction in done.items():
                    self.predictions.add((pid, off, ablation), prediction)

        self.runner.submit(task, key="variants", done=store)

    # ------------------------------------------------------------------ review
    def set_review_status(self, statuses: dict[str, str]) -> None:
        """Review status titles changed (written by the review panel)."""
        self.reviews.update(statuses)
        self.events.review_changed.emit(dict(statuses))

    def close(self) -> None:
        self.runner.cancel_all()
