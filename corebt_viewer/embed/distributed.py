"""Embedding a cohort on a Dask distributed cluster, written into the cache as it goes.

One task per slide that the cache lacks (tile and encode it), and one per case whose MRI or
report entry the cache lacks. Each result is written into the cache as soon as its task
finishes (``as_completed``, results fetched one at a time) and its future is then released,
so the client never holds more than one result: never the cohort's features. A client
killed mid-run loses only the tasks in flight; the next run sends only what the cache
still lacks.

Who writes the cache:

- by default the **client** (workers need to read the slides, volumes and reports, on a
  shared file system or the same machine, but not the cache folder; each slide's features
  travel once to the client);
- with ``shared_cache=True`` the **workers** write it themselves (the cache folder must be
  on a file system they share with the client) and return only counts: nothing large
  travels. Writes are atomic either way (:func:`corebt_viewer.io.atomic_files.atomic_path`).

GPU workers: ``resources={"GPU": 1}`` is passed to every task (Dask worker resources), so
tasks run only on workers started with ``--resources GPU=1``, one at a time per GPU.
Encoders are built once per worker process and reused. ``dask-jobqueue`` turns a SLURM or
PBS allocation into such a cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report

_ENCODERS: dict = {}
_ENCODERS_LOCK = threading.Lock()


def parse_resources(text: str | None) -> dict[str, float] | None:
    """``"GPU=1,MEMORY=8e9"`` -> ``{"GPU": 1.0, "MEMORY": 8e9}`` (None for None or empty)."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, sep, amount = item.strip().partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not name or value <= 0:
            raise InputError(
                None, f"--dask-resources {text!r}: expected NAME=AMOUNT[,NAME=AMOUNT], e.g. GPU=1"
            )
        out[name] = value
    return out


def _worker_encoders(profile, device: str):
    """The profile's EncoderSet of this worker process (built on first use, then reused)."""
    from corebt_viewer.embed.encoder_set import EncoderSet

    key = (profile.fingerprint(), device)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = EncoderSet(profile, device=device)
        return _ENCODERS[key]


def embed_slide_task(
    path: str, profile, device: str, batch_size: int, workers: int, cache_root=None
):
    """On a worker: embed one slide; write it when `cache_root` is given (shared cache).

    Returns the SlideFeatures, or ``(n_tiles, seconds)`` once written.
    """
    from corebt_viewer.embed.slides import embed_slide

    encoder = _worker_encoders(profile, device).get(Modality.WSI)
    result = embed_slide(
        path, encoder, tiling=profile.tiling, batch_size=batch_size, workers=workers
    )
    if cache_root is None:
        return result
    from corebt_viewer.embed.cache import EmbeddingCache
    from corebt_viewer.embed.slides import SlideStore

    SlideStore(profile, EmbeddingCache(cache_root)).write_tiles(Path(path), result)
    return result.features.shape[0], float(result.attrs.get("seconds", 0.0))


def embed_case_task(case, profile, device: str, modalities: tuple[str, ...], cache_root=None):
    """On a worker: a case's MRI and/or report entries (each an entry or its exception).

    Returns ``{modality: (arrays, meta) | "written" | exception}``.
    """
    from corebt_viewer.embed.cache import EmbeddingCache, write_case_entry
    from corebt_viewer.embed.pipeline import case_entry, compute_mri_entry, compute_report_entry

    encoders = _worker_encoders(profile, device)
    out: dict = {}
    for name in modalities:
        modality = Modality(name)
        compute = compute_mri_entry if modality is Modality.MRI else compute_report_entry
        try:
            arrays, meta = compute(case, encoders)
        except Exception as exc:  # noqa: BLE001 - sent back to the client, which records it
            out[name] = exc
            continue
        if cache_root is None:
            out[name] = (arrays, meta)
        else:
            path, key = case_entry(profile, case, modality, EmbeddingCache(cache_root))
            write_case_entry(path, arrays, meta, cache_key=key)
            out[name] = "written"
    return out


@dataclass
class DaskOutcome:
    """What the cluster computed (and what was written into the cache)."""

    slides_embedded: int = 0
    tiles_embedded: int = 0
    slide_failures: dict = field(default_factory=dict)  # slide path -> exception
    entries_embedded: dict = field(default_factory=dict)  # "mri" / "report" -> count
    seconds: float = 0.0


