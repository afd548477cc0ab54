"""Reading a Level-1 grouping file: which class each Table 1 group belongs to.

Two forms are accepted:

* JSON: ``{"GBM / IDH-wt HGG": "GBM", ...}`` or ``{"groups": {...}}``;
* CSV with a header row naming the columns ``group`` (or ``source_group``) and ``class``.

Every one of the eight Table 1 groups must be assigned a class; a missing or unknown group
is an error naming the file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.level1_groups import GroupingError, Level1Grouping, make_grouping


def _pairs_from_json(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(path, f"not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("groups"), dict):
        data = data["groups"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InputError(path, 'expected {"<Table 1 group>": "<class>", ...}')
    return [(str(k), v) for k, v in data.items()]


def _pairs_from_csv(path: Path, text: str) -> list[tuple[str, str]]:
    reader = csv.DictReader(text.splitlines())
    fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
    group = fields.get("group") or fields.get("source_group")
    cls = fields.get("class")
    if group is None or cls is None:
        raise InputError(path, "a CSV grouping needs a header with columns 'group' and 'class'")
    pairs = []
    for n, row in enumerate(reader, start=2):
        g, c = (row.get(group) or "").strip(), (row.get(cls) or "").strip()
        if not g and not c:
            continue
        if not g or not c:
            raise InputError(path, f"line {n}: both a group and a class are needed")
        pairs.append((g, c))
    return pairs


def read_level1_groups(path: str | Path) -> Level1Grouping:
    """Read and check a grouping file (JSON or CSV, chosen by the extension)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "no such grouping file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the grouping file: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        pairs = _pairs_from_json(path, text)
    elif suffix in (".csv", ".tsv", ".txt"):
        pairs = _pairs_from_csv(path, text)
    else:
        raise InputError(path, "a grouping file must be .json or .csv")
    try:
        return make_grouping(pairs)
    except GroupingError as exc:
        raise InputError(path, str(exc)) from None
