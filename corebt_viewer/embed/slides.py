"""Slides of a case: tiles -> tile features (cached) -> slide vectors -> the case's parts.

With the ``mean`` aggregator the case's pathology parts are its tiles (the subject vector is
the mean over slides of the mean over tiles, and decomposes exactly over tiles). With a slide
encoder the parts are the slide vectors, and each slide's occlusion blocks travel beside them
(:class:`~corebt_viewer.core.embedding.SlideOcclusion`) for an approximate heat map.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import PooledParts, SlideOcclusion
from corebt_viewer.core.errors import CoreBTError, InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report
from corebt_viewer.embed.cache import (
    EmbeddingCache,
    SlideFeatures,
    file_identity,
    read_slide_features,
    stable_hash,
    write_slide_features,
)
from corebt_viewer.embed.profile import EmbeddingProfile, TilingSettings
from corebt_viewer.embed.tiling import make_tile_grid

CancelCheck = Callable[[], bool]


@dataclass
class Failure:
    """One thing that could not be embedded."""

    patient_id: str
    what: str  # "slide", "mri", "t1", "report"...
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.what} {self.path}: {self.problem}"


@dataclass
class RunStats:
    """Counters of a run (filled as it goes)."""

    cases: int = 0
    slides_embedded: int = 0
    slides_cached: int = 0
    tiles_embedded: int = 0
    tiles_total: int = 0
    slide_seconds: float = 0.0
    entries_embedded: dict = field(default_factory=dict)
    entries_cached: dict = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def count(self, modality: Modality, cached: bool) -> None:
        table = self.entries_cached if cached else self.entries_embedded
        table[modality.value] = table.get(modality.value, 0) + 1


def slide_cache_key(profile: EmbeddingProfile, slide: Path) -> str:
    """Key of a slide's tile-feature file: tile encoder, tiling, slide identity."""
    return stable_hash(
        {
            "encoder": profile.key_settings(Modality.WSI),
            "tiling": profile.tiling.as_dict(),
            "slide": file_identity(slide),
        },
        32,
    )


def embed_slide(
    source,
    encoder,
    *,
    tiling: TilingSettings | None = None,
    batch_size: int = 64,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    grid=None,
) -> SlideFeatures:
    """Tile a slide and encode every tile.

    Parameters
    ----------
    source : path or ndarray
        The slide (a path, or an RGB array for an in-memory slide).
    encoder : tile encoder
        Anything with ``encode(uint8 tiles (B, H, W, 3)) -> (B, dim)`` and ``settings()``.
    tiling : TilingSettings
    batch_size, workers : int
        Tiles per batch; reading threads.
    progress : callable, optional
        Receives ``Progress(done_tiles, n_tiles, ..., stage="tiles")``.
    cancel : callable, optional
        Returns True to stop (raises :class:`Cancelled`).
    grid : TileGrid, optional
        A grid already laid (skips tissue detection).

    Returns
    -------
    SlideFeatures
        ``features`` (tiles x dim), ``coords`` (level-0 x, y) and attributes.

    Raises
    ------
    InputError
        Unreadable slide, or no tissue found.
    """
    from corebt_viewer.embed.reader_pool import TileReaderPool
    from corebt_viewer.io.slides import open_slide

    tiling = tiling or TilingSettings()
    name = Path(source).name if not isinstance(source, np.ndarray) else "array"
    started = time.perf_counter()
    with open_slide(source, mpp_override=tiling.mpp_override) as slide:
        tissue = None
        if grid is None:
            grid, tissue = make_tile_grid(
                slide,
                target_mpp=tiling.target_mpp,
                tile_size=tiling.tile_size,
                min_tissue=tiling.min_tissue,
            )
        dimensions = tuple(int(v) for v in slide.dimensions)
        vendor = str(getattr(slide, "vendor", "") or "")
    if len(grid) == 0:
        raise InputError(
            None if isinstance(source, np.ndarray) else source, "no tissue found on the slide"
        )
    device = str(getattr(encoder, "device", "cpu"))
    pool = TileReaderPool(
        source,
        grid,
        batch_size=batch_size,
        workers=workers,
        pin_memory=device.startswith("cuda"),
        mpp_override=tiling.mpp_override,
        cancel=cancel,
    )
    chunks = []
    done = 0
    report(progress, 0, len(grid), f"{name}: {len(grid)} tiles", "tiles")
    for _start, tiles in pool:
        chunks.append(np.asarray(encoder.encode(tiles), np.float32))
        done += tiles.shape[0]
        report(progress, done, len(grid), f"{name}: {done}/{len(grid)} tiles", "tiles")
    if cancel is not None and cancel():
        raise Cancelled()
    features = np.concatenate(chunks, axis=0)
    attrs = dict(grid.attrs())
    attrs.update(
        encoder=getattr(encoder, "name", "?"),
        encoder_settings=encoder.settings(),
        slide_name=name,
        slide_path="" if isinstance(source, np.ndarray) else str(Path(source).resolve()),
        slide_dimensions=list(dimensions),
        vendor=vendor,
        tissue_fraction=tissue.fraction if tissue is not None else float("nan"),
        device=device,
        notes=list(grid.notes),
        seconds=time.perf_counter() - started,
    )
    return SlideFeatures(features=features, coords=grid.coords.copy(), attrs=attrs)


def pool_tiles(slides: list[tuple[str, SlideFeatures]]) -> PooledParts:
    """Tile parts of a case: subject = mean over slides of the mean over tiles."""
    features, weights, labels, coords, group = [], [], [], [], []
    for index, (name, result) in enumerate(slides):
        n = result.features.shape[0]
        features.append(result.features)
        weights.append(np.full(n, 1.0 / (n * len(slides))))
        labels += [name] * n
        coords.append(result.coords)
        group.append(np.full(n, index, dtype=np.int64))
    return PooledParts(
        features=np.concatenate(features).astype(np.float32),
        weights=np.concatenate(weights),
        labels=tuple(labels),
        coords=np.concatenate(coords).astype(np.int64),
        group=np.concatenate(group),
    )


