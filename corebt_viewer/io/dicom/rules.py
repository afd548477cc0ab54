"""Which structural sequence a DICOM series holds, by rules the user can read.

Order of the rules:

1. not MR, localizer, derived/secondary or reformatted images, and non-structural
   sequences (diffusion, perfusion, susceptibility...) are skipped with the reason;
2. names in SeriesDescription, ProtocolName and SequenceName (word boundaries, any case);
3. otherwise the timing: EchoTime, RepetitionTime, InversionTime (ms);
4. T1 becomes T1c when the names say contrast, or ContrastBolusAgent is set and the
   names do not say "pre".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corebt_viewer.core.modalities import Sequence
from corebt_viewer.io.dicom.series import DicomSeries


@dataclass(frozen=True)
class Classification:
    """What the rules say about one series.

    Attributes
    ----------
    sequence : Sequence or None
        The role, or ``None`` when skipped or not recognised.
    skipped : bool
        True for localizers, derived and non-structural series.
    reason : str
        Which tags decided, in words.
    """

    sequence: Sequence | None
    skipped: bool
    reason: str


def _words(*patterns: str) -> re.Pattern:
    # a match may not touch a letter or digit on either side ("_", "-", "+", " " separate)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])", re.I)


_LOCALIZER = _words(r"loc\w*", "scout", "survey", "3.?plane", "tri.?pilot", "localizer", "aahscout")
_NON_STRUCTURAL = _words(
    "t2\\*",
    "t2.?star",
    "hemo\\w*",
    "adc",
    "dwi",
    "diff\\w*",
    "trace\\w*",
    "tracew",
    "fa",
    "dti",
    "perf\\w*",
    "dsc",
    "dce",
    "asl",
    "pcasl",
    "swi",
    "swan",
    "cbf",
    "cbv",
    "mtt",
    "ttp",
    "rcbv",
    "mip",
    "mpr",
    "sub",
    "subtraction",
    "reformat\\w*",
    "fieldmap",
    "field.?map",
    "b0",
    "spectro\\w*",
    "svs",
    "csi",
)
_DERIVED_TYPES = {
    "DERIVED",
    "SECONDARY",
    "LOCALIZER",
    "MPR",
    "MIP",
    "PROJECTION IMAGE",
    "REFORMATTED",
    "ADC",
    "TRACEW",
    "FA",
    "SUBTRACTION",
    "DIFFUSION",
    "PERFUSION",
}
_FLAIR = _words("flair", "fla", "t2f", "t2.?flair", "tirm", "dark.?fluid", "t2.?fl")
_T2 = _words("t2", "t2w", "t2.?tse", "t2.?fse", "tse.?t2", "fse.?t2")
_T1C = _words("t1c", "t1ce", "t1gd", "t1.?post", "t1.?post.?gad", "t1.?contrast", "t1.?\\+c")
_T1 = _words(
    "t1",
    "t1w",
    "t1n",
    "t1.?pre",
    "mprage",
    "mp.?rage",
    "spgr",
    "bravo",
    "tfl",
    "t1.?tse",
    "t1.?se",
    "ir.?fspgr",
    "vibe",
)
_CONTRAST = _words("post", "gad\\w*", "gd", "c\\+", "\\+c", "contrast", "ce", "mdc", "kontrast")
_PRE = _words("pre", "precontrast", "pre.?contrast", "native", "nativ", "sans")


def _skip_reason(series: DicomSeries, text: str) -> str | None:
    if series.modality and series.modality.upper() != "MR":
        return f"Modality {series.modality}, not MR"
    types = set(series.image_type)
    if "LOCALIZER" in types:
        return "ImageType says LOCALIZER"
    match = _LOCALIZER.search(text)
    if match:
        return f"a localizer ('{match.group(0)}' in its name)"
    if series.image_type[:1] == ("DERIVED",) or "SECONDARY" in series.image_type[:2]:
        return f"derived image (ImageType {'/'.join(series.image_type)})"
    flagged = sorted(types & _DERIVED_TYPES)
    if flagged:
        return f"derived or reformatted image (ImageType holds {', '.join(flagged)})"
    match = _NON_STRUCTURAL.search(text)
    if match:
        return f"not a structural sequence ('{match.group(0)}' in its name)"
    return None


def _by_timing(series: DicomSeries) -> tuple[Sequence | None, str]:
    te, tr, ti = series.echo_time, series.repetition_time, series.inversion_time
    if te is None or tr is None:
        return None, "no name matched and EchoTime/RepetitionTime are missing"
    timing = f"TE {te:g} ms, TR {tr:g} ms" + (f", TI {ti:g} ms" if ti else "")
    if ti and ti >= 1500 and te >= 60:
        return Sequence.FLAIR, f"{timing}: long inversion and echo (FLAIR timing)"
    if te >= 60 and tr >= 1500 and not ti:
        return Sequence.T2, f"{timing}: long echo and repetition (T2 timing)"
    if te <= 30 and (tr <= 1000 or (ti and 300 <= ti <= 1500)):
        return Sequence.T1, f"{timing}: short echo (T1 timing)"
    return None, f"{timing}: no rule matched these timings"


_SIEMENS_TFL = re.compile(r"^\*?tfl", re.I)
_SIEMENS_TIR = re.compile(r"^\*?tir", re.I)


def _by_sequence_name(series: DicomSeries) -> tuple[Sequence | None, str]:
    """Siemens sequence names: ``*tfl...`` (MPRAGE), ``*tir...`` with a long TI (FLAIR)."""
    name = series.sequence_name.strip()
    if _SIEMENS_TFL.match(name):
        return Sequence.T1, f"SequenceName '{name}' is a TurboFLASH (MPRAGE) sequence: T1"
    ti = series.inversion_time
    if _SIEMENS_TIR.match(name) and ti is not None and ti >= 1500:
        return (
            Sequence.FLAIR,
            f"SequenceName '{name}' is an inversion recovery, TI {ti:g} ms: FLAIR",
        )
    return None, ""


def classify(series: DicomSeries) -> Classification:
    """Assign `series` to T1, T1c, T2 or FLAIR, or say why it is skipped or unknown."""
    names = [
        ("SeriesDescription", series.description),
        ("ProtocolName", series.protocol),
        ("SequenceName", series.sequence_name),
    ]
    text = " ".join(value for _, value in names)
    reason = _skip_reason(series, text)
    if reason is not None:
        return Classification(None, True, reason)
    sequence = None
    for tag, value in names:
        for pattern, candidate in (
            (_FLAIR, Sequence.FLAIR),
            (_T1C, Sequence.T1C),
            (_T2, Sequence.T2),
            (_T1, Sequence.T1),
        ):
            match = pattern.search(value)
            if match:
                sequence = candidate
                why = f"{tag} '{value}' names {candidate.title} ('{match.group(0)}')"
                t1 = _T1.search(value)
                if candidate is Sequence.FLAIR and t1 is not None and not _T2.search(value):
                    sequence = Sequence.T1
                    why += f" with '{t1.group(0)}': a T1-weighted FLAIR, so T1"
                break
        if sequence is not None:
            break
    if sequence is None:
        sequence, why = _by_sequence_name(series)
    if sequence is None:
        sequence, why = _by_timing(series)
        if sequence is None:
            return Classification(None, False, why)
    if sequence is Sequence.T1:
        contrast = next((m for m in (_CONTRAST.search(v) for _, v in names) if m), None)
        pre = next((m for m in (_PRE.search(v) for _, v in names) if m), None)
        if contrast is not None and pre is None:
            sequence = Sequence.T1C
            why += f"; contrast named ('{contrast.group(0)}'): T1c"
        elif series.contrast_agent and pre is None:
            sequence = Sequence.T1C
            why += "; ContrastBolusAgent is set: T1c"
        elif series.contrast_agent:
            why += f"; ContrastBolusAgent is set but the name says '{pre.group(0)}': T1"
    return Classification(sequence, False, why)
