import h5py
import numpy as np

from corebt_viewer.embed.cache import (
    EmbeddingCache,
    SlideFeatures,
    file_identity,
    read_case_entry,
    read_slide_features,
    write_case_entry,
    write_slide_features,
)
from corebt_viewer.io.atomic_files import atomic_path


def _features(n=5, dim=4):
    rng = np.random.default_rng(0)
    return SlideFeatures(
        features=rng.normal(size=(n, dim)).astype(np.float32),
        coords=np.arange(2 * n).reshape(n, 2) * 256,
        attrs={"encoder": "builtin", "patch_size": 256, "notes": ["a"]},
    )


def test_slide_file_uses_clam_trident_layout_and_key(tmp_path):
    path = tmp_path / "s.h5"
    result = _features()
    write_slide_features(path, result, cache_key="k1")
    with h5py.File(path) as h5:  # what CLAM / TRIDENT read
        assert h5["features"].shape == (5, 4) and h5["coords"].shape == (5, 2)
        assert h5["coords"].attrs["patch_size"] == 256
    back = read_slide_features(path, cache_key="k1")
    np.testing.assert_array_equal(back.features, result.features)
    np.testing.assert_array_equal(back.coords, result.coords)
    assert read_slide_features(path, cache_key="other") is None
    assert not list(tmp_path.glob(".*tmp"))


def test_foreign_feature_file_reads_without_key(tmp_path):
    path = tmp_path / "clam.h5"
    with h5py.File(path, "w") as h5:
        h5["features"] = np.ones((3, 8), np.float32)
        h5["coords"] = np.zeros((3, 2), np.int64)
    assert read_slide_features(path).features.shape == (3, 8)
    assert read_slide_features(path, cache_key="k") is None


def test_interrupted_write_leaves_previous_entry_and_no_valid_file(tmp_path):
    path = tmp_path / "s.h5"
    write_slide_features(path, _features(), cache_key="old")
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half written")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert read_slide_features(path, cache_key="old") is not None
    assert not list(tmp_path.glob(".*tmp"))
    half = tmp_path / "new.h5"
    (tmp_path / ".new.h5.999.tmp").write_bytes(b"junk from a killed run")
    assert read_slide_features(half, cache_key="old") is None
    write_slide_features(half, _features(), cache_key="k")  # cleans the stale temporary
    assert not list(tmp_path.glob(".*tmp"))


def test_case_entry_round_trip_and_staleness(tmp_path):
    path = EmbeddingCache(tmp_path).case_path("P 1/x", "mri", "mri-builtin-abc")
    write_case_entry(path, {"features": np.eye(3)}, {"labels": ["t1", "t2", "t1c"]}, cache_key="k")
    arrays, meta = read_case_entry(path, cache_key="k")
    np.testing.assert_array_equal(arrays["features"], np.eye(3))
    assert meta["labels"] == ["t1", "t2", "t1c"]
    assert read_case_entry(path, cache_key="k2") is None
    assert path.parent.name == "P_1_x"


def test_file_identity_changes_with_content(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    first = file_identity(path)
    path.write_bytes(b"b" * 100)
    assert file_identity(path)["partial_sha256"] != first["partial_sha256"]


def test_folder_identity_covers_every_file_of_a_dicom_series(tmp_path):
    folder = tmp_path / "wsi"
    folder.mkdir()
    (folder / "level0.dcm").write_bytes(b"a" * 100)
    (folder / "level1.dcm").write_bytes(b"b" * 50)
    first = file_identity(folder)
    assert first["name"] == "wsi" and first["size"] == 150
    (folder / "level1.dcm").write_bytes(b"c" * 50)
    assert file_identity(folder)["partial_sha256"] != first["partial_sha256"]
