"""Feature files across tools: ours read the way TRIDENT reads, theirs found and probed."""

import shutil

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.feature_import import (
    find_feature_folder,
    grid_step,
    tile_geometry,
)
from corebt_viewer.embed.profile import EmbeddingProfile, make_profile
from corebt_viewer.io.feature_files import (
    probe_tile_feature_file,
    read_tile_coords,
    read_tile_feature_file,
)
from tests.embed.embed_data import synthetic_he, write_aperio_tiff
from tests.embed.feature_files import TRIDENT_MAG_FOLDER, tissue_coords, write_trident_tiles


def test_our_slide_file_reads_the_way_trident_reads_it(tmp_path):
    import h5py

    from corebt_viewer.embed.cache import write_slide_features
    from corebt_viewer.embed.encoders import build_encoder
    from corebt_viewer.embed.slides import embed_slide

    slide = write_aperio_tiff(tmp_path / "S1.svs", synthetic_he(768, 1024, seed=2), mpp=0.25)
    result = embed_slide(slide, build_encoder("builtin", device="cpu"), batch_size=16, workers=1)
    ours = tmp_path / "job" / TRIDENT_MAG_FOLDER / "features_builtin" / "S1.h5"
    write_slide_features(ours, result, cache_key="k")
    with h5py.File(ours, "r") as f:  # as TRIDENT's slide encoders read a features file
        features, coords = f["features"][:], f["coords"][:]
        attrs = dict(f["coords"].attrs)
        assert f["features"].attrs["name"] == "S1"
    assert features.ndim == 2 and features.dtype == np.float32
    assert coords.dtype == np.int64 and coords.shape == (features.shape[0], 2)
    assert attrs["patch_size"] == 256 and attrs["patch_size_level0"] == 512
    assert attrs["target_magnification"] == 20 and attrs["level0_magnification"] == 40
    assert (attrs["level0_width"], attrs["level0_height"], attrs["name"]) == (1024, 768, "S1")
    assert attrs["overlap"] == 0
    # and our own files import as TRIDENT's
    found = find_feature_folder(tmp_path / "job")
    assert (found.tool, found.encoder, list(found.files)) == ("trident", "builtin", ["S1"])
    probe = probe_tile_feature_file(ours)
    assert tile_geometry(found, "S1", probe, None) == (512, "patch_size_level0")


def test_folder_choice_is_asked_for_when_ambiguous(tmp_path):
    rng = np.random.default_rng(0)
    job = tmp_path / "job" / TRIDENT_MAG_FOLDER
    for encoder in ("uni_v1", "conch_v15"):
        write_trident_tiles(
            job / f"features_{encoder}",
            "S1",
            np.ones((3, 4), np.float32),
            tissue_coords(3, 512, rng),
        )
    with pytest.raises(InputError, match="--encoder"):
        find_feature_folder(tmp_path / "job")
    with pytest.raises(InputError, match="found: conch_v15, uni_v1"):
        find_feature_folder(tmp_path / "job", encoder="gigapath")
    assert find_feature_folder(job, encoder="uni_v1").tiles == job / "features_uni_v1"
    (job / "slide_features_titan").mkdir()
    (job / "slide_features_prism").mkdir()
    with pytest.raises(InputError, match="--slide-encoder"):
        find_feature_folder(job, encoder="uni_v1")
    assert find_feature_folder(job, encoder="uni_v1", slide_encoder="none").slides is None


def test_bad_files_are_named(tmp_path):
    import h5py

    bad = tmp_path / "features_x"
    bad.mkdir()
    with h5py.File(bad / "a.h5", "w") as h5:
        h5["features"] = np.zeros((3, 4), np.float32)
        h5["coords"] = np.zeros((2, 2), np.int64)
    with pytest.raises(InputError, match="3 feature rows but 2 coordinate rows"):
        probe_tile_feature_file(bad / "a.h5")
    (bad / "b.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5"):
        probe_tile_feature_file(bad / "b.h5")
    shutil.rmtree(bad)


def test_coords_alone_read_as_with_the_features(tmp_path):
    import h5py

    rng = np.random.default_rng(2)
    coords = tissue_coords(9, 512, rng)
    path = tmp_path / "clam.h5"
    with h5py.File(path, "w") as h5:  # CLAM's (1, N, D) features and float coordinates
        h5["features"] = rng.normal(size=(1, 9, 4)).astype(np.float32)
        h5["coords"] = coords.astype(np.float64)
    np.testing.assert_array_equal(read_tile_coords(path), coords)
    np.testing.assert_array_equal(read_tile_coords(path), read_tile_feature_file(path).coords)
    with h5py.File(path, "r+") as h5:
        h5["coords"][0, 0] = 0.5
    with pytest.raises(InputError, match="whole level-0 pixel"):
        read_tile_coords(path)


def test_grid_step_is_the_tile_side():
    rng = np.random.default_rng(1)
    assert grid_step(tissue_coords(20, 448, rng)) == 448
    assert grid_step(np.array([[5, 7]])) is None


def test_imported_profile_takes_any_encoder_name():
    profile = EmbeddingProfile(
        name="uni",
        wsi="uni_v1",
        source="imported:trident",
        identity={"wsi_dim": "1024", "wsi_features": "abc", "wsi_folder": "/x", "tiling": "t"},
        report="hashing-tfidf",
    )
    assert profile.key_settings(Modality.WSI)["dim"] == 1024
    other = EmbeddingProfile(
        **{**profile.__dict__, "identity": {**profile.identity, "wsi_features": "abd"}}
    )
    assert profile.fingerprint() != other.fingerprint()
    assert "uni_v1 (1024-d, imported from /x)" in "\n".join(profile.describe())
    assert EmbeddingProfile.from_json(profile.to_json()) == profile
    with pytest.raises(InputError, match="import-features"):
        make_profile(aggregator="imported")
