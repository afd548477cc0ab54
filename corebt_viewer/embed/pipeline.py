"""Embedding a case: slides (see :mod:`corebt_viewer.embed.slides`), MRI sequences and report.

Every choice comes from one :class:`~corebt_viewer.embed.profile.EmbeddingProfile`. Pooling:
MRI subject = mean of its sequences; report = token-weighted mean of its chunks; pathology
per the profile's slide aggregator. The parts and their weights are kept in
:class:`~corebt_viewer.core.embedding.PooledParts` so that ``weights @ features`` is exactly
the subject vector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.errors import CoreBTError, InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import Cancelled, ProgressCallback
from corebt_viewer.embed.cache import (
    EmbeddingCache,
    file_identity,
    read_case_entry,
    stable_hash,
    write_case_entry,
)
from corebt_viewer.embed.encoder_set import EncoderSet
from corebt_viewer.embed.profile import EmbeddingProfile, TilingSettings
from corebt_viewer.embed.slides import (
    CancelCheck,
    Failure,
    RunStats,
    embed_case_wsi,
    embed_slide,
    load_case_wsi,
    slide_cache_key,
)

__all__ = [
    "EncoderSet",
    "Failure",
    "RunStats",
    "TilingSettings",
    "embed_one_case",
    "embed_slide",
    "load_case_from_cache",
    "slide_cache_key",
]


def _mri_files(case) -> list[tuple[str, Path]]:
    files = [(seq.value, Path(p)) for seq, p in case.mri.items()]
    if case.segmentation is not None:
        files.append(("seg", Path(case.segmentation)))
    return sorted(files)


def mri_cache_key(profile: EmbeddingProfile, case) -> str:
    ident = {role: file_identity(p) if p.exists() else "missing" for role, p in _mri_files(case)}
    return stable_hash({"encoder": profile.key_settings(Modality.MRI), "files": ident}, 32)


def report_cache_key(profile: EmbeddingProfile, case) -> str:
    path = Path(case.report)
    ident = file_identity(path) if path.exists() else "missing"
    return stable_hash({"encoder": profile.key_settings(Modality.REPORT), "report": ident}, 32)


def embed_case_mri(case, encoders: EncoderSet, cache: EmbeddingCache, stats: RunStats):
    """MRI parts of a case (from the cache, or computed and cached)."""
    profile = encoders.profile
    key = mri_cache_key(profile, case)
    path = cache.case_path(case.patient_id, "mri", profile.tag(Modality.MRI))
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
        meta = {"labels": labels, "flags": flags, "errors": errors, "encoder": profile.mri}
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
    profile = encoders.profile
    key = report_cache_key(profile, case)
    path = cache.case_path(case.patient_id, "report", profile.tag(Modality.REPORT))
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
            {"labels": list(labels), "encoder": profile.report},
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
    profile = encoders.profile
    occlusion = ()
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
            (parts[Modality.WSI], occlusion), names[Modality.WSI] = pooled, profile.wsi
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
            names[modality] = profile.mri
        else:
            names[modality] = profile.report
        parts[modality] = result
    for modality, pooled in parts.items():
        vectors[modality] = np.asarray(pooled.vector, np.float32)
    stats.cases += 1
    return CaseEmbedding(
        patient_id=case.patient_id,
        vectors=vectors,
        encoders=names,
        parts=parts,
        flags=flags,
        occlusion=occlusion,
        profile=profile.name,
    )


def load_case_from_cache(
    case, profile: EmbeddingProfile, cache: EmbeddingCache, modalities=None
) -> CaseEmbedding | None:
    """A case's embedding from the cache only (modalities not cached are left out)."""
    wanted = frozenset(modalities) if modalities else frozenset(Modality)
    names, parts, flags = {}, {}, {}
    occlusion = ()
    if Modality.WSI in wanted and case.slides:
        pooled = load_case_wsi(case, profile, cache)
        if pooled is not None:
            (parts[Modality.WSI], occlusion), names[Modality.WSI] = pooled, profile.wsi
    if Modality.MRI in wanted and case.mri:
        entry = read_case_entry(
            cache.case_path(case.patient_id, "mri", profile.tag(Modality.MRI)),
            cache_key=mri_cache_key(profile, case),
        )
        if entry is not None:
            arrays, meta = entry
            n = arrays["features"].shape[0]
            parts[Modality.MRI] = PooledParts(
                arrays["features"], np.full(n, 1.0 / n), tuple(meta["labels"])
            )
            names[Modality.MRI] = profile.mri
            flags.update(meta.get("flags", {}))
    if Modality.REPORT in wanted and case.report is not None and Path(case.report).is_file():
        entry = read_case_entry(
            cache.case_path(case.patient_id, "report", profile.tag(Modality.REPORT)),
            cache_key=report_cache_key(profile, case),
        )
        if entry is not None:
            arrays, meta = entry
            parts[Modality.REPORT] = PooledParts(
                arrays["features"], arrays["weights"], tuple(meta["labels"])
            )
            names[Modality.REPORT] = profile.report
    if not parts:
        return None
    vectors = {m: np.asarray(p.vector, np.float32) for m, p in parts.items()}
    return CaseEmbedding(
        patient_id=case.patient_id,
        vectors=vectors,
        encoders=names,
        parts=parts,
        flags=flags,
        occlusion=occlusion,
        profile=profile.name,
    )
