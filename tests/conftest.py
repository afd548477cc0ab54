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