def _work_list(cases, profile, cache, wanted):
    """Slides and (case, modalities) whose entries the cache lacks."""
    from corebt_viewer.embed.cache import read_case_entry
    from corebt_viewer.embed.pipeline import case_entry
    from corebt_viewer.embed.slides import SlideStore

    store = SlideStore(profile, cache)
    slides: dict[str, Path] = {}
    if Modality.WSI in wanted:
        for case in cases:
            for slide in map(Path, case.slides):
                if (
                    str(slide) not in slides
                    and slide.exists()
                    and store.cached_tiles(slide) is None
                ):
                    slides[str(slide)] = slide
    jobs = []
    for case in cases:
        todo = []
        for modality, present in (
            (Modality.MRI, bool(case.mri)),
            (Modality.REPORT, case.report is not None and Path(case.report).is_file()),
        ):
            if modality in wanted and present:
                path, key = case_entry(profile, case, modality, cache)
                if read_case_entry(path, cache_key=key) is None:
                    todo.append(modality.value)
        if todo:
            jobs.append((case, tuple(todo)))
    return list(slides.values()), jobs


def embed_cohort_on_dask(
    cases,
    *,
    scheduler,
    profile,
    cache,
    modalities,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 2,
    resources: dict | None = None,
    shared_cache: bool = False,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DaskOutcome:
    """Embed what the cache lacks on a Dask cluster, writing each result as it arrives.

    Parameters
    ----------
    cases : sequence of Case
    scheduler : str or distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client.
    profile : EmbeddingProfile
    cache : EmbeddingCache
    modalities : collection of Modality
    resources : dict, optional
        Dask resources every task asks for (``{"GPU": 1}``).
    shared_cache : bool
        Workers write the cache themselves (see the module docstring).

    Returns
    -------
    DaskOutcome
        Counts, and the exception of each slide that failed (MRI and report failures are
        left to the caller, which finds the entry missing and records why).
    """
    from distributed import Client, as_completed

    from corebt_viewer.embed.cache import stable_hash, write_case_entry
    from corebt_viewer.embed.pipeline import case_entry
    from corebt_viewer.embed.slides import SlideStore

    started = time.perf_counter()
    slides, jobs = _work_list(cases, profile, cache, frozenset(modalities))
    outcome = DaskOutcome()
    if not slides and not jobs:
        return outcome
    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own_client else scheduler
    root = str(cache.root) if shared_cache else None
    fingerprint = profile.fingerprint()
    store = SlideStore(profile, cache)
    pending: dict = {}
    try:
        for slide in slides:
            key = f"corebt-slide-{slide.name}-{stable_hash([fingerprint, str(slide), root], 12)}"
            future = client.submit(
                embed_slide_task, str(slide), profile, device, batch_size, workers, root,
                key=key, pure=False, resources=resources, retries=0,
            )  # fmt: skip
            pending[future] = ("slide", slide)
        for case, todo in jobs:
            key = f"corebt-case-{case.patient_id}-{stable_hash([fingerprint, todo, root], 12)}"
            future = client.submit(
                embed_case_task, case, profile, device, todo, root,
                key=key, pure=False, resources=resources, retries=0,
            )  # fmt: skip
            pending[future] = ("case", case)
        total = len(pending)
        report(
            progress,
            0,
            total,
            f"{len(slides)} slides and {len(jobs)} cases sent to {client.scheduler.address}",
            "slides",
        )
        for done, future in enumerate(as_completed(list(pending), loop=client.loop), 1):
            kind, item = pending.pop(future)
            if kind == "slide":
                if future.status == "finished":
                    result = future.result()
                    if root is None:
                        store.write_tiles(item, result)
                        tiles = result.features.shape[0]
                    else:
                        tiles = result[0]
                    outcome.slides_embedded += 1
                    outcome.tiles_embedded += tiles
                else:
                    outcome.slide_failures[str(item)] = future.exception()
                message = f"{item.name} done ({done}/{total})"
            else:
                if future.status == "finished":
                    for name, entry in future.result().items():
                        if isinstance(entry, BaseException):
                            continue  # the caller retries it and records why it fails
                        if root is None:
                            path, key = case_entry(profile, item, Modality(name), cache)
                            write_case_entry(path, *entry, cache_key=key)
                        outcome.entries_embedded[name] = outcome.entries_embedded.get(name, 0) + 1
                message = f"{item.patient_id} MRI/report done ({done}/{total})"
            future.release()
            del future, kind, item
            report(progress, done, total, message, "slides")
            if cancel is not None and cancel():
                client.cancel(list(pending))
                raise Cancelled()
    finally:
        if own_client:
            client.close()
    outcome.seconds = time.perf_counter() - started
    return outcome
