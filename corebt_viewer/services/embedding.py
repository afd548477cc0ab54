"""Embedding service: cohort and case embeddings (cached), slide tiling previews.

Keyword-only functions on plain data, shared by the CLI and the GUI. The heavy work lives
in :mod:`corebt_viewer.embed`; this module chooses the encoders and the cache, drives the
progress callback and sums up what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report

if TYPE_CHECKING:
    from corebt_viewer.embed.profile import EmbeddingProfile


@dataclass
class EmbedSummary:
    """What a run of :func:`embed_cohort` did.

    Attributes
    ----------
    cases : int
        Cases visited.
    slides_embedded, slides_cached : int
        Slides computed in this run, and found valid in the cache.
    tiles_embedded, tiles_total : int
        Tiles encoded in this run, and tiles of all slides (cached included).
    seconds : float
        Wall time of the run.
    tiles_per_second : float
        Tiles encoded per second of slide work (0 when nothing was computed).
    entries_embedded, entries_cached : dict of str -> int
        MRI and report entries computed / reused.
    failures : list of str
        One line per file that could not be embedded.
    missing : list of str
        One line per case left without a modality it has, with the reason.
    cache_dir : Path
    profile : EmbeddingProfile
    """

    cases: int = 0
    slides_embedded: int = 0
    slides_cached: int = 0
    tiles_embedded: int = 0
    tiles_total: int = 0
    seconds: float = 0.0
    tiles_per_second: float = 0.0
    entries_embedded: dict = field(default_factory=dict)
    entries_cached: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cache_dir: Path | None = None
    profile: EmbeddingProfile | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.missing

    @property
    def did_nothing(self) -> bool:
        """True when everything came from the cache."""
        return self.slides_embedded == 0 and not any(self.entries_embedded.values())

    def lines(self) -> list[str]:
        """The summary in plain words (one item per line)."""
        out = list(self.profile.describe()) if self.profile is not None else []
        out += [
            f"cases: {self.cases}",
            f"slides: {self.slides_embedded} embedded, {self.slides_cached} from cache",
            f"tiles: {self.tiles_embedded} embedded ({self.tiles_total} in all slides)",
        ]
        if self.tiles_embedded:
            out.append(f"speed: {self.tiles_per_second:.1f} tiles/s (slide work only)")
        for modality in ("mri", "report"):
            done, cached = (
                self.entries_embedded.get(modality, 0),
                self.entries_cached.get(modality, 0),
            )
            if done or cached:
                out.append(f"{modality}: {done} embedded, {cached} from cache")
        out.append(f"time: {self.seconds:.1f} s; cache: {self.cache_dir}")
        out.append(f"failures: {len(self.failures)}")
        out += [f"  {f}" for f in self.failures]
        if self.missing:
            out.append(f"cases left without a modality they have: {len(self.missing)}")
            out += [f"  {m}" for m in self.missing]
        return out


def _as_cohort(cohort) -> Cohort:
    if isinstance(cohort, Cohort):
        return cohort
    from corebt_viewer.io.manifest import read_cohort

    return read_cohort(cohort)


def _parse_modalities(modalities) -> frozenset[Modality]:
    if modalities is None:
        return frozenset(Modality)
    if isinstance(modalities, str):
        return Modality.parse_list(modalities)
    return frozenset(Modality.parse(m) if isinstance(m, str) else m for m in modalities)


def cache_root(cohort: Cohort, cache_dir=None) -> Path:
    """The cohort's embedding cache folder (``<root>/.corebt/embeddings`` by default)."""
    from corebt_viewer.embed.cache import EmbeddingCache

    return EmbeddingCache.for_cohort(cohort.root, cache_dir).root


def resolve_profile(*, cohort, profile=None, cache_dir=None) -> EmbeddingProfile:
    """The embedding profile to use: given, named (read from the cache) or the cache's only one.

    Parameters
    ----------
    cohort : Cohort or path
    profile : EmbeddingProfile, str or None
        A profile, the name of one recorded in the cohort's cache, or ``None``: the cache's
        only profile, or the built-in profile when the cache holds none.

    Raises
    ------
    InputError
        A name the cache does not hold, or several profiles and none chosen.
    """
    from corebt_viewer.embed.profile import EmbeddingProfile, list_profiles, load_profile

    if isinstance(profile, EmbeddingProfile):
        return profile
    root = cache_root(_as_cohort(cohort), cache_dir)
    if isinstance(profile, str):
        return load_profile(root, profile)
    if profile is not None:
        raise TypeError(f"profile must be an EmbeddingProfile, a name or None, not {profile!r}")
    found = list_profiles(root)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(root, f"several embedding profiles ({names}): choose one with --profile")
    from corebt_viewer.embed.profile import make_profile

    return make_profile()


