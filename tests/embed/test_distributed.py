"""The Dask path in one process: failures on the workers are reported, never dropped."""

import pytest

from corebt_viewer.embed.profile import make_profile
from corebt_viewer.services.embedding import embed_cohort
from tests.embed.embed_data import make_cohort


def test_failures_on_the_cluster_are_listed(tmp_path):
    distributed = pytest.importorskip("distributed")
    manifest = make_cohort(tmp_path / "cohort", n_cases=2, slide_shape=(512, 768))
    (manifest.parent / "P002" / "P002_s0.svs").write_bytes(b"not a slide")
    (manifest.parent / "P001" / "P001_t2.nii.gz").write_bytes(b"not a volume")
    events = []
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        summary = embed_cohort(
            cohort=manifest,
            profile=make_profile(report="hashing-tfidf"),
            device="cpu",
            batch_size=8,
            scheduler=cluster.scheduler_address,
            progress=events.append,
        )
    assert any("2 slides and 2 cases sent to" in e.message for e in events)
    assert summary.slides_embedded == 1 and summary.entries_embedded == {"mri": 2, "report": 2}
    assert any("P002_s0.svs" in f for f in summary.failures)
    assert any(f.startswith("P001: mri t2") for f in summary.failures)
    assert any("P002: no Pathology embedding" in m for m in summary.missing)
    assert not summary.ok
