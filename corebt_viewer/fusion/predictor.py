"""A trained fusion model ready to answer: one case (with explanations) or many (arrays)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.lru import LRUCache
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import (
    ABLATION_MODES,
    AblationRow,
    CasePrediction,
    TileContributions,
)
from corebt_viewer.fusion.calibration import softmax
from corebt_viewer.fusion.data import stack, usable
from corebt_viewer.fusion.explain import part_logits, parts_match_vector
from corebt_viewer.fusion.standardise import Standardiser


def nonempty_subsets(modalities: Iterable[Modality]) -> list[frozenset[Modality]]:
    """Every non-empty subset, largest first, in a stable order."""
    items = list(modalities)
    return [frozenset(c) for size in range(len(items), 0, -1) for c in combinations(items, size)]


@dataclass
class BatchOutput:
    """Outputs for many cases (numpy): see :class:`corebt_viewer.fusion.model.FusionOutput`."""

    logits: np.ndarray
    probabilities: np.ndarray
    probe_logits: np.ndarray
    weights: np.ndarray
    terms: np.ndarray
    residual: np.ndarray
    available: np.ndarray


@dataclass
class FusionPredictor:
    """A trained CoRe-BT-Fusion model with everything needed to use it.

    Attributes
    ----------
    net : corebt_viewer.fusion.model.FusionNet
    task : str
    classes : tuple of str
    modalities : tuple of Modality
        The model's modalities, in its input order.
    standardisers : dict of Modality -> Standardiser
    encoders : dict of Modality -> str
        The encoder that made the training embeddings of each modality.
    temperature : float
    split : dict of str -> list of str
        Patient ids of the ``train``, ``validation`` and ``test`` cases.
    metrics : dict
        Training figures (probe and fusion validation scores...).
    settings : dict
        Training settings and architecture (hidden sizes...).
    manifest_hash : str
        SHA-256 of the training manifest (or of the case list when there is none).
    """

    net: object
    task: str
    classes: tuple[str, ...]
    modalities: tuple[Modality, ...]
    standardisers: dict[Modality, Standardiser]
    encoders: dict[Modality, str] = field(default_factory=dict)
    temperature: float = 1.0
    split: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    manifest_hash: str = ""
    # thread-safe: predict() may run in several threads at once (a viewer's UI and workers)
    _parts_cache: LRUCache = field(default_factory=lambda: LRUCache(16), repr=False)

    @property
    def dims(self) -> dict[Modality, int]:
        return {m: self.standardisers[m].dim for m in self.modalities}

    def _probe_numpy(self, modality: Modality) -> tuple[np.ndarray, np.ndarray]:
        probe = self.net.probes[self.modalities.index(modality)]
        return probe.weight.detach().numpy(), probe.bias.detach().numpy()

    # ----------------------------------------------------------------- many cases
    def forward_arrays(
        self,
        arrays: Sequence[np.ndarray],
        available: np.ndarray,
        ablated: np.ndarray | None = None,
        *,
        mode: str = "missing",
    ) -> BatchOutput:
        """Run the model on standardised arrays (see :func:`corebt_viewer.fusion.data.stack`)."""
        import torch

        self.net.eval()
        threads = torch.get_num_threads()
        # tiny matrices: more threads only spin-wait (10x slower on a busy machine)
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                out = self.net(
                    [torch.from_numpy(np.ascontiguousarray(x)) for x in arrays],
                    torch.from_numpy(np.asarray(available, dtype=bool)),
                    None if ablated is None else torch.from_numpy(np.asarray(ablated, dtype=bool)),
                    mode=mode,
                )
        finally:
            torch.set_num_threads(threads)
        logits = out.logits.numpy().astype(np.float64)
        return BatchOutput(
            logits=logits,
            probabilities=softmax(logits, self.temperature),
            probe_logits=out.probe_logits.numpy().astype(np.float64),
            weights=out.weights.numpy().astype(np.float64),
            terms=out.terms.numpy().astype(np.float64),
            residual=out.residual.numpy().astype(np.float64),
            available=np.asarray(available, dtype=bool),
        )

    def stack(self, embeddings: Sequence[CaseEmbedding]) -> tuple[list[np.ndarray], np.ndarray]:
        """Standardised arrays and availability mask for these embeddings."""
        return stack(embeddings, self.modalities, self.dims, self.standardisers)

    def ablation_mask(self, available: np.ndarray, without: Iterable[Modality]) -> np.ndarray:
        """Boolean (n, k) mask ablating `without` wherever it is available."""
        hidden = np.array([m in set(without) for m in self.modalities], dtype=bool)
        return np.asarray(available, dtype=bool) & hidden[None, :]

    def predict_many(
        self,
        embeddings: Sequence[CaseEmbedding],
        *,
        without: Iterable[Modality] = frozenset(),
        ablation: str = "missing",
    ) -> BatchOutput:
        """Predict many cases at once, hiding the modalities in `without`."""
        arrays, available = self.stack(embeddings)
        return self.forward_arrays(
            arrays, available, self.ablation_mask(available, without), mode=ablation
        )

    # ------------------------------------------------------------------- one case
    def check_encoders(self, embedding: CaseEmbedding) -> None:
        """Refuse embeddings made by another encoder than the model was trained on.

        Raises
        ------
        InputError
            Naming the modality and both encoders.
        """
        for m in self.modalities:
            trained, given = self.encoders.get(m), embedding.encoders.get(m)
            if m in embedding.vectors and trained and given and trained != given:
                raise InputError(
                    None,
                    f"case {embedding.patient_id}: its {m.title} embedding was made by encoder "
                    f"{given!r} but the model was trained on {trained!r} embeddings; "
                    f"embed the cohort with {trained!r} or train a model on {given!r}",
                )

    def available_in(self, embedding: CaseEmbedding) -> frozenset[Modality]:
        """The model's modalities that this embedding has, with the model's vector size."""
        return frozenset(m for m in self.modalities if usable(embedding, m, self.dims[m]))

    def predict(
        self,
        embedding: CaseEmbedding,
        *,
        without: Iterable[Modality] = frozenset(),
        ablation: str = "missing",
    ) -> CasePrediction:
        """Predict one case, with weights, term contributions, ablation table and explanations.

        Parameters
        ----------
        embedding : CaseEmbedding
        without : iterable of Modality
            Modalities to hide (ablate).
        ablation : {"missing", "paper"}
            What hiding means (see :mod:`corebt_viewer.fusion.model`).
        """
        if ablation not in ABLATION_MODES:
            raise ValueError(
                f"unknown ablation mode {ablation!r}; expected one of {ABLATION_MODES}"
            )
        without = frozenset(without)
        self.check_encoders(embedding)
        self.check_profile(embedding)
        available = self.available_in(embedding)
        used = available - without
        if not available:
            raise InputError(
                None,
                f"case {embedding.patient_id} has none of the model's modalities "
                f"({', '.join(m.value for m in self.modalities)}) with the expected sizes",
            )
        if ablation == "missing" and not used:
            raise InputError(None, f"case {embedding.patient_id}: every modality is hidden")

        subsets = nonempty_subsets(m for m in self.modalities if m in available)
        arrays, avail_row = self.stack([embedding])
        n_rows = 1 + len(subsets)
        arrays = [np.repeat(x, n_rows, axis=0) for x in arrays]
        avail = np.repeat(avail_row, n_rows, axis=0)
        kept = [used, *subsets]
        ablated = np.array(
            [[m in available and m not in keep for m in self.modalities] for keep in kept]
        )
        out = self.forward_arrays(arrays, avail, ablated, mode=ablation)

        pred_index = int(np.argmax(out.probabilities[0]))
        probe_used = used if ablation == "missing" else available
        weights = {
            m: float(out.weights[0, j]) for j, m in enumerate(self.modalities) if m in probe_used
        }
        contributions = {
            m.value: out.terms[0, j] for j, m in enumerate(self.modalities) if m in probe_used
        }
        contributions["residual"] = out.residual[0]
        rows = tuple(
            AblationRow(
                modalities=keep,
                probabilities=out.probabilities[i + 1],
                predicted=self.classes[int(np.argmax(out.probabilities[i + 1]))],
            )
            for i, keep in enumerate(subsets)
        )
        flags: dict[str, str] = {}
        for part in ("train", "validation"):
            if embedding.patient_id in self.split.get(part, ()):
                flags["split"] = f"this case is in the model's {part} set: not an unseen case"
        tiles = self._tile_contributions(embedding, weights, pred_index, flags)
        sequences = self._sequence_contributions(embedding, weights, flags)
        return CasePrediction(
            patient_id=embedding.patient_id,
            task=self.task,
            classes=self.classes,
            probabilities=out.probabilities[0],
            predicted=self.classes[pred_index],
            available=available,
            used=used,
            ablation_mode=ablation,
            weights=weights,
            gate=float(1.0 / (1.0 + np.exp(-float(self.net.alpha.detach())))),
            contributions=contributions,
            logits=out.logits[0],
            temperature=self.temperature,
            ablation=rows,
            tile_contributions=tiles,
            sequence_contributions=sequences,
            flags=flags,
        )

    # ---------------------------------------------------------------- explanations
    def part_logits(self, embedding: CaseEmbedding, modality: Modality) -> np.ndarray | None:
        """Each part's share of ``Probe(e)`` for `modality`, or ``None`` when not exact.

        Cached per case, so toggling modalities in a viewer costs no recomputation.
        """
        parts = embedding.parts.get(modality)
        if parts is None or modality not in self.modalities:
            return None
        key = (embedding.patient_id, modality, id(parts))
        cached = self._parts_cache.get(key)
        if cached is not None:
            return cached
        if not parts_match_vector(parts, embedding.vectors[modality]):
            return None
        weight, bias = self._probe_numpy(modality)
        values = part_logits(parts, weight, bias, self.standardisers[modality])
        self._parts_cache.put(key, values)
        return values

    @property
    def profile_name(self) -> str:
        """Name of the embedding profile the model was trained on (empty when unknown)."""
        return str((self.settings.get("profile") or {}).get("name", ""))

    def check_profile(self, embedding: CaseEmbedding) -> None:
        """Refuse an embedding made with another profile than the model's."""
        expected = self.profile_name
        if expected and embedding.profile and embedding.profile != expected:
            raise InputError(
                None,
                f"case {embedding.patient_id} was embedded with profile {embedding.profile!r}, "
                f"but the model was trained on profile {expected!r}",
            )

    def _tile_contributions(
        self, embedding: CaseEmbedding, weights: Mapping[Modality, float], cls: int, flags: dict
    ) -> tuple[TileContributions, ...]:
        if Modality.WSI not in weights:
            return ()
        if embedding.occlusion:
            return self._occlusion_contributions(embedding, weights[Modality.WSI], cls, flags)
        values = self.part_logits(embedding, Modality.WSI)
        if values is None:
            if Modality.WSI in embedding.parts:
                flags["tiles"] = "tile features do not pool to the slide vector: no tile map"
            return ()
        parts = embedding.parts[Modality.WSI]
        per_tile = weights[Modality.WSI] * values[:, cls]
        out = []
        for name, group, index, coords in self._slides_of(embedding.patient_id, parts):
            out.append(TileContributions(name, group, coords, per_tile[index]))
        return tuple(out)

    def _occlusion_contributions(
        self, embedding: CaseEmbedding, weight: float, cls: int, flags: dict
    ) -> tuple[TileContributions, ...]:
        """Approximate tile map of a slide encoder: occlusion of tile blocks.

        A block's value is the drop of the pathology term (class `cls`) when the block's
        tiles are left out of its slide, spread evenly over the block's tiles.
        """
        from corebt_viewer.fusion.explain import folded_probe

        parts = embedding.parts[Modality.WSI]
        probe_w, _ = folded_probe(
            *self._probe_numpy(Modality.WSI), self.standardisers[Modality.WSI]
        )
        share = np.asarray(parts.weights, np.float64)
        out = []
        for group, occ in enumerate(embedding.occlusion):
            n_blocks = occ.block_vectors.shape[0]
            values = np.zeros(occ.tile_block.shape[0])
            if n_blocks:
                delta = (occ.vector[None, :] - occ.block_vectors).astype(np.float64)
                drop = weight * share[group] * (delta @ probe_w[cls])
                sizes = np.bincount(occ.tile_block, minlength=n_blocks).astype(float)
                values = (drop / np.maximum(sizes, 1.0))[occ.tile_block]
            out.append(TileContributions(occ.slide, group, occ.coords, values, approximate=True))
        flags["tiles"] = (
            "pathology heat map is approximate: occlusion of blocks of tiles through the slide "
            "encoder (the encoder is not linear, so exact tile shares do not exist)"
        )
        return tuple(out)

    def _slides_of(self, patient_id: str, parts) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
        """(slide name, group, tile indices, coords) per slide, cached per case."""
        key = ("slides", patient_id, id(parts))
        cached = self._parts_cache.get(key)
        if cached is not None:
            return cached
        n = np.asarray(parts.weights).size
        group = np.zeros(n, dtype=int) if parts.group is None else np.asarray(parts.group)
        coords = np.zeros((0, 2), dtype=int) if parts.coords is None else np.asarray(parts.coords)
        slides = []
        for g in np.unique(group):
            index = np.flatnonzero(group == g)
            name = parts.labels[index[0]] if len(parts.labels) == n else f"slide {int(g)}"
            tile_coords = coords[index] if coords.shape[0] == n else np.zeros((0, 2), dtype=int)
            slides.append((str(name), int(g), index, tile_coords))
        self._parts_cache.put(key, slides)
        return slides

    def _sequence_contributions(
        self, embedding: CaseEmbedding, weights: Mapping[Modality, float], flags: dict
    ) -> dict[str, np.ndarray]:
        if Modality.MRI not in weights:
            return {}
        values = self.part_logits(embedding, Modality.MRI)
        if values is None:
            if Modality.MRI in embedding.parts:
                flags["sequences"] = "sequence features do not pool to the MRI vector"
            return {}
        labels = embedding.parts[Modality.MRI].labels
        names = labels if len(labels) == values.shape[0] else range(values.shape[0])
        return {str(name): weights[Modality.MRI] * values[i] for i, name in enumerate(names)}
