"""Which of a cohort's two models the viewer shows: eq. 2 (MRI + pathology, the default)
or its ``+report`` sibling, the extension that also reads the pathology report."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.services.fusion_options import REPORT_SUFFIX, report_model_dir


class ModelChoice:
    """The eq. 2 / + report switch of a :class:`ViewerSession` (a mixin: it uses the
    session's ``model_dir``, ``cohort``, ``case``, ``runner``, ``events`` and ``predictions``)."""

    @property
    def eq2_model_dir(self) -> Path | None:
        """The eq. 2 (MRI + pathology) model folder of this cohort's task."""
        if self.model_dir is None:
            return None
        name = self.model_dir.name
        if name.endswith(REPORT_SUFFIX):
            return self.model_dir.with_name(name[: -len(REPORT_SUFFIX)])
        return self.model_dir

    @property
    def uses_report_model(self) -> bool:
        """True when the open model is the ``+report`` sibling (the extension of eq. 2)."""
        return self.model_dir is not None and self.model_dir.name.endswith(REPORT_SUFFIX)

    def report_model_available(self) -> bool:
        """Whether both the eq. 2 model and its ``+report`` sibling folder exist."""
        base = self.eq2_model_dir
        return base is not None and all(
            d.is_dir() and any(d.iterdir()) for d in (base, report_model_dir(base))
        )

    def use_report_model(self, on: bool) -> None:
        """Switch to the ``+report`` model (`on`) or back to the eq. 2 model; the case list
        and the panel follow once it is loaded.

        Raises
        ------
        InputError
            When the model folder to switch to does not exist.
        """
        base = self.eq2_model_dir
        if base is None or self.cohort is None or on == self.uses_report_model:
            return
        target = report_model_dir(base) if on else base
        if not target.is_dir() or not any(target.iterdir()):
            raise InputError(
                target,
                "no model in this folder: train it with `corebt train`"
                + (" --with-report" if on else ""),
            )
        self.model_dir, self.model, self.model_error = target, None, ""
        self.predictions.clear()
        self.model_state, self._model_wanted = "loading", True
        self.events.model_changed.emit(None)
        if self.case is not None:
            self.refresh_prediction()
        self.load_model()
