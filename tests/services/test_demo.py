"""make_demo_cohort: a complete, valid, deterministic cohort (small size for speed)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.demo import plan as P
from corebt_viewer.io.demo.cohort import MANIFEST_COLUMNS
from corebt_viewer.services.demo import make_demo_cohort

N, SIZE = 6, 1024


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    events = []
    manifest = make_demo_cohort(
        out=out, patients=N, seed=0, slide_size=SIZE, progress=events.append, workers=2
    )
    return manifest, events


def _rows(manifest):
    with manifest.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_manifest_lists_every_patient_with_existing_files(cohort):
    manifest, events = cohort
    rows = _rows(manifest)
    assert tuple(rows[0].keys()) == MANIFEST_COLUMNS
    assert [r["patient_id"] for r in rows] == [f"DEMO-{k:04d}" for k in range(1, N + 1)]
    for row in rows:
        for col in ("t1", "t1c", "t2", "flair", "seg", "report"):
            if row[col]:
                assert (manifest.parent / row[col]).is_file()
        for rel in filter(None, row["slides"].split(";")):
            assert (manifest.parent / rel).is_file()
    assert any(";" in r["slides"] for r in rows) or sum(bool(r["slides"]) for r in rows) >= 2
    assert any(not r["seg"] for r in rows) and any(r["report"] for r in rows)
    assert events[-1].done == events[-1].total > 0


def test_manifest_is_read_and_validated_by_the_io_layer(cohort):
    from corebt_viewer.io.manifest import read_cohort
    from corebt_viewer.io.validate import validate_cohort

    manifest, _ = cohort
    cases = read_cohort(manifest).cases
    assert len(cases) == N
    plans = P.plan_cohort(0, N)
    for case, plan in zip(cases, plans, strict=True):
        assert case.labels.level1 == plan.level1 and case.labels.who_grade == plan.who_grade
        assert len(case.slides) == plan.n_slides
    assert validate_cohort(manifest) == []
    classes = Counter(p.level1 for p in plans)
    assert classes[P.GBM] >= 2 and classes[P.ASTRO] >= 2


def test_nifti_files_share_a_1mm_ras_grid_and_use_brats_labels(cohort):
    import nibabel as nib

    manifest, _ = cohort
    for row in _rows(manifest):
        files = [row[c] for c in ("t1", "t1c", "t2", "flair", "seg") if row[c]]
        imgs = [nib.load(manifest.parent / f) for f in files]
        ref = imgs[0]
        assert nib.aff2axcodes(ref.affine) == ("R", "A", "S")
        assert ref.header.get_zooms() == (1.0, 1.0, 1.0)
        for img in imgs:
            assert img.shape == ref.shape and np.allclose(img.affine, ref.affine)
        for f, img in zip(files, imgs, strict=True):
            if f == row["seg"]:
                labels = set(np.unique(np.asarray(img.dataobj)).tolist())
                allowed = {0, 1, 2, 3} if f.endswith("-seg.nii.gz") else {0, 1, 2, 4}
                assert labels <= allowed and len(labels) >= 3, (f, labels)
            else:
                assert img.get_data_dtype() == np.int16
    names = {r["t1"].rsplit("/", 1)[-1] for r in _rows(manifest)}
    assert any(n.endswith("-t1n.nii.gz") for n in names)  # BraTS 2023 naming present


def test_segmentation_loads_through_the_io_layer(cohort):
    from corebt_viewer.core.segmentation import LabelConvention
    from corebt_viewer.io.nifti import load_segmentation

    manifest, _ = cohort
    conventions = set()
    for row in _rows(manifest):
        if row["seg"]:
            seg = load_segmentation(manifest.parent / row["seg"])
            conventions.add(seg.convention)
            assert sum(seg.volumes_ml().values()) > 1.0
    assert conventions == {LabelConvention.BRATS_2021, LabelConvention.BRATS_2023}


def test_slides_open_with_levels_and_mpp(cohort):
    openslide = pytest.importorskip("openslide")
    manifest, _ = cohort
    slides = [s for r in _rows(manifest) for s in filter(None, r["slides"].split(";"))]
    assert slides
    for rel in slides:
        with openslide.OpenSlide(str(manifest.parent / rel)) as slide:
            assert slide.level_count >= 3
            assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.5)
            assert slide.dimensions[1] == SIZE


def _digest(path):
    import nibabel as nib

    if path.name.endswith(".nii.gz"):
        return hashlib.sha1(np.asarray(nib.load(path).dataobj).tobytes()).hexdigest()
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_same_seed_same_cohort_and_a_smaller_cohort_is_a_prefix(cohort, tmp_path):
    manifest, _ = cohort
    small = make_demo_cohort(out=tmp_path, patients=1, seed=0, slide_size=SIZE, workers=1)
    small_rows = _rows(small)
    assert small_rows == _rows(manifest)[:1]
    row = small_rows[0]
    paths = [row[c] for c in ("t1", "t1c", "t2", "flair", "seg", "slides", "report")]
    files = [f for v in paths for f in v.split(";") if f]
    assert len(files) >= 6
    for rel in files:
        assert _digest(small.parent / rel) == _digest(manifest.parent / rel), rel


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="patients"):
        make_demo_cohort(out=tmp_path, patients=0)
    with pytest.raises(InputError, match="slide-size"):
        make_demo_cohort(out=tmp_path, patients=1, slide_size=10)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        make_demo_cohort(out=tmp_path / "file", patients=1)


def test_cli_command_registers_its_options():
    import argparse

    from corebt_viewer.cli import cmd_demo

    parser = argparse.ArgumentParser()
    cmd_demo.register(parser.add_subparsers())
    args = parser.parse_args(
        ["demo-data", "out", "--patients", "5", "--seed", "3", "--slide-size", "2048"]
    )
    assert (args.out, args.patients, args.seed, args.slide_size) == ("out", 5, 3, 2048)
    assert args.func is cmd_demo.run


def test_corebt_demo_data_reports_bad_input_with_status_2(tmp_path, capsys):
    from corebt_viewer.cli.main import main

    assert main(["demo-data", str(tmp_path / "out"), "--patients", "0"]) == 2
    assert "patients" in capsys.readouterr().err
