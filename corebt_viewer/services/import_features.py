"""Import TRIDENT or CLAM feature files as an embedding profile of a cohort.

The tile features (and TRIDENT's slide vectors) are matched to the manifest's slides by file
stem, copied into the cohort's embedding cache where
:class:`~corebt_viewer.embed.slides.SlideStore` finds them, and recorded as a profile whose
``source`` is ``imported:<tool>``. ``train``, ``evaluate``, ``predict`` and the viewer then
use it like any other profile. The profile's MRI and report encoders are the built-in ones
(report: ``minilm`` when installed, else ``hashing-tfidf``, or as given): those cases are
embedded here, the first time a command needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from corebt_viewer.core.errors import CoreBTError, InputError
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report

if TYPE_CHECKING:
    from corebt_viewer.embed.profile import EmbeddingProfile


@dataclass
class ImportSummary:
    """What :func:`import_features` did.

    Attributes
    ----------
    profile : EmbeddingProfile
    tool : str
        ``trident`` or ``clam``.
    folder : Path
        The tile feature folder read.
    slides_imported, slides_unchanged : int
        Slides written to the cache now, and found already imported (same files).
    vectors_imported : int
        Slide vectors written (TRIDENT ``slide_features_*``).
    tiles : int
        Tiles of the slides imported now.
    unmatched_files : list of str
        Feature files whose stem names no slide of the manifest.
    slides_without_file : list of str
        Slides of the manifest with no tile feature file (or no slide vector).
    problems : list of str
        Files that could not be imported, with the reason.
    notes : list of str
        What was assumed (CLAM tile size...), and which encoders MRI and reports use.
    cache_dir : Path
    """

    profile: EmbeddingProfile
    tool: str
    folder: Path
    slides_imported: int = 0
    slides_unchanged: int = 0
    vectors_imported: int = 0
    tiles: int = 0
    unmatched_files: list[str] = field(default_factory=list)
    slides_without_file: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cache_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not (self.unmatched_files or self.slides_without_file or self.problems)

    def lines(self) -> list[str]:
        out = list(self.profile.describe())
        out.append(
            f"imported from {self.folder} ({self.tool}): {self.slides_imported} slides "
            f"({self.tiles} tiles), {self.slides_unchanged} already imported, "
            f"{self.vectors_imported} slide vectors"
        )
        out += [f"note: {n}" for n in self.notes]
        for title, items in (
            ("files matching no slide of the manifest", self.unmatched_files),
            ("slides of the manifest without a file", self.slides_without_file),
            ("files not imported", self.problems),
        ):
            if items:
                out.append(f"{title}: {len(items)}")
                out += [f"  {item}" for item in items]
        out.append(f"cache: {self.cache_dir}")
        return out


def _slide_stems(cohort) -> tuple[dict[str, tuple[str, Path]], list[str]]:
    """Manifest slides by stem; stems naming several slides are listed as problems."""
    by_stem: dict[str, list[tuple[str, Path]]] = {}
    for case in cohort.cases:
        for slide in case.slides:
            slide = Path(slide)
            by_stem.setdefault(slide.stem, []).append((case.patient_id, slide))
    unique = {stem: found[0] for stem, found in by_stem.items() if len(found) == 1}
    problems = [
        f"{stem}: names {len(found)} slides of the manifest ("
        + ", ".join(f"{pid}: {p}" for pid, p in found)
        + "): not imported"
        for stem, found in by_stem.items()
        if len(found) > 1
    ]
    return unique, problems


def _default_report_encoder() -> str:
    from corebt_viewer.embed.encoders.report import minilm_available

    return "minilm" if minilm_available() else "hashing-tfidf"


def import_features(
    *,
    cohort,
    folder,
    profile: str,
    encoder: str | None = None,
    slide_encoder: str | None = None,
    tile_size_level0: int | None = None,
    report_encoder: str | None = None,
    cache_dir=None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Import a folder of TRIDENT or CLAM feature files as the profile called `profile`.

    Parameters
    ----------
    cohort : Cohort or path
    folder : path
        See :func:`corebt_viewer.embed.feature_import.find_feature_folder`.
    profile : str
        Name of the profile to record (re-importing the same files under it does nothing;
        other files under the same name are an error).
    encoder, slide_encoder : str, optional
        Pick the TRIDENT folders (``features_<encoder>``, ``slide_features_<name>`` or
        ``"none"``); `encoder` names CLAM's tile encoder (required for CLAM).
    tile_size_level0 : int, optional
        Level-0 tile side of CLAM files without ``patches/``.
    report_encoder : str, optional
        The profile's report encoder (default ``minilm`` when installed).
    cache_dir : path, optional
    progress, cancel : callables, optional

    Returns
    -------
    ImportSummary
        Counts; files matching no slide, slides without a file, and files that failed.

    Raises
    ------
    InputError
        No known layout; feature files of different dims or tilings; no file matches a slide;
        the cache holds another profile of that name.
    """
    from corebt_viewer.embed.cache import EmbeddingCache, file_fingerprint, stable_hash
    from corebt_viewer.embed.feature_import import (
        find_feature_folder,
        tile_geometry,
        tiling_description,
    )
    from corebt_viewer.embed.profile import (
        ProfileMismatch,
        TilingSettings,
        check_profile_name,
        make_profile,
    )
    from corebt_viewer.embed.profile_store import save_profile
    from corebt_viewer.io.feature_files import probe_tile_feature_file, read_tile_coords
    from corebt_viewer.services.embedding import _as_cohort

    cohort = _as_cohort(cohort)
    check_profile_name(profile)
    found = find_feature_folder(folder, encoder=encoder, slide_encoder=slide_encoder)
    stems, problems = _slide_stems(cohort)
    unmatched = [
        f"{stem} ({path})"
        for files in (found.files, found.slide_files)
        for stem, path in files.items()
        if stem not in stems
    ]
    matched = [stem for stem in found.files if stem in stems]
    without = [
        f"{stems[stem][0]}: {stems[stem][1]} (no {found.tiles.name}/{stem}.h5)"
        for stem in stems
        if stem not in found.files
    ]
    if found.slides is not None:
        without += [
            f"{stems[stem][0]}: {stems[stem][1]} (no {found.slides.name}/{stem}.h5)"
            for stem in stems
            if stem not in found.slide_files
        ]
    notes: list[str] = []

    # pass 1: shapes and tile geometry of every matched file (nothing large read)
    probes, geometry = {}, {}
    for stem in list(matched):
        path = found.files[stem]
        try:
            if not stems[stem][1].is_file() and not stems[stem][1].is_dir():
                raise InputError(
                    stems[stem][1], "slide file not found (its identity keys the cache)"
                )
            probe = probe_tile_feature_file(path)
            if tile_size_level0 is not None and "patch_size_level0" not in probe.coords_attrs:
                geometry[stem] = (int(tile_size_level0), "given (--tile-size-level0)")
            else:
                coords = read_tile_coords(path) if found.tool == "clam" else None
                geometry[stem] = tile_geometry(found, stem, probe, coords)
            probes[stem] = probe
        except InputError as exc:
            problems.append(f"{exc.path or path}: {exc.problem}")
            matched.remove(stem)
    if not matched:
        raise InputError(
            found.tiles,
            f"none of the {len(found.files)} feature files matches a slide of the manifest by "
            "stem" + "".join(f"\n  {p}" for p in (problems + unmatched)[:20]),
        )
    dims = sorted({probes[s].dim for s in matched})
    if len(dims) > 1:
        raise InputError(found.tiles, f"feature files of different sizes {dims}: one encoder only")
    layouts = {tiling_description(found, probes[s].coords_attrs, geometry[s][1]) for s in matched}
    if len(layouts) > 1:
        raise InputError(found.tiles, "files tiled differently: " + "; ".join(sorted(layouts)))
    for source in sorted({geometry[s][1] for s in matched}):
        if found.tool == "clam":
            notes.append(f"CLAM tiles: level-0 tile side {source}")
    first = probes[matched[0]].coords_attrs

    # the profile (identity: the files' fingerprints, the dims and the tiling)
    def fingerprint(files: dict[str, Path], stems_used) -> str:
        return stable_hash({s: file_fingerprint(files[s]) for s in sorted(stems_used)}, 16)

    identity = {
        "wsi_dim": str(dims[0]),
        "wsi_features": fingerprint(found.files, matched),
        "wsi_folder": str(found.tiles.resolve()),
        "tiling": layouts.pop(),
    }
    vector_stems = [s for s in found.slide_files if s in stems]
    if found.slides is not None:
        identity.update(
            slide_encoder=found.slide_encoder,
            slide_features=fingerprint(found.slide_files, vector_stems),
            slide_folder=str(found.slides.resolve()),
        )
    target_mag = first.get("target_magnification")
    tiling = TilingSettings(
        target_mpp=round(10.0 / float(target_mag), 4) if target_mag else 0.0,
        tile_size=int(first.get("patch_size", geometry[matched[0]][0])),
        min_tissue=0.0,
    )
    base = make_profile(report=report_encoder or _default_report_encoder())
    made: EmbeddingProfile = replace(
        base,
        name=profile,
        wsi=found.encoder,
        tiling=tiling,
        aggregator="imported" if found.slides is not None else "mean",
        identity=identity,
        source=f"imported:{found.tool}",
    )
    notes.append(
        f"MRI and reports of this profile use the built-in encoders ({made.mri}, {made.report}): "
        "`corebt embed --profile " + profile + "` (or train) embeds them"
    )
    cohort_cache = EmbeddingCache.for_cohort(cohort.root, cache_dir)
    try:
        save_profile(cohort_cache.root, made)
    except ProfileMismatch as exc:
        raise InputError(
            None,
            f"{exc.problem}\nthe feature files differ from those imported before under this "
            "name: import them under a new --profile name",
        ) from None

    summary = ImportSummary(
        profile=made,
        tool=found.tool,
        folder=found.tiles,
        unmatched_files=unmatched,
        slides_without_file=without,
        problems=problems,
        notes=notes,
        cache_dir=cohort_cache.root,
    )
    _write_slides(
        found, matched, stems, probes, geometry, made, cohort_cache, summary, progress, cancel
    )
    return summary


