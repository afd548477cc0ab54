"""Generate the built-in demo cohort (synthetic MRI, slides and reports with a manifest)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from corebt_viewer.core.progress import ProgressCallback, report

#: Default size: about two minutes on two cores (see ``corebt demo-data --help``).
DEFAULT_PATIENTS = 72
DEFAULT_SLIDE_SIZE = 10_000
MIN_SLIDE_SIZE = 512


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _run_job(job: tuple) -> tuple[str, str, float]:
    """Write one part of one patient (a pure function of the job tuple)."""
    from corebt_viewer.io.demo import cohort as C
    from corebt_viewer.io.demo.plan import plan_patient

    kind, out, seed, index, extra = job
    plan = plan_patient(seed, index)
    start = time.perf_counter()
    if kind == "mri":
        C.write_patient_mri(Path(out), plan, seed)
    elif kind == "slide":
        slide, size = extra
        C.write_patient_slide(Path(out), plan, seed, slide, size)
    else:
        C.write_patient_report(Path(out), plan, seed)
    return kind, plan.patient_id, time.perf_counter() - start


def make_demo_cohort(
    *,
    out: str | Path,
    patients: int | None = None,
    seed: int = 0,
    slide_size: int | None = None,
    progress: ProgressCallback | None = None,
    workers: int = 2,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Write a synthetic demo cohort and return the path of its ``manifest.csv``.

    Classes follow the paper's Table 1 with the small classes moderately over-sampled
    (GBM 40 %, IDH-mutant astrocytoma 25 %, oligodendroglioma 17 %, other glioma 18 %; see
    :mod:`corebt_viewer.io.demo.plan`) so every class of the three tasks can be trained and
    evaluated; the modality pattern is the paper's (19 % incomplete MRI without a mask, 31 %
    with one to three slides and a report). MRI, slides and reports each carry partial,
    complementary class information (see :mod:`corebt_viewer.io.demo`).

    Parameters
    ----------
    out : path-like
        Cohort folder (created; existing demo files are overwritten).
    patients : int, optional
        Number of patients (default :data:`DEFAULT_PATIENTS`).
    seed : int
        The same seed gives the same cohort; patient ``i`` depends only on ``(seed, i)``.
    slide_size : int, optional
        Level-0 height of the slides in pixels (default :data:`DEFAULT_SLIDE_SIZE`; 50,000 and
        more work, with bounded memory).
    progress : callable, optional
        Receives :class:`~corebt_viewer.core.progress.Progress` events (stage ``"demo"``).
    workers : int
        Processes to use (1 runs everything in this process).
    cancel : callable, optional
        Returns True to stop; raises :class:`~corebt_viewer.core.progress.Cancelled`.

    The manifest is written last, so a folder with a manifest is complete.
    """
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.core.progress import Cancelled
    from corebt_viewer.io.demo import cohort as C
    from corebt_viewer.io.demo.plan import plan_cohort

    patients = DEFAULT_PATIENTS if patients is None else int(patients)
    slide_size = DEFAULT_SLIDE_SIZE if slide_size is None else int(slide_size)
    out = Path(out)
    if patients < 1:
        raise InputError(None, f"--patients must be at least 1, got {patients}")
    if slide_size < MIN_SLIDE_SIZE:
        raise InputError(
            None, f"--slide-size must be at least {MIN_SLIDE_SIZE} px, got {slide_size}"
        )
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot create the cohort folder ({exc.strerror})") from None
    plans = plan_cohort(seed, patients)
    manifest = out / C.MANIFEST_NAME
    if manifest.exists():
        manifest.unlink()  # the manifest marks a complete cohort
    # Slides first (the longest jobs), then MRI, then reports: keeps both workers busy.
    jobs = [
        ("slide", str(out), seed, p.index, (k, slide_size))
        for p in plans
        for k in range(p.n_slides)
    ]
    jobs += [("mri", str(out), seed, p.index, None) for p in plans if p.sequences]
    jobs += [("report", str(out), seed, p.index, None) for p in plans if p.has_report]
    total = len(jobs)
    report(progress, 0, total, f"writing {patients} demo patients to {out}", "demo")

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise Cancelled("demo cohort generation cancelled")

    if workers <= 1 or total <= 2:
        for done, job in enumerate(jobs, start=1):
            check_cancel()
            kind, pid, _ = _run_job(job)
            report(progress, done, total, f"{pid}: {kind}", "demo")
    else:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        ctx = mp.get_context("spawn")  # safe from GUI threads
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
            pending = {pool.submit(_run_job, job) for job in jobs}
            done = 0
            try:
                while pending:
                    finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        kind, pid, _ = fut.result()
                        done += 1
                        report(progress, done, total, f"{pid}: {kind}", "demo")
                    check_cancel()
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
    C.write_readme(out, seed, plans, slide_size)
    return C.write_manifest(out, plans)


def train_demo_models(
    *,
    cohort,
    task: str = "level1",
    out=None,
    embeddings=None,
    settings=None,
    profile=None,
    progress: ProgressCallback | None = None,
) -> tuple[Path, Path]:
    """Train the demo's two models and return their folders (eq. 2, then + report).

    The eq. 2 model (MRI + pathology, the paper's) goes to ``out`` (default
    ``<root>/.corebt/models/<task>``), the report extension to the sibling folder
    ``<task>+report``. Both share the embeddings (loaded once) and the cohort's split; the
    extra cost is the second model's training alone. `profile` is the embedding profile
    (default: the cohort cache's only one, or the built-in profile).
    """
    from corebt_viewer.services.fusion import (
        as_cohort,
        cohort_embeddings,
        default_model_dir,
        train_model,
    )
    from corebt_viewer.services.fusion_options import report_model_dir

    cohort = as_cohort(cohort)
    eq2 = Path(out) if out is not None else default_model_dir(cohort, task)
    from corebt_viewer.core.modalities import ALL_MODALITIES
    from corebt_viewer.services.embedding import resolve_profile

    profile = resolve_profile(cohort=cohort, profile=profile)
    if embeddings is None:
        embeddings = cohort_embeddings(
            cohort, profile=profile, modalities=ALL_MODALITIES, progress=progress
        ).cases
    common = dict(
        cohort=cohort, task=task, embeddings=embeddings, settings=settings, profile=profile
    )
    report(progress, 0, 2, "training the eq. 2 model (MRI + pathology)", "train")
    train_model(out=eq2, progress=progress, **common)
    report(progress, 1, 2, "training the model that also reads the report", "train")
    with_report = report_model_dir(eq2)
    train_model(out=with_report, progress=progress, with_report=True, **common)
    report(progress, 2, 2, "demo models ready", "train")
    return eq2, with_report
