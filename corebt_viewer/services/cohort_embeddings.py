"""A cohort's embeddings under one profile, what is missing, and a model's profile.

:func:`cohort_embeddings` is what ``train`` and ``evaluate`` read: the cached embeddings of
one profile, embedding first what the cache lacks, with one line per case left without a
modality it has. :func:`model_profile` is the profile a trained model records; every
command and view that predicts takes it from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from corebt_viewer.core.case import Cohort
from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.core.progress import ProgressCallback, report


@dataclass
class CohortEmbeddings:
    """A cohort's embeddings under one profile, and what is missing.

    Attributes
    ----------
    profile : EmbeddingProfile
    cases : dict of str -> CaseEmbedding
    missing : list of str
        One line per case left without a modality it has, with the reason.
    counts : dict of str -> int
        Cases with an embedding, per modality.
    available : dict of str -> int
        Cases that have the modality's files, per modality.
    """

    profile: object
    cases: dict[str, CaseEmbedding]
    missing: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    available: dict[str, int] = field(default_factory=dict)

    def record(self) -> dict:
        """The JSON kept in a model's training record."""
        return {
            "profile": self.profile.name,
            "cases_with_embedding": self.counts,
            "cases_with_files": self.available,
            "missing": self.missing[:200],
            "n_missing": len(self.missing),
        }


def cohort_embeddings(
    cohort: Cohort,
    *,
    profile=None,
    modalities: Iterable[Modality] = ALL_MODALITIES,
    embed_missing: bool = True,
    device: str = "auto",
    workers: int = 2,
    batch_size: int = 64,
    progress: ProgressCallback | None = None,
) -> CohortEmbeddings:
    """The cohort's cached embeddings under `profile`, embedding what the cache lacks first."""
    from corebt_viewer.services.embedding import (
        embed_cohort,
        load_cohort_embeddings,
        missing_modalities,
        resolve_profile,
    )

    wanted = frozenset(modalities)
    profile = resolve_profile(cohort=cohort, profile=profile)
    found = load_cohort_embeddings(cohort=cohort, profile=profile, modalities=wanted)
    lacking = [
        case
        for case in cohort.cases
        if (case.modalities & wanted)
        - (found[case.patient_id].modalities if case.patient_id in found else set())
    ]
    missing: list[str] = []
    if lacking and embed_missing:
        report(progress, 0, 1, f"embedding {len(lacking)} cases first ({profile.name})", "embed")
        summary = embed_cohort(
            cohort=Cohort(cohort.root, tuple(lacking), cohort.manifest),
            profile=profile,
            modalities=wanted,
            device=device,
            workers=workers,
            batch_size=batch_size,
            progress=progress,
        )
        missing = list(summary.missing)
        found = load_cohort_embeddings(cohort=cohort, profile=profile, modalities=wanted)
    else:
        for case in lacking:
            missing += missing_modalities(case, found.get(case.patient_id), wanted, [])
    counts = {
        m.value: sum(m in e.modalities for e in found.values())
        for m in ALL_MODALITIES
        if m in wanted
    }
    available = {
        m.value: sum(m in c.modalities for c in cohort.cases) for m in ALL_MODALITIES if m in wanted
    }
    return CohortEmbeddings(profile, found, missing, counts, available)


def model_profile(model):
    """The embedding profile a model was trained on (recorded in its training settings)."""
    from corebt_viewer.embed.profile import EmbeddingProfile, make_profile

    recorded = model.settings.get("profile")
    if recorded:
        return EmbeddingProfile.from_json(recorded)
    legacy = dict(model.settings.get("embedding") or {})
    if not legacy and all(
        name in ("", "builtin", "mri-builtin", "minilm", "hashing-tfidf")
        for name in model.encoders.values()
    ):  # saved before profiles, on the built-in encoders
        report_name = model.encoders.get(Modality.REPORT)
        return make_profile(report=report_name or None)
    raise InputError(
        None,
        "this model was saved before embedding profiles and not on the built-in encoders "
        f"({legacy or model.encoders}); retrain it with `corebt train --profile NAME`",
    )


def _check_profile(model, profile) -> object:
    """The model's profile; `profile` (a name or a profile), when given, must make the same."""
    from corebt_viewer.embed.profile import EmbeddingProfile
    from corebt_viewer.embed.profile_store import check_same

    recorded = model_profile(model)
    if profile is None:
        return recorded
    if isinstance(profile, str):
        if profile != recorded.name:
            raise InputError(
                None,
                f"the model was trained on embedding profile {recorded.name!r}, not {profile!r}",
            )
        return recorded
    if isinstance(profile, EmbeddingProfile):
        check_same(recorded, profile, what="the model and the options given disagree")
        return recorded
    raise TypeError(f"profile must be a name or an EmbeddingProfile, not {profile!r}")


def embedding_record_lines(record: dict) -> list[str]:
    """The training record's embedding counts in words (``corebt info --model``)."""
    if not record:
        return []
    with_files = record.get("cases_with_files", {})
    out = [
        "embeddings used: "
        + ", ".join(
            f"{Modality(m).title} {n}/{with_files.get(m, '?')} cases"
            for m, n in record.get("cases_with_embedding", {}).items()
        )
    ]
    if record.get("n_missing"):
        out.append(f"cases left without a modality they have: {record['n_missing']}")
        out += [f"  {line}" for line in record.get("missing", [])]
    return out
