"""Modalities of a case and the MRI sequences."""

from __future__ import annotations

from enum import Enum


class Modality(str, Enum):
    """The three modalities of the paper (section 3.1)."""

    MRI = "mri"
    WSI = "wsi"
    REPORT = "report"

    @property
    def title(self) -> str:
        """Human-readable name, as used in the paper's tables."""
        return {"mri": "MRI", "wsi": "Pathology", "report": "Report"}[self.value]

    @classmethod
    def parse(cls, text: str) -> Modality:
        """Parse a modality name, accepting common aliases (``pathology``, ``text``...)."""
        key = text.strip().lower()
        aliases = {
            "mri": cls.MRI,
            "radiology": cls.MRI,
            "wsi": cls.WSI,
            "pathology": cls.WSI,
            "histo": cls.WSI,
            "slide": cls.WSI,
            "slides": cls.WSI,
            "report": cls.REPORT,
            "text": cls.REPORT,
            "txt": cls.REPORT,
        }
        if key not in aliases:
            raise ValueError(f"unknown modality {text!r}; expected one of mri, wsi, report")
        return aliases[key]

    @classmethod
    def parse_list(cls, text: str | None) -> frozenset[Modality]:
        """Parse a comma-separated list such as ``"wsi,report"`` (empty -> no modality)."""
        if not text:
            return frozenset()
        return frozenset(cls.parse(part) for part in text.split(",") if part.strip())


ALL_MODALITIES: tuple[Modality, ...] = (Modality.MRI, Modality.WSI, Modality.REPORT)


class Sequence(str, Enum):
    """The four structural MRI sequences of the BraTS protocol."""

    T1 = "t1"
    T1C = "t1c"
    T2 = "t2"
    FLAIR = "flair"

    @property
    def title(self) -> str:
        """Display name (``T1``, ``T1c``, ``T2``, ``FLAIR``)."""
        return {"t1": "T1", "t1c": "T1c", "t2": "T2", "flair": "FLAIR"}[self.value]


MRI_SEQUENCES: tuple[Sequence, ...] = (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR)
