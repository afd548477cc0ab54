"""napari sample data: a case of the synthetic demo cohort.

The app's full demo (``corebt-viewer --demo``) is used when it has been built, so the
prediction panel has a model; otherwise a tiny cohort (three patients, small slides,
a few seconds) is generated once in the user cache folder.
"""

from __future__ import annotations

from pathlib import Path

#: Size of the plugin's own demo cohort: quick to make, every modality represented.
SAMPLE_PATIENTS = 3
SAMPLE_SLIDE_SIZE = 1024
SAMPLE_FOLDER = "plugin-demo-v1"


def sample_manifest(cache_dir: Path | None = None) -> Path:
    """Manifest of the demo cohort to open, generating the small one if needed."""
    from corebt_viewer.gui.app import user_cache_dir
    from corebt_viewer.gui.demo_setup import demo_is_ready, demo_root

    cache = Path(cache_dir) if cache_dir is not None else user_cache_dir()
    if demo_is_ready(cache):
        return demo_root(cache) / "manifest.csv"
    manifest = cache / SAMPLE_FOLDER / "manifest.csv"
    if manifest.is_file():  # the generator writes the manifest last
        return manifest
    from corebt_viewer.services.demo import make_demo_cohort

    return Path(
        make_demo_cohort(
            out=manifest.parent,
            patients=SAMPLE_PATIENTS,
            slide_size=SAMPLE_SLIDE_SIZE,
            workers=1,
        )
    )


def demo_case() -> list[tuple]:
    """Layers of the demo cohort's first case: four MRI sequences and its tumour mask."""
    from corebt_viewer.gui.plugin.readers import CaseSource, case_layer_data, open_case_source

    cohort, case = open_case_source(CaseSource("cohort", sample_manifest()))
    layers, _errors = case_layer_data(cohort, case)
    return layers
