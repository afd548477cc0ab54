"""The MRI phantom: a realistic head on a 1 mm RAS grid, class-typical tumours, valid masks."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.io.demo import phantom as Ph
from corebt_viewer.io.demo import plan as P


def _plan(level1: str, grade: int | None = None, seed: int = 0) -> P.PatientPlan:
    for plan in P.plan_cohort(seed, 60):
        if plan.level1 == level1 and (grade is None or plan.who_grade == grade):
            return plan
    raise AssertionError(f"no {level1} in the plan")


def test_template_is_a_realistic_skull_stripped_brain():
    csf, gm, wm = Ph.template_fractions()
    assert csf.shape == gm.shape == wm.shape == Ph.GRID
    total = csf + gm + wm
    assert total.max() <= 1.0 + 1e-5
    brain = (gm + wm) > 0.5
    idx = np.argwhere(brain)
    extent = idx.max(0) - idx.min(0) + 1  # mm, 1 mm voxels
    assert 120 <= extent[0] <= 144  # left-right
    assert 150 <= extent[1] <= 176  # anterior-posterior
    assert 110 <= extent[2] <= 144  # inferior-superior
    assert 0.3 < gm[brain].mean() / (gm[brain].mean() + wm[brain].mean()) < 0.7
    assert (csf > 0.5).sum() > 20_000  # ventricles and sulci
    # Edge voxels of the grid are background.
    assert total[0].max() == 0 and total[-1].max() == 0


def test_affine_is_ras_1mm():
    aff = Ph.affine()
    assert np.allclose(np.diag(aff)[:3], 1.0)
    centre = aff @ np.array([*(np.array(Ph.GRID) / 2), 1.0])
    assert np.allclose(centre[:3], 0, atol=1)


def test_glioblastoma_enhances_around_necrosis_with_oedema():
    plan = _plan(P.GBM)
    case = Ph.make_phantom(plan, 0)
    assert case.phenotype.enhancement in ("ring", "patchy", "none")
    if case.phenotype.enhancement != "ring":
        pytest.skip("this GBM draw is the non-necrotic variant")
    labels = case.labels
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    t1c, t1 = case.images["t1c"].astype(float), case.images["t1"].astype(float)
    enh = labels == 3
    assert t1c[enh].mean() > 1.5 * t1[enh].mean()
    flair = case.images["flair"].astype(float)
    assert flair[labels == 2].mean() > 1.3 * flair[(labels == 0) & (t1 > 550)].mean()
    assert (labels == 2).sum() > (labels == 3).sum() * 0.5


def test_lower_grade_astrocytoma_does_not_enhance_and_is_t2_bright():
    case = Ph.make_phantom(_plan(P.ASTRO, 2), 0)
    assert case.phenotype.enhancement in ("none", "patchy")
    labels = case.labels
    if case.phenotype.enhancement == "none":
        assert not (labels == 3).any()
    t2 = case.images["t2"].astype(float)
    core = labels == 1
    assert core.sum() > 1000
    wm = (labels == 0) & (case.images["t1"] > 550)
    assert t2[core].mean() > 1.8 * t2[wm].mean()


def test_phantom_is_deterministic_and_images_are_int16_on_the_grid():
    plan = _plan(P.OLIGO)
    a, b = Ph.make_phantom(plan, 7), Ph.make_phantom(plan, 7)
    assert a.images.keys() == set(plan.sequences)
    for name in plan.sequences:
        assert a.images[name].dtype == np.int16 and a.images[name].shape == Ph.GRID
        assert np.array_equal(a.images[name], b.images[name])
    assert np.array_equal(a.labels, b.labels)
    c = Ph.make_phantom(plan, 8)
    assert not np.array_equal(a.labels, c.labels)


def test_phenotypes_differ_between_classes_but_overlap():
    rng = np.random.default_rng(0)
    ring = {}
    for level1 in (P.GBM, P.ASTRO, P.OLIGO):
        plan = _plan(level1)
        draws = [
            Ph.tumour_phenotype(plan, np.random.default_rng(rng.integers(1 << 30)))
            for _ in range(200)
        ]
        ring[level1] = np.mean([t.enhancement == "ring" for t in draws])
    assert ring[P.GBM] > 0.7
    assert ring[P.OLIGO] == 0.0
    assert 0.0 <= ring[P.ASTRO] < 0.3
    assert ring[P.GBM] < 1.0  # some glioblastomas do not look like one
