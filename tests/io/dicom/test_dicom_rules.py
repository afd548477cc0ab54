"""Sequence rules on series descriptions and timings (no files)."""

from __future__ import annotations

import pytest

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom import DicomSeries, classify


def series(description="", protocol="", image_type=("ORIGINAL", "PRIMARY", "M"), **kw):
    values = dict(
        uid="1.2",
        number=1,
        description=description,
        protocol=protocol,
        sequence_name="",
        scanning_sequence="SE",
        sequence_variant="",
        acquisition_type="2D",
        image_type=image_type,
        modality="MR",
        contrast_agent="",
        echo_time=None,
        repetition_time=None,
        inversion_time=None,
        files=(),
        n_frames=20,
        rows=64,
        columns=64,
        enhanced=False,
    )
    values.update(kw)
    return DicomSeries(**values)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("AX T1 SE", Sequence.T1),
        ("t1_mprage_sag_p2_iso", Sequence.T1),
        ("T1 AX POST GAD", Sequence.T1C),
        ("Ax T1+C", Sequence.T1C),
        ("t1ce", Sequence.T1C),
        ("AX T2 FLAIR", Sequence.FLAIR),
        ("t2_tirm_tra_dark-fluid", Sequence.FLAIR),
        ("Ax T2 FSE", Sequence.T2),
        ("t2w_tse", Sequence.T2),
        ("AX T1 FLAIR", Sequence.T1),  # GE's T1-weighted FLAIR
        ("SAG T1 FLAIR +C", Sequence.T1C),
        ("AX T2 FLAIR", Sequence.FLAIR),
    ],
)
def test_names(description, expected):
    assert classify(series(description)).sequence is expected


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (dict(echo_time=110.0, repetition_time=9000.0, inversion_time=2500.0), Sequence.FLAIR),
        (dict(echo_time=95.0, repetition_time=4000.0), Sequence.T2),
        (dict(echo_time=10.0, repetition_time=450.0), Sequence.T1),
        (dict(echo_time=10.0, repetition_time=450.0, contrast_agent="Dotarem"), Sequence.T1C),
        (dict(echo_time=40.0, repetition_time=1200.0), None),
    ],
)
def test_timings(kw, expected):
    result = classify(series("Brain 3", **kw))
    assert result.sequence is expected and not result.skipped


def test_pre_in_the_name_wins_over_the_contrast_tag():
    result = classify(series("T1 AX PRE", contrast_agent="Gadovist"))
    assert result.sequence is Sequence.T1
    assert "name says 'PRE'" in result.reason


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        (dict(description="Survey_32ch"), "localizer"),
        (dict(description="AX T1", image_type=("DERIVED", "PRIMARY", "MPR")), "derived"),
        (dict(description="T1 AX", image_type=("ORIGINAL", "SECONDARY")), "derived"),
        (dict(description="ep2d_diff_3scan_trace_p2 ADC"), "not a structural sequence"),
        (dict(description="AX SWI"), "not a structural sequence"),
        (dict(description="AX T2* GRE"), "not a structural sequence ('T2*'"),
        (dict(description="T1", modality="CT"), "Modality CT"),
    ],
)
def test_skips_say_why(kw, fragment):
    result = classify(series(**kw))
    assert result.skipped and result.sequence is None
    assert fragment in result.reason


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (dict(sequence_name="*tfl3d1_16ns"), Sequence.T1),
        (dict(sequence_name="*tir2d1_15", inversion_time=2500.0), Sequence.FLAIR),
        (dict(sequence_name="*tir2d1_15", inversion_time=800.0), None),
    ],
)
def test_siemens_sequence_names(kw, expected):
    result = classify(series("Brain 3", **kw))
    assert result.sequence is expected
    if expected is not None:
        assert "SequenceName" in result.reason
