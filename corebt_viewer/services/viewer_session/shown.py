"""What the viewer shows about a case's prediction, as plain data.

Every flag of the prediction and of the embedding it came from is listed; slide overlays
and slide problems are keyed by the slide's FILE name, never by the index of the slide
among those that embedded (a failed slide would move every later map onto its neighbour).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import CasePrediction


@dataclass(frozen=True)
class SlideTiles:
    """The tiles the model read on one slide, and their contributions when known.

    Attributes
    ----------
    name : str
        The slide's file name.
    coords : ndarray of int, shape (n, 2)
        Level-0 (x, y) of each tile.
    values : ndarray, shape (n,), optional
        Logit contribution of each tile to the predicted class (``None``: grid only).
    approximate : bool
        True when the values are an occlusion attribution through a slide encoder, not an
        exact decomposition.
    """

    name: str
    coords: np.ndarray
    values: np.ndarray | None = None
    approximate: bool = False


@dataclass(frozen=True)
class PredictionState:
    """What the prediction panel, the slide overlays and the case list show for a case.

    Attributes
    ----------
    patient_id : str
    status : str
        ``"ready"``, ``"loading"`` (the model), ``"embedding"``, ``"no_model"``,
        ``"failed"`` or ``"all_off"`` (every modality switched off).
    message : str
        What to show instead of (or above) the prediction.
    prediction : CasePrediction, optional
    truth : str, optional
        The case's class for the model's task (``None``: unlabelled for it).
    task_title : str
    flags : dict of str -> str
        Every warning about this prediction (prediction, embedding and session flags).
    seen_in : str, optional
        ``"train"`` or ``"validation"`` when the model was fitted or tuned on this case.
    mask_version : str
        The mask the MRI embedding used: ``"original"``, ``"v003"``, or ``""`` (none).
    slide_tiles : dict of str -> SlideTiles
        By slide file name.
    slide_problems : dict of str -> str
        By slide file name: why the slide is left out of the prediction.
    """

    patient_id: str
    status: str
    message: str = ""
    prediction: CasePrediction | None = None
    truth: str | None = None
    task_title: str = ""
    flags: dict[str, str] = field(default_factory=dict)
    seen_in: str | None = None
    mask_version: str = ""
    slide_tiles: dict[str, SlideTiles] = field(default_factory=dict)
    slide_problems: dict[str, str] = field(default_factory=dict)


def slide_problems(slides, embedding: CaseEmbedding | None) -> dict[str, str]:
    """Slide file name -> why it is not in the embedding (every slide of the case checked)."""
    if embedding is None or not slides:
        return {}
    parts = embedding.parts.get(Modality.WSI)
    embedded = set(parts.labels) if parts is not None else set()
    failures = [f for f in (embedding.flags.get("failures") or "").split("; ") if f]
    out = {}
    for slide in slides:
        path = Path(slide)
        if path.name in embedded:
            continue
        said = [f.split(f"{path}: ", 1)[-1] for f in failures if str(path) in f]
        if said:
            out[path.name] = said[0]
        elif not path.is_file():
            out[path.name] = "slide file not found"
        else:
            out[path.name] = "no features for this slide (not embedded, or it could not be read)"
    return out


def all_flags(
    prediction: CasePrediction | None,
    embedding: CaseEmbedding | None,
    problems: Mapping[str, str],
) -> dict[str, str]:
    """Every warning: the prediction's, the embedding's, one per left-out slide."""
    flags: dict[str, str] = {}
    if embedding is not None:
        for key, text in embedding.flags.items():
            if key == "failures":  # per file below; what is not a slide stays as it is
                rest = [f for f in text.split("; ") if f and not any(n in f for n in problems)]
                if rest:
                    flags["failures"] = "; ".join(rest)
            else:
                flags[key] = text
    if prediction is not None:
        flags.update(prediction.flags)
    for name, problem in problems.items():
        flags[f"slide {name}"] = f"slide {name} failed and was left out: {problem}"
    return flags


def slide_tiles(
    prediction: CasePrediction | None, embedding: CaseEmbedding | None
) -> dict[str, SlideTiles]:
    """Per slide file name: its tile grid, and the heat map of `prediction` when it has one."""
    out: dict[str, SlideTiles] = {}
    parts = embedding.parts.get(Modality.WSI) if embedding is not None else None
    if parts is not None and parts.coords is not None and len(parts.coords):
        n = len(parts.coords)
        group = np.zeros(n, int) if parts.group is None else np.asarray(parts.group)
        if len(parts.labels) == n:  # the group is an index among the slides that embedded:
            for g in np.unique(group):  # the tile's own label names its file
                index = np.flatnonzero(group == g)
                name = str(parts.labels[index[0]])
                out[name] = SlideTiles(name, np.asarray(parts.coords[index]))
    for tiles in getattr(prediction, "tile_contributions", ()) or ():
        if tiles.coords is None or len(tiles.coords) == 0:
            continue
        out[tiles.slide] = SlideTiles(
            tiles.slide,
            np.asarray(tiles.coords),
            tiles.values,
            approximate=bool(getattr(tiles, "approximate", False)),
        )
    return out
