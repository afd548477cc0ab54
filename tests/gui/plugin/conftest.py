"""Plugin fixtures: a copy of the GUI demo cohort with its model where the plugin looks."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def plugin_cohort(demo_cohort, demo_model, tmp_path_factory):
    """(cohort, embeddings): the demo cohort copied, model in ``.corebt/models/level1``."""
    from corebt_viewer.io.manifest import read_cohort

    model_dir, embeddings = demo_model
    root = tmp_path_factory.mktemp("plugin") / "cohort"
    shutil.copytree(demo_cohort.root, root, ignore=shutil.ignore_patterns(".corebt"))
    shutil.copytree(model_dir, root / ".corebt" / "models" / "level1")
    return read_cohort(root / "manifest.csv"), embeddings


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()
