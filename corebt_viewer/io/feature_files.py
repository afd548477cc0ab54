"""TRIDENT and CLAM tile-feature files in, TRIDENT-style slide-feature files out.

Tile features (HDF5):

* TRIDENT ``features_<encoder>/<slide>.h5``: ``features`` (N x D) and ``coords``
  (N x 2 int64, level-0 x, y), ``coords`` carrying ``patch_size``, ``patch_size_level0``,
  ``level0_magnification``, ``target_magnification``, ...;
* CLAM ``h5_files/<slide>.h5``: ``features`` (N x D, sometimes 1 x N x D) and ``coords``,
  usually without attributes.

Slide features: a ``features`` dataset of D floats, as TRIDENT's
``slide_features_<encoder>/<slide>.h5`` holds, its attributes recording how it was made.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError


@dataclass
class TileFeatureFile:
    """The contents of a tile-feature file.

    Attributes
    ----------
    path : Path
    features : ndarray (N, D), float32
    coords : ndarray (N, 2), int64
        Level-0 x, y, in the file's order.
    attrs : dict
        Attributes of ``coords`` and of the file (``coords`` wins), as plain Python values.
    layout : str
        ``"trident"`` when ``coords`` carries TRIDENT's attributes, else ``"clam"``.
    """

    path: Path
    features: np.ndarray
    coords: np.ndarray
    attrs: dict = field(default_factory=dict)
    layout: str = "clam"


def plain_attr(value):
    """An HDF5 attribute as a plain Python value (str, list, int, float...)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class FileProbe:
    """Shapes and ``coords`` attributes of a tile-feature file (nothing large read)."""

    n_tiles: int
    dim: int
    coords_attrs: dict


def _open(path: Path):
    import h5py

    if not path.is_file():
        raise InputError(path, "feature file not found")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file: {exc}") from None


def _datasets(path: Path, h5) -> tuple:
    """``features`` and ``coords`` of an open file, and their shapes without CLAM's
    leading 1 (checked: N x D and N x 2, as many rows, at least one tile)."""
    import h5py

    for name in ("features", "coords"):
        if name not in h5 or not isinstance(h5[name], h5py.Dataset):
            raise InputError(
                path,
                f"no '{name}' dataset (expected a TRIDENT or CLAM feature file; "
                f"datasets: {sorted(h5.keys())})",
            )
    fshape, cshape = h5["features"].shape, h5["coords"].shape
    if len(fshape) == 3 and fshape[0] == 1:  # CLAM's (1, N, D)
        fshape = fshape[1:]
    if len(cshape) == 3 and cshape[0] == 1:
        cshape = cshape[1:]
    if len(fshape) != 2:
        raise InputError(path, f"'features' must be N x D, got shape {fshape}")
    if len(cshape) != 2 or cshape[1] != 2:
        raise InputError(path, f"'coords' must be N x 2, got shape {cshape}")
    if fshape[0] != cshape[0]:
        raise InputError(path, f"{fshape[0]} feature rows but {cshape[0]} coordinate rows")
    if fshape[0] == 0:
        raise InputError(path, "the feature file holds no tiles (the tool found no tissue)")
    return h5["features"], h5["coords"], fshape, cshape


def probe_tile_feature_file(path: str | Path) -> FileProbe:
    """Check a tile-feature file's datasets and read its ``coords`` attributes only.

    Raises
    ------
    InputError
        As :func:`read_tile_feature_file`, for everything but the values.
    """
    path = Path(path).expanduser()
    with _open(path) as h5:
        _features, coords, fshape, _cshape = _datasets(path, h5)
        attrs = {key: plain_attr(value) for key, value in coords.attrs.items()}
    return FileProbe(int(fshape[0]), int(fshape[1]), attrs)


def read_tile_feature_file(path: str | Path) -> TileFeatureFile:
    """Read a TRIDENT or CLAM tile-feature file.

    Raises
    ------
    InputError
        Missing or unreadable file, no ``features`` / ``coords`` dataset, wrong shapes,
        different numbers of rows, no tiles, or non-finite values.
    """
    path = Path(path).expanduser()
    with _open(path) as h5:
        features, coords, fshape, cshape = _datasets(path, h5)
        features = np.asarray(features[()]).reshape(fshape)
        coords = np.asarray(coords[()]).reshape(cshape)
        attrs = {key: plain_attr(value) for key, value in h5.attrs.items()}
        attrs.update({key: plain_attr(value) for key, value in h5["coords"].attrs.items()})
    if not np.issubdtype(features.dtype, np.number) or not np.all(np.isfinite(features)):
        raise InputError(path, "'features' holds NaN, infinite or non-numeric values")
    layout = "trident" if "patch_size_level0" in attrs else "clam"
    return TileFeatureFile(
        path=path,
        features=features.astype(np.float32, copy=False),
        coords=_whole(path, coords),
        attrs=attrs,
        layout=layout,
    )


def read_tile_coords(path: str | Path) -> np.ndarray:
    """The level-0 (x, y) of a tile-feature file's tiles, int64, without its features.

    Raises
    ------
    InputError
        As :func:`read_tile_feature_file`, for everything but the feature values.
    """
    path = Path(path).expanduser()
    with _open(path) as h5:
        _features, coords, _fshape, cshape = _datasets(path, h5)
        coords = np.asarray(coords[()]).reshape(cshape)
    return _whole(path, coords)


def _whole(path: Path, coords: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(coords)) or not np.all(coords == np.round(coords)):
        raise InputError(path, "'coords' must hold whole level-0 pixel coordinates")
    return np.round(coords).astype(np.int64)


def write_slide_feature_file(path: str | Path, vector, attrs: dict | None = None) -> Path:
    """Write a slide vector as TRIDENT's slide-feature files do (atomically).

    Parameters
    ----------
    path : path
        The ``.h5`` file to write (its folder is created).
    vector : array (D,)
        Stored as the float32 dataset ``features``.
    attrs : dict, optional
        Attributes of ``features``: str / int / float / bool values are stored as they
        are, anything else (lists, dicts, None) as JSON text.
    """
    import h5py

    path = Path(path)
    vector = np.asarray(vector, dtype=np.float32)
    if vector.ndim != 1:
        raise ValueError(f"a slide vector must be 1-D, got shape {vector.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as h5:
            dataset = h5.create_dataset("features", data=vector)
            for key, value in (attrs or {}).items():
                if isinstance(value, (str, int, float, bool, np.generic)):
                    dataset.attrs[key] = value
                else:
                    dataset.attrs[key] = json.dumps(value)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
