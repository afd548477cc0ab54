import shutil

import numpy as np
import pytest

from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.profile import make_profile
from corebt_viewer.services.embedding import (
    embed_case,
    embed_cohort,
    load_cohort_embeddings,
    tile_slide,
)

HASHING = make_profile(report="hashing-tfidf")
FAST = {"profile": HASHING, "device": "cpu", "batch_size": 8}


@pytest.fixture
def cohort(tmp_path):
    from tests.embed.embed_data import make_cohort

    return make_cohort(tmp_path / "cohort")


def test_embed_cohort_fills_cache_and_second_run_does_nothing(cohort):
    events = []
    first = embed_cohort(cohort=cohort, progress=events.append, **FAST)
    assert first.ok and first.cases == 2 and first.slides_embedded == 2 and first.tiles_embedded > 0
    assert first.entries_embedded == {"mri": 2, "report": 2}
    assert {"cases", "tiles"} <= {e.stage for e in events}
    second = embed_cohort(cohort=cohort, **FAST)
    assert second.did_nothing and second.slides_cached == 2
    assert second.entries_cached == {"mri": 2, "report": 2}

    loaded = load_cohort_embeddings(cohort=cohort, profile=HASHING)
    assert set(loaded) == {"P001", "P002"}
    p1 = loaded["P001"]
    assert p1.modalities == frozenset(Modality)
    wsi = p1.parts[Modality.WSI]
    np.testing.assert_allclose(wsi.weights @ wsi.features, p1.vectors[Modality.WSI], rtol=1e-6)
    assert wsi.coords.shape == (wsi.features.shape[0], 2) and set(wsi.group) == {0}
    assert wsi.weights.sum() == pytest.approx(1.0)
    mri = p1.parts[Modality.MRI]
    assert mri.labels == ("t1", "t1c", "t2", "flair")
    assert "mri" in loaded["P002"].flags  # no mask


def test_changed_slide_is_recomputed_and_bad_slide_is_skipped(cohort, tmp_path):
    from tests.embed.embed_data import synthetic_he, write_aperio_tiff

    embed_cohort(cohort=cohort, modalities="wsi", **FAST)
    slide = cohort.parent / "P002" / "P002_s0.svs"
    write_aperio_tiff(slide, synthetic_he(1024, 1280, seed=99))
    (cohort.parent / "P001" / "P001_s0.svs").write_bytes(b"this is not a slide")
    summary = embed_cohort(cohort=cohort, modalities="wsi", **FAST)
    assert summary.slides_embedded == 1 and summary.slides_cached == 0
    assert len(summary.failures) == 1 and "P001_s0.svs" in summary.failures[0]
    assert not summary.ok


def test_two_slides_pool_to_subject_mean(tmp_path):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "c2", n_cases=1, slides_per_case=2, slide_shape=(768, 1024))
    embedding = embed_case(cohort=manifest, case="P001", modalities=[Modality.WSI], **FAST)
    wsi = embedding.parts[Modality.WSI]
    slide_means = [wsi.features[wsi.group == g].mean(0) for g in (0, 1)]
    np.testing.assert_allclose(embedding.vectors[Modality.WSI], np.mean(slide_means, 0), rtol=1e-5)


def test_dask_local_cluster_gives_the_same_embeddings(cohort, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local-cache"
    embed_cohort(cohort=cohort, modalities="wsi", cache_dir=local, **FAST)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            summary = embed_cohort(
                cohort=cohort,
                modalities="wsi",
                cache_dir=tmp_path / "dask-cache",
                scheduler=client,
                **FAST,
            )
    assert summary.ok and summary.slides_embedded == 2
    a = load_cohort_embeddings(cohort=cohort, profile=None, cache_dir=local, modalities="wsi")
    b = load_cohort_embeddings(
        cohort=cohort, profile=None, cache_dir=tmp_path / "dask-cache", modalities="wsi"
    )
    for pid in a:
        np.testing.assert_allclose(
            a[pid].parts[Modality.WSI].features, b[pid].parts[Modality.WSI].features, rtol=1e-6
        )
        np.testing.assert_array_equal(
            a[pid].parts[Modality.WSI].coords, b[pid].parts[Modality.WSI].coords
        )


def test_tile_slide_writes_mask_grid_and_coords(svs_path, tmp_path):
    from PIL import Image

    summary = tile_slide(slide=svs_path, out=tmp_path / "out")
    assert summary.n_tiles > 10
    coords = np.loadtxt(summary.files["coords_csv"], delimiter=",", skiprows=1)
    assert coords.shape == (summary.n_tiles, 3) and (coords[:, 2] >= 0.25).all()
    assert Image.open(summary.files["grid"]).size == Image.open(summary.files["mask"]).size
    shutil.rmtree(tmp_path / "out")


def test_cancel_stops_and_leaves_no_partial_entry(cohort, tmp_path):
    from corebt_viewer.core.progress import Cancelled

    seen = []

    def progress(event):
        seen.append(event)

    def cancel():
        return any(e.stage == "tiles" and e.done > 0 for e in seen)

    with pytest.raises(Cancelled):
        embed_cohort(
            cohort=cohort,
            modalities="wsi",
            progress=progress,
            cancel=cancel,
            batch_size=2,
            device="cpu",
        )
    cache = cohort.parent / ".corebt" / "embeddings"
    assert not list(cache.rglob("*.h5")) and not list(cache.rglob("*.tmp"))
    assert embed_cohort(cohort=cohort, modalities="wsi", device="cpu").slides_embedded == 2
