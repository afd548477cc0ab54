"""``corebt train | evaluate | predict`` on a cohort whose embeddings are generated."""

import json
from pathlib import Path

import pytest

from corebt_viewer.cli.main import build_parser, main
from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.tasks import get_task
from corebt_viewer.fusion.synthetic import make_embeddings
from corebt_viewer.fusion.train import TrainSettings


@pytest.fixture
def fake_cohort(tmp_path, monkeypatch):
    """A cohort in memory; the services get its generated embeddings instead of the cache."""
    import corebt_viewer.fusion.train as train_module
    import corebt_viewer.services.fusion as service

    embeddings, labels = make_embeddings(
        120, n_classes=2, designs={Modality.MRI: "full", Modality.WSI: "full"}, dim=6
    )
    classes = get_task("lgg_hgg").classes
    cases = tuple(
        Case(
            pid,
            mri={"t1": Path("t1.nii.gz")},
            slides=(Path("s.svs"),),
            labels=CaseLabels(who_grade=(2 if labels[pid] == 0 else 4)),
        )
        for pid in sorted(embeddings)
    )
    cohort = Cohort(tmp_path, cases)
    assert cases[0].target(get_task("lgg_hgg")) == labels[cases[0].patient_id]
    monkeypatch.setattr(service, "as_cohort", lambda c: cohort)
    from corebt_viewer.embed.profile import make_profile

    counts = {"mri": len(embeddings), "wsi": len(embeddings)}
    found = service.CohortEmbeddings(make_profile(), embeddings, [], counts, counts)
    monkeypatch.setattr(service, "cohort_embeddings", lambda *a, **k: found)
    monkeypatch.setattr(service, "case_embedding", lambda c, pid, profile, **k: embeddings[pid])
    monkeypatch.setattr(
        train_module, "TrainSettings", lambda: TrainSettings(max_epochs=30, patience=10)
    )
    return tmp_path, classes


def test_commands_are_registered():
    parser = build_parser()
    for command in ("train", "evaluate", "predict"):
        args = parser.parse_args(
            [command, "c", "--task", "level1"]
            if command == "train"
            else [command, "c", "--model", "m", "--out", "o"]
            if command == "evaluate"
            else [command, "c", "--model", "m", "--case", "x"]
        )
        assert callable(args.func)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "c", "--task", "grade9"])


def test_train_evaluate_predict(fake_cohort, capsys):
    root, classes = fake_cohort
    model, report = root / "model", root / "report"
    assert main(["train", str(root), "--task", "lgg_hgg", "--out", str(model), "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "task lgg_hgg" in out and "model saved" in out
    assert main(["evaluate", str(root), "--model", str(model), "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| Fusion (Pathology ablated) |" in out
    assert (report / "table.md").is_file()

    case = json.loads((model / "config.json").read_text())["split"]["test"][0]
    assert main(["predict", str(root), "--model", str(model), "--case", case]) == 0
    out = capsys.readouterr().out
    assert "modality weights" in out and "ablation table" in out and "MRI term by sequence" in out
    assert (
        main(
            [
                "predict",
                str(root),
                "--model",
                str(model),
                "--case",
                case,
                "--without",
                "wsi",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["used"] == ["mri"] and data["predicted"] in classes
    assert set(data["weights"]) == {"mri"}


def test_bad_input_is_a_message_not_a_traceback(fake_cohort, capsys):
    root, _ = fake_cohort
    assert main(["predict", str(root), "--model", str(root / "nothing"), "--case", "x"]) == 2
    assert "no fusion model" in capsys.readouterr().err
    assert (
        main(["predict", str(root), "--model", str(root), "--case", "x", "--without", "brain"]) == 2
    )
    assert "unknown modality" in capsys.readouterr().err
