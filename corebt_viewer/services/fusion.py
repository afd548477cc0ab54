"""Train, evaluate and apply CoRe-BT-Fusion on a cohort (shared by the CLI and the GUI).

The model folder of a cohort defaults to ``<cohort root>/.corebt/models/<task>/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.case import Cohort
from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import ALL_MODALITIES, Modality
from corebt_viewer.core.prediction import CasePrediction
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.core.tasks import get_task


def as_cohort(cohort: Cohort | str | Path) -> Cohort:
    """A cohort, read from its manifest or folder when given a path."""
    if isinstance(cohort, Cohort):
        return cohort
    from corebt_viewer.io.manifest import read_cohort

    return read_cohort(cohort)


def default_model_dir(cohort: Cohort, task: str) -> Path:
    """``<cohort root>/.corebt/models/<task>``."""
    return Path(cohort.root) / ".corebt" / "models" / task


def manifest_hash(cohort: Cohort) -> str:
    """SHA-256 of the manifest file, or of the case list and labels when there is none."""
    digest = hashlib.sha256()
    if cohort.manifest is not None and Path(cohort.manifest).is_file():
        digest.update(Path(cohort.manifest).read_bytes())
    else:
        for case in cohort.cases:
            line = (
                f"{case.patient_id}\t{case.labels.level1}\t{case.labels.who_grade}\t"
                f"{','.join(sorted(m.value for m in case.modalities))}\n"
            )
            digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def task_targets(cohort: Cohort, task: str) -> dict[str, int | None]:
    """Class index of every case for `task` (``None`` when unlabelled)."""
    spec = get_task(task)
    return {case.patient_id: case.target(spec) for case in cohort.cases}


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
    from corebt_viewer.embed.profile import EmbeddingProfile, check_same

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


@dataclass
class TrainSummary:
    """What :func:`train_model` did."""

    out: Path
    task: str
    classes: tuple[str, ...]
    modalities: tuple[Modality, ...]
    n_train: int
    n_validation: int
    n_test: int
    metrics: dict = field(default_factory=dict)
    profile_lines: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        fusion = self.metrics.get("fusion", {})
        out = list(self.profile_lines)
        out += embedding_record_lines(self.metrics.get("embedding", {}))
        out += [
            f"task {self.task}: classes {', '.join(self.classes)}",
            f"modalities: {', '.join(m.title for m in self.modalities)}",
            f"cases: {self.n_train} train, {self.n_validation} validation, {self.n_test} held out",
        ]
        for name, probe in self.metrics.get("probes", {}).items():
            f1 = probe.get("validation_f1_macro")
            out.append(
                f"probe {Modality(name).title}: {probe['n_train']} cases, L2 {probe['l2']:g}, "
                f"validation macro F1 {'n/a' if f1 is None else f'{f1:.3f}'}"
            )
        if fusion:
            out.append(
                f"fusion: validation macro F1 {fusion['validation_f1_macro']:.3f} "
                f"(probe ensemble {fusion['validation_f1_macro_at_init']:.3f}), "
                f"best epoch {fusion['best_epoch']}/{fusion['epochs_run']}"
            )
        temperature = self.metrics.get("calibration", {}).get("temperature")
        if temperature is not None:
            out.append(f"temperature {temperature:.3f}; {self.metrics.get('seconds', 0):.1f} s")
        out.append(f"model saved in {self.out}")
        return out


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


def train_model(
    *,
    cohort: Cohort | str | Path,
    task: str,
    out: str | Path | None = None,
    seed: int = 0,
    profile=None,
    progress: ProgressCallback | None = None,
    embeddings: Mapping[str, CaseEmbedding] | None = None,
    settings=None,
    device: str = "auto",
    workers: int = 2,
    batch_size: int = 64,
) -> TrainSummary:
    """Train CoRe-BT-Fusion for `task` on the cohort's embeddings under one profile, and save it.

    Parameters
    ----------
    cohort : Cohort or path
    task : str
        ``level1``, ``who_grade`` or ``lgg_hgg``.
    out : path, optional
        Model folder (default ``<root>/.corebt/models/<task>``).
    seed : int
    profile : EmbeddingProfile, str or None
        The embedding profile (see :func:`corebt_viewer.services.embedding.resolve_profile`);
        recorded in the model.
    progress : callable, optional
    embeddings : mapping, optional
        Use these instead of the cohort's cached embeddings (made with `profile`).
    settings : corebt_viewer.fusion.train.TrainSettings, optional
    device, workers, batch_size
        Used when cases must be embedded first.

    Raises
    ------
    InputError
        A modality the cohort has (and the task uses) ends up with no usable case: the
        message lists the cases and why.
    """
    from corebt_viewer.fusion.io import save_model
    from corebt_viewer.fusion.train import train_fusion
    from corebt_viewer.services.embedding import resolve_profile

    cohort = as_cohort(cohort)
    spec = get_task(task)
    out = Path(out) if out is not None else default_model_dir(cohort, task)
    if embeddings is None:
        found = cohort_embeddings(
            cohort,
            profile=profile,
            modalities=spec.modalities,
            device=device,
            workers=workers,
            batch_size=batch_size,
            progress=progress,
        )
    else:
        found = CohortEmbeddings(resolve_profile(cohort=cohort, profile=profile), dict(embeddings))
        found.counts = {
            m.value: sum(m in e.modalities for e in embeddings.values()) for m in spec.modalities
        }
        found.available = {
            m.value: sum(m in c.modalities for c in cohort.cases) for m in spec.modalities
        }
    empty = [m for m, n in found.counts.items() if n == 0 and found.available.get(m, 0) > 0]
    if empty:
        names = ", ".join(Modality(m).title for m in empty)
        raise InputError(
            None,
            f"{names}: {sum(found.available[m] for m in empty)} cases have the files but none "
            f"yielded an embedding with profile {found.profile.name!r}; training would silently "
            "leave the modality out:\n  "
            + "\n  ".join(found.missing[:40] or ["(no reason recorded)"]),
        )
    targets = task_targets(cohort, task)
    model = train_fusion(
        found.cases,
        {pid: t for pid, t in targets.items() if t is not None},
        task=task,
        classes=spec.classes,
        allowed=spec.modalities,
        seed=seed,
        settings=settings,
        manifest_hash=manifest_hash(cohort),
        progress=progress,
    )
    model.settings["profile"] = found.profile.to_json()
    model.metrics["embedding"] = found.record()
    save_model(model, out)
    return TrainSummary(
        out=out,
        task=task,
        classes=model.classes,
        modalities=model.modalities,
        n_train=len(model.split["train"]),
        n_validation=len(model.split["validation"]),
        n_test=len(model.split["test"]),
        metrics=model.metrics,
        profile_lines=found.profile.describe(),
    )


@dataclass
class EvaluationSummary:
    """What :func:`evaluate_model` wrote."""

    out: Path
    task: str
    table: str
    rows: dict
    n_cases: int
    cv: dict | None = None
    warnings: list[str] = field(default_factory=list)
    profile: str = ""

    def row(self, name: str, mode: str = "missing") -> dict:
        """The scored row called `name` under ablation meaning `mode`."""
        for row in self.rows[mode]:
            if row["name"] == name:
                return row
        raise KeyError(name)

    def lines(self) -> list[str]:
        out = [f"embedding profile: {self.profile}"] if self.profile else []
        out += [*self.warnings, self.table.rstrip(), f"report written to {self.out}"]
        return out


def load_model(path: str | Path):
    """Load a saved model: a :class:`corebt_viewer.fusion.predictor.FusionPredictor`."""
    from corebt_viewer.fusion.io import load_model as _load

    return _load(path)


def evaluate_model(
    *,
    cohort: Cohort | str | Path,
    model_dir: str | Path,
    out: str | Path,
    cv: int | None = None,
    repeats: int | None = None,
    progress: ProgressCallback | None = None,
    embeddings: Mapping[str, CaseEmbedding] | None = None,
    n_boot: int = 1000,
    profile=None,
    device: str = "auto",
    workers: int = 2,
    batch_size: int = 64,
) -> EvaluationSummary:
    """Evaluate on held-out cases with MRI and pathology; write table.md, metrics.json...

    Without `cv`, the model's recorded test split is scored (never a training case). With
    `cv` = K, the model is retrained on every fold of a repeated stratified K-fold split.
    Embeddings come from the model's profile (`profile`, when given, must be the same).
    """
    from corebt_viewer.fusion.evaluate import evaluate_cv, evaluate_holdout, write_evaluation

    cohort = as_cohort(cohort)
    model = load_model(model_dir)
    warnings = []
    if model.manifest_hash and model.manifest_hash != manifest_hash(cohort):
        warnings.append("note: the cohort's manifest differs from the one the model was trained on")
    used_profile = _check_profile(model, profile)
    if embeddings is None:
        found = cohort_embeddings(
            cohort,
            profile=used_profile,
            modalities=model.modalities,
            device=device,
            workers=workers,
            batch_size=batch_size,
            progress=progress,
        )
        embeddings = found.cases
        warnings += embedding_record_lines(found.record())[1:]

    targets = task_targets(cohort, model.task)
    if cv:
        evaluation = evaluate_cv(
            model,
            embeddings,
            targets,
            k=int(cv),
            repeats=repeats,
            seed=int(model.settings.get("seed", 0)),
            n_boot=n_boot,
            progress=progress,
        )
    else:
        evaluation = evaluate_holdout(model, embeddings, targets, n_boot=n_boot)
        if len(evaluation.patient_ids) < 30:
            warnings.append(
                f"note: only {len(evaluation.patient_ids)} held-out cases; for a steadier "
                "estimate use --cv 5 (retrains on every fold)"
            )
    title = f"CoRe-BT-Fusion, task {get_task(model.task).title}"
    out = write_evaluation(
        evaluation,
        out,
        title=title,
        extra={
            "model": str(Path(model_dir).resolve()),
            "warnings": warnings,
            "profile": used_profile.to_json(),
        },
    )
    return EvaluationSummary(
        out=out,
        task=model.task,
        table=(out / "table.md").read_text(encoding="utf-8"),
        rows=evaluation.rows,
        n_cases=len(set(evaluation.patient_ids)),
        cv=evaluation.cv,
        warnings=warnings,
        profile=f"{used_profile.name} ({used_profile.fingerprint()})",
    )


def case_embedding(
    cohort: Cohort, case_id: str, profile, *, device: str = "auto", progress=None, cancel=None
) -> CaseEmbedding:
    """The case's embedding under `profile`: from the cache, else computed (and cached) now."""
    from corebt_viewer.services.embedding import embed_case, load_cohort_embeddings

    try:
        case = cohort[case_id]
    except KeyError:
        raise InputError(
            cohort.manifest or cohort.root, f"no case {case_id!r} in the cohort"
        ) from None
    single = Cohort(cohort.root, (case,), cohort.manifest)
    found = load_cohort_embeddings(cohort=single, profile=profile).get(case_id)
    if found is None or case.modalities - found.modalities:
        found = embed_case(
            cohort=cohort,
            case=case,
            profile=profile,
            device=device,
            progress=progress,
            cancel=cancel,
        )
    return found


