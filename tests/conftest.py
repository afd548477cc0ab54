"""Shared fixtures: the real files in ../shared/data and small generated data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("COREBT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public test files (skips when it is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_mri_dir(shared_data: Path) -> Path:
    return shared_data / "mri" / "TCGA-DU-7294"


@pytest.fixture(scope="session")
def svs_path(shared_data: Path) -> Path:
    return shared_data / "wsi" / "CMU-1-Small-Region.svs"


@pytest.fixture(scope="session")
def ndpi_path(shared_data: Path) -> Path:
    return shared_data / "wsi" / "test3-DAPI-2-(387).ndpi"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# -- the paper's path with foundation encoders (random weights in the official layouts) ----

FOUNDATION_RUN = ["--device", "cpu", "--workers", "1", "--batch-size", "16"]


@pytest.fixture(scope="session")
def gigapath_weights(tmp_path_factory) -> Path:
    """A depth-1 Prov-GigaPath tile encoder (random weights) in the hub's folder layout."""
    import torch

    from corebt_viewer.embed.encoders.gigapath import create_gigapath_model, save_hub_layout

    torch.manual_seed(0)
    model = create_gigapath_model(depth=1)
    return save_hub_layout(model, tmp_path_factory.mktemp("gigapath-d1"), model_args={"depth": 1})


@pytest.fixture(scope="session")
def slide_weights(tmp_path_factory) -> Path:
    """A 2-layer Prov-GigaPath slide encoder (random weights) as the official slide_encoder.pth."""
    from corebt_viewer.embed.slide_encoders.checkpoint import (
        random_slide_model,
        save_official_slide_checkpoint,
    )

    folder = tmp_path_factory.mktemp("slide-encoder")
    return save_official_slide_checkpoint(random_slide_model(depth=2), folder / "slide_encoder.pth")


@pytest.fixture(scope="session")
def foundation_demo(tmp_path_factory) -> Path:
    """A 24-patient demo cohort with small slides (its folder)."""
    from corebt_viewer.services.demo import make_demo_cohort

    root = tmp_path_factory.mktemp("foundation") / "demo"
    return make_demo_cohort(out=root, patients=24, slide_size=768, workers=1).parent


@pytest.fixture(scope="session")
def foundation_cohort(foundation_demo, gigapath_weights) -> Path:
    """The demo cohort embedded with the `gigapath` profile (tile mean)."""
    from corebt_viewer.cli.main import main

    argv = ["embed", str(foundation_demo), "--profile", "gigapath", "--wsi-encoder", "gigapath"]
    argv += ["--weights", str(gigapath_weights), "--report-encoder", "hashing-tfidf"]
    assert main([*argv, *FOUNDATION_RUN]) == 0
    return foundation_demo


def longnet_options(gigapath_weights, slide_weights) -> list[str]:
    """The CLI options of the `gigapath-longnet` profile (the paper's slide encoder)."""
    return [
        "--profile",
        "gigapath-longnet",
        "--wsi-encoder",
        "gigapath",
        "--weights",
        str(gigapath_weights),
        "--slide-encoder",
        "gigapath",
        "--slide-weights",
        str(slide_weights),
        "--report-encoder",
        "hashing-tfidf",
    ]
