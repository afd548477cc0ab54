"""Writers of feature files in TRIDENT's and CLAM's exact layouts, and a labelled cohort."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

TRIDENT_MAG_FOLDER = "20x_256px_0px_overlap"


def tissue_coords(n: int, step: int, rng) -> np.ndarray:
    """`n` level-0 (x, y) corners on a grid of `step`, in a blob (TRIDENT's row order)."""
    side = int(np.ceil(np.sqrt(n))) + 2
    cells = [(x, y) for y in range(side) for x in range(side)]
    keep = sorted(rng.choice(len(cells), size=n, replace=False))
    return np.array([cells[i] for i in keep], np.int64) * step + step * 3


def write_trident_tiles(folder: Path, stem: str, features, coords, *, encoder="gigapath"):
    """``features_<encoder>/<stem>.h5`` as TRIDENT writes it (40x slide tiled at 20x, 256 px)."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{stem}.h5", "w") as h5:
        f = h5.create_dataset(
            "features",
            data=features,
            maxshape=(None, features.shape[1]),
            chunks=(1, features.shape[1]),
        )
        f.attrs.update({"name": stem, "savetodir": str(folder), "encoder": encoder})
        c = h5.create_dataset("coords", data=coords, maxshape=(None, 2), chunks=(1, 2))
        c.attrs.update(trident_coord_attrs(stem, folder))
    return folder / f"{stem}.h5"


def trident_coord_attrs(stem: str, folder: Path) -> dict:
    return {
        "patch_size": 256,
        "patch_size_level0": 512,
        "level0_magnification": 40,
        "target_magnification": 20,
        "overlap": 0,
        "name": stem,
        "savetodir": str(folder),
        "level0_width": 20000,
        "level0_height": 15000,
    }


def write_trident_slide_vector(folder: Path, stem: str, vector, coords):
    """``slide_features_<encoder>/<stem>.h5``: ``features`` (dim,) and the tile ``coords``."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{stem}.h5", "w") as h5:
        f = h5.create_dataset("features", data=vector, maxshape=(None,), chunks=(1,))
        f.attrs.update({"name": stem, "savetodir": str(folder)})
        c = h5.create_dataset("coords", data=coords, maxshape=(None, 2), chunks=(1, 2))
        c.attrs.update(trident_coord_attrs(stem, folder))
    return folder / f"{stem}.h5"


def write_clam_tiles(folder: Path, stem: str, features, coords):
    """CLAM's ``h5_files/<stem>.h5``: ``features`` and ``coords``, no attributes."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{stem}.h5", "w") as h5:
        h5.create_dataset("features", data=features)
        h5.create_dataset("coords", data=coords)
    return folder / f"{stem}.h5"


def labelled_cohort(root: Path, n_cases: int, seed: int = 0) -> tuple[Path, dict[str, int]]:
    """make_cohort with tiny slides and alternating WHO grades 2 / 4 (the lgg_hgg task)."""
    from corebt_viewer.core.case import CaseLabels, Cohort
    from corebt_viewer.io.manifest import read_cohort, write_manifest
    from tests.embed.embed_data import make_cohort

    manifest = make_cohort(root, n_cases=n_cases, slide_shape=(256, 256), seed=seed)
    cohort = read_cohort(manifest)
    grades = {c.patient_id: 2 if i % 2 else 4 for i, c in enumerate(cohort.cases)}
    cases = tuple(
        replace(c, labels=CaseLabels(who_grade=grades[c.patient_id])) for c in cohort.cases
    )
    return write_manifest(Cohort(root=cohort.root, cases=cases), manifest), grades
