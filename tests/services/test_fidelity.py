"""Issue 16: eq. 2 by default, the report as a marked extension, one test cohort for every
task, calibration on cases of its own, and a model card that says all of it."""

import json
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.cli.cmd_fusion import format_prediction
from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality, Sequence
from corebt_viewer.core.prediction import REPORT_REASON
from corebt_viewer.fusion.train import TrainSettings
from corebt_viewer.services.demo import train_demo_models
from corebt_viewer.services.fusion import evaluate_model, load_model, predict_case, train_model
from corebt_viewer.services.model_card import model_card
from corebt_viewer.services.splits import case_split_role, cohort_split, cv_folds, split_path

FAST = TrainSettings(max_epochs=25, patience=8, crossfit_folds=3, l2_grid=(1e-1,))
NAMES = ("GBM / IDH-wt HGG", "IDH-mutant Astrocytoma", "Oligodendroglioma", "Pilocytic")
LEVEL1 = (*NAMES[:3], "Circumscribed Astrocytic Glioma")
GRADES = (4, 3, 2, 1)
SEQUENCES = (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR)


def make_case(i: int, cls: int, rng: np.random.Generator, root: Path):
    code = np.eye(4)[cls]
    seqs = SEQUENCES if i % 5 else SEQUENCES[:2]
    mri = rng.normal(0, 0.8, (len(seqs), 6)) + np.r_[code, 0, 0]
    vectors = {Modality.MRI: mri.mean(0)}
    parts = {
        Modality.MRI: PooledParts(
            mri, np.full(len(seqs), 1 / len(seqs)), tuple(s.value for s in seqs)
        )
    }
    has_wsi, has_report = i % 4 != 3, i % 2 == 0
    if has_wsi:
        vectors[Modality.WSI] = rng.normal(0, 0.8, 5) + np.r_[code[::-1], 0]
    if has_report:
        vectors[Modality.REPORT] = rng.normal(0, 0.3, 4) + code
    case = Case(
        f"P{i:03d}",
        mri={s: root / f"{i}_{s.value}.nii.gz" for s in seqs},
        slides=(root / f"{i}.svs",) if has_wsi else (),
        report=root / f"{i}.txt" if has_report else None,
        labels=CaseLabels(level1=LEVEL1[cls], who_grade=GRADES[cls]),
    )
    embedding = CaseEmbedding(case.patient_id, vectors, {m: "synthetic" for m in vectors}, parts)
    return case, embedding


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("fidelity")
    rng = np.random.default_rng(3)
    pairs = [make_case(i, i % 4, rng, root) for i in range(96)]
    return Cohort(root, tuple(c for c, _ in pairs)), {e.patient_id: e for _, e in pairs}


@pytest.fixture(scope="module")
def models(cohort, tmp_path_factory):
    """The demo's two level-1 models, and eq. 2 models of the other tasks."""
    c, embeddings = cohort
    out = tmp_path_factory.mktemp("models")
    eq2, with_report = train_demo_models(
        cohort=c, out=out / "level1", embeddings=embeddings, settings=FAST
    )
    others = {
        task: train_model(
            cohort=c, task=task, out=out / task, embeddings=embeddings, settings=FAST
        ).out
        for task in ("who_grade", "lgg_hgg")
    }
    return {"level1": eq2, "level1+report": with_report, **others}


def test_every_task_is_tested_on_the_same_stored_patients(cohort, models):
    c, _ = cohort
    split = cohort_split(c, seed=0)
    assert split_path(c, 0).is_file() and split.test
    tests = {name: load_model(path).split["test"] for name, path in models.items()}
    assert all(t == split.test for t in tests.values()), tests
    for pid in split.test:
        assert {Modality.MRI, Modality.WSI} <= c[pid].modalities
    model = load_model(models["level1"])
    assert case_split_role(c, model, split.test[0]) == "test"
    lgg = load_model(models["lgg_hgg"])
    assert case_split_role(c, models["lgg_hgg"], lgg.split["train"][0]) == "train"
    assert case_split_role(c, model, model.split["calibration"][0]) == "calibration"
    assert case_split_role(c, model, "nobody") is None
    folds = cv_folds(c, k=3, repeats=1)
    assert sorted(sum(folds[0], [])) == sorted(split.eligible)
    assert cv_folds(c, k=3, repeats=1) == folds  # stored, reused