def builtin_profile() -> EmbeddingProfile:
    """The profile of the built-in encoders (no weights), named ``builtin``."""
    from corebt_viewer.embed.profile import make_profile

    return make_profile()


def missing_modalities(case: Case, embedding: CaseEmbedding | None, wanted, failures) -> list[str]:
    """One line per modality the case has (and `wanted`) that yielded no embedding."""
    have = embedding.modalities if embedding is not None else frozenset()
    lines = []
    for modality in sorted(case.modalities & frozenset(wanted) - have, key=lambda m: m.value):
        what = "slide" if modality is Modality.WSI else modality.value
        reasons = [
            f"{Path(f.path).name or f.what}: {f.problem}"
            for f in failures
            if f.patient_id == case.patient_id and f.what == what
        ]
        reason = "; ".join(reasons) or "not in the embedding cache of this profile"
        lines.append(f"{case.patient_id}: no {modality.title} embedding ({reason})")
    return lines


def embed_cohort(
    *,
    cohort,
    profile=None,
    modalities=None,
    device: str = "auto",
    workers: int = 2,
    batch_size: int = 64,
    cache_dir=None,
    scheduler=None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    compile_encoder: bool = False,
) -> EmbedSummary:
    """Embed every case of a cohort with one profile, filling the cache; reruns skip what is done.

    Parameters
    ----------
    cohort : Cohort or path
        A cohort, or its manifest / folder.
    profile : EmbeddingProfile, str or None
        See :func:`resolve_profile`; it is recorded in the cache (a different profile of the
        same name there is an error naming both).
    modalities : iterable of Modality or str, optional
        Subset to embed (default all three).
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    workers, batch_size : int
        Tile-reading threads per slide; tiles per encoder batch.
    cache_dir : path, optional
        Default ``<cohort root>/.corebt/embeddings``.
    scheduler : str or distributed.Client, optional
        Send per-slide work to this Dask cluster.
    progress : callable, optional
        Gets ``Progress`` events: stage ``"cases"`` overall, ``"tiles"`` within a slide,
        ``"slides"`` for Dask results.
    cancel : callable, optional
        Returns True to stop; the run raises :class:`Cancelled` (what is done stays cached).
    compile_encoder : bool
        ``torch.compile`` the tile encoder on CUDA (gigapath).

    Returns
    -------
    EmbedSummary
        Counts, speed, one line per failure and per case left without a modality it has.
    """
    from corebt_viewer.embed.cache import EmbeddingCache
    from corebt_viewer.embed.pipeline import EncoderSet, RunStats, embed_one_case
    from corebt_viewer.embed.profile import save_profile

    started = time.perf_counter()
    cohort = _as_cohort(cohort)
    wanted = _parse_modalities(modalities)
    profile = resolve_profile(cohort=cohort, profile=profile, cache_dir=cache_dir)
    cache = EmbeddingCache.for_cohort(cohort.root, cache_dir)
    save_profile(cache.root, profile)
    encoders = EncoderSet(profile, device=device, compile=compile_encoder)
    stats = RunStats()
    computed: dict = {}
    if scheduler is not None and Modality.WSI in wanted:
        computed = _compute_slides_on_dask(
            cohort, profile, cache, scheduler, device, batch_size, workers, progress, cancel
        )
    total = len(cohort.cases)
    missing: list[str] = []
    for index, case in enumerate(cohort.cases):
        if cancel is not None and cancel():
            raise Cancelled()
        report(progress, index, total, f"case {index + 1}/{total}: {case.patient_id}", "cases")
        embedding = embed_one_case(
            case,
            encoders,
            cache,
            stats,
            modalities=wanted,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            cancel=cancel,
            computed=computed,
        )
        missing += missing_modalities(case, embedding, wanted, stats.failures)
    report(progress, total, total, f"{total} cases done", "cases")
    seconds = time.perf_counter() - started
    return EmbedSummary(
        cases=stats.cases,
        slides_embedded=stats.slides_embedded,
        slides_cached=stats.slides_cached,
        tiles_embedded=stats.tiles_embedded,
        tiles_total=stats.tiles_total,
        seconds=seconds,
        tiles_per_second=stats.tiles_embedded
        / (stats.slide_seconds if scheduler is None else seconds)
        if stats.tiles_embedded
        else 0.0,
        entries_embedded=dict(stats.entries_embedded),
        entries_cached=dict(stats.entries_cached),
        failures=[str(f) for f in stats.failures],
        missing=missing,
        cache_dir=cache.root,
        profile=profile,
    )


