"""``corebt embed --dask-scheduler`` against a LocalCluster of two worker processes.

The CLI client is killed once some slides are in the cache; a rerun resumes and the cache
then equals that of an uninterrupted run, MRI and reports (computed on the cluster too)
included. Every task asks for a GPU resource, which the workers have.
"""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.profile import make_profile
from corebt_viewer.services.embedding import embed_cohort, load_cohort_embeddings
from tests.embed.embed_data import make_cohort

N_CASES = 4
HASHING = make_profile(report="hashing-tfidf")


def _command(manifest, cache, address):
    return [
        sys.executable, "-m", "corebt_viewer.cli.main", "embed", str(manifest),
        "--report-encoder", "hashing-tfidf", "--device", "cpu", "--batch-size", "8",
        "--workers", "1", "--cache-dir", str(cache),
        "--dask-scheduler", address, "--dask-resources", "GPU=1",
    ]  # fmt: skip


def _slides_in(cache):
    return list(cache.glob("slides/*/*.h5"))


def test_dask_client_killed_midway_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    manifest = make_cohort(tmp_path / "cohort", n_cases=N_CASES, slide_shape=(768, 1024))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clean_cache, killed_cache = tmp_path / "clean", tmp_path / "killed"
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        resources={"GPU": 1},
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        proc = subprocess.Popen(
            _command(manifest, killed_cache, address),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not _slides_in(killed_cache):
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        assert f"{N_CASES} slides and {N_CASES} cases sent to {address}" in stderr.decode()
        done_before = len(_slides_in(killed_cache))
        assert 1 <= done_before < N_CASES

        # the same service in this process: resume, then an uninterrupted run
        run = {"profile": HASHING, "device": "cpu", "batch_size": 8, "workers": 1}
        run.update(scheduler=address, dask_resources={"GPU": 1})
        events, on_disk = [], []

        def progress(event):  # each slide is in the cache when its result is reported
            events.append(event)
            if ".svs done" in event.message:
                on_disk.append(len(_slides_in(killed_cache)))

        resumed = embed_cohort(cohort=manifest, cache_dir=killed_cache, progress=progress, **run)
        left = N_CASES - done_before
        assert resumed.ok and (resumed.slides_embedded, resumed.slides_cached) == (
            left,
            done_before,
        )
        assert any(e.message.startswith(f"{left} slides and") for e in events)
        assert on_disk == list(range(done_before + 1, N_CASES + 1))
        # uninterrupted, the workers writing the cache themselves (--dask-shared-cache)
        clean = embed_cohort(cohort=manifest, cache_dir=clean_cache, shared_cache=True, **run)
        assert clean.ok and clean.slides_embedded == N_CASES and clean.slides_cached == 0
        assert clean.tiles_embedded == clean.tiles_total > 0
        assert clean.entries_embedded == {"mri": N_CASES, "report": N_CASES}

    a = load_cohort_embeddings(cohort=manifest, profile=None, cache_dir=killed_cache)
    b = load_cohort_embeddings(cohort=manifest, profile=None, cache_dir=clean_cache)
    assert set(a) == set(b) == {f"P{i + 1:03d}" for i in range(N_CASES)}
    for pid in a:
        assert a[pid].modalities == b[pid].modalities == frozenset(Modality)
        for modality in Modality:
            np.testing.assert_allclose(
                a[pid].parts[modality].features, b[pid].parts[modality].features, rtol=1e-6
            )
        np.testing.assert_array_equal(
            a[pid].parts[Modality.WSI].coords, b[pid].parts[Modality.WSI].coords
        )
    assert not list(killed_cache.rglob("*.tmp"))


def test_dask_resources_are_parsed_or_refused():
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.embed.distributed import parse_resources

    assert parse_resources("GPU=1, MEMORY=8e9") == {"GPU": 1.0, "MEMORY": 8e9}
    assert parse_resources(None) is None
    for bad in ("GPU", "GPU=x", "=1", "GPU=0"):
        with pytest.raises(InputError, match="NAME=AMOUNT"):
            parse_resources(bad)