def test_eq2_is_the_default_and_mentions_no_report(cohort, models):
    c, embeddings = cohort
    model = load_model(models["level1"])
    assert model.modalities == (Modality.MRI, Modality.WSI)
    pid = next(p for p in model.split["test"] if Modality.REPORT in embeddings[p].vectors)
    for ablation in ("missing", "paper"):
        prediction = predict_case(
            cohort=c,
            model_dir=models["level1"],
            case_id=pid,
            embedding=embeddings[pid],
            ablation=ablation,
        )
        text = format_prediction(prediction)
        as_json = json.dumps(prediction.to_dict())
        assert "report" not in text.lower() and "report" not in as_json.lower()
        assert "eq. 2" in text
    assert [r.name for r in prediction.ablation][-1] == "Both ablated (probes only)"
    card = model_card(models["level1"])
    assert not card.uses_report and "report" not in json.dumps(card.to_json()).lower()
    assert card.level1_groups["Other glioma"][0] == "Circumscribed Astrocytic Glioma"


def test_the_report_model_says_so_with_its_reason(cohort, models):
    c, embeddings = cohort
    model = load_model(models["level1+report"])
    assert Modality.REPORT in model.modalities and model.settings["with_report"]
    pid = next(p for p in model.split["test"] if Modality.REPORT in embeddings[p].vectors)
    prediction = predict_case(
        cohort=c, model_dir=models["level1+report"], case_id=pid, embedding=embeddings[pid]
    )
    data = prediction.to_dict()
    assert data["uses_report"] is True and REPORT_REASON in data["report_note"]
    assert REPORT_REASON in format_prediction(prediction)
    card = model_card(models["level1+report"])
    assert card.uses_report and card.report_reason == REPORT_REASON
    assert any(REPORT_REASON in line for line in card.lines())


def test_evaluation_tables_calibration_and_card(cohort, models, tmp_path):
    c, embeddings = cohort
    result = evaluate_model(
        cohort=c,
        model_dir=models["level1+report"],
        out=tmp_path,
        embeddings=embeddings,
        n_boot=50,
    )
    table = (tmp_path / "table.md").read_text()
    assert (
        table.index("Rows of the paper")
        < table.index("Incomplete MRI")
        < table.index("Extension, not in the paper")
    )
    for mode, rows in result.rows.items():
        names = [r["name"] for r in rows]
        assert len(names) == len(set(names)), mode
        assert names[:3] == ["MRI only", "Pathology only", "Fusion"]
    assert "Fusion, MRI FLAIR + T1c only" in [r["name"] for r in result.rows["missing"]]
    fusion = result.row("Fusion")
    assert fusion["calibration"]["ece_after"] is not None and fusion["calibration"]["n"] > 0
    assert (tmp_path / "reliability.png").is_file()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert all("calibration" in r for r in metrics["rows"]["paper"])
    card = model_card(models["level1+report"])
    assert card.evaluation_table == (tmp_path / "table.md").resolve()
    line = card.calibration_line()
    assert "ECE" in line and "held-out cases" in line, line


def test_sequence_dropout_used_the_sequences(models):
    metrics = load_model(models["level1"]).metrics
    assert metrics["sequence_dropout"]["training_cases_with_sequences"] > 20
    assert metrics["calibration"]["n_cases"] >= 5
    assert metrics["calibration"]["selection"]["chosen"] in ("none", "one", "per_pattern")
    assert not metrics["notes"]


def test_a_grouping_file_changes_the_trained_classes(cohort, tmp_path):
    from corebt_viewer.core.labels import LEVEL1_NAMES

    c, embeddings = cohort
    groups = {name: "Glioma, not GBM" for name in LEVEL1_NAMES}
    groups["GBM / IDH-wt HGG"] = "GBM"
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(groups))
    summary = train_model(
        cohort=c,
        task="level1",
        out=tmp_path / "m",
        embeddings=embeddings,
        settings=FAST,
        level1_groups=path,
    )
    assert summary.classes == ("GBM", "Glioma, not GBM")
    assert model_card(summary.out).level1_groups["GBM"] == ("GBM / IDH-wt HGG",)


def test_cross_validation_uses_the_shared_folds(cohort, models, tmp_path):
    c, embeddings = cohort
    result = evaluate_model(
        cohort=c,
        model_dir=models["lgg_hgg"],
        out=tmp_path,
        embeddings=embeddings,
        cv=2,
        repeats=1,
        n_boot=20,
    )
    assert result.cv["shared_folds"] and result.n_cases == len(cohort_split(c).eligible)
    assert json.loads((tmp_path / "metrics.json").read_text())["patients"] == sorted(
        sum(cv_folds(c, k=2, repeats=1)[0], [])
    )
