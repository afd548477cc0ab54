"""Tile and slide feature files made by TRIDENT or CLAM (read for ``corebt import-features``).

Layouts (learnt from the tools' documentation and file writers):

TRIDENT
    ``<job>/<mag>x_<size>px_<overlap>px_overlap/features_<encoder>/<slide>.h5``: ``features``
    (tiles x dim) and ``coords`` (tiles x 2, int64, level-0 x, y) whose attributes are
    ``patch_size``, ``patch_size_level0``, ``level0_magnification``, ``target_magnification``,
    ``overlap``, ``name``, ``level0_width``, ``level0_height``. Slide vectors sit beside it in
    ``slide_features_<slide encoder>/<slide>.h5`` (a ``features`` dataset of one vector).
CLAM
    ``<dir>/h5_files/<slide>.h5``: ``features`` and ``coords``, no attributes. The level-0
    tile side is read from CLAM's ``patches/<slide>.h5`` when it is there (``patch_size``
    times the ``downsample`` of ``patch_level``), else taken from the caller, else inferred
    from the step of the coordinate grid (CLAM steps by the tile size, no overlap); which one
    was used is returned as a note.

A file's stem (its name without ``.h5``) is the slide's name without extension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.feature_files import FileProbe, plain_attr

#: TRIDENT's attributes of ``coords`` (kept as they are when imported, written by us too)
TRIDENT_COORD_ATTRS = (
    "patch_size",
    "patch_size_level0",
    "level0_magnification",
    "target_magnification",
    "overlap",
    "name",
    "level0_width",
    "level0_height",
)


@dataclass(frozen=True)
class FeatureFolder:
    """Where the feature files of one import are.

    Attributes
    ----------
    tool : str
        ``trident`` or ``clam``.
    encoder : str
        Tile encoder name (TRIDENT's folder suffix, or given for CLAM).
    tiles : Path
        Folder of per-slide tile feature files.
    files : dict of str -> Path
        Tile feature file per stem.
    slide_encoder : str or None
    slides : Path or None
        Folder of per-slide slide vectors (TRIDENT ``slide_features_<encoder>``).
    slide_files : dict of str -> Path
    patches : Path or None
        CLAM's ``patches`` folder (tile geometry), when there.
    """

    tool: str
    encoder: str
    tiles: Path
    files: dict[str, Path]
    slide_encoder: str | None = None
    slides: Path | None = None
    slide_files: dict[str, Path] = field(default_factory=dict)
    patches: Path | None = None


def _h5_files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.h5")) if not p.name.startswith(".")}


def _pick(found: dict[str, Path], wanted: str | None, what: str, option: str) -> str | None:
    if wanted is not None:
        if wanted not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InputError(None, f"no {what} folder for {wanted!r} (found: {known})")
        return wanted
    if len(found) > 1:
        raise InputError(
            None, f"several {what} folders ({', '.join(sorted(found))}): choose one with {option}"
        )
    return next(iter(found), None)


def find_feature_folder(
    folder: str | Path, *, encoder: str | None = None, slide_encoder: str | None = None
) -> FeatureFolder:
    """Find TRIDENT's ``features_<encoder>`` (and ``slide_features_*``) or CLAM's ``h5_files``.

    Parameters
    ----------
    folder : path
        A TRIDENT job folder, one of its ``<mag>x_<size>px_...`` folders, a
        ``features_<encoder>`` folder, a CLAM output folder or its ``h5_files``.
    encoder : str, optional
        The tile encoder: picks ``features_<encoder>`` (TRIDENT); names CLAM's (required).
    slide_encoder : str, optional
        Picks ``slide_features_<name>``; ``"none"`` imports no slide vectors.

    Raises
    ------
    InputError
        No known layout, or several candidates and no choice.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(folder, "feature folder not found")
    if folder.name.startswith("features_"):
        tile_dirs = {folder.name[len("features_") :]: folder}
    else:
        tile_dirs = {}
        for base in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
            for d in sorted(base.iterdir()):
                if d.is_dir() and d.name.startswith("features_"):
                    name = d.name[len("features_") :]
                    if name in tile_dirs:
                        raise InputError(
                            folder,
                            f"two features_{name} folders ({tile_dirs[name]}, {d}): "
                            "give the one to import",
                        )
                    tile_dirs[name] = d
    if tile_dirs:
        chosen = _pick(tile_dirs, encoder, "TRIDENT features_<encoder>", "--encoder")
        tiles = tile_dirs[chosen]
        slide_dirs = {
            d.name[len("slide_features_") :]: d
            for d in sorted(tiles.parent.iterdir())
            if d.is_dir() and d.name.startswith("slide_features_")
        }
        slide = None
        if slide_encoder != "none":
            slide = _pick(slide_dirs, slide_encoder, "slide_features_<encoder>", "--slide-encoder")
        return FeatureFolder(
            tool="trident",
            encoder=chosen,
            tiles=tiles,
            files=_h5_files(tiles),
            slide_encoder=slide,
            slides=slide_dirs.get(slide) if slide else None,
            slide_files=_h5_files(slide_dirs[slide]) if slide else {},
        )
    h5 = folder if folder.name == "h5_files" else folder / "h5_files"
    if h5.is_dir():
        if encoder is None:
            raise InputError(
                folder,
                "CLAM's files do not name their tile encoder: give it with --encoder "
                "(e.g. resnet50_trunc, uni_v1)",
            )
        if slide_encoder not in (None, "none"):
            raise InputError(folder, "CLAM writes no slide vectors (--slide-encoder)")
        patches = h5.parent / "patches"
        return FeatureFolder(
            tool="clam",
            encoder=encoder,
            tiles=h5,
            files=_h5_files(h5),
            patches=patches if patches.is_dir() else None,
        )
    raise InputError(
        folder,
        "no TRIDENT features_<encoder>/ folder and no CLAM h5_files/ folder here "
        "(nor one level below)",
    )


def read_slide_vector(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """A TRIDENT slide vector (``features``, squeezed to 1-D) and its ``coords`` when there."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            if "features" not in h5:
                raise InputError(path, f"no features dataset (datasets: {sorted(h5.keys())})")
            vector = np.asarray(h5["features"][()], np.float32).squeeze()
            coords = np.asarray(h5["coords"][()]) if "coords" in h5 else None
    except OSError as exc:
        raise InputError(path, f"unreadable HDF5 file: {exc}") from None
    if vector.size == 0:
        raise InputError(path, "empty slide vector (the tool found no tissue)")
    if vector.ndim != 1:
        raise InputError(path, f"slide features of shape {vector.shape}: expected one vector")
    if coords is not None:
        coords = coords.reshape(-1, 2).astype(np.int64) if coords.size else None
    return vector, coords


def grid_step(coords: np.ndarray) -> int | None:
    """The step of a regular coordinate grid (gcd of the gaps), ``None`` for a single tile."""
    gaps = []
    for axis in (0, 1):
        values = np.unique(np.asarray(coords[:, axis], np.int64))
        gaps += [int(g) for g in np.diff(values) if g > 0]
    return reduce(math.gcd, gaps) if gaps else None


def tile_geometry(
    folder: FeatureFolder, stem: str, probe: FileProbe, coords: np.ndarray | None
) -> tuple[int, str]:
    """Level-0 tile side of a file, and where it came from (for CLAM, what was assumed).

    For CLAM `coords` are needed when neither ``patches/`` nor a given size says it.
    """
    attrs = probe.coords_attrs
    if "patch_size_level0" in attrs:
        return int(attrs["patch_size_level0"]), "patch_size_level0"
    if {"patch_size", "level0_magnification", "target_magnification"} <= set(attrs):
        size = int(attrs["patch_size"]) * int(attrs["level0_magnification"])
        return size // int(attrs["target_magnification"]), "patch_size x magnifications"
    if folder.tool == "trident":
        raise InputError(
            folder.files[stem], "coords lack patch_size_level0 (and the magnifications)"
        )
    patches = folder.patches / f"{stem}.h5" if folder.patches is not None else None
    if patches is not None and patches.is_file():
        import h5py

        with h5py.File(patches, "r") as h5:
            a = {k: plain_attr(v) for k, v in h5["coords"].attrs.items()}
        if "patch_size" in a:
            down = a.get("downsample", [1, 1])
            down = down[0] if isinstance(down, list | tuple) else down
            size = int(
                round(int(a["patch_size"]) * float(down) * float(a.get("custom_downsample", 1)))
            )
            return size, "read from CLAM patches/<slide>.h5 (patch_size x downsample)"
    if coords is None:
        return 0, "unknown"
    step = grid_step(coords)
    if step is None:
        raise InputError(
            folder.files[stem],
            "one tile only: its level-0 size cannot be inferred; give --tile-size-level0",
        )
    return step, "inferred from the coordinate step (CLAM tiles without overlap)"


def tiling_description(folder: FeatureFolder, attrs: dict, size_source: str) -> str:
    """One line on how the imported tiles were laid (for the profile)."""
    if "target_magnification" in attrs:
        return (
            f"{attrs.get('patch_size', '?')} px tiles at {attrs['target_magnification']}x, "
            f"overlap {attrs.get('overlap', 0)}"
        )
    return f"level-0 tile side {size_source}; magnification unknown ({folder.tool})"


def imported_attrs(
    folder: FeatureFolder, path: Path, probe: FileProbe, size: int, size_source: str
) -> dict:
    """Attributes of an imported tile file in the cache (TRIDENT's names kept)."""
    attrs = {k: v for k, v in probe.coords_attrs.items() if k in TRIDENT_COORD_ATTRS}
    attrs.update(
        patch_size_level0=int(size),
        tile_size_level0=int(size),
        tile_size_source=size_source,
        encoder=folder.encoder,
        imported_tool=folder.tool,
        imported_from=str(path.resolve()),
        seconds=0.0,
    )
    return attrs
