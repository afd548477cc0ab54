"""Neuropathology reports: real structure, class information partial and noisy."""

from __future__ import annotations

import re

from corebt_viewer.io.demo import plan as P
from corebt_viewer.io.demo.reports import _INTEGRATED, make_report

SECTIONS = (
    "FINAL DIAGNOSIS:",
    "COMMENT:",
    "IMMUNOHISTOCHEMISTRY:",
    "MOLECULAR STUDIES:",
    "CLINICAL HISTORY:",
    "SPECIMEN:",
    "GROSS DESCRIPTION:",
    "MICROSCOPIC DESCRIPTION:",
)


def _reports(n=200, seed=0):
    plans = [P.plan_patient(seed, i) for i in range(n)]
    return [(p, make_report(p, seed)) for p in plans]


def test_report_has_the_sections_of_a_neuropathology_report():
    plan = P.plan_patient(0, 0)
    text = make_report(plan, 0)
    for section in SECTIONS:
        assert section in text
    assert "IDH1 R132H:" in text and "Ki-67" in text and "1p/19q" in text
    assert plan.patient_id in text and "SYNTHETIC" in text
    assert make_report(plan, 0) == text
    assert make_report(plan, 1) != text


def test_reports_state_the_class_only_sometimes():
    stated = 0
    pending = 0
    gbm = [(p, t) for p, t in _reports() if p.level1 in (P.GBM, P.ASTRO, P.OLIGO)]
    for plan, text in gbm:
        exact = _INTEGRATED[plan.level1].format(grade=plan.who_grade)
        stated += exact in text
        pending += "pending" in text.lower()
    share = stated / len(gbm)
    assert 0.3 < share < 0.6, share
    assert pending / len(gbm) > 0.5


def test_immunostains_hint_at_idh_status_noisily():
    rows = _reports()

    def idh_positive(text):
        return re.search(r"IDH1 R132H: positive", text) is not None

    mutant = [idh_positive(t) for p, t in rows if p.level1 in (P.ASTRO, P.OLIGO)]
    wildtype = [idh_positive(t) for p, t in rows if p.level1 == P.GBM]
    assert 0.7 < sum(mutant) / len(mutant) < 0.95
    assert sum(wildtype) == 0


def test_some_reports_are_misleading():
    confused = sum("Preliminary diagnosis" in t for _, t in _reports())
    assert 4 <= confused <= 35
