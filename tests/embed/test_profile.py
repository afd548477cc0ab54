"""The embedding profile: identity, recording in the cache, loud mismatches."""

import json

import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.profile import (
    EmbeddingProfile,
    ProfileMismatch,
    TilingSettings,
    list_profiles,
    load_profile,
    make_profile,
    save_profile,
)


def test_builtin_profile_is_named_and_round_trips_through_json(tmp_path):
    profile = make_profile(report="hashing-tfidf")
    assert profile.name == "builtin" and profile.aggregator == "mean"
    again = EmbeddingProfile.from_json(json.loads(json.dumps(profile.to_json())))
    assert again == profile and again.fingerprint() == profile.fingerprint()
    assert "mean of tile vectors" in "\n".join(profile.describe())
    # the tags of the built-in encoders are those of caches written before profiles existed
    assert profile.tag(Modality.WSI).startswith("builtin-")


def test_tiling_and_encoders_change_the_fingerprint_but_names_do_not():
    base = make_profile(report="hashing-tfidf")
    assert base.renamed("other").fingerprint() == base.fingerprint()
    tiled = make_profile(report="hashing-tfidf", tiling=TilingSettings(tile_size=224))
    assert tiled.fingerprint() != base.fingerprint()
    assert make_profile(report="minilm").fingerprint() != base.fingerprint()


def test_weights_and_configs_that_do_not_exist_are_errors(tmp_path):
    with pytest.raises(InputError, match="needs --weights"):
        make_profile(wsi="gigapath")
    with pytest.raises(InputError, match="not found") as err:
        make_profile(wsi="gigapath", wsi_weights=tmp_path / "nowhere")
    assert "nowhere" in str(err.value)
    model = tmp_path / "enc.pt"
    model.write_bytes(b"x")
    with pytest.raises(InputError, match="--mri-config") as err:
        make_profile(mri="mri-torchscript", mri_weights=model, mri_config=tmp_path / "c.json")
    assert "c.json" in str(err.value)
    with pytest.raises(InputError, match="takes no weights"):
        make_profile(wsi="builtin", wsi_weights=model)
    with pytest.raises(InputError, match="slide-weights"):
        make_profile(wsi="gigapath", wsi_weights=model, aggregator="gigapath-slide")
    with pytest.raises(InputError, match="unknown encoder"):
        make_profile(wsi="gigapth")


def test_torchscript_profile_records_the_config_beside_the_model(tmp_path):
    model = tmp_path / "enc.pt"
    model.write_bytes(b"weights")
    bare = make_profile(mri="mri-torchscript", mri_weights=model)
    assert "built-in defaults" in "\n".join(bare.describe())
    model.with_suffix(".json").write_text('{"spacing": [1, 1, 1]}')
    with_config = make_profile(mri="mri-torchscript", mri_weights=model)
    assert with_config.mri_config == str(model.with_suffix(".json"))
    assert with_config.fingerprint() != bare.fingerprint()


def test_profiles_sit_side_by_side_and_a_clash_names_both(tmp_path):
    builtin = make_profile(report="hashing-tfidf")
    save_profile(tmp_path, builtin)
    save_profile(tmp_path, builtin)  # the same again is fine
    other = make_profile(report="hashing-tfidf", tiling=TilingSettings(min_tissue=0.5))
    save_profile(tmp_path, other.renamed("strict"))
    assert [p.name for p in list_profiles(tmp_path)] == ["builtin", "strict"]
    assert load_profile(tmp_path, "strict").tiling.min_tissue == 0.5
    with pytest.raises(ProfileMismatch) as err:
        save_profile(tmp_path, other)  # named builtin, but other embeddings
    text = str(err.value)
    assert "builtin" in text and other.fingerprint() in text and builtin.fingerprint() in text
    with pytest.raises(InputError, match="profiles: builtin, strict"):
        load_profile(tmp_path, "gigapath")
