"""Fixtures of the embedding tests (generated slides and cohorts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.embed.embed_data import make_cohort, synthetic_he, write_aperio_tiff


@pytest.fixture
def he_slide(tmp_path) -> Path:
    """A 2-level Aperio-like TIFF, 1536 x 1280 at 0.5 um/px, tissue in the middle."""
    return write_aperio_tiff(tmp_path / "slide.svs", synthetic_he(1280, 1536, seed=1))


@pytest.fixture
def tiny_cohort(tmp_path) -> Path:
    """Manifest of a 2-case cohort (1 slide each, MRI, reports)."""
    return make_cohort(tmp_path / "cohort")
