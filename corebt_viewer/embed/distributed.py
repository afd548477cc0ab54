"""Per-slide embedding on a Dask distributed cluster.

Each slide becomes one task that tiles and encodes it on a worker and returns its
features; the client writes them to the cache, so workers need to read the slides (a
shared file system) but not the cache folder. Encoders are built once per worker process
and reused. ``dask-jobqueue`` turns a SLURM or PBS allocation into such a cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from corebt_viewer.core.progress import Cancelled, ProgressCallback, report

_ENCODERS: dict = {}
_ENCODERS_LOCK = threading.Lock()


def _worker_encoder(profile, device: str):
    from corebt_viewer.core.modalities import Modality
    from corebt_viewer.embed.encoder_set import EncoderSet

    key = (profile.fingerprint(), device)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = EncoderSet(profile, device=device).get(Modality.WSI)
        return _ENCODERS[key]


def embed_slide_task(path: str, profile, device: str, batch_size: int, workers: int):
    """The task run on a worker: embed one slide, return its SlideFeatures."""
    from corebt_viewer.embed.slides import embed_slide

    encoder = _worker_encoder(profile, device)
    return embed_slide(path, encoder, tiling=profile.tiling, batch_size=batch_size, workers=workers)


def embed_slides_on_dask(
    slides: list[Path],
    *,
    scheduler,
    profile,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, object]:
    """Embed `slides` on a Dask cluster.

    Parameters
    ----------
    slides : list of Path
    scheduler : str or distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client.

    Returns
    -------
    dict of str -> SlideFeatures or Exception
        Keyed by the slide path as given; a failed slide maps to its exception.
    """
    from distributed import Client, as_completed

    if not slides:
        return {}
    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own_client else scheduler
    results: dict[str, object] = {}
    try:
        futures = {
            client.submit(
                embed_slide_task,
                str(s),
                profile,
                device,
                batch_size,
                workers,
                pure=False,
                key=f"corebt-slide-{i}-{Path(s).name}",
            ): str(s)
            for i, s in enumerate(slides)
        }
        report(
            progress,
            0,
            len(futures),
            f"{len(futures)} slides sent to {client.scheduler.address}",
            "slides",
        )
        for done, (future, outcome) in enumerate(
            as_completed(futures, with_results=True, raise_errors=False), 1
        ):
            results[futures[future]] = (
                outcome if future.status == "finished" else future.exception()
            )
            report(
                progress,
                done,
                len(futures),
                f"slide {done}/{len(futures)} back from the cluster",
                "slides",
            )
            if cancel is not None and cancel():
                client.cancel(list(futures))
                raise Cancelled()
    finally:
        if own_client:
            client.close()
    return results