def predict_case(
    *,
    cohort: Cohort | str | Path,
    model_dir: str | Path,
    case_id: str,
    without: Iterable[Modality | str] = frozenset(),
    ablation: str = "missing",
    embedding: CaseEmbedding | None = None,
    profile=None,
    device: str = "auto",
) -> CasePrediction:
    """Predict one case of the cohort, hiding the modalities in `without`.

    The case's embedding comes from the model's profile (cached, or computed now) unless
    given; `profile`, when given, must be the model's.
    """
    cohort = as_cohort(cohort)
    model = load_model(model_dir)
    used_profile = _check_profile(model, profile)
    hidden = frozenset(Modality.parse(m) if isinstance(m, str) else m for m in without)
    if embedding is None:
        embedding = case_embedding(cohort, case_id, used_profile, device=device)
    prediction = model.predict(embedding, without=hidden, ablation=ablation)
    for key in ("failures", "missing"):
        if key in embedding.flags:
            prediction.flags.setdefault(key, embedding.flags[key])
    return prediction


def model_card(model_dir: str | Path) -> dict:
    """What a trained model is: task, classes, profile, training record (JSON-able)."""
    from corebt_viewer.fusion.io import read_config

    model = load_model(model_dir)
    config = read_config(model_dir)
    profile = model_profile(model)
    return {
        "folder": str(Path(model_dir).resolve()),
        "task": model.task,
        "classes": list(model.classes),
        "modalities": [m.value for m in model.modalities],
        "profile": profile.to_json(),
        "profile_lines": profile.describe(),
        "embedding": model.metrics.get("embedding", {}),
        "split": {k: len(v) for k, v in model.split.items()},
        "temperature": model.temperature,
        "corebt_version": config.get("corebt_version", ""),
    }


def model_card_lines(card: dict) -> list[str]:
    """A model card in words."""
    split = card["split"]
    out = [
        f"model: {card['folder']}",
        f"task {card['task']}: classes {', '.join(card['classes'])}",
        "modalities: " + modality_names(Modality(m) for m in card["modalities"]),
        f"cases: {split.get('train', 0)} train, {split.get('validation', 0)} validation, "
        f"{split.get('test', 0)} held out; temperature {card['temperature']:.3f}",
        *card["profile_lines"],
    ]
    return out + embedding_record_lines(card["embedding"])


def modality_names(modalities: Iterable[Modality]) -> str:
    """``"MRI, Pathology"`` in canonical order."""
    return ", ".join(m.title for m in ALL_MODALITIES if m in set(modalities)) or "none"
