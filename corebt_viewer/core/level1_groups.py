"""Which Table 1 groups make each class of the Level-1 task (numpy-free, plain data).

The paper evaluates "Level 1" as four classes but Table 1 lists eight source groups. The
default grouping keeps the three largest groups (GBM / IDH-wt HGG, IDH-mutant astrocytoma,
oligodendroglioma: 278 of 310 patients) and merges the five small ones (32 patients, none
with more than 13) into ``"Other glioma"``: a class of 1-13 patients cannot be trained or
evaluated on its own. See ``docs/level1-grouping.md`` for what that merge mixes (WHO grade 1
pilocytic tumours with grade 4 H3-altered gliomas) and how to change it.

A grouping maps every Table 1 group to a class name; the classes keep the order in which
they first appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from corebt_viewer.core.labels import LEVEL1_CLASSES, level1_by_name

OTHER_GLIOMA = "Other glioma"


class GroupingError(ValueError):
    """A Level-1 grouping that misses a Table 1 group, names an unknown one, or is empty."""


@dataclass(frozen=True)
class Level1Grouping:
    """A map from every Table 1 group (canonical name) to a class name.

    Attributes
    ----------
    mapping : tuple of (str, str)
        (source group, class) pairs, one per Table 1 group, in Table 1 order.
    classes : tuple of str
        Class names in index order.
    """

    mapping: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.mapping)

    def groups_of(self, class_name: str) -> tuple[str, ...]:
        """The Table 1 groups that make class `class_name`."""
        return tuple(group for group, cls in self.mapping if cls == class_name)

    def members(self) -> dict[str, tuple[str, ...]]:
        """Class name -> the Table 1 groups it is made of (in class order)."""
        return {cls: self.groups_of(cls) for cls in self.classes}

    def to_json(self) -> dict:
        return {"classes": list(self.classes), "groups": self.as_dict()}

    def describe(self) -> list[str]:
        """One line per class: ``"Other glioma <- Circumscribed ..., Midline ..."``."""
        totals = {c.name: c.total for c in LEVEL1_CLASSES}
        lines = []
        for cls, groups in self.members().items():
            parts = ", ".join(f"{g} ({totals[g]})" for g in groups)
            lines.append(f"{cls} <- {parts}")
        return lines


def make_grouping(pairs: Mapping[str, str] | list[tuple[str, str]]) -> Level1Grouping:
    """Check and build a grouping from (source group -> class) pairs.

    Group names are matched as :func:`corebt_viewer.core.labels.level1_by_name` does.

    Raises
    ------
    GroupingError
        When a Table 1 group is missing, a name is unknown or given twice, or a class name
        is empty.
    """
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
    given: dict[str, str] = {}
    order: list[str] = []
    for group, cls in items:
        try:
            name = level1_by_name(str(group)).name
        except KeyError as exc:
            raise GroupingError(str(exc.args[0])) from None
        cls = str(cls).strip()
        if not cls:
            raise GroupingError(f"group {name!r} is mapped to an empty class name")
        if name in given:
            raise GroupingError(f"group {name!r} is given twice")
        given[name] = cls
        if cls not in order:
            order.append(cls)
    missing = [c.name for c in LEVEL1_CLASSES if c.name not in given]
    if missing:
        raise GroupingError(
            "the grouping misses Table 1 group(s): "
            + "; ".join(missing)
            + " (every group must be assigned a class)"
        )
    if len(order) < 2:
        raise GroupingError("a grouping needs at least two classes")
    mapping = tuple((c.name, given[c.name]) for c in LEVEL1_CLASSES)
    return Level1Grouping(mapping, tuple(order))


def default_grouping(n_kept: int = 3) -> Level1Grouping:
    """The `n_kept` largest Table 1 groups (by patient count) plus ``"Other glioma"``."""
    if not 1 <= n_kept < len(LEVEL1_CLASSES):
        raise ValueError(f"n_kept must be between 1 and {len(LEVEL1_CLASSES) - 1}")
    ranked = sorted(LEVEL1_CLASSES, key=lambda c: -c.total)
    kept = [c.name for c in ranked[:n_kept]]
    pairs = [(c.name, c.name) for c in ranked[:n_kept]]
    pairs += [(c.name, OTHER_GLIOMA) for c in LEVEL1_CLASSES if c.name not in kept]
    return make_grouping(pairs)


def grouping_from_json(data: Mapping) -> Level1Grouping:
    """A grouping from :meth:`Level1Grouping.to_json` (as saved in a model)."""
    grouping = make_grouping(dict(data["groups"]))
    classes = tuple(data.get("classes", grouping.classes))
    if sorted(classes) != sorted(grouping.classes):
        raise GroupingError("saved classes do not match the saved groups")
    return Level1Grouping(grouping.mapping, classes)
