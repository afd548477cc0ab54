"""The fusion services on an in-memory cohort with generated embeddings."""

import json
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.labels import LEVEL1_CLASSES
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.tasks import get_task
from corebt_viewer.fusion.synthetic import make_embeddings
from corebt_viewer.fusion.train import TrainSettings
from corebt_viewer.services.fusion import (
    default_model_dir,
    evaluate_model,
    load_model,
    manifest_hash,
    predict_case,
    train_model,
)

FAST = TrainSettings(max_epochs=40, patience=10, crossfit_folds=3, l2_grid=(1e-2, 1.0))
WHO = {0: 4, 1: 2, 2: 2, 3: 1}  # a WHO grade consistent with each level1 class below


def level1_names() -> list[str]:
    task = get_task("level1")
    other = next(c.name for c in LEVEL1_CLASSES if c.name not in task.classes)
    return [*task.classes[:3], other]


@pytest.fixture(scope="module")
def cohort_and_embeddings(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    embeddings, labels = make_embeddings(
        160,
        designs={Modality.MRI: "high_bit", Modality.WSI: "low_bit"},
        dim=8,
        missing={Modality.WSI: 0.2},
    )
    names = level1_names()
    cases = tuple(
        Case(
            pid,
            mri={"t1": Path(f"{pid}_t1.nii.gz")},
            slides=(Path(f"{pid}.svs"),) if Modality.WSI in embeddings[pid].vectors else (),
            labels=CaseLabels(level1=names[labels[pid]], who_grade=WHO[labels[pid]]),
        )
        for pid in sorted(embeddings)
    )
    return Cohort(root, cases), embeddings, labels


@pytest.fixture(scope="module")
def trained(cohort_and_embeddings, tmp_path_factory):
    cohort, embeddings, _ = cohort_and_embeddings
    out = tmp_path_factory.mktemp("model")
    events = []
    summary = train_model(
        cohort=cohort,
        task="level1",
        out=out,
        seed=1,
        embeddings=embeddings,
        settings=FAST,
        progress=events.append,
    )
    return summary, events


def test_train_saves_a_model_with_the_split_and_manifest_hash(trained, cohort_and_embeddings):
    summary, events = trained
    cohort, _, _ = cohort_and_embeddings
    model = load_model(summary.out)
    assert model.task == "level1" and model.classes == get_task("level1").classes
    assert model.manifest_hash == manifest_hash(cohort)
    assert len(model.split["test"]) == summary.n_test > 0
    assert events and events[-1].done == events[-1].total
    assert any("fusion" in line for line in summary.lines())
    assert default_model_dir(cohort, "level1") == cohort.root / ".corebt" / "models" / "level1"


def test_evaluate_writes_the_tables_for_held_out_cases(trained, cohort_and_embeddings, tmp_path):
    summary, _ = trained
    cohort, embeddings, _ = cohort_and_embeddings
    result = evaluate_model(
        cohort=cohort, model_dir=summary.out, out=tmp_path, embeddings=embeddings, n_boot=100
    )
    assert (tmp_path / "table.md").is_file() and (tmp_path / "metrics.json").is_file()
    model = load_model(summary.out)
    scored = json.loads((tmp_path / "metrics.json").read_text())["patients"]
    assert set(scored) <= set(model.split["test"])
    fusion = result.row("Fusion")["metrics"]["f1_macro"]
    assert fusion > result.row("MRI only")["metrics"]["f1_macro"]
    assert fusion > result.row("Pathology only")["metrics"]["f1_macro"]
    assert "--cv" in result.warnings[0]  # few held-out cases: the summary says so


def test_other_tasks_train_too(cohort_and_embeddings, tmp_path):
    cohort, embeddings, _ = cohort_and_embeddings
    for task in ("who_grade", "lgg_hgg"):
        summary = train_model(
            cohort=cohort, task=task, out=tmp_path / task, embeddings=embeddings, settings=FAST
        )
        assert load_model(summary.out).classes == get_task(task).classes


def test_predict_case_hides_modalities(trained, cohort_and_embeddings):
    summary, _ = trained
    cohort, embeddings, _ = cohort_and_embeddings
    pid = load_model(summary.out).split["test"][0]
    kwargs = dict(cohort=cohort, model_dir=summary.out, case_id=pid, embedding=embeddings[pid])
    full = predict_case(**kwargs)
    hidden = predict_case(**kwargs, without=["wsi"])
    assert full.used == {Modality.MRI, Modality.WSI}
    assert hidden.used == {Modality.MRI}
    row = next(r for r in full.ablation if r.modalities == {Modality.MRI})
    np.testing.assert_allclose(row.probabilities, hidden.probabilities, rtol=1e-5)