def _compute_slides_on_dask(
    cohort, profile, cache, scheduler, device, batch_size, workers, progress, cancel
):
    """Send every slide not validly cached to the cluster; return path -> result."""
    from corebt_viewer.embed.distributed import embed_slides_on_dask
    from corebt_viewer.embed.slides import SlideStore

    store = SlideStore(profile, cache)
    todo = [
        Path(slide)
        for case in cohort.cases
        for slide in case.slides
        if Path(slide).exists() and store.cached_tiles(Path(slide)) is None
    ]
    return embed_slides_on_dask(
        todo,
        scheduler=scheduler,
        profile=profile,
        device=device,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        cancel=cancel,
    )


def embed_case(
    *,
    cohort,
    case,
    profile,
    modalities=None,
    device: str = "auto",
    workers: int = 2,
    batch_size: int = 64,
    cache_dir=None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> CaseEmbedding:
    """Embed one case with `profile` (using and filling the cache); `case` is a Case or an id.

    Files that fail are left out of the result and named in ``flags["failures"]``.
    """
    from corebt_viewer.embed.cache import EmbeddingCache
    from corebt_viewer.embed.pipeline import EncoderSet, RunStats, embed_one_case

    cohort = _as_cohort(cohort)
    case = case if isinstance(case, Case) else cohort[str(case)]
    profile = resolve_profile(cohort=cohort, profile=profile, cache_dir=cache_dir)
    cache = EmbeddingCache.for_cohort(cohort.root, cache_dir)
    stats = RunStats()
    wanted = _parse_modalities(modalities)
    embedding = embed_one_case(
        case,
        EncoderSet(profile, device=device),
        cache,
        stats,
        modalities=wanted,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        cancel=cancel,
    )
    if stats.failures:
        embedding.flags["failures"] = "; ".join(str(f) for f in stats.failures)
    for line in missing_modalities(case, embedding, wanted, stats.failures):
        embedding.flags.setdefault("missing", line)
    return embedding


def load_cohort_embeddings(
    *, cohort, profile, cache_dir=None, modalities=None
) -> dict[str, CaseEmbedding]:
    """Cached embeddings of a cohort for `profile` (nothing is computed; absent cases left out)."""
    from corebt_viewer.embed.cache import EmbeddingCache
    from corebt_viewer.embed.pipeline import load_case_from_cache

    cohort = _as_cohort(cohort)
    profile = resolve_profile(cohort=cohort, profile=profile, cache_dir=cache_dir)
    cache = EmbeddingCache.for_cohort(cohort.root, cache_dir)
    wanted = _parse_modalities(modalities)
    out = {}
    for case in cohort.cases:
        embedding = load_case_from_cache(case, profile, cache, wanted)
        if embedding is not None:
            out[case.patient_id] = embedding
    return out


@dataclass
class TilesSummary:
    """What :func:`tile_slide` wrote."""

    slide: Path
    n_tiles: int
    tissue_fraction: float
    tile_size_level0: int
    read_level: int
    mpp: float | None
    seconds: float
    files: dict[str, Path]
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [
            f"slide: {self.slide}",
            f"tissue: {self.tissue_fraction:.1%} of the slide; {self.n_tiles} tiles of {self.tile_size_level0} level-0 px (read at level {self.read_level})",
            f"resolution: {self.mpp if self.mpp else 'unknown'} um/px at level 0; detection and grid took {self.seconds:.2f} s",
        ]
        out += [f"note: {n}" for n in self.notes]
        out += [f"{k}: {v}" for k, v in self.files.items()]
        return out


def tile_slide(
    *,
    slide,
    out,
    target_mpp: float = 0.5,
    tile_size: int = 256,
    min_tissue: float = 0.25,
    mpp_override: float | None = None,
    progress: ProgressCallback | None = None,
) -> TilesSummary:
    """Detect tissue, lay the tile grid and write mask.png, grid.png and coords.csv/.h5 to `out`."""
    from corebt_viewer.embed.preview import write_tiling_outputs
    from corebt_viewer.embed.tiling import make_tile_grid
    from corebt_viewer.io.slides import open_slide

    out = Path(out)
    report(progress, 0, 2, f"detecting tissue on {Path(slide).name}", "tiles")
    started = time.perf_counter()
    with open_slide(slide, mpp_override=mpp_override) as reader:
        grid, tissue = make_tile_grid(
            reader, target_mpp=target_mpp, tile_size=tile_size, min_tissue=min_tissue
        )
        seconds = time.perf_counter() - started
        files = write_tiling_outputs(grid, tissue, out, slide_name=Path(slide).name)
    report(progress, 2, 2, f"{len(grid)} tiles", "tiles")
    return TilesSummary(
        slide=Path(slide),
        n_tiles=len(grid),
        tissue_fraction=tissue.fraction,
        tile_size_level0=grid.tile_size_level0,
        read_level=grid.read_level,
        mpp=grid.mpp,
        seconds=seconds,
        files=files,
        notes=grid.notes,
    )
