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
class SlideOcclusion:
    """A non-linear slide encoder's output with blocks of tiles left out (for heat maps).

    Attributes
    ----------
    slide : str
        The slide's name (as in the WSI parts' labels).
    vector : ndarray (dim,)
        The slide embedding with every tile.
    coords : ndarray of int (n_tiles, 2)
        Level-0 (x, y) of each tile.
    tile_block : ndarray of int (n_tiles,)
        The block each tile belongs to.
    block_vectors : ndarray (n_blocks, dim)
        The slide embedding with each block's tiles removed.
    """

    slide: str
    vector: np.ndarray
    coords: np.ndarray
    tile_block: np.ndarray
    block_vectors: np.ndarray


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
    occlusion : tuple of SlideOcclusion
        Per slide, when a non-linear slide encoder made the pathology vector (its parts are
        then the slide vectors, and tile heat maps are approximate).
    profile : str
        Name of the embedding profile that made the vectors (empty when unknown).
    """

    patient_id: str
    vectors: dict[Modality, np.ndarray]
    encoders: dict[Modality, str] = field(default_factory=dict)
    parts: dict[Modality, PooledParts] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    occlusion: tuple[SlideOcclusion, ...] = ()
    profile: str = ""

    @property
    def modalities(self) -> frozenset[Modality]:
        return frozenset(self.vectors)
