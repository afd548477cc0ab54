"""Crash recovery of unsaved mask edits: a hidden autosave file beside the original mask.

``.<stem>.recovery.npz`` (next to the original, or in a folder the caller gives) holds the
canonical labels being edited, when they were autosaved and the version they started from.
It is written atomically but not fsync'ed (it survives an app crash, not necessarily an
operating-system one), deflated at the fastest level, and removed after a save.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.atomic_files import atomic_write_bytes, fsync_dir
from corebt_viewer.io.mask_versions import GZIP_LEVEL, split_nifti_name


@dataclass(frozen=True)
class Recovery:
    """Unsaved edits found after a crash.

    Attributes
    ----------
    path : Path
        The recovery file.
    labels : ndarray of uint8
        Canonical labels as they were when autosaved.
    saved_at : str
        ISO 8601 UTC time of the autosave.
    base : str
        File name of the version that was being edited.
    """

    path: Path
    labels: np.ndarray
    saved_at: str
    base: str


def recovery_path(original: str | Path, *, directory: str | Path | None = None) -> Path:
    """Hidden recovery file of `original` (``.<stem>.recovery.npz``) in `directory`."""
    original = Path(original)
    stem, _ = split_nifti_name(original)
    folder = Path(directory) if directory is not None else original.parent
    return folder / f".{stem}.recovery.npz"


def write_recovery(
    labels: np.ndarray,
    *,
    original: str | Path,
    base: str | Path | None = None,
    directory: str | Path | None = None,
) -> Path:
    """Autosave unsaved edits (atomically); call every few seconds while edits are unsaved.

    The file survives an app crash whole; it is not fsync'ed (see ``atomic_write_bytes``).

    Parameters
    ----------
    labels : ndarray
        Canonical labels being edited.
    original : path-like
        The original mask (names the recovery file).
    base : path-like, optional
        The version the edits started from (default the original).
    directory : path-like, optional
        Folder for the recovery file (default the original's folder).
    """
    target = recovery_path(original, directory=directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "labels": np.asarray(labels, dtype=np.uint8),
        "saved_at": np.array(datetime.now(UTC).isoformat(timespec="seconds")),
        "base": np.array(Path(base if base is not None else original).name),
    }
    return atomic_write_bytes(target, _npz_bytes(arrays), mode=0o600, durable=False)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (what ``np.load`` reads) deflated at :data:`GZIP_LEVEL`.

    ``np.savez_compressed`` always deflates at level 6: 2.7x the time for a whole-brain
    mask, which an autosave worker spends beside the painting UI thread.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=GZIP_LEVEL) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def find_recovery(original: str | Path, *, directory: str | Path | None = None) -> Recovery | None:
    """Unsaved edits autosaved for `original`, or None when there are none.

    Raises
    ------
    InputError
        The recovery file exists but cannot be read (it is left in place).
    """
    path = recovery_path(original, directory=directory)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return Recovery(path, npz["labels"].copy(), str(npz["saved_at"]), str(npz["base"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(path, f"the autosaved mask edits cannot be read ({exc})") from exc


def discard_recovery(original: str | Path, *, directory: str | Path | None = None) -> bool:
    """Delete the recovery file (after a save, or when the user declines it)."""
    path = recovery_path(original, directory=directory)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
