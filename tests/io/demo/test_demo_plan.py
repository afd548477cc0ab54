"""The demo cohort plan: deterministic, balanced classes, the paper's modality pattern."""

from __future__ import annotations

from collections import Counter

from corebt_viewer.core.labels import level1_by_name
from corebt_viewer.core.tasks import get_task
from corebt_viewer.io.demo import plan as P


def test_plan_is_a_pure_function_of_seed_and_index():
    assert P.plan_cohort(3, 30) == P.plan_cohort(3, 30)
    # A smaller cohort is the start of a larger one.
    assert P.plan_cohort(3, 10) == P.plan_cohort(3, 40)[:10]
    assert P.plan_patient(3, 17) == P.plan_cohort(3, 18)[17]


def test_names_are_those_of_table_1():
    for plan in P.plan_cohort(0, 100):
        cls = level1_by_name(plan.level1)
        assert cls.name == plan.level1
        assert cls.subtype(plan.subtype).name == plan.subtype
        assert plan.who_grade in P.GRADE_WEIGHTS[plan.level1]


def test_class_proportions_follow_the_documented_shares():
    plans = P.plan_cohort(0, 100)
    level1 = get_task("level1")
    counts = Counter(level1.class_name(p.level1, p.who_grade) for p in plans)
    assert set(counts) == set(level1.classes)
    assert counts["GBM / IDH-wt HGG"] == 40
    assert counts["IDH-mutant Astrocytoma"] == 25
    assert counts["Oligodendroglioma"] == 17
    assert counts["Other glioma"] == 18
    grades = Counter(get_task("who_grade").class_name(p.level1, p.who_grade) for p in plans)
    assert min(grades.values()) >= 12, grades


def test_small_cohorts_cover_every_task_class():
    plans = P.plan_cohort(0, 8)
    for name in ("level1", "lgg_hgg"):
        task = get_task(name)
        assert {task.class_name(p.level1, p.who_grade) for p in plans} == set(task.classes)
    assert len({p.who_grade for p in P.plan_cohort(0, 12)}) == 4


def test_modality_pattern_is_the_papers():
    plans = P.plan_cohort(5, 200)
    with_slides = [p for p in plans if p.n_slides]
    incomplete = [p for p in plans if len(p.sequences) < 4]
    assert abs(len(with_slides) / 200 - 95 / 310) < 0.03
    assert abs(len(incomplete) / 200 - 60 / 310) < 0.03
    assert all(p.has_mask == (len(p.sequences) == 4) for p in plans)
    assert all(p.has_report == (p.n_slides > 0) for p in plans)
    assert all(len(p.sequences) == 4 for p in with_slides)
    assert {p.n_slides for p in with_slides} == {1, 2, 3}
    assert all(len(p.sequences) >= 2 for p in incomplete)
    assert Counter(p.convention for p in plans)["brats2023"] > 10
