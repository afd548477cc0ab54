"""The answer of the fusion model for one case, as plain data (numpy only).

A :class:`CasePrediction` carries everything a user interface shows about a prediction:
the calibrated class probabilities, the instance-specific modality weights ``w_i`` of the
paper's equation 2, the logit contribution of each term, the prediction for every subset of
the case's modalities (the ablation table) and the exact per-tile and per-sequence
decomposition of the pathology and MRI probe terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corebt_viewer.core.modalities import ALL_MODALITIES, Modality

#: The two meanings of "ablated" (see :mod:`corebt_viewer.fusion.model`).
ABLATION_MODES: tuple[str, ...] = ("missing", "paper")


def modality_set_name(modalities: frozenset[Modality]) -> str:
    """Display name of a set of modalities, e.g. ``"MRI + Pathology"`` (``"none"`` if empty)."""
    names = [m.title for m in ALL_MODALITIES if m in modalities]
    return " + ".join(names) if names else "none"


@dataclass(frozen=True)
class AblationRow:
    """The prediction made from one subset of a case's modalities.

    Attributes
    ----------
    modalities : frozenset of Modality
        The modalities kept (the others are ablated).
    probabilities : ndarray, shape (n_classes,)
        Calibrated class probabilities.
    predicted : str
        Name of the most probable class.
    """

    modalities: frozenset[Modality]
    probabilities: np.ndarray
    predicted: str

    @property
    def name(self) -> str:
        return modality_set_name(self.modalities)


@dataclass(frozen=True)
class TileContributions:
    """Logit contribution of each tile of one slide to the predicted class.

    The contributions of all tiles of all slides sum to the pathology term of that class.

    Attributes
    ----------
    slide : str
        The slide's name (as in the embedding's part labels).
    group : int
        Index of the slide among the case's slides.
    coords : ndarray of int, shape (n_tiles, 2)
        Level-0 (x, y) of each tile, or an empty array when unknown.
    values : ndarray, shape (n_tiles,)
        Logit contribution of each tile to the predicted class.
    approximate : bool
        True when a non-linear slide encoder made the slide vector: the values are then an
        occlusion attribution (the pathology term's drop when the tile's block is left out,
        shared among the block's tiles), not an exact decomposition.
    """

    slide: str
    group: int
    coords: np.ndarray
    values: np.ndarray
    approximate: bool = False


@dataclass(frozen=True)
class CasePrediction:
    """Prediction of the fusion model for one case.

    Attributes
    ----------
    patient_id : str
    task : str
        Task name (``level1``, ``who_grade``, ``lgg_hgg``).
    classes : tuple of str
    probabilities : ndarray, shape (n_classes,)
        Calibrated class probabilities (temperature-scaled softmax of ``logits``).
    predicted : str
    available : frozenset of Modality
        Modalities the case has (and the model knows).
    used : frozenset of Modality
        Modalities the prediction uses (``available`` minus those hidden by the user).
    ablation_mode : str
        ``"missing"`` or ``"paper"``: what hiding a modality means.
    weights : dict of Modality -> float
        Instance-specific weights ``w_i`` of the probe terms (summing to 1).
    gate : float
        ``sigmoid(alpha)``, the weight of the residual branch.
    contributions : dict of str -> ndarray (n_classes,)
        Logit contribution of each term: ``"mri"``, ``"wsi"``, ``"report"`` (``w_i *
        Probe_i(e_i)``) and ``"residual"``; they sum to ``logits``.
    logits : ndarray, shape (n_classes,)
        Uncalibrated output ``y`` of equation 2.
    temperature : float
        Calibration temperature; ``probabilities = softmax(logits / temperature)``.
    ablation : tuple of AblationRow
        Prediction for every non-empty subset of ``available`` (same ablation mode).
    tile_contributions : tuple of TileContributions
        Per slide, the contribution of each tile to the predicted class (empty when the
        embedding carries no tile features or pathology is not used).
    sequence_contributions : dict of str -> ndarray (n_classes,)
        Per MRI sequence name (``"t1c"``...), its contribution to the MRI term.
    flags : dict of str -> str
        Notes, e.g. why an explanation is absent.
    """

    patient_id: str
    task: str
    classes: tuple[str, ...]
    probabilities: np.ndarray
    predicted: str
    available: frozenset[Modality]
    used: frozenset[Modality]
    ablation_mode: str
    weights: dict[Modality, float]
    gate: float
    contributions: dict[str, np.ndarray]
    logits: np.ndarray
    temperature: float = 1.0
    ablation: tuple[AblationRow, ...] = ()
    tile_contributions: tuple[TileContributions, ...] = ()
    sequence_contributions: dict[str, np.ndarray] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """Probability of the predicted class."""
        return float(self.probabilities[self.classes.index(self.predicted)])

    def to_dict(self) -> dict:
        """A JSON-serialisable summary (tile values are summarised, not listed)."""

        def floats(a: np.ndarray) -> list[float]:
            return [float(x) for x in np.asarray(a).ravel()]

        def mods(ms: frozenset[Modality]) -> list[str]:
            return [m.value for m in ALL_MODALITIES if m in ms]

        return {
            "patient_id": self.patient_id,
            "task": self.task,
            "classes": list(self.classes),
            "predicted": self.predicted,
            "probabilities": dict(zip(self.classes, floats(self.probabilities), strict=True)),
            "available": mods(self.available),
            "used": mods(self.used),
            "ablation_mode": self.ablation_mode,
            "weights": {m.value: float(w) for m, w in self.weights.items()},
            "gate": float(self.gate),
            "temperature": float(self.temperature),
            "logits": floats(self.logits),
            "contributions": {k: floats(v) for k, v in self.contributions.items()},
            "sequence_contributions": {
                k: floats(v) for k, v in self.sequence_contributions.items()
            },
            "tile_contributions": [
                {
                    "slide": t.slide,
                    "n_tiles": int(t.values.size),
                    "sum": float(t.values.sum()),
                    "max": float(t.values.max()) if t.values.size else 0.0,
                    "min": float(t.values.min()) if t.values.size else 0.0,
                }
                for t in self.tile_contributions
            ],
            "ablation": [
                {
                    "modalities": mods(row.modalities),
                    "predicted": row.predicted,
                    "probabilities": floats(row.probabilities),
                }
                for row in self.ablation
            ],
            "flags": dict(self.flags),
        }
