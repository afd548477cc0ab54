"""The label taxonomy of the paper's Table 1 and the WHO CNS grade.

Level-1 classes hold their subtypes with the counts reported in Table 1 (310 patients).
Names are the ones a cohort manifest uses in its ``level1`` and ``subtype`` columns;
matching is case-insensitive and ignores the italic molecular qualifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Subtype:
    """A subtype of a Level-1 class, with its count in the CoRe-BT cohort."""

    name: str
    count: int


@dataclass(frozen=True)
class Level1Class:
    """A Level-1 tumour class of Table 1.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"GBM / IDH-wt HGG"``.
    qualifier : str
        Molecular qualifier printed in italics in Table 1 (may be empty).
    subtypes : tuple of Subtype
        Subtypes with their counts.
    typical_grades : tuple of int
        WHO CNS grades usually seen in this class (used by the demo cohort).
    """

    name: str
    qualifier: str
    subtypes: tuple[Subtype, ...]
    typical_grades: tuple[int, ...]

    @property
    def total(self) -> int:
        """Number of patients of this class in the paper's cohort."""
        return sum(s.count for s in self.subtypes)

    def subtype(self, name: str) -> Subtype:
        """Return the subtype called `name` (case-insensitive)."""
        key = _normalise(name)
        for sub in self.subtypes:
            if _normalise(sub.name) == key:
                return sub
        known = ", ".join(s.name for s in self.subtypes)
        raise KeyError(f"unknown subtype {name!r} for {self.name!r}; known: {known}")


def _normalise(text: str) -> str:
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


LEVEL1_CLASSES: tuple[Level1Class, ...] = (
    Level1Class(
        "GBM / IDH-wt HGG",
        "",
        (
            Subtype("GBM", 153),
            Subtype("recurrent", 17),
            Subtype("treatment-related", 1),
            Subtype("HGG NOS", 1),
            Subtype("rare", 4),
        ),
        (4,),
    ),
    Level1Class("IDH-mutant Astrocytoma", "", (Subtype("Astrocytoma, IDH-mutant", 71),), (2, 3, 4)),
    Level1Class(
        "Oligodendroglioma",
        "1p/19q-codel., IDH-mut.",
        (Subtype("Oligodendroglioma", 30), Subtype("Oligosarcoma", 1)),
        (2, 3),
    ),
    Level1Class(
        "Circumscribed Astrocytic Glioma",
        "MAPK-driven",
        (Subtype("Pilocytic", 8), Subtype("recurrent", 3), Subtype("BRAF-fusion", 2)),
        (1,),
    ),
    Level1Class(
        "Midline / H3-altered Glioma",
        "",
        (Subtype("Diffuse midline", 8), Subtype("H3-3A mutant", 1)),
        (4,),
    ),
    Level1Class(
        "Glioneuronal / Neuronal Tumors",
        "",
        (Subtype("SEGA", 3), Subtype("RGNT", 2), Subtype("Ganglioglioma", 1)),
        (1,),
    ),
    Level1Class("Pediatric Diffuse Astrocytoma", "", (Subtype("MYB/MYBL1-altered", 1),), (1,)),
    Level1Class(
        "Other / NEC",
        "",
        (
            Subtype("Low-grade glial NEC", 1),
            Subtype("NTRK-fusion", 1),
            Subtype("NF1-inactivated", 1),
        ),
        (1, 2),
    ),
)

LEVEL1_NAMES: tuple[str, ...] = tuple(c.name for c in LEVEL1_CLASSES)

WHO_GRADES: tuple[int, ...] = (1, 2, 3, 4)


def level1_by_name(name: str) -> Level1Class:
    """Return the Level-1 class called `name` (case-insensitive, qualifiers ignored).

    Raises
    ------
    KeyError
        If no class of Table 1 has that name.
    """
    key = _normalise(name)
    for cls in LEVEL1_CLASSES:
        if _normalise(cls.name) == key or _normalise(f"{cls.name} {cls.qualifier}") == key:
            return cls
    raise KeyError(f"unknown Level-1 class {name!r}; known: {', '.join(LEVEL1_NAMES)}")


def parse_who_grade(text: str | int | None) -> int | None:
    """Parse a WHO CNS grade written as ``4``, ``"4"``, ``"IV"`` or ``"grade 4"``.

    Empty input gives ``None`` (unlabelled). Anything else outside 1-4 raises ValueError.
    """
    if text is None:
        return None
    if isinstance(text, int):
        grade = text
    else:
        key = text.strip().lower().removeprefix("who").strip().removeprefix("cns").strip()
        key = key.removeprefix("grade").strip()
        if not key:
            return None
        roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
        if key in roman:
            grade = roman[key]
        else:
            try:
                grade = int(float(key))
            except ValueError:
                raise ValueError(f"WHO grade {text!r} is not a number 1-4") from None
    if grade not in WHO_GRADES:
        raise ValueError(f"WHO grade {text!r} is outside 1-4")
    return grade
