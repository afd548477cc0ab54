"""`import_features` on files written in TRIDENT's and CLAM's layouts, then training on them."""

from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.services.embedding import load_cohort_embeddings
from corebt_viewer.services.import_features import import_features
from tests.embed.feature_files import (
    TRIDENT_MAG_FOLDER,
    labelled_cohort,
    tissue_coords,
    write_clam_tiles,
    write_trident_slide_vector,
    write_trident_tiles,
)

DIM = 24


def tiles_by_case(manifest):
    from corebt_viewer.io.manifest import read_cohort

    return [c.patient_id for c in read_cohort(manifest).cases]


@pytest.fixture(scope="module")
def trident_cohort(tmp_path_factory):
    """12 labelled cases; TRIDENT tile files for 11 of them plus a stray file; slide vectors."""
    from corebt_viewer.io.manifest import read_cohort

    root = tmp_path_factory.mktemp("trident")
    manifest, grades = labelled_cohort(root / "cohort", 12)
    cohort = read_cohort(manifest)
    rng = np.random.default_rng(3)
    job = root / "job" / TRIDENT_MAG_FOLDER
    tiles, vectors = {}, {}
    for case in cohort.cases[:-1]:
        stem = Path(case.slides[0]).stem
        n = int(rng.integers(6, 30))
        features = rng.normal(size=(n, DIM)).astype(np.float32)
        features[:, 0] += 3.0 if grades[case.patient_id] == 4 else -3.0  # learnable
        coords = tissue_coords(n, 512, rng)
        write_trident_tiles(job / "features_uni_v1", stem, features, coords, encoder="uni_v1")
        vector = rng.normal(size=768).astype(np.float32)
        write_trident_slide_vector(job / "slide_features_titan", stem, vector, coords)
        tiles[stem], vectors[stem] = (features, coords), vector
    stray = tissue_coords(5, 512, rng)
    write_trident_tiles(
        job / "features_uni_v1",
        "not_in_manifest",
        rng.normal(size=(5, DIM)).astype(np.float32),
        stray,
    )
    return manifest, root / "job", tiles, vectors, cohort.cases[-1]


def test_trident_tiles_import_lists_strays_and_trains(trident_cohort, tmp_path):
    from corebt_viewer.fusion.train import TrainSettings
    from corebt_viewer.services.fusion import predict_case, train_model

    manifest, job, tiles, _, lacking = trident_cohort
    cache = manifest.parent / ".corebt" / "embeddings"
    summary = import_features(
        cohort=manifest,
        folder=job,
        profile="uni-trident",
        slide_encoder="none",
        report_encoder="hashing-tfidf",
    )
    assert summary.slides_imported == 11 and summary.tool == "trident" and not summary.ok
    assert summary.profile.source == "imported:trident" and summary.profile.wsi == "uni_v1"
    assert summary.profile.aggregator == "mean" and summary.profile.identity["wsi_dim"] == str(DIM)
    text = "\n".join(summary.lines())
    assert "not_in_manifest" in text and f"{lacking.patient_id}:" in text
    assert "built-in encoders" in text and "256 px tiles at 20x" in text
    again = import_features(
        cohort=manifest,
        folder=job,
        profile="uni-trident",
        slide_encoder="none",
        report_encoder="hashing-tfidf",
    )
    assert again.slides_imported == 0 and again.slides_unchanged == 11

    loaded = load_cohort_embeddings(cohort=manifest, profile="uni-trident", modalities="wsi")
    assert len(loaded) == 11 and lacking.patient_id not in loaded
    for embedding in loaded.values():
        stem = embedding.parts[Modality.WSI].labels[0].removesuffix(".svs")
        features, coords = tiles[stem]
        np.testing.assert_array_equal(embedding.parts[Modality.WSI].features, features)
        np.testing.assert_array_equal(embedding.parts[Modality.WSI].coords, coords)
        np.testing.assert_allclose(
            embedding.vectors[Modality.WSI], features.mean(0), rtol=1e-5, atol=1e-6
        )
    assert (cache / "profiles" / "uni-trident.json").is_file()

    fast = TrainSettings(max_epochs=20, patience=5, crossfit_folds=2, l2_grid=(1.0,))
    trained = train_model(
        cohort=manifest,
        task="lgg_hgg",
        out=tmp_path / "model",
        profile="uni-trident",
        settings=fast,
        device="cpu",
    )
    assert Modality.WSI in trained.modalities and Modality.MRI in trained.modalities
    record = trained.metrics["embedding"]
    assert record["cases_with_embedding"]["wsi"] == 11 and record["cases_with_files"]["wsi"] == 12
    assert any(lacking.patient_id in m and "imported" in m for m in record["missing"])
    case = next(pid for pid in tiles_by_case(manifest) if pid != lacking.patient_id)
    prediction = predict_case(cohort=manifest, model_dir=trained.out, case_id=case)
    assert Modality.WSI in prediction.used and prediction.tile_contributions
    with pytest.raises(InputError, match="uni-trident"):
        predict_case(cohort=manifest, model_dir=trained.out, case_id=case, profile="builtin")


