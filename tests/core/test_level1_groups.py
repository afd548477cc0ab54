"""Level-1 grouping: visible, changeable, and complete."""

import json

import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.labels import LEVEL1_NAMES
from corebt_viewer.core.level1_groups import OTHER_GLIOMA, default_grouping
from corebt_viewer.core.tasks import get_task
from corebt_viewer.io.level1_groups import read_level1_groups


def test_default_keeps_three_largest_and_lists_the_merged_groups():
    grouping = default_grouping()
    assert grouping.classes == get_task("level1").classes
    members = grouping.members()
    assert members["GBM / IDH-wt HGG"] == ("GBM / IDH-wt HGG",)
    assert len(members[OTHER_GLIOMA]) == 5
    assert "Midline / H3-altered Glioma" in members[OTHER_GLIOMA]
    assert any("Other glioma <- " in line for line in grouping.describe())


def low_high(extra=None):
    mapping = {name: "Other glioma" for name in LEVEL1_NAMES}
    mapping.update({n: n for n in LEVEL1_NAMES[:3]})
    mapping["Circumscribed Astrocytic Glioma"] = "Low-grade circumscribed"
    mapping["Glioneuronal / Neuronal Tumors"] = "Low-grade circumscribed"
    mapping.update(extra or {})
    return mapping


def test_a_json_or_csv_grouping_changes_the_classes(tmp_path):
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(low_high()))
    task = get_task("level1", read_level1_groups(path))
    assert "Low-grade circumscribed" in task.classes and len(task.classes) == 5
    assert task.class_name("Circumscribed Astrocytic Glioma", None) == "Low-grade circumscribed"
    assert task.class_name("Midline / H3-altered Glioma", None) == "Other glioma"
    csv = tmp_path / "groups.csv"
    csv.write_text("group,class\n" + "".join(f'"{g}","{c}"\n' for g, c in low_high().items()))
    assert read_level1_groups(csv).classes == task.classes


def test_a_missing_or_unknown_group_is_refused(tmp_path):
    mapping = low_high()
    del mapping["Pediatric Diffuse Astrocytoma"]
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(mapping))
    with pytest.raises(InputError, match="Pediatric Diffuse Astrocytoma") as info:
        read_level1_groups(path)
    assert info.value.path == path
    path.write_text(json.dumps(low_high({"Ependymoma": "Other glioma"})))
    with pytest.raises(InputError, match="Ependymoma"):
        read_level1_groups(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        read_level1_groups(path)


def test_info_lists_the_groups_of_each_class_and_takes_a_grouping(tmp_path, capsys):
    from corebt_viewer.cli.main import main

    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "patient_id,level1,who_grade\nA,Pilocytic,1\nB,GBM / IDH-wt HGG,4\n".replace(
            "Pilocytic", "Circumscribed Astrocytic Glioma"
        )
    )
    assert main(["info", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "Other glioma <- Circumscribed Astrocytic Glioma; Midline" in out
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps(low_high()))
    assert main(["info", "--json", "--level1-groups", str(groups), str(manifest)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classes"]["level1"]["Low-grade circumscribed"] == 1
    assert data["level1_groups"]["Low-grade circumscribed"][0] == "Circumscribed Astrocytic Glioma"
    groups.write_text(json.dumps({"GBM / IDH-wt HGG": "GBM"}))
    assert main(["info", "--level1-groups", str(groups), str(manifest)]) == 2
    assert "misses Table 1 group" in capsys.readouterr().err