def _write_slides(
    found, matched, stems, probes, geometry, profile, cache, summary, progress, cancel
):
    """Pass 2: copy each matched file into the cache (and its slide vector)."""
    import numpy as np

    from corebt_viewer.core.embedding import SlideOcclusion
    from corebt_viewer.embed.aggregators import slide_embedding_key, write_slide_embedding
    from corebt_viewer.embed.cache import SlideFeatures, read_slide_features
    from corebt_viewer.embed.feature_import import imported_attrs, read_slide_vector
    from corebt_viewer.embed.slides import SlideStore, slide_cache_key
    from corebt_viewer.io.feature_files import read_tile_feature_file

    store = SlideStore(profile, cache)
    total = len(matched)
    vector_dims = set()
    for index, stem in enumerate(matched):
        if cancel is not None and cancel():
            raise Cancelled()
        patient, slide = stems[stem]
        path = found.files[stem]
        report(progress, index, total, f"{patient}: {stem}", "slides")
        key = slide_cache_key(profile, slide)
        coords = None
        try:
            cached = read_slide_features(store.tile_path(slide), cache_key=key)
            if cached is not None:
                summary.slides_unchanged += 1
                coords = cached.coords
            else:
                tiles = read_tile_feature_file(path)
                features, coords = tiles.features, tiles.coords
                size, source = geometry[stem]
                attrs = imported_attrs(found, path, probes[stem], size, source)
                attrs.update(slide_name=slide.name, slide_path=str(slide.resolve()))
                store.write_tiles(slide, SlideFeatures(features, coords, attrs))
                summary.slides_imported += 1
                summary.tiles += features.shape[0]
        except (CoreBTError, OSError, ValueError) as exc:
            problem = exc.problem if isinstance(exc, InputError) else str(exc)
            summary.problems.append(f"{path}: {problem}")
    if found.slides is None:
        report(progress, total, total, f"{total} slides imported", "slides")
        return
    settings = profile.aggregator_settings()
    for stem, path in found.slide_files.items():
        if stem not in stems:
            continue
        patient, slide = stems[stem]
        try:
            if not slide.is_file() and not slide.is_dir():
                raise InputError(slide, "slide file not found (its identity keys the cache)")
            vector, coords = read_slide_vector(path)
            vector_dims.add(vector.shape[0])
            if len(vector_dims) > 1:
                raise InputError(path, f"slide vectors of different sizes {sorted(vector_dims)}")
            tiles = read_slide_features(
                store.tile_path(slide), cache_key=slide_cache_key(profile, slide)
            )
            if coords is None:
                coords = tiles.coords if tiles is not None else np.zeros((0, 2), np.int64)
            occ = SlideOcclusion(
                slide=slide.name,
                vector=vector,
                coords=coords,
                tile_block=np.zeros(coords.shape[0], np.int64),
                block_vectors=np.zeros((0, vector.shape[0]), np.float32),
            )
            write_slide_embedding(
                store.vector_path(slide),
                occ,
                cache_key=slide_embedding_key(slide_cache_key(profile, slide), settings),
                attrs={"aggregator": settings, "imported_from": str(path.resolve())},
            )
            summary.vectors_imported += 1
        except (CoreBTError, OSError, ValueError) as exc:
            problem = exc.problem if isinstance(exc, InputError) else str(exc)
            summary.problems.append(f"{path}: {problem}")
    report(progress, total, total, f"{total} slides imported", "slides")
