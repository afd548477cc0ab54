"""Embedding a cohort: slides (tiles -> slide -> subject), MRI sequences and reports, cached.

Pooling follows the paper: slide = mean of its tiles, subject = mean of its slides; MRI
subject = mean of its sequences; report = token-weighted mean of its chunks. The parts and
their weights are kept in :class:`~corebt_viewer.core.embedding.PooledParts` so that
``weights @ features`` is exactly the subject vector.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.errors import CoreBTError, InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report
from corebt_viewer.embed.cache import (
    EmbeddingCache,
    SlideFeatures,
    file_fingerprint,
    file_identity,
    read_case_entry,
    read_slide_features,
    stable_hash,
    write_case_entry,
    write_slide_features,
)
from corebt_viewer.embed.encoders import build_encoder, encoder_info
from corebt_viewer.embed.tiling import (
    DEFAULT_MIN_TISSUE,
    DEFAULT_TARGET_MPP,
    DEFAULT_TILE_SIZE,
    make_tile_grid,
)

CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class TilingSettings:
    """Tile grid settings (part of every slide's cache key)."""

    target_mpp: float = DEFAULT_TARGET_MPP
    tile_size: int = DEFAULT_TILE_SIZE
    min_tissue: float = DEFAULT_MIN_TISSUE
    mpp_override: float | None = None

    def as_dict(self) -> dict:
        return {
            "target_mpp": self.target_mpp,
            "tile_size": self.tile_size,
            "min_tissue": self.min_tissue,
            "mpp_override": self.mpp_override,
            "tissue": "clam-like-v1",
        }


@dataclass(frozen=True)
class EncoderChoice:
    """Which encoders to use, and their weights (the options of ``corebt embed``)."""

    wsi: str = "builtin"
    wsi_weights: str | Path | None = None
    mri: str = "mri-builtin"
    mri_weights: str | Path | None = None
    mri_config: str | Path | None = None
    report: str | None = None  # None: minilm when installed, else hashing-tfidf

    def report_name(self) -> str:
        if self.report:
            return self.report
        from corebt_viewer.embed.encoders.report import minilm_available

        return "minilm" if minilm_available() else "hashing-tfidf"

    def key_settings(self, modality: Modality, tiling: TilingSettings | None = None) -> dict:
        """What identifies an encoder's output, computed without building it."""
        if modality is Modality.WSI:
            settings: dict = {"name": self.wsi, "dim": encoder_info(self.wsi).dim}
            if self.wsi == "builtin":
                from corebt_viewer.embed.encoders.wsi_builtin import BuiltinTileEncoder

                settings.update(
                    version=BuiltinTileEncoder.version, mpp=(tiling or TilingSettings()).target_mpp
                )
            elif self.wsi_weights is not None:
                settings.update(weights=_weights_identity(self.wsi, self.wsi_weights))
            return settings
        if modality is Modality.MRI:
            settings = {"name": self.mri}
            if self.mri == "mri-builtin":
                from corebt_viewer.embed.encoders.mri_builtin import BuiltinMRIEncoder

                settings.update(BuiltinMRIEncoder().settings())
            elif self.mri_weights is not None:
                settings["model"] = file_fingerprint(self.mri_weights)
                config = (
                    Path(self.mri_config)
                    if self.mri_config
                    else Path(self.mri_weights).with_suffix(".json")
                )
                if config.is_file():
                    settings["config"] = config.read_text()
            return settings
        name = self.report_name()
        settings = {"name": name, "dim": encoder_info(name).dim}
        if name == "minilm":
            settings["max_tokens"] = 200
        return settings

    def tag(self, modality: Modality, tiling: TilingSettings | None = None) -> str:
        """Short folder-safe name of an encoder and its settings, e.g. ``builtin-1a2b3c4d``."""
        settings = self.key_settings(modality, tiling)
        return f"{settings['name']}-{stable_hash(settings, 8)}"


def _weights_identity(name: str, weights) -> str:
    if name == "gigapath":
        from corebt_viewer.embed.encoders.gigapath import find_weights

        weights_file, model_args = find_weights(weights)
        return stable_hash({"file": file_fingerprint(weights_file), "args": model_args})
    path = Path(weights)
    return file_fingerprint(path) if path.is_file() else str(path)


class EncoderSet:
    """Encoders built on first use and kept for the whole run."""

    def __init__(
        self,
        choice: EncoderChoice,
        *,
        device: str = "auto",
        tiling: TilingSettings | None = None,
        compile: bool = False,
    ):
        self.choice = choice
        self.device = device
        self.compile = compile
        self.tiling = tiling or TilingSettings()
        self._built: dict[Modality, object] = {}

    def get(self, modality: Modality):
        if modality not in self._built:
            c = self.choice
            if modality is Modality.WSI:
                enc = build_encoder(
                    c.wsi,
                    weights=c.wsi_weights,
                    device=self.device,
                    mpp=self.tiling.target_mpp,
                    compile=self.compile,
                )
            elif modality is Modality.MRI:
                enc = build_encoder(
                    c.mri, weights=c.mri_weights, config=c.mri_config, device=self.device
                )
            else:
                enc = build_encoder(c.report_name(), device=self.device)
            self._built[modality] = enc
        return self._built[modality]


# -- slides -------------------------------------------------------------------------


def slide_cache_key(choice: EncoderChoice, tiling: TilingSettings, slide: Path) -> str:
    """Key of a slide's feature file: encoder settings, tiling settings, slide identity."""
    return stable_hash(
        {
            "encoder": choice.key_settings(Modality.WSI, tiling),
            "tiling": tiling.as_dict(),
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


# -- per-case entries ---------------------------------------------------------------


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


def _mri_files(case) -> list[tuple[str, Path]]:
    files = [(seq.value, Path(p)) for seq, p in case.mri.items()]
    if case.segmentation is not None:
        files.append(("seg", Path(case.segmentation)))
    return sorted(files)


def mri_cache_key(choice: EncoderChoice, case) -> str:
    ident = {role: file_identity(p) if p.exists() else "missing" for role, p in _mri_files(case)}
    return stable_hash({"encoder": choice.key_settings(Modality.MRI), "files": ident}, 32)


def report_cache_key(choice: EncoderChoice, case) -> str:
    path = Path(case.report)
    ident = file_identity(path) if path.exists() else "missing"
    return stable_hash({"encoder": choice.key_settings(Modality.REPORT), "report": ident}, 32)


def wsi_case_key(slide_keys: list[str]) -> str:
    return stable_hash({"slides": slide_keys}, 32)


def embed_case_mri(case, encoders: EncoderSet, cache: EmbeddingCache, stats: RunStats):
    """MRI parts of a case (from the cache, or computed and cached)."""
    choice = encoders.choice
    key = mri_cache_key(choice, case)
    path = cache.case_path(case.patient_id, "mri", choice.tag(Modality.MRI))
    entry = read_case_entry(path, cache_key=key)
    if entry is None:
        from corebt_viewer.io.nifti import load_case_mri

        study = load_case_mri(case)
        errors = dict(study.errors)
        if not study.volumes:
            raise InputError(
                None,
                "no MRI sequence could be loaded: "
                + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            )
        vectors, flags = encoders.get(Modality.MRI).encode_study(study)
        labels = [seq.value for seq in vectors]
        features = np.stack([vectors[s] for s in vectors]).astype(np.float32)
        meta = {"labels": labels, "flags": flags, "errors": errors, "encoder": choice.mri}
        meta["notes"] = dict(study.notes)  # sequences resampled from their native grids
        write_case_entry(path, {"features": features}, meta, cache_key=key)
        stats.count(Modality.MRI, cached=False)
    else:
        arrays, meta = entry
        features = arrays["features"]
        stats.count(Modality.MRI, cached=True)
    for role, message in meta.get("errors", {}).items():
        stats.failures.append(Failure(case.patient_id, "mri", role, message))
    n = features.shape[0]
    parts = PooledParts(
        features=features, weights=np.full(n, 1.0 / n), labels=tuple(meta["labels"])
    )
    return parts, dict(meta.get("flags", {}))


def embed_case_report(
    case, encoders: EncoderSet, cache: EmbeddingCache, stats: RunStats
) -> PooledParts:
    """Report parts of a case (chunks and their weights)."""
    choice = encoders.choice
    key = report_cache_key(choice, case)
    path = cache.case_path(case.patient_id, "report", choice.tag(Modality.REPORT))
    entry = read_case_entry(path, cache_key=key)
    if entry is None:
        from corebt_viewer.io.reports import read_report

        text = read_report(case.report)
        features, weights, labels = encoders.get(Modality.REPORT).encode_text(text)
        write_case_entry(
            path,
            {
                "features": np.asarray(features, np.float32),
                "weights": np.asarray(weights, np.float64),
            },
            {"labels": list(labels), "encoder": choice.report_name()},
            cache_key=key,
        )
        stats.count(Modality.REPORT, cached=False)
    else:
        arrays, meta = entry
        features, weights, labels = arrays["features"], arrays["weights"], meta["labels"]
        stats.count(Modality.REPORT, cached=True)
    return PooledParts(
        features=np.asarray(features, np.float32), weights=np.asarray(weights), labels=tuple(labels)
    )


def pool_slides(slides: list[tuple[str, SlideFeatures]]) -> PooledParts:
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


def embed_case_wsi(
    case,
    encoders: EncoderSet,
    cache: EmbeddingCache,
    stats: RunStats,
    *,
    batch_size: int = 64,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    computed: dict | None = None,
) -> PooledParts | None:
    """Slide parts of a case; each slide from the cache or embedded now (bad slides skipped).

    `computed` maps slide path -> SlideFeatures already computed elsewhere (Dask workers);
    they are written to the cache here.
    """
    choice, tiling = encoders.choice, encoders.tiling
    tag = choice.tag(Modality.WSI, tiling)
    slides: list[tuple[str, SlideFeatures]] = []
    keys: list[str] = []
    for slide in case.slides:
        slide = Path(slide)
        if cancel is not None and cancel():
            raise Cancelled()
        try:
            if not slide.is_file():
                raise InputError(slide, "slide file not found")
            key = slide_cache_key(choice, tiling, slide)
            path = cache.slide_path(tag, slide)
            result = read_slide_features(path, cache_key=key)
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
                        tiling=tiling,
                        batch_size=batch_size,
                        workers=workers,
                        progress=progress,
                        cancel=cancel,
                    )
                write_slide_features(path, result, cache_key=key)
                stats.slides_embedded += 1
                stats.tiles_embedded += result.features.shape[0]
                stats.slide_seconds += float(result.attrs.get("seconds", 0.0))
            stats.tiles_total += result.features.shape[0]
        except Cancelled:
            raise
        except (CoreBTError, OSError, ValueError, RuntimeError) as exc:
            problem = exc.problem if isinstance(exc, InputError) else str(exc)
            stats.failures.append(Failure(case.patient_id, "slide", str(slide), problem))
            continue
        slides.append((slide.name, result))
        keys.append(key)
    if not slides:
        return None
    parts = pool_slides(slides)
    path = cache.case_path(case.patient_id, "wsi", tag)
    key = wsi_case_key(keys)
    if read_case_entry(path, cache_key=key) is None:
        vectors = np.stack([r.vector for _, r in slides]).astype(np.float32)
        write_case_entry(
            path,
            {"slide_vectors": vectors, "vector": vectors.mean(0)},
            {"slides": [n for n, _ in slides], "slide_keys": keys, "encoder": choice.wsi},
            cache_key=key,
        )
    return parts


def embed_one_case(
    case,
    encoders: EncoderSet,
    cache: EmbeddingCache,
    stats: RunStats,
    *,
    modalities=None,
    batch_size: int = 64,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    computed: dict | None = None,
) -> CaseEmbedding:
    """Embed every requested modality of one case (failures recorded in `stats`)."""
    wanted = frozenset(modalities) if modalities else frozenset(Modality)
    vectors, names, parts, flags = {}, {}, {}, {}
    choice = encoders.choice
    if Modality.WSI in wanted and case.slides:
        pooled = embed_case_wsi(
            case,
            encoders,
            cache,
            stats,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            cancel=cancel,
            computed=computed,
        )
        if pooled is not None:
            parts[Modality.WSI], names[Modality.WSI] = pooled, choice.wsi
    for modality, present, run in (
        (Modality.MRI, bool(case.mri), embed_case_mri),
        (Modality.REPORT, case.report is not None, embed_case_report),
    ):
        if modality not in wanted or not present:
            continue
        if cancel is not None and cancel():
            raise Cancelled()
        try:
            result = run(case, encoders, cache, stats)
        except Cancelled:
            raise
        except (CoreBTError, OSError, ValueError, RuntimeError) as exc:
            problem = exc.problem if isinstance(exc, InputError) else str(exc)
            path = getattr(exc, "path", None) or (
                case.report if modality is Modality.REPORT else ""
            )
            stats.failures.append(
                Failure(case.patient_id, modality.value, str(path or ""), problem)
            )
            continue
        if modality is Modality.MRI:
            result, mri_flags = result
            flags.update(mri_flags)
            names[modality] = choice.mri
        else:
            names[modality] = choice.report_name()
        parts[modality] = result
    for modality, pooled in parts.items():
        vectors[modality] = np.asarray(pooled.vector, np.float32)
    stats.cases += 1
    return CaseEmbedding(
        patient_id=case.patient_id, vectors=vectors, encoders=names, parts=parts, flags=flags
    )


def load_case_from_cache(
    case, choice: EncoderChoice, tiling: TilingSettings, cache: EmbeddingCache, modalities=None
) -> CaseEmbedding | None:
    """A case's embedding from the cache only (modalities not cached are left out)."""
    wanted = frozenset(modalities) if modalities else frozenset(Modality)
    vectors, names, parts, flags = {}, {}, {}, {}
    if Modality.WSI in wanted and case.slides:
        tag = choice.tag(Modality.WSI, tiling)
        slides = []
        for slide in case.slides:
            slide = Path(slide)
            if not slide.is_file():
                continue
            result = read_slide_features(
                cache.slide_path(tag, slide), cache_key=slide_cache_key(choice, tiling, slide)
            )
            if result is not None:
                slides.append((slide.name, result))
        if slides:
            parts[Modality.WSI], names[Modality.WSI] = pool_slides(slides), choice.wsi
    if Modality.MRI in wanted and case.mri:
        entry = read_case_entry(
            cache.case_path(case.patient_id, "mri", choice.tag(Modality.MRI)),
            cache_key=mri_cache_key(choice, case),
        )
        if entry is not None:
            arrays, meta = entry
            n = arrays["features"].shape[0]
            parts[Modality.MRI] = PooledParts(
                arrays["features"], np.full(n, 1.0 / n), tuple(meta["labels"])
            )
            names[Modality.MRI] = choice.mri
            flags.update(meta.get("flags", {}))
    if Modality.REPORT in wanted and case.report is not None and Path(case.report).is_file():
        entry = read_case_entry(
            cache.case_path(case.patient_id, "report", choice.tag(Modality.REPORT)),
            cache_key=report_cache_key(choice, case),
        )
        if entry is not None:
            arrays, meta = entry
            parts[Modality.REPORT] = PooledParts(
                arrays["features"], arrays["weights"], tuple(meta["labels"])
            )
            names[Modality.REPORT] = choice.report_name()
    if not parts:
        return None
    vectors = {m: np.asarray(p.vector, np.float32) for m, p in parts.items()}
    return CaseEmbedding(
        patient_id=case.patient_id, vectors=vectors, encoders=names, parts=parts, flags=flags
    )
