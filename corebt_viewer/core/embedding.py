"""Subject-level embeddings of a case, with the parts they are pooled from.

The paper pools by plain means (tiles -> slide -> subject; sequences -> subject). Keeping
the parts and their pooling weights lets the fusion model decompose a linear probe's
logit exactly over tiles and sequences (``vector == weights @ parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corebt_viewer.core.modalities import Modality


@dataclass(frozen=True)
class PooledParts:
    """The parts a modality's subject vector is the weighted sum of.

    Attributes
    ----------
    features : ndarray, shape (n_parts, dim)
        One row per tile (pathology), per sequence (MRI) or per text chunk (report).
    weights : ndarray, shape (n_parts,)
        Pooling weights, summing to 1; the subject vector is ``weights @ features``.
    labels : tuple of str
        A name per part: ``"t1c"`` for a sequence, ``"slide.svs"`` for a tile's slide...
    coords : ndarray of int, shape (n_parts, 2), optional
        Level-0 (x, y) of each tile (pathology only).
    group : ndarray of int, shape (n_parts,), optional
        Index of the slide each tile belongs to (pathology only).
    """

    features: np.ndarray
    weights: np.ndarray
    labels: tuple[str, ...] = ()
    coords: np.ndarray | None = None
    group: np.ndarray | None = None

    @property
    def vector(self) -> np.ndarray:
        return self.weights @ self.features


@dataclass(frozen=True)
class CaseEmbedding:
    """Embeddings of one case, one vector per available modality.

    Attributes
    ----------
    patient_id : str
    vectors : dict of Modality -> ndarray (dim,)
        Subject-level embedding per modality present.
    encoders : dict of Modality -> str
        Name of the encoder that produced each vector.
    parts : dict of Modality -> PooledParts
        Optional: the parts each vector pools (for exact explanations).
    flags : dict of str -> str
        Notes such as ``{"mri": "no mask: whole-brain features only"}``.
    """

    patient_id: str
    vectors: dict[Modality, np.ndarray]
    encoders: dict[Modality, str] = field(default_factory=dict)
    parts: dict[Modality, PooledParts] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def modalities(self) -> frozenset[Modality]:
        return frozenset(self.vectors)
