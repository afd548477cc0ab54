"""From a generated demo cohort: embed, train, evaluate and predict through the CLI."""

import json

import pytest

from corebt_viewer.cli.main import main


@pytest.mark.slow
def test_demo_cohort_train_evaluate_predict(tmp_path, capsys):
    from corebt_viewer.services.demo import make_demo_cohort

    cohort = make_demo_cohort(out=tmp_path / "demo", patients=12, slide_size=1024, workers=1)
    model, report = tmp_path / "model", tmp_path / "report"
    assert main(["train", str(cohort), "--task", "level1", "--out", str(model)]) == 0  # embeds
    assert main(["evaluate", str(cohort), "--model", str(model), "--out", str(report)]) == 0
    assert "| Fusion (MRI ablated) |" in (report / "table.md").read_text()
    capsys.readouterr()

    config = json.loads((model / "config.json").read_text())
    assert config["modalities"] == ["mri", "wsi"]  # eq. 2 by default
    case = config["split"]["test"][0]
    for without in ("", "mri", "wsi"):
        assert (
            main(
                [
                    "predict",
                    str(cohort),
                    "--model",
                    str(model),
                    "--case",
                    case,
                    "--without",
                    without,
                    "--json",
                ]
            )
            == 0
        )
        data = json.loads(capsys.readouterr().out)
        assert set(data["used"]) == {"mri", "wsi"} - set(without.split(","))
        if "wsi" in data["used"]:
            assert data["tile_contributions"]
