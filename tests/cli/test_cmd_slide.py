"""``corebt slide-embed`` on TRIDENT- and CLAM-layout feature files, read back with h5py."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.embed.slide_encoders.checkpoint import (
    random_slide_model,
    save_official_slide_checkpoint,
)
from corebt_viewer.embed.slide_encoders.gigapath_slide import GigaPathSlideEncoder
from tests.embed.slide_reference import blob_coords


@pytest.fixture(scope="module")
def model():
    return random_slide_model(1, seed=11)


@pytest.fixture(scope="module")
def weights(model, tmp_path_factory):
    return save_official_slide_checkpoint(model, tmp_path_factory.mktemp("w") / "slide_encoder.pth")


@pytest.fixture(scope="module")
def tiles():
    coords20 = blob_coords(300, seed=3)  # level-0 px of a 20x scan
    features = np.random.default_rng(4).normal(size=(len(coords20), 1536)).astype(np.float32)
    return features, coords20


def write_trident(path, features, coords, *, target=20, level0=40, patch=256):
    """A file in TRIDENT's features_<encoder>/<slide>.h5 layout."""
    with h5py.File(path, "w") as h5:
        h5.create_dataset("features", data=features)
        ds = h5.create_dataset("coords", data=coords.astype(np.int64))
        ds.attrs.update(
            {
                "patch_size": patch,
                "patch_size_level0": int(patch * level0 / target),
                "level0_magnification": level0,
                "target_magnification": target,
                "overlap": 0,
                "name": path.stem,
                "level0_width": int(coords[:, 0].max()) + 2048,
                "level0_height": int(coords[:, 1].max()) + 2048,
            }
        )
    return path


def test_trident_file_of_a_40x_scan(tmp_path, capsys, model, weights, tiles):
    features, coords20 = tiles
    source = write_trident(tmp_path / "slide_a.h5", features, coords20 * 2)  # 40x level 0
    out = tmp_path / "slide_features_gigapath" / "slide_a.h5"
    assert main(["slide-embed", str(source), "--slide-weights", str(weights), "--out", str(out),
                 "--device", "cpu"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "300 tiles (trident layout, 512 level-0 px a tile)" in printed
    assert "note:" not in printed
    with h5py.File(out, "r") as h5:
        vector = h5["features"][()]
        attrs = dict(h5["features"].attrs)
    assert vector.shape == (768,) and vector.dtype == np.float32
    want = GigaPathSlideEncoder.from_model(model, device="cpu").encode(features, coords20)
    assert np.allclose(vector, want, atol=1e-6)  # 40x coordinates land on the 20x grid
    assert attrs["layer"] == "last_layer_embed" and attrs["depth"] == 1
    assert attrs["name"] == "gigapath-slide" and attrs["num_tiles"] == 300
    assert json.loads(attrs["segment_lengths"]) == [1024, 5792, 32768, 185363, 1048576]


def test_clam_file_without_attributes_says_what_it_assumes(tmp_path, capsys, weights, tiles):
    features, coords20 = tiles
    source = tmp_path / "h5_files" / "slide_b.h5"
    source.parent.mkdir()
    with h5py.File(source, "w") as h5:
        h5.create_dataset("features", data=features[None])  # CLAM's (1, N, D)
        h5.create_dataset("coords", data=coords20)
    out = tmp_path / "b.h5"
    assert main(["slide-embed", str(source), "--slide-weights", str(weights), "--out", str(out),
                 "--device", "cpu", "--layer", "encoder_out"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "note: the file has no tile-size attributes (CLAM layout)" in printed
    assert "256-px tiles at 20x" in printed
    with h5py.File(out, "r") as h5:
        assert h5["features"].shape == (768,)
        assert h5["features"].attrs["layer"] == "encoder_out"
        assert "assuming" in h5["features"].attrs["notes"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"target": 40, "level0": 40}, "tiles extracted at 40x"),
        ({"patch": 512}, "512-px tiles at 20x"),
    ],
)
def test_other_magnifications_are_refused(tmp_path, capsys, weights, tiles, kwargs, words):
    features, coords20 = tiles
    source = write_trident(tmp_path / "slide_c.h5", features, coords20 * 2, **kwargs)
    out = tmp_path / "c.h5"
    assert main(["slide-embed", str(source), "--slide-weights", str(weights), "--out", str(out),
                 "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "slide_c.h5" in err and words in err
    assert not out.exists()


def test_missing_weights_and_bad_files_are_errors(tmp_path, capsys, weights, tiles):
    features, coords20 = tiles
    source = write_trident(tmp_path / "s.h5", features, coords20 * 2)
    assert main(["slide-embed", str(source), "--slide-weights", str(tmp_path / "none.pth"),
                 "--out", str(tmp_path / "o.h5"), "--device", "cpu"]) == 2  # fmt: skip
    assert "none.pth" in capsys.readouterr().err
    with h5py.File(tmp_path / "nocoords.h5", "w") as h5:
        h5.create_dataset("features", data=features)
    assert main(["slide-embed", str(tmp_path / "nocoords.h5"), "--slide-weights", str(weights),
                 "--out", str(tmp_path / "o.h5"), "--device", "cpu"]) == 2  # fmt: skip
    assert "no 'coords' dataset" in capsys.readouterr().err