def test_trident_slide_vectors_are_the_slide_aggregator(trident_cohort):
    manifest, job, _, vectors, _ = trident_cohort
    summary = import_features(
        cohort=manifest,
        folder=job / TRIDENT_MAG_FOLDER / "features_uni_v1",
        profile="titan-trident",
        report_encoder="hashing-tfidf",
        cache_dir=manifest.parent / "c2",
    )
    profile = summary.profile
    assert profile.aggregator == "imported" and profile.identity["slide_encoder"] == "titan"
    assert summary.unmatched_files == [  # the stray has no slide vector
        f"not_in_manifest ({job / TRIDENT_MAG_FOLDER / 'features_uni_v1' / 'not_in_manifest.h5'})"
    ]
    assert summary.vectors_imported == 11 and "imported titan slide vectors" in "\n".join(
        summary.lines()
    )
    loaded = load_cohort_embeddings(
        cohort=manifest, profile="titan-trident", modalities="wsi", cache_dir=manifest.parent / "c2"
    )
    assert len(loaded) == 11
    for embedding in loaded.values():
        (occ,) = embedding.occlusion
        np.testing.assert_array_equal(
            embedding.vectors[Modality.WSI], vectors[Path(occ.slide).stem]
        )
        assert occ.block_vectors.shape == (0, 768)
    from corebt_viewer.fusion.predictor import FusionPredictor

    flags = {}  # no occlusion blocks: no tile map, said so (the early exit needs no model)
    assert FusionPredictor._occlusion_contributions(None, embedding, 1.0, 0, flags) == ()
    assert "no tile map" in flags["tiles"]


def test_clam_layout_needs_the_encoder_and_says_what_it_assumed(tmp_path):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=2, slide_shape=(256, 256))
    rng = np.random.default_rng(0)
    clam = tmp_path / "clam"
    for i, stem in enumerate(("P001_s0", "P002_s0")):
        coords = tissue_coords(8, 256 * (i + 1), rng)  # P002 tiled with 512-px tiles
        write_clam_tiles(
            clam / "h5_files", stem, rng.normal(size=(1, 8, 16)).astype(np.float32), coords[None]
        )
    with pytest.raises(InputError, match="--encoder"):
        import_features(cohort=manifest, folder=clam, profile="clam")
    inferred = import_features(
        cohort=manifest,
        folder=clam,
        profile="clam",
        encoder="resnet50_trunc",
        report_encoder="hashing-tfidf",
        cache_dir=tmp_path / "inferred",
    )
    assert inferred.ok and any("inferred from the coordinate step" in n for n in inferred.notes)
    sizes = {
        e.patient_id: e
        for e in load_cohort_embeddings(
            cohort=manifest, profile="clam", modalities="wsi", cache_dir=tmp_path / "inferred"
        ).values()
    }
    assert set(sizes) == {"P001", "P002"}
    stored = sorted((tmp_path / "inferred").glob("slides/*/*.h5"))
    import h5py

    with h5py.File(stored[1], "r") as h5:  # P002: 512-px tiles
        assert h5["coords"].attrs["patch_size_level0"] == 512
    (clam / "patches").mkdir()
    for stem in ("P001_s0", "P002_s0"):
        with h5py.File(clam / "patches" / f"{stem}.h5", "w") as h5:
            c = h5.create_dataset("coords", data=np.zeros((1, 2), np.int64))
            c.attrs.update(patch_size=256, patch_level=0, downsample=(1.0, 1.0))
    summary = import_features(
        cohort=manifest,
        folder=clam / "h5_files",
        profile="clam",
        encoder="resnet50_trunc",
        report_encoder="hashing-tfidf",
    )
    assert summary.ok and summary.slides_imported == 2 and summary.profile.source == "imported:clam"
    assert any("CLAM patches/" in n for n in summary.notes)
    loaded = load_cohort_embeddings(cohort=manifest, profile="clam", modalities="wsi")
    assert loaded["P001"].parts[Modality.WSI].features.shape == (8, 16)


def test_no_layout_and_no_match_are_errors(tmp_path):
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(tmp_path / "cohort", n_cases=1, slide_shape=(256, 256))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no TRIDENT features_<encoder>"):
        import_features(cohort=manifest, folder=tmp_path / "empty", profile="x")
    rng = np.random.default_rng(0)
    write_trident_tiles(
        tmp_path / "t" / "features_gigapath",
        "other",
        rng.normal(size=(3, 4)).astype(np.float32),
        tissue_coords(3, 512, rng),
    )
    with pytest.raises(InputError, match="matches a slide"):
        import_features(cohort=manifest, folder=tmp_path / "t", profile="x")
