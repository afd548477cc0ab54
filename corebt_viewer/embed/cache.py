"""On-disk embedding cache: per-slide HDF5 feature files and per-case vectors.

Layout under the cache folder (default ``<cohort root>/.corebt/embeddings/``)::

    slides/<encoder tag>/<slide stem>-<path hash>.h5   features (tiles x dim), coords (tiles x 2)
    cases/<patient id>/<modality>-<encoder tag>.npz    subject-level vectors and their parts

Slide files use the layout of CLAM and TRIDENT (datasets ``features`` and ``coords``,
level-0 x, y), so their tools read ours and ours reads theirs. Every entry stores a
``cache_key``: a hash of what made it (encoder and its settings, tiling settings, the input
files' identity). An entry whose key differs is stale and is recomputed.

Writes are atomic: a temporary file in the same folder is written, flushed and fsynced,
then renamed over the target (``os.replace``), and the folder is fsynced. A killed run
leaves at most a ``.tmp`` file, which never reads as valid and is removed by the next write.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.io.atomic_files import atomic_path

CACHE_FORMAT = 1


def stable_hash(obj, length: int = 16) -> str:
    """Hex digest of a JSON-able object (keys sorted), `length` characters."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hash of a file's size and its first and last MiB (cheap identity for big files)."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(chunk))
        if size > chunk:
            fh.seek(max(chunk, size - chunk))
            digest.update(fh.read(chunk))
    return digest.hexdigest()[:16]


def file_identity(path: str | Path) -> dict:
    """What identifies an input file: name, size, modification time and partial hash.

    A folder (a DICOM whole-slide series) is identified by its files together: their total
    size, newest modification time and the hash of each file's name and fingerprint.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        stats = [p.stat() for p in files]
        parts = [[p.name, file_fingerprint(p)] for p in files]
        return {
            "name": path.name,
            "size": int(sum(st.st_size for st in stats)),
            "mtime_ns": int(max((st.st_mtime_ns for st in stats), default=0)),
            "partial_sha256": stable_hash(parts),
        }
    st = path.stat()
    return {
        "name": path.name,
        "size": int(st.st_size),
        "mtime_ns": int(st.st_mtime_ns),
        "partial_sha256": file_fingerprint(path),
    }


def safe_name(text: str) -> str:
    """A file-name-safe version of `text`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"


@dataclass(frozen=True)
class SlideFeatures:
    """Features of one slide as stored.

    Attributes
    ----------
    features : ndarray (n_tiles, dim) float32
    coords : ndarray (n_tiles, 2) int64, level-0 x, y
    attrs : dict
        Encoder, tiling and slide identity attributes.
    """

    features: np.ndarray
    coords: np.ndarray
    attrs: dict = field(default_factory=dict)

    @property
    def vector(self) -> np.ndarray:
        """The tile mean (the `mean` aggregator; the paper uses the slide encoder)."""
        return self.features.mean(axis=0)


def _magnification(mpp) -> int | None:
    """Objective power of a resolution, the convention TRIDENT uses (20x = 0.5 um/px)."""
    try:
        mpp = float(mpp)
    except (TypeError, ValueError):
        return None
    return int(round(10.0 / mpp)) if np.isfinite(mpp) and mpp > 0 else None


def trident_coord_attrs(attrs: dict) -> dict:
    """TRIDENT's ``coords`` attribute names derived from ours (those already there kept).

    ``name``, ``level0_width``, ``level0_height``, ``target_magnification`` and
    ``level0_magnification`` (left out when the slide's resolution is unknown).
    """
    out = {}
    if "slide_name" in attrs:
        out["name"] = Path(str(attrs["slide_name"])).stem
    dims = attrs.get("slide_dimensions")
    if isinstance(dims, list | tuple) and len(dims) == 2:
        out["level0_width"], out["level0_height"] = int(dims[0]), int(dims[1])
    for key, mpp in (
        ("target_magnification", "target_mpp"),
        ("level0_magnification", "level0_mpp"),
    ):
        mag = _magnification(attrs.get(mpp))
        if mag is not None:
            out[key] = mag
    return {k: v for k, v in out.items() if k not in attrs}


