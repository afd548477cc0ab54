"""How a viewer session gets its embeddings: ONE method per way, the mask version used.

Every case embedding goes through :meth:`CaseEmbeddings._embed_case` and every cohort-wide
cached read through :meth:`CaseEmbeddings._load_cohort_embeddings`; both take the settings
the model records (its embedding profile) and the case's CURRENT mask version as its
segmentation, so the cache key holds the mask's content and a saved correction is embedded
anew.
"""

from __future__ import annotations

from dataclasses import replace

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.services.viewer_session.shown import PredictionState


class CaseEmbeddings:
    """The embedding and mask-version part of :class:`ViewerSession` (a mixin: it uses the
    session's ``cohort``, ``model``, ``embeddings``, ``mask_used``, ``predictions``,
    ``case``, ``runner`` and ``events``)."""

    def embedding_profile(self, model=None):
        """The embedding profile the model was trained on (never the built-in default)."""
        from corebt_viewer.services.fusion import model_profile

        return model_profile(model if model is not None else self.model)

    def _embed_case(self, case: Case, progress=None, cancel=None):
        """THE way a case is embedded: with its current mask version, the model's settings."""
        from corebt_viewer.services.embedding import embed_case

        return embed_case(
            cohort=self.cohort,
            case=self.with_current_mask(case),
            progress=progress,
            cancel=cancel,
            profile=self.embedding_profile(),
        )

    def _load_cohort_embeddings(self, cohort: Cohort, model) -> dict:
        """THE way cached embeddings are read: each case with its current mask version."""
        from corebt_viewer.services.embedding import load_cohort_embeddings

        current = Cohort(
            cohort.root, tuple(self.with_current_mask(c, cohort) for c in cohort), cohort.manifest
        )
        return load_cohort_embeddings(cohort=current, profile=self.embedding_profile(model))

    def with_current_mask(self, case: Case, cohort: Cohort | None = None) -> Case:
        """`case` with its current mask version as segmentation (the embedding cache key
        holds the mask file's content, so a saved correction is embedded anew)."""
        version = self._current_mask(case, cohort)
        if version is None or version.is_original:
            return case
        return replace(case, segmentation=version.path)

    def _current_mask(self, case: Case, cohort: Cohort | None = None):
        if case.segmentation is None and not case.mri:
            return None
        from corebt_viewer.services import review

        root = (cohort or self.cohort).root
        try:
            location = review.mask_location(cohort_root=root, case=case)
        except CoreBTError:
            return None
        return review.current_mask_version(location=location)

    def mask_version(self, case: Case) -> str:
        """``"original"``, ``"v003"``, or ``""`` for a case without a mask."""
        version = self._current_mask(case)
        return version.label if version is not None else ""

    def mask_saved(self, patient_id: str) -> None:
        """A mask version was saved or made current: re-embed and re-predict the case."""
        self.embeddings.pop(patient_id, None)
        self.mask_used.pop(patient_id, None)
        for key in [k for k in self.predictions if k[0] == patient_id]:
            del self.predictions[key]
        if self.model is None or self.cohort is None:
            return
        if self.case is not None and self.case.patient_id == patient_id:
            self.refresh_prediction()  # re-embeds in the background
        else:
            self._start_embedding(self.cohort[patient_id], show=False)

    def _start_embedding(self, case: Case, *, show: bool = True) -> None:
        pid = case.patient_id
        version = self.mask_version(case)

        def task(progress, cancelled):
            return self._embed_case(case, progress, cancelled)

        self.runner.submit(
            task,
            name=f"embedding {pid}",
            key=f"embed:{pid}",
            done=lambda emb: self._on_embedded(pid, version, emb),
            failed=lambda message, _detail: self._on_embed_failed(pid, message),
            cancelled=lambda: self._on_embed_failed(pid, "cancelled"),
            progress=self.events.progress.emit if show else None,
        )

    def _on_embedded(self, patient_id: str, mask_version: str, embedding) -> None:
        self.embeddings[patient_id] = embedding
        self.mask_used[patient_id] = mask_version
        for key in [k for k in self.predictions if k[0] == patient_id]:
            del self.predictions[key]
        if self.case is not None and self.case.patient_id == patient_id:
            self.refresh_prediction()
        elif self.model is not None:
            try:
                prediction = self.model.predict(embedding)
            except CoreBTError:
                return
            self.predictions.add((patient_id, frozenset()), prediction)
            self.events.case_predictions.emit({patient_id: prediction})

    def _on_embed_failed(self, patient_id: str, message: str) -> None:
        if self.case is not None and self.case.patient_id == patient_id:
            self._show(PredictionState(patient_id, "failed", f"No prediction: {message}"))