def pool_slide_vectors(slides: list[SlideOcclusion]) -> PooledParts:
    """Slide-vector parts of a case: subject = mean over slides of the slide encoder's output."""
    n = len(slides)
    return PooledParts(
        features=np.stack([s.vector for s in slides]).astype(np.float32),
        weights=np.full(n, 1.0 / n),
        labels=tuple(s.slide for s in slides),
        group=np.arange(n, dtype=np.int64),
    )


class SlideStore:
    """Where a profile's slide results live in the cache, and how they are made."""

    def __init__(self, profile: EmbeddingProfile, cache: EmbeddingCache):
        self.profile = profile
        self.cache = cache
        self.tile_tag = profile.tag(Modality.WSI)

    def tile_path(self, slide: Path) -> Path:
        return self.cache.slide_path(self.tile_tag, slide)

    def cached_tiles(self, slide: Path) -> SlideFeatures | None:
        key = slide_cache_key(self.profile, slide)
        return read_slide_features(self.tile_path(slide), cache_key=key)

    def write_tiles(self, slide: Path, result: SlideFeatures) -> None:
        write_slide_features(
            self.tile_path(slide), result, cache_key=slide_cache_key(self.profile, slide)
        )

    def vector_path(self, slide: Path) -> Path:
        path = self.cache.slide_path(self.profile.aggregator_tag(), slide)
        return self.cache.root / "slide-embeddings" / path.parent.name / path.name

    def cached_vector(self, slide: Path) -> SlideOcclusion | None:
        from corebt_viewer.embed.aggregators import read_slide_embedding, slide_embedding_key

        key = slide_embedding_key(
            slide_cache_key(self.profile, slide), self.profile.aggregator_settings()
        )
        return read_slide_embedding(self.vector_path(slide), cache_key=key)

    def make_vector(self, slide: Path, result: SlideFeatures, encoder) -> SlideOcclusion:
        from corebt_viewer.embed.aggregators import (
            encode_slide,
            slide_embedding_key,
            write_slide_embedding,
        )

        occ = encode_slide(encoder, result, name=slide.name, n_blocks=self.profile.occlusion_blocks)
        settings = self.profile.aggregator_settings()
        key = slide_embedding_key(slide_cache_key(self.profile, slide), settings)
        write_slide_embedding(
            self.vector_path(slide), occ, cache_key=key, attrs={"aggregator": settings}
        )
        return occ


def embed_case_wsi(
    case,
    encoders,
    cache: EmbeddingCache,
    stats: RunStats,
    *,
    batch_size: int = 64,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    computed: dict | None = None,
) -> tuple[PooledParts, tuple[SlideOcclusion, ...]] | None:
    """Pathology parts of a case; each slide from the cache or embedded now.

    A slide that fails is recorded in `stats` and left out. `computed` maps slide path ->
    SlideFeatures (or the exception) made elsewhere (Dask workers); they are cached here.
    """
    profile = encoders.profile
    store = SlideStore(profile, cache)
    tiles: list[tuple[str, SlideFeatures]] = []
    vectors: list[SlideOcclusion] = []
    for slide in case.slides:
        slide = Path(slide)
        if cancel is not None and cancel():
            raise Cancelled()
        try:
            if not slide.is_file() and not slide.is_dir():
                raise InputError(slide, "slide file not found")
            result = store.cached_tiles(slide)
            if result is not None:
                stats.slides_cached += 1
            else:
                result = (computed or {}).get(str(slide))
                if isinstance(result, BaseException):
                    raise result
                if result is None:
                    result = embed_slide(
                        slide,
                        encoders.get(Modality.WSI),
                        tiling=profile.tiling,
                        batch_size=batch_size,
                        workers=workers,
                        progress=progress,
                        cancel=cancel,
                    )
                store.write_tiles(slide, result)
                stats.slides_embedded += 1
                stats.tiles_embedded += result.features.shape[0]
                stats.slide_seconds += float(result.attrs.get("seconds", 0.0))
            stats.tiles_total += result.features.shape[0]
            if profile.aggregator != "mean":
                vector = store.cached_vector(slide)
                if vector is None:
                    vector = store.make_vector(slide, result, encoders.slide_encoder())
                vectors.append(vector)
        except Cancelled:
            raise
        except (CoreBTError, OSError, ValueError, RuntimeError) as exc:
            problem = exc.problem if isinstance(exc, InputError) else str(exc)
            stats.failures.append(Failure(case.patient_id, "slide", str(slide), problem))
            continue
        tiles.append((slide.name, result))
    if not tiles:
        return None
    if profile.aggregator == "mean":
        return pool_tiles(tiles), ()
    return pool_slide_vectors(vectors), tuple(vectors)


def load_case_wsi(
    case, profile: EmbeddingProfile, cache: EmbeddingCache
) -> tuple[PooledParts, tuple[SlideOcclusion, ...]] | None:
    """A case's pathology parts from the cache only (slides not cached are left out)."""
    store = SlideStore(profile, cache)
    tiles, vectors = [], []
    for slide in case.slides:
        slide = Path(slide)
        if not slide.exists():
            continue
        if profile.aggregator == "mean":
            result = store.cached_tiles(slide)
            if result is not None:
                tiles.append((slide.name, result))
        else:
            vector = store.cached_vector(slide)
            if vector is not None:
                vectors.append(vector)
    if tiles:
        return pool_tiles(tiles), ()
    if vectors:
        return pool_slide_vectors(vectors), tuple(vectors)
    return None
