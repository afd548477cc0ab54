"""Prov-GigaPath's slide encoder against an independent naive implementation, and its checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from corebt_viewer.core.errors import InputError
from corebt_viewer.embed.slide_encoders.checkpoint import (
    OFFICIAL_PARAMETER_COUNT,
    official_keys,
    random_slide_model,
    save_official_slide_checkpoint,
)
from corebt_viewer.embed.slide_encoders.dilated_attention import dilated_attention
from corebt_viewer.embed.slide_encoders.gigapath_slide import GigaPathSlideEncoder
from corebt_viewer.embed.slide_encoders.longnet import SlideEncoderModel, sincos_position_rows
from corebt_viewer.embed.slide_encoders.occlusion import occlusion_by_blocks, spatial_blocks
from corebt_viewer.embed.slide_encoders.positions import position_index
from tests.embed import slide_reference as ref


@pytest.fixture(scope="module")
def two_layer_model():
    return random_slide_model(2, seed=3)


@pytest.fixture(scope="module")
def slide():
    """1,040 tiles on a blob (L = 1,041: two 1024-segments, padding in every branch)."""
    coords = ref.blob_coords(1040, seed=1)
    features = np.random.default_rng(2).normal(size=(len(coords), 1536)).astype(np.float32)
    return features, coords


@pytest.fixture(scope="module")
def reference(two_layer_model, slide):
    features, coords = slide
    return ref.slide_vectors(two_layer_model.state_dict(), features, coords)


def test_real_architecture_has_the_official_keys_and_parameter_count():
    with torch.device("meta"):
        model = SlideEncoderModel(12)
    assert sorted(model.state_dict()) == sorted(official_keys(12))
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_PARAMETER_COUNT == 86_330_880


@pytest.mark.parametrize("layer", ["last_layer_embed", "encoder_out", "layer_1"])
def test_matches_the_naive_reference_in_fp32(two_layer_model, slide, reference, layer):
    features, coords = slide
    encoder = GigaPathSlideEncoder.from_model(two_layer_model, device="cpu", layer=layer)
    vector = encoder.encode(features, coords)
    assert vector.shape == (768,) and vector.dtype == np.float32
    assert np.abs(vector - reference[layer]).max() < 1e-4
    assert encoder.settings()["layer"] == layer


def test_the_outputs_differ_from_each_other(reference):
    assert np.abs(reference["last_layer_embed"] - reference["encoder_out"]).max() > 1e-2
    assert np.abs(reference["last_layer_embed"] - reference["layer_1"]).max() > 1e-2


def test_dense_attention_gives_another_vector(two_layer_model, slide, reference):
    features, coords = slide
    dense = SlideEncoderModel(2, segment_lengths=(10**9,), dilation_ratios=(1,))
    dense.load_state_dict(two_layer_model.state_dict())
    vector = GigaPathSlideEncoder.from_model(dense, device="cpu").encode(features, coords)
    assert np.abs(vector - reference["last_layer_embed"]).max() > 1e-2


def test_chunked_attention_with_several_padded_segments_matches_the_reference():
    # short segments so that a 700-token sequence has several segments per branch, inner
    # padding (181 and 97 are odd) and a score chunk far smaller than one segment
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(700, 16 * 8, generator=gen, dtype=torch.float64) for _ in range(3))
    segments, ratios = (64, 181, 97, 700), (1, 2, 4, 16)
    got = dilated_attention(
        q.float(),
        k.float(),
        v.float(),
        num_heads=16,
        segment_lengths=segments,
        dilation_ratios=ratios,
        max_chunk_elements=20_000,
    )
    want = ref.dilated_attention(q, k, v, 16, segments, ratios)
    assert torch.abs(got.double() - want).max() < 1e-5


def test_position_rows_match_the_mae_table_layout():
    grid = 7
    w, h = np.meshgrid(np.arange(grid), np.arange(grid))  # the official "w goes first"
    quarter = 768 // 4
    freqs = 1.0 / 10000 ** (np.arange(quarter) / quarter)

    def code(pos):
        angles = pos.reshape(-1)[:, None] * freqs
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    table = np.concatenate([np.zeros((1, 768)), np.concatenate([code(w), code(h)], 1)])
    index = torch.tensor([0, 1, 5, 9, 48, 23])
    got = sincos_position_rows(index, 768, grid).numpy()
    assert np.abs(got - table[index.numpy()]).max() < 1e-6


def test_position_index_and_other_magnifications():
    coords = np.array([[0, 0], [256, 0], [300, 512], [255_999, 2]])
    assert list(position_index(coords)) == [1, 1001, 1003, 999_001]
    assert list(position_index(coords * 2, tile_size_level0=512)) == [1, 1001, 1003, 999_001]


@pytest.mark.parametrize(
    ("coords", "size", "words"),
    [
        ([[0, 0], [256_000, 0]], 256, "beyond Prov-GigaPath's 1000 x 1000 grid"),
        ([[0, 0], [256, 0], [100, 0]], 256, "share a grid cell"),
        ([[0, 0], [512, 0], [1024, 512]], 256, "another magnification"),
        ([[0, 0], [-256, 0]], 256, "negative"),
    ],
)
def test_bad_coordinates_are_input_errors(coords, size, words):
    with pytest.raises(InputError, match=words) as info:
        position_index(np.array(coords), tile_size_level0=size, source="slide.h5")
    assert "slide.h5" in str(info.value)


def test_checkpoint_round_trip_and_key_errors(tmp_path):
    model = random_slide_model(1, seed=5)
    path = save_official_slide_checkpoint(model, tmp_path / "slide_encoder.pth")
    coords = ref.blob_coords(200, seed=4)
    features = np.random.default_rng(0).normal(size=(len(coords), 1536)).astype(np.float32)
    loaded = GigaPathSlideEncoder(path, device="cpu")
    assert loaded.settings()["depth"] == 1 and len(loaded.settings()["weights"]) == 16
    want = GigaPathSlideEncoder.from_model(model, device="cpu").encode(features, coords)
    assert np.array_equal(loaded.encode(features, coords), want)

    state = torch.load(path, weights_only=True)["model"]
    del state["encoder.layers.0.ffn.ffn_layernorm.weight"]
    state["head.weight"] = torch.zeros(2)
    torch.save({"model": state}, tmp_path / "bad.pth")
    with pytest.raises(InputError) as info:
        GigaPathSlideEncoder(tmp_path / "bad.pth", device="cpu")
    message = str(info.value)
    assert "bad.pth" in message
    assert "missing key(s) encoder.layers.0.ffn.ffn_layernorm.weight" in message
    assert "unexpected key(s) head.weight" in message

    torch.save(state, tmp_path / "flat.pth")
    with pytest.raises(InputError, match='no "model" state dict'):
        GigaPathSlideEncoder(tmp_path / "flat.pth", device="cpu")
    with pytest.raises(InputError, match="unknown slide-encoder output"):
        GigaPathSlideEncoder(path, device="cpu", layer="layer_7")


def test_occlusion_blocks_are_contiguous_and_reencode_without_the_block():
    coords = ref.blob_coords(240, seed=6)
    blocks = spatial_blocks(coords, 4)
    assert blocks.max() == 3 and np.bincount(blocks).min() >= 40
    for b in range(4):  # a block's bounding box holds no tile of another block
        lo, hi = coords[blocks == b].min(0), coords[blocks == b].max(0)
        inside = np.all((coords >= lo) & (coords <= hi), axis=1)
        assert np.all(blocks[inside] == b)
    features = np.random.default_rng(1).normal(size=(len(coords), 1536)).astype(np.float32)
    encoder = GigaPathSlideEncoder.from_model(random_slide_model(1, seed=2), device="cpu")
    result = occlusion_by_blocks(encoder, features, coords, n_blocks=4)
    keep = result.block_of_tile != 2
    assert np.allclose(result.without_block[2], encoder.encode(features[keep], coords[keep]))
    assert result.tile_scores(np.ones(768)).shape == (240,)


def test_tile_order_matters_so_the_file_order_is_kept():
    coords = ref.blob_coords(200, seed=8)
    features = np.random.default_rng(3).normal(size=(len(coords), 1536)).astype(np.float32)
    encoder = GigaPathSlideEncoder.from_model(random_slide_model(1, seed=1), device="cpu")
    forward = encoder.encode(features, coords)
    backward = encoder.encode(features[::-1], coords[::-1])
    assert np.abs(forward - backward).max() > 1e-3  # dilated attention depends on the order
