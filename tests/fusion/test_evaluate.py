"""Evaluation tables: rows of the paper, held-out cases only, cross-validation."""

import json

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.evaluate import (
    evaluate_cv,
    evaluate_holdout,
    stratified_folds,
    table_rows,
    write_evaluation,
)

PAPER_ROWS = [
    "MRI only",
    "Pathology only",
    "Fusion",
    "Fusion (MRI ablated)",
    "Fusion (Pathology ablated)",
    "Fusion (Both ablated)",
]


def test_rows_follow_the_paper_then_the_report():
    rows = table_rows((Modality.MRI, Modality.WSI))
    assert [r.name for r in rows if r.section == "paper"] == PAPER_ROWS
    assert [r.name for r in rows][:6] == PAPER_ROWS
    assert not any("Report" in r.name for r in rows)
    rows = table_rows(tuple(Modality))
    names = [r.name for r in rows]
    assert names[:6] == PAPER_ROWS
    report = [r.name for r in rows if r.section == "report"]
    assert report[:2] == ["Report only", "Fusion + Report"]
    assert "Fusion + Report (Report ablated)" in report
    first_report = names.index("Report only")
    assert all(r.section == "report" for r in rows[first_report:])  # kept apart, last


def test_holdout_scores_only_test_cases_with_mri_and_pathology(complementary, tmp_path):
    model, embeddings, labels = complementary
    evaluation = evaluate_holdout(model, embeddings, labels, n_boot=200)
    scored = set(evaluation.patient_ids)
    assert scored <= set(model.split["test"])
    assert not scored & (set(model.split["train"]) | set(model.split["validation"]))
    for pid in scored:
        assert {Modality.MRI, Modality.WSI} <= embeddings[pid].modalities
    missing = {r["name"]: r for r in evaluation.rows["missing"]}
    paper = {r["name"]: r for r in evaluation.rows["paper"]}
    assert "Fusion (Both ablated)" not in missing  # nothing left to predict from
    assert "Fusion (Both ablated)" in paper
    assert missing["MRI only"]["metrics"] == paper["MRI only"]["metrics"]
    assert missing["Fusion"]["metrics"]["f1_macro"] > missing["MRI only"]["metrics"]["f1_macro"]
    assert missing["Fusion"]["n"] == len(scored)
    assert missing["Report only"]["n"] <= len(scored)

    out = write_evaluation(evaluation, tmp_path / "report", title="test")
    table = (out / "table.md").read_text()
    for name in PAPER_ROWS:
        assert f"| {name} |" in table
    assert "Ablation meaning: missing" in table and "Ablation meaning: paper" in table
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"] == list(model.classes)
    assert {"missing", "paper"} == set(metrics["rows"])
    pngs = list((out / "confusion").glob("*.png"))
    assert any(p.name == "missing_fusion.png" for p in pngs)
    assert (out / "per_class.md").read_text().count("| Class |") >= 12


def test_holdout_without_test_cases_is_an_input_error(complementary):
    model, embeddings, labels = complementary
    train_only = {p: embeddings[p] for p in model.split["train"]}
    with pytest.raises(InputError, match="held-out"):
        evaluate_holdout(model, train_only, labels)


def test_cross_validation_scores_every_eligible_case_once_per_repeat(noise_wsi):
    model, embeddings, labels = noise_wsi
    subset = dict(list(embeddings.items())[:120])
    evaluation = evaluate_cv(model, subset, labels, k=3, repeats=1, n_boot=100)
    assert sorted(evaluation.patient_ids) == sorted(subset)
    assert evaluation.cv == {"folds": 3, "repeats": 1, "cases": 120, "shared_folds": False}
    rows = {r["name"]: r for r in evaluation.rows["missing"]}
    assert rows["Fusion"]["metrics"]["accuracy_macro"] > 0.8
    assert rows["Fusion (MRI ablated)"]["metrics"]["accuracy_macro"] < 0.45


def test_stratified_folds_partition_and_balance():
    ids = [f"p{i}" for i in range(30)]
    y = np.array([0] * 15 + [1] * 9 + [2] * 6)
    folds = stratified_folds(ids, y, 3, seed=0)
    assert sorted(sum(folds, [])) == sorted(ids)
    for fold in folds:
        assert len(fold) == 10
        counts = np.bincount([y[ids.index(p)] for p in fold], minlength=3)
        assert counts.tolist() == [5, 3, 2]
