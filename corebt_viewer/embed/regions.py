"""Regions that steer embedding: keep the tiles inside chosen classes, drop artefacts.

"Embed only inside the annotated tumour": a tile is kept when its centre lies inside a
region of one of the chosen classes (``keep_classes``); a tile that overlaps an
``artefact`` region is always removed, whatever else is chosen. The selection comes with a
small JSON-able record for the embedding profile, so a cached result says which regions
(file, version, hash) restricted it.

Point and box tests run through a shapely STR tree (vectorised), fast for thousands of
regions and tiles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from corebt_viewer.core.annotations import ARTEFACT, SlideAnnotations, class_aliases
from corebt_viewer.core.errors import InputError
from corebt_viewer.embed.tiling import TileGrid

#: How a tile is judged inside a kept class, and inside an artefact (the record says so).
KEEP_RULE = "tile-centre-inside"
REMOVE_RULE = "tile-overlaps"


@dataclass(frozen=True)
class RegionSelection:
    """Which tiles of a grid the regions keep.

    Attributes
    ----------
    keep : ndarray of bool, shape (n_tiles,)
    record : dict
        What was applied (JSON-able): ``keep_classes``, ``remove_classes``, the rules, the
        annotation file's name, version and sha256, ``regions_used`` and ``tiles_before`` /
        ``tiles_after`` / ``tiles_removed_by_artefact``.
    """

    keep: np.ndarray
    record: dict

    @property
    def restricted(self) -> bool:
        """True when the regions left out at least one tile (panels say so)."""
        return bool((~self.keep).any())


def select_tiles_by_regions(
    grid: TileGrid,
    annotations: SlideAnnotations,
    *,
    keep_classes: tuple[str, ...] | None = ("tumour",),
    remove_classes: tuple[str, ...] = (ARTEFACT,),
    source: dict | None = None,
) -> RegionSelection:
    """Tiles to keep given a slide's regions.

    Parameters
    ----------
    grid : TileGrid
        Level-0 top-left corners and the level-0 tile side.
    annotations : SlideAnnotations
    keep_classes : tuple of str or None
        Keep tiles whose centre lies inside a region of these classes (case-insensitive;
        "tumour" also matches QuPath's "Tumor"). ``None`` keeps every tile (only the
        removal applies).
    remove_classes : tuple of str
        Tiles overlapping a region of these classes are removed. ``artefact`` is always
        among them.
    source : dict, optional
        Where the regions came from, copied into the record: e.g. ``{"file": name,
        "version": 3, "sha256": ...}`` (see :func:`annotation_source`).

    Returns
    -------
    RegionSelection

    Raises
    ------
    InputError
        When `keep_classes` names classes that no region has (embedding nothing, or
        everything, by mistake is worse than stopping).
    """
    remove = tuple(dict.fromkeys((*remove_classes, ARTEFACT)))
    n = len(grid)
    side = float(grid.tile_size_level0)
    coords = np.asarray(grid.coords, dtype=np.float64).reshape(-1, 2)
    keep = np.ones(n, dtype=bool)
    kept_regions = ()
    if keep_classes is not None:
        keep_classes = tuple(keep_classes)
        kept_regions = _regions_of(annotations, keep_classes, excluding=remove)
        if not kept_regions:
            where = (source or {}).get("file", "the slide's annotations")
            present = ", ".join(annotations.class_names_present()) or "none"
            raise InputError(
                None,
                f"{where}: no region of class {', '.join(keep_classes)} to embed inside "
                f"(classes there: {present})",
            )
        from corebt_viewer.io.annotations.geometry import contains_points

        centre = coords + side / 2.0
        keep = contains_points(kept_regions, centre[:, 0], centre[:, 1])
    removing = annotations.of_classes(remove)
    removed = np.zeros(n, dtype=bool)
    if removing and n:
        from corebt_viewer.io.annotations.geometry import intersects_boxes

        boxes = np.concatenate([coords, coords + side], axis=1)
        removed = intersects_boxes(removing, boxes)
    by_artefact = int((keep & removed).sum())
    keep &= ~removed
    record = {
        "keep_classes": list(keep_classes) if keep_classes is not None else None,
        "remove_classes": list(remove),
        "keep_rule": KEEP_RULE,
        "remove_rule": REMOVE_RULE,
        "regions_used": len(kept_regions) + len(removing),
        "tiles_before": int(n),
        "tiles_after": int(keep.sum()),
        "tiles_removed_by_artefact": by_artefact,
        **({"annotations": dict(source)} if source else {}),
    }
    return RegionSelection(keep=keep, record=record)


def _regions_of(annotations: SlideAnnotations, classes, *, excluding) -> tuple:
    banned = class_aliases(excluding)
    return tuple(
        r for r in annotations.of_classes(classes) if (r.class_name or "").lower() not in banned
    )


def apply_region_selection(grid: TileGrid, selection: RegionSelection) -> TileGrid:
    """The grid with only the kept tiles, and a note saying how many regions left out."""
    if selection.keep.shape != (len(grid),):
        raise ValueError("the selection was made for another grid")
    record = selection.record
    note = (
        f"regions kept {record['tiles_after']} of {record['tiles_before']} tiles "
        f"(inside {', '.join(record['keep_classes'] or ['any class'])}; "
        f"{record['tiles_removed_by_artefact']} removed by {', '.join(record['remove_classes'])})"
    )
    return replace(
        grid,
        coords=grid.coords[selection.keep],
        tissue=grid.tissue[selection.keep],
        notes=(*grid.notes, note),
    )


def annotation_source(version) -> dict:
    """The ``source`` record of an :class:`~corebt_viewer.io.annotations.AnnotationVersion`."""
    return {"file": version.path.name, "version": int(version.number), "sha256": version.sha256()}
