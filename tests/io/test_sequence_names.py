"""Sequence words on word boundaries, case-insensitive, suffixes tolerated."""

from __future__ import annotations

import pytest

from corebt_viewer.io.sequence_names import ROLE_WORDS, match_role

ISSUE_WORDS = {
    "t1": ["t1", "t1n", "t1w", "t1_pre"],
    "t1c": ["t1c", "t1ce", "t1gd", "t1post", "t1_post_gad", "t1-contrast"],
    "t2": ["t2", "t2w"],
    "flair": ["flair", "fla", "t2f"],
    "seg": ["seg", "mask", "label", "tumor"],
}


@pytest.mark.parametrize("role", list(ISSUE_WORDS))
def test_every_word_of_the_issue_in_every_style(role):
    for word in ISSUE_WORDS[role]:
        for name in (
            f"{word}.nii.gz",
            f"{word.upper()}.nii",
            f"P001_{word}.nii.gz",
            f"P001-{word}.nii.gz",
            f"P001_{word}_bet.nii.gz",
            f"P001 {word.title()} registered.nii.gz",
        ):
            got = match_role(name)
            assert got.role == role, (name, got)
            expected_prefix = "" if name.lower().startswith(word.lower()[:2]) else "P001"
            assert got.prefix == expected_prefix, (name, got)


def test_word_boundaries_and_reasons():
    assert match_role("TCGA-DU-7294_t1c_bet.nii.gz").role == "t1c"  # t1 is not inside t1c
    assert match_role("TCGA-DU-7294_t1_bet.nii.gz").role == "t1"
    tcia = match_role("TCGA-DU-7294_seg_fusion_mav.nii.gz")
    assert (tcia.role, tcia.prefix, tcia.suffix) == ("seg", "TCGA-DU-7294", "fusion_mav")
    assert "suffix 'fusion_mav' ignored" in tcia.reason
    assert match_role("brain_t1_post_gad.nii.gz").word == "t1_post_gad"  # longest word wins
    assert match_role("subject_t12.nii.gz").role is None  # no word t1 inside t12
    assert match_role("flairy.nii.gz").role is None
    both = match_role("P1_t1_t2.nii.gz")
    assert both.role is None and "several roles" in both.reason and "'t1'" in both.reason
    none = match_role("localizer.nii.gz")
    assert none.role is None and "no sequence or mask word" in none.reason
    assert match_role("P1_t1c_mask.nii.gz").role == "seg"  # a mask drawn on the T1c
    assert set(ROLE_WORDS) == {"t1", "t1c", "t2", "flair", "seg"}
