"""Which MRI role a name plays: T1, T1c, T2, FLAIR or the tumour mask.

A name (a file name, or later a DICOM series description) is read case-insensitively with
``_``, ``-``, ``.`` and spaces as word boundaries. Each role has a list of words; a word
must stand alone (``t1`` does not match inside ``t1c``). Where several words match at
overlapping places the longest wins (``t1_post_gad`` is T1c, not T1); two roles matched at
separate places make the name ambiguous, and it is reported, never guessed.

Examples
--------
>>> match_role("TCGA-DU-7294_t1c_bet.nii.gz").role
't1c'
>>> match_role("TCGA-DU-7294_t1c_bet.nii.gz").prefix
'TCGA-DU-7294'
>>> match_role("brain_t1_post_gad").role
't1c'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Role -> words naming it (the mask role is ``"seg"``), as the issue lists them.
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "t1": ("t1", "t1n", "t1w", "t1_pre", "t1_native"),
    "t1c": ("t1c", "t1ce", "t1gd", "t1post", "t1_post_gad", "t1_post", "t1_contrast", "t1wce"),
    "t2": ("t2", "t2w"),
    "flair": ("flair", "fla", "t2f", "t2_flair"),
    "seg": ("seg", "mask", "label", "labels", "tumor", "tumour"),
}
ROLES: tuple[str, ...] = tuple(ROLE_WORDS)

_SEPARATORS = re.compile(r"[-. ]")
_WORDS = sorted(
    ((word, role) for role, words in ROLE_WORDS.items() for word in words),
    key=lambda item: -len(item[0]),
)
_PATTERN = re.compile(
    "(?:^|(?<=_))(" + "|".join(re.escape(w) for w, _ in _WORDS) + ")(?=_|$)", re.IGNORECASE
)
_ROLE_OF = {word: role for word, role in _WORDS}
_EXTENSIONS = (".nii.gz", ".nii")


@dataclass(frozen=True)
class RoleMatch:
    """How a name matched a role.

    Attributes
    ----------
    role : str or None
        ``"t1"``, ``"t1c"``, ``"t2"``, ``"flair"``, ``"seg"``; ``None`` when no role or
        several roles matched.
    word : str
        The word that matched, as written in the name.
    prefix : str
        What comes before the word, without trailing separators (a case id candidate).
    suffix : str
        What comes after the word (``_bet``, ``_fusion_mav``...), tolerated and kept for
        the explanation.
    reason : str
        One line saying why the role was chosen, or why none was.
    """

    role: str | None
    word: str = ""
    prefix: str = ""
    suffix: str = ""
    reason: str = ""


def strip_extension(name: str) -> str:
    """`name` without ``.nii.gz`` / ``.nii`` (case-insensitive)."""
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return name[: -len(ext)]
    return name


def _matches(stem: str) -> list[re.Match[str]]:
    """Leftmost non-overlapping matches; at one place the longest word wins (sorted first)."""
    normal = _SEPARATORS.sub("_", stem)  # same length: positions map back to `stem`
    return list(_PATTERN.finditer(normal))


def match_role(name: str) -> RoleMatch:
    """The role that `name` names (see the module docstring), with the reason.

    Parameters
    ----------
    name : str
        A file name (extension stripped here) or a series description.
    """
    stem = strip_extension(name)
    matches = _matches(stem)
    if not matches:
        words = ", ".join(sorted({w for ws in ROLE_WORDS.values() for w in ws}))
        return RoleMatch(None, reason=f"no sequence or mask word in the name (known: {words})")
    roles = {_ROLE_OF[m.group(1).lower()] for m in matches}
    masks = [m for m in matches if _ROLE_OF[m.group(1).lower()] == "seg"]
    if len(roles) > 1 and masks:  # "P1_t1c_mask": a mask drawn on T1c is a mask
        first = matches[0]
        prefix = stem[: first.start()].rstrip("_-. ")
        suffix = stem[matches[-1].end() :].lstrip("_-. ")
        reason = f"word {masks[0].group(1)!r} names the mask (other role words read as its source)"
        return RoleMatch("seg", masks[0].group(1), prefix, suffix, reason)
    if len(roles) > 1:
        said = " and ".join(f"{m.group(1)!r} ({_ROLE_OF[m.group(1).lower()]})" for m in matches)
        return RoleMatch(None, reason=f"the name holds words of several roles: {said}")
    first, last = matches[0], matches[-1]
    role = roles.pop()
    prefix = stem[: first.start()].rstrip("_-. ")
    suffix = stem[last.end() :].lstrip("_-. ")
    reason = f"word {first.group(1)!r} names {role}"
    if suffix:
        reason += f" (suffix {suffix!r} ignored)"
    return RoleMatch(role, first.group(1), prefix, suffix, reason)
