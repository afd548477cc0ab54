import numpy as np
import pytest

from corebt_viewer.core import Case, CaseLabels, Cohort, Modality, Sequence, get_task
from corebt_viewer.core.labels import LEVEL1_CLASSES, level1_by_name, parse_who_grade
from corebt_viewer.core.segmentation import (
    LabelConvention,
    Region,
    SegmentationLabelError,
    detect_convention,
    from_canonical,
    region_volumes_ml,
    to_canonical,
)


def test_table1_counts_match_the_paper():
    totals = {c.name: c.total for c in LEVEL1_CLASSES}
    assert totals["GBM / IDH-wt HGG"] == 176
    assert totals["IDH-mutant Astrocytoma"] == 71
    assert totals["Oligodendroglioma"] == 31
    assert sum(totals.values()) == 310
    assert len(LEVEL1_CLASSES) == 8


def test_level1_names_are_matched_leniently():
    assert level1_by_name("oligodendroglioma (1p/19q-codel., IDH-mut.)").name == "Oligodendroglioma"
    with pytest.raises(KeyError, match="unknown Level-1"):
        level1_by_name("Meningioma")


def test_tasks_map_labels():
    level1 = get_task("level1")
    assert level1.classes == (
        "GBM / IDH-wt HGG",
        "IDH-mutant Astrocytoma",
        "Oligodendroglioma",
        "Other glioma",
    )
    assert level1.class_name("Midline / H3-altered Glioma", 4) == "Other glioma"
    who = get_task("who_grade")
    assert [who.class_index(None, g) for g in (1, 2, 3, 4)] == [0, 0, 1, 2]
    lgg = get_task("lgg_hgg")
    assert [lgg.class_name(None, g) for g in (1, 2, 3, 4)] == ["LGG", "LGG", "HGG", "HGG"]
    assert lgg.class_index(None, None) is None


def test_who_grade_parsing():
    assert parse_who_grade("IV") == 4
    assert parse_who_grade("grade 2") == 2
    assert parse_who_grade("") is None
    with pytest.raises(ValueError):
        parse_who_grade("5")


def test_case_modalities_and_targets(tmp_path):
    case = Case(
        "P1",
        mri={Sequence.T1: tmp_path / "t1.nii.gz", Sequence.FLAIR: tmp_path / "f.nii.gz"},
        report=tmp_path / "r.txt",
        labels=CaseLabels("Oligodendroglioma", "Oligodendroglioma", 2),
    )
    assert case.modalities == {Modality.MRI, Modality.REPORT}
    assert case.missing_sequences == (Sequence.T1C, Sequence.T2)
    assert case.target(get_task("level1")) == 2
    assert case.target(get_task("lgg_hgg")) == 0
    cohort = Cohort(tmp_path, (case, Case("P2")))
    assert cohort.class_counts(get_task("level1"))["unlabelled"] == 1
    with pytest.raises(ValueError, match="duplicate"):
        Cohort(tmp_path, (case, case))


def test_brats_conventions_round_trip():
    old = np.array([0, 1, 2, 4, 4], dtype=np.int16)
    assert detect_convention(old) is LabelConvention.BRATS_2021
    canon = to_canonical(old, LabelConvention.BRATS_2021)
    assert canon.tolist() == [0, 1, 2, 3, 3]
    assert detect_convention(np.array([0, 3])) is LabelConvention.BRATS_2023
    assert from_canonical(canon, LabelConvention.BRATS_2021, np.int16).tolist() == old.tolist()
    with pytest.raises(SegmentationLabelError, match="unknown"):
        detect_convention(np.array([0, 5]))
    with pytest.raises(SegmentationLabelError, match="both"):
        detect_convention(np.array([3, 4]))


def test_region_volumes_in_ml():
    mask = np.zeros((10, 10, 10), np.uint8)
    mask[:5] = Region.OEDEMA
    vols = region_volumes_ml(mask, (2.0, 1.0, 1.0))
    assert vols[Region.OEDEMA] == pytest.approx(1.0)
    assert vols[Region.ENHANCING] == 0.0