def write_slide_features(path: Path, result: SlideFeatures, *, cache_key: str) -> None:
    """Write a slide's features atomically (HDF5, CLAM/TRIDENT layout and attribute names)."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            features = h5.create_dataset("features", data=np.asarray(result.features, np.float32))
            coords = h5.create_dataset("coords", data=np.asarray(result.coords, np.int64))
            for key, value in trident_coord_attrs(result.attrs).items():
                coords.attrs[key] = value
            if "encoder" in result.attrs:
                features.attrs["encoder"] = str(result.attrs["encoder"])
            if "slide_name" in result.attrs:
                features.attrs["name"] = Path(str(result.attrs["slide_name"])).stem
            for key, value in result.attrs.items():
                value = json.dumps(value) if isinstance(value, dict | list | tuple) else value
                if value is None:
                    value = ""
                coords.attrs[key] = value
                h5.attrs[key] = value
            h5.attrs["cache_key"] = cache_key
            h5.attrs["cache_format"] = CACHE_FORMAT
            h5.attrs["complete"] = True


def read_slide_features(path: Path, *, cache_key: str | None = None) -> SlideFeatures | None:
    """Read a slide feature file; ``None`` when absent, unreadable or stale.

    Files written by CLAM or TRIDENT (no ``cache_key``) are read when `cache_key` is None.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as h5:
            if cache_key is not None and (
                h5.attrs.get("cache_key") != cache_key or not h5.attrs.get("complete", False)
            ):
                return None
            features = np.asarray(h5["features"][()], np.float32)
            coords = np.asarray(h5["coords"][()], np.int64)
            attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in h5.attrs.items()}
    except (OSError, KeyError, ValueError):
        return None
    if features.ndim == 3 and features.shape[0] == 1:  # CLAM stores (1, n, dim) at times
        features = features[0]
    if coords.ndim == 3 and coords.shape[0] == 1:
        coords = coords[0]
    if features.shape[0] != coords.shape[0]:
        return None
    return SlideFeatures(features=features, coords=coords, attrs=attrs)


def write_case_entry(
    path: Path, arrays: dict[str, np.ndarray], meta: dict, *, cache_key: str
) -> None:
    """Write a case-level entry (npz with a JSON ``meta``) atomically."""
    payload = dict(arrays)
    payload["meta"] = np.asarray(
        json.dumps(dict(meta, cache_key=cache_key, cache_format=CACHE_FORMAT))
    )
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)


def read_case_entry(path: Path, *, cache_key: str | None = None) -> tuple[dict, dict] | None:
    """Read a case-level entry; ``None`` when absent, unreadable or stale (key differs)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
    except (OSError, ValueError, KeyError):
        return None
    if cache_key is not None and meta.get("cache_key") != cache_key:
        return None
    return arrays, meta


class EmbeddingCache:
    """Paths of the cache entries under one folder.

    Parameters
    ----------
    root : path
        The cache folder (``<cohort>/.corebt/embeddings`` by default).
    """

    def __init__(self, root: str | Path, cohort_root: str | Path | None = None):
        self.root = Path(root)
        self.cohort_root = None if cohort_root is None else Path(cohort_root)

    @classmethod
    def for_cohort(
        cls, cohort_root: str | Path, cache_dir: str | Path | None = None
    ) -> EmbeddingCache:
        root = Path(cache_dir) if cache_dir else Path(cohort_root) / ".corebt" / "embeddings"
        return cls(root, cohort_root)

    def slide_path(self, encoder_tag: str, slide: Path) -> Path:
        slide = Path(slide)
        where = hashlib.sha256(str(slide.resolve()).encode()).hexdigest()[:8]
        return self.root / "slides" / safe_name(encoder_tag) / f"{safe_name(slide.stem)}-{where}.h5"

    def case_path(self, patient_id: str, modality: str, encoder_tag: str) -> Path:
        return (
            self.root / "cases" / safe_name(patient_id) / f"{modality}-{safe_name(encoder_tag)}.npz"
        )
