"""The paper's path with foundation encoders, end to end, on a small demo cohort.

A depth-1 Prov-GigaPath tile encoder (random weights, the hub's file layout) embeds the
slides; the profile it makes is followed by train, evaluate, predict and ``info --model``.
"""

import json
import shutil

import pytest

from corebt_viewer.cli.main import main

RUN = ["--device", "cpu", "--workers", "1", "--batch-size", "16"]


@pytest.fixture(scope="module")
def gigapath_weights(tmp_path_factory):
    import torch

    from corebt_viewer.embed.encoders.gigapath import create_gigapath_model, save_hub_layout

    torch.manual_seed(0)
    model = create_gigapath_model(depth=1)
    return save_hub_layout(model, tmp_path_factory.mktemp("gigapath-d1"), model_args={"depth": 1})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from corebt_viewer.services.demo import make_demo_cohort

    root = tmp_path_factory.mktemp("foundation") / "demo"
    return make_demo_cohort(out=root, patients=24, slide_size=768, workers=1).parent


@pytest.fixture(scope="module")
def embedded(demo, gigapath_weights):
    status = main(
        [
            "embed",
            str(demo),
            "--profile",
            "gigapath",
            "--wsi-encoder",
            "gigapath",
            "--weights",
            str(gigapath_weights),
            "--report-encoder",
            "hashing-tfidf",
            *RUN,
        ]
    )
    assert status == 0
    return demo


def test_the_profile_is_recorded_and_train_uses_pathology(embedded, tmp_path, capsys):
    profile = json.loads((embedded / ".corebt/embeddings/profiles/gigapath.json").read_text())
    assert profile["wsi"] == "gigapath" and profile["identity"]["wsi_weights"]
    capsys.readouterr()
    model = tmp_path / "model"
    argv = ["train", str(embedded), "--task", "lgg_hgg", "--out", str(model), "--seed", "1"]
    assert main([*argv, "--profile", "gigapath"]) == 0
    out = capsys.readouterr().out
    assert "profile gigapath" in out and "Pathology" in out.split("modalities:")[1].split("\n")[0]
    config = json.loads((model / "config.json").read_text())
    assert config["training_settings"]["profile"]["name"] == "gigapath"
    assert "wsi" in config["modalities"]
    record = config["training_metrics"]["embedding"]
    assert record["cases_with_embedding"]["wsi"] == record["cases_with_files"]["wsi"] > 0

    assert main(["info", str(embedded), "--model", str(model)]) == 0
    info = capsys.readouterr().out
    assert "profile gigapath" in info and "Pathology" in info.split("embeddings used:")[1]


def test_the_model_follows_its_profile_without_the_weights(
    embedded, gigapath_weights, tmp_path, capsys
):
    model = tmp_path / "model"
    assert (
        main(
            [
                "train",
                str(embedded),
                "--task",
                "lgg_hgg",
                "--out",
                str(model),
                "--profile",
                "gigapath",
            ]
        )
        == 0
    )
    case = json.loads((model / "config.json").read_text())["split"]["test"][0]
    moved = tmp_path / "weights-elsewhere"
    shutil.move(str(gigapath_weights), moved)
    try:
        capsys.readouterr()
        # every case is cached under the model's profile: no weights needed to predict
        assert (
            main(["predict", str(embedded), "--model", str(model), "--case", case, "--json"]) == 0
        )
        assert "wsi" in json.loads(capsys.readouterr().out)["available"]
        # another profile named on the command line is refused, naming both
        status = main(
            ["evaluate", str(embedded), "--model", str(model), "--out", str(tmp_path / "r")]
            + ["--wsi-encoder", "builtin", "--report-encoder", "hashing-tfidf"]
        )
        assert status == 2
        err = capsys.readouterr().err
        assert "gigapath" in err and "builtin" in err
    finally:
        shutil.move(str(moved), gigapath_weights)


def test_train_refuses_when_no_slide_yields_an_embedding(embedded, tmp_path, capsys):
    copy = tmp_path / "broken"
    shutil.copytree(embedded, copy)  # the cache too: MRI and reports stay cached
    slides = sorted(copy.glob("slides/*/*.svs"))
    for slide in slides:
        slide.write_bytes(b"not a slide")
    status = main(
        ["train", str(copy), "--task", "lgg_hgg", "--out", str(tmp_path / "m")]
        + ["--profile", "gigapath", *RUN]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "Pathology" in err and slides[0].name in err
    assert not (tmp_path / "m" / "config.json").exists()


@pytest.fixture(scope="module")
def slide_weights(tmp_path_factory):
    from corebt_viewer.embed.slide_encoders.checkpoint import (
        random_slide_model,
        save_official_slide_checkpoint,
    )

    folder = tmp_path_factory.mktemp("slide-encoder")
    return save_official_slide_checkpoint(random_slide_model(depth=2), folder / "slide_encoder.pth")


def test_the_paper_path_with_the_slide_encoder(
    embedded, gigapath_weights, slide_weights, tmp_path, capsys
):
    """embed -> train (every modality) -> evaluate (pathology differs from MRI) -> predict."""
    profile = ["--profile", "gigapath-longnet", "--wsi-encoder", "gigapath"]
    profile += ["--weights", str(gigapath_weights), "--slide-encoder", "gigapath"]
    profile += ["--slide-weights", str(slide_weights), "--report-encoder", "hashing-tfidf"]
    assert main(["embed", str(embedded), *profile, *RUN]) == 0
    out = capsys.readouterr().out
    # the tile features are the gigapath profile's: only the slide encoder ran
    assert "0 embedded" in out.split("slides:")[1].split("\n")[0]
    assert "Prov-GigaPath slide encoder" in out

    model, report = tmp_path / "model", tmp_path / "report"
    argv = ["train", str(embedded), "--task", "lgg_hgg", "--out", str(model)]
    assert main([*argv, "--profile", "gigapath-longnet", "--seed", "3"]) == 0
    config = json.loads((model / "config.json").read_text())
    assert set(config["modalities"]) >= {"mri", "wsi"}
    assert config["dims"]["wsi"] == 768  # slide vectors, not tile means
    assert config["training_settings"]["profile"]["aggregator"] == "gigapath-slide"

    assert main(["evaluate", str(embedded), "--model", str(model), "--out", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    rows = {row["name"]: row for row in metrics["rows"]["missing"]}
    assert rows["MRI only"]["n"] == rows["Pathology only"]["n"] > 0
    capsys.readouterr()

    case = next(pid for pid in config["split"]["test"] if (embedded / "slides" / pid).is_dir())
    shown = {}
    for without in ("wsi", "mri"):
        argv = ["predict", str(embedded), "--model", str(model), "--case", case]
        assert main([*argv, "--without", without, "--json"]) == 0
        shown[without] = json.loads(capsys.readouterr().out)["probabilities"]
    assert shown["wsi"] != shown["mri"]  # "Pathology only" is not "MRI only"
    assert main(["predict", str(embedded), "--model", str(model), "--case", case]) == 0
    out = capsys.readouterr().out
    assert "occlusion attribution, approximate" in out
    assert "pathology heat map is approximate" in out
