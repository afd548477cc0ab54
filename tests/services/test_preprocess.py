"""corebt preprocess: an atlas-space copy of a small real case, resumed, failures listed."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.cli.main import main
from corebt_viewer.io.manifest import read_cohort
from corebt_viewer.io.nifti import load_case_mri
from corebt_viewer.io.resample import isotropic_grid, resample_to_grid
from corebt_viewer.services.preprocess import default_atlas_path, load_atlas
from tests.clinical_mri_data import other_grid, small_case_from, write_mask, write_volume


@pytest.fixture(scope="module")
def small(shared_data):
    return small_case_from(shared_data)


@pytest.fixture(scope="module")
def small_atlas(tmp_path_factory) -> Path:
    """nilearn's MNI152 template at 4 mm (the real one is 1 mm: too slow for a unit test)."""
    atlas = load_atlas(spacing=None)
    shape, affine = isotropic_grid(atlas.data.shape, atlas.affine, 4.0)
    data = resample_to_grid(atlas.data, atlas.affine, shape, affine)
    return write_volume(tmp_path_factory.mktemp("atlas") / "mni_4mm.nii.gz", data, affine)


def test_the_default_atlas_ships_with_nilearn_at_1mm():
    path = default_atlas_path()
    img = nib.load(str(path))
    assert img.shape == (197, 233, 189) and np.allclose(img.header.get_zooms(), 1.0)


def test_preprocess_one_case_resume_and_a_failure(tmp_path: Path, small, small_atlas, capsys):
    shape, affine = other_grid(
        small.shape, small.affine, angles=(0, 0, 10), spacing=(3.0, 3.0, 5.0), shift=(20, -10, 15)
    )
    case = tmp_path / "P1"
    for role in ("t1", "t1c", "t2", "flair"):
        data = resample_to_grid(small.volumes[role], small.affine, shape, affine)
        write_volume(case / f"P1_{role}.nii.gz", data, affine)
    write_mask(
        case / "P1_seg.nii.gz",
        resample_to_grid(small.seg, small.affine, shape, affine, order=0),
        affine,
    )
    broken = tmp_path / "P2"
    broken.mkdir()
    (broken / "t1.nii.gz").write_bytes(b"not a nifti")
    args = [
        "preprocess",
        str(tmp_path),
        "--atlas",
        str(small_atlas),
        "--skull-strip",
        "--threads",
        "2",
        "--voxel-size",
        "4",  # the small atlas's own grid (1 mm by default)
    ]
    assert main(args) == 1  # P2 failed, P1 done
    out = capsys.readouterr()
    assert "1 case(s) written, 0 already up to date, 1 failed" in out.out
    assert "failed: P2:" in out.out and "t1.nii.gz" in out.out
    assert "[0/2] P1" in out.err
    pre = tmp_path / ".corebt" / "preprocessed"
    cohort = read_cohort(pre / "manifest.csv")
    assert cohort.ids == ("P1",) and cohort["P1"].has_complete_mri
    study = load_case_mri(cohort["P1"])
    atlas = nib.load(str(small_atlas))
    assert not study.notes and not study.errors  # every sequence on the atlas grid
    t1 = study.volumes[next(iter(study.volumes))]
    assert t1.shape == atlas.shape and np.allclose(t1.affine, atlas.affine)
    brain = np.asarray(atlas.dataobj) > 0
    inside = t1.data > 0
    overlap = 2 * (brain & inside).sum() / (brain.sum() + inside.sum())
    assert overlap > 0.75, overlap  # the case's brain lands on the atlas's brain
    assert study.segmentation is not None and (study.segmentation.labels > 0).sum() > 10
    assert (pre / "P1" / "provenance.json").is_file()
    assert main(args) == 1
    assert "0 case(s) written, 1 already up to date, 1 failed" in capsys.readouterr().out
