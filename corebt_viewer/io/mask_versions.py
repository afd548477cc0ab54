"""Mask versions beside the original segmentation, saved atomically.

The original mask is never written. Each save makes a new file next to it::

    TCGA-XX_seg.nii.gz          the original (read only for us)
    TCGA-XX_seg.v001.nii.gz     first saved correction
    TCGA-XX_seg.v002.nii.gz     ...
    TCGA-XX_seg.current.json    which file the case uses now (absent: the original)
    .TCGA-XX_seg.recovery.npz   autosaved unsaved edits (hidden; removed after a save)

Versions are written in the original's label convention, data type, header, affine and
voxel order, so a corrected mask opens in any NIfTI tool on the grid of the images. Every
write is atomic and durable (:mod:`corebt_viewer.io.atomic_files`): a crash or kill at any
moment leaves either the old file or the new one, whole. The autosaved recovery file is
:mod:`corebt_viewer.io.mask_recovery`'s.

nibabel is imported inside the functions.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.segmentation import (
    LabelConvention,
    Segmentation,
    SegmentationLabelError,
    decide_convention,
)
from corebt_viewer.io.atomic_files import atomic_write_bytes, remove_stale_temporaries
from corebt_viewer.io.nifti import label_values

#: Compression level of ``.nii.gz`` versions (masks compress ~100x even at the fastest).
GZIP_LEVEL = 1
_VERSION_RE = r"^{stem}\.v(\d{{3,}}){ext}$"


# --------------------------------------------------------------------------- NIfTI encoding


def _file_labels(labels: np.ndarray, convention: LabelConvention, dtype) -> np.ndarray:
    """Canonical labels (0-3) to file values through a lookup table."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > 3):
        raise InputError(
            None,
            f"canonical mask holds unknown label(s) {sorted(label_values(labels) - {0, 1, 2, 3})}",
        )
    lut = np.zeros(4, dtype=dtype)
    for region, value in convention.file_labels.items():
        lut[int(region)] = value
    return lut[labels]


def split_nifti_name(path: str | Path) -> tuple[str, str]:
    """``"a/b_seg.nii.gz"`` -> ``("b_seg", ".nii.gz")``."""
    name = Path(path).name
    for ext in (".nii.gz", ".nii"):
        if name.lower().endswith(ext):
            return name[: -len(ext)], name[-len(ext) :]
    raise InputError(path, "not a NIfTI file name (expected .nii or .nii.gz)")


def _load_nifti(path: Path):
    import nibabel as nib

    try:
        img = nib.load(str(path))
        if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
            raise InputError(path, f"not a NIfTI image ({type(img).__name__})")
        return img
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise InputError(path, f"cannot read NIfTI: {exc}") from None


def _to_canonical_transform(affine: np.ndarray):
    """Orientation transform from a file's voxel order to RAS (as ``as_closest_canonical``)."""
    import nibabel as nib

    return nib.orientations.io_orientation(affine)


def file_from_canonical(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Reorder a canonical RAS array back to the voxel order of a file with `affine`."""
    import nibabel as nib

    ornt = _to_canonical_transform(affine)
    inverse = nib.orientations.ornt_transform(
        nib.orientations.axcodes2ornt(("R", "A", "S")),
        nib.orientations.axcodes2ornt(nib.orientations.ornt2axcodes(ornt)),
    )
    return nib.orientations.apply_orientation(data, inverse)


def encode_mask_like(
    labels: np.ndarray,
    reference: str | Path,
    *,
    convention: LabelConvention | None = None,
    dtype: np.dtype | type | None = None,
) -> bytes:
    """Encode canonical labels as a NIfTI file laid out like `reference`.

    Parameters
    ----------
    labels : ndarray
        Canonical labels (0-3) in canonical RAS voxel order.
    reference : path-like
        The original mask (or, for a brand-new mask, an MRI image of the case): its
        header, affine, voxel order and, for a mask, data type are reused.
    convention : LabelConvention, optional
        File label convention (default: the one detected in `reference`, if it is a mask,
        else BraTS 2021).
    dtype : dtype, optional
        Data type on disk (default: the reference's when it is an integer type, else uint8).

    Returns
    -------
    bytes
        The whole file, gzip-compressed when `reference` is a ``.nii.gz``.
    """

    reference = Path(reference)
    ref = _load_nifti(reference)
    ref_dtype = np.dtype(ref.get_data_dtype())
    if dtype is None:
        is_mask_dtype = ref_dtype.kind in "iub"
        dtype = ref_dtype if is_mask_dtype else np.dtype(np.uint8)
    if convention is None:  # the reference's own evidence (a 2023 name is never written as 4)
        values = {0}
        if np.dtype(ref_dtype).kind in "iub":
            values = label_values(np.asanyarray(ref.dataobj))
        try:
            convention = decide_convention(values, file_name=reference.name).convention
        except SegmentationLabelError:
            convention = decide_convention({0}, file_name=reference.name).convention
    ref_shape3 = tuple(ref.shape[:3])
    expected = [0, 0, 0]
    for size, (axis, _flip) in zip(ref_shape3, _to_canonical_transform(ref.affine), strict=True):
        expected[int(axis)] = size
    expected = tuple(expected)
    if tuple(labels.shape) != expected:
        raise InputError(
            reference,
            f"mask shape {tuple(labels.shape)} does not match this file's grid {expected} (RAS order)",
        )
    file_values = _file_labels(labels, convention, dtype)
    data = file_from_canonical(file_values, ref.affine)
    data = np.ascontiguousarray(
        data.reshape(ref.shape) if data.size == np.prod(ref.shape) else data
    )
    header = ref.header.copy()
    header.set_data_dtype(dtype)
    cls = type(ref)
    img = cls(data, ref.affine, header=header)
    img.header.set_slope_inter(1.0, 0.0)
    sform, sform_code = ref.header.get_sform(coded=True)
    qform, qform_code = ref.header.get_qform(coded=True)
    img.set_sform(ref.affine if sform is None else sform, code=int(sform_code or 0))
    img.set_qform(ref.affine if qform is None else qform, code=int(qform_code or 0))
    raw = img.to_bytes()
    if reference.name.lower().endswith(".gz"):
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
    return raw


def read_mask(
    path: str | Path, *, convention: LabelConvention | None = None, declared=None
) -> Segmentation:
    """Read a mask file (an original or a version) as canonical labels in RAS order.

    A thin wrapper of :func:`corebt_viewer.io.nifti.load_segmentation` that lets the caller
    impose the convention (a version of a BraTS 2023 mask without enhancing tumour cannot
    tell its convention from its values).

    Raises
    ------
    InputError
        Unreadable file, non-integer or unknown label values.
    """
    from corebt_viewer.io.nifti import load_segmentation

    seg = load_segmentation(path, declared=declared)
    if convention is not None and convention is not seg.convention:
        seg = replace(seg, convention=convention)
    return seg


# --------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class MaskVersion:
    """One file of a mask's history.

    Attributes
    ----------
    number : int
        0 for the original, 1, 2... for saved versions.
    path : Path
    """

    number: int
    path: Path

    @property
    def is_original(self) -> bool:
        return self.number == 0

    @property
    def label(self) -> str:
        """``"original"`` or ``"v003"``."""
        return "original" if self.is_original else f"v{self.number:03d}"


def _folder(original: Path, directory: str | Path | None) -> Path:
    return Path(directory) if directory is not None else original.parent


def version_path(original: str | Path, number: int, *, directory: str | Path | None = None) -> Path:
    """Path of version `number` of `original` (``<stem>.v001.nii.gz``).

    Versions live beside the original unless `directory` names another folder (for
    originals in read-only places); pass the same `directory` to every function here.
    """
    original = Path(original)
    stem, ext = split_nifti_name(original)
    return _folder(original, directory) / f"{stem}.v{number:03d}{ext}"


def list_versions(
    original: str | Path, *, directory: str | Path | None = None
) -> list[MaskVersion]:
    """The original (if it exists) and every saved version, oldest first."""
    original = Path(original)
    stem, ext = split_nifti_name(original)
    pattern = re.compile(_VERSION_RE.format(stem=re.escape(stem), ext=re.escape(ext)))
    found = []
    folder = _folder(original, directory)
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match and entry.is_file():
                found.append(MaskVersion(int(match.group(1)), entry))
    found.sort(key=lambda v: v.number)
    head = [MaskVersion(0, original)] if original.is_file() else []
    return head + found


def _current_pointer(original: Path, directory: str | Path | None) -> Path:
    stem, _ = split_nifti_name(original)
    return _folder(original, directory) / f"{stem}.current.json"


def current_version(original: str | Path, *, directory: str | Path | None = None) -> MaskVersion:
    """The version the case uses now: the one last made current, else the original."""
    original = Path(original)
    pointer = _current_pointer(original, directory)
    versions = list_versions(original, directory=directory)
    try:
        name = json.loads(pointer.read_text(encoding="utf-8")).get("current")
    except (OSError, ValueError, AttributeError):
        name = None
    for version in versions:
        if name is not None and version.path.name == name:
            return version
    return MaskVersion(0, original)


def set_current_version(
    original: str | Path,
    version: str | Path | MaskVersion | None,
    *,
    directory: str | Path | None = None,
) -> MaskVersion:
    """Record `version` (a file of this mask, or None for the original) as current.

    Only the small ``<stem>.current.json`` pointer is written (atomically); no mask file
    is touched.
    """
    original = Path(original)
    if isinstance(version, MaskVersion):
        version = version.path
    if version is None or Path(version).name == original.name:
        chosen = MaskVersion(0, original)
    else:
        by_name = {v.path.name: v for v in list_versions(original, directory=directory)}
        if Path(version).name not in by_name:
            raise InputError(version, f"not a saved version of {original.name}")
        chosen = by_name[Path(version).name]
    record = {
        "current": None if chosen.is_original else chosen.path.name,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_bytes(_current_pointer(original, directory), json.dumps(record, indent=1).encode())
    return chosen


@dataclass(frozen=True)
class SavedVersion:
    """Result of :func:`save_version`."""

    version: MaskVersion
    sha256: str
    nbytes: int


def save_version(
    labels: np.ndarray,
    *,
    original: str | Path,
    reference: str | Path | None = None,
    convention: LabelConvention | None = None,
    make_current: bool = True,
    directory: str | Path | None = None,
) -> SavedVersion:
    """Write canonical `labels` as the next version of `original`, atomically.

    Parameters
    ----------
    labels : ndarray
        Canonical labels (0-3) in RAS voxel order.
    original : path-like
        The original mask. For a case without one, the path the mask would have
        (it need not exist) and `reference` must name an MRI image of the case.
    reference : path-like, optional
        File whose header, affine and voxel order the version copies (default `original`).
    convention : LabelConvention, optional
        Default: the original's (BraTS 2021 for a new mask).
    make_current : bool
        Record the new version as the current one.
    directory : path-like, optional
        Folder of the versions (default: the original's folder).

    Returns
    -------
    SavedVersion
        The version, the sha256 and size of its bytes.
    """
    original = Path(original)
    if reference is None:
        if not original.is_file():
            raise InputError(original, "original mask not found; give a reference image")
        reference = original
    reference = Path(reference)
    if reference == original:
        data = encode_mask_like(labels, reference, convention=convention)
    else:  # a new mask on an image's grid: uint8 labels in the chosen convention
        convention = convention or decide_convention({0}, file_name=original.name).convention
        data = encode_mask_like(labels, reference, convention=convention, dtype=np.uint8)
    if not original.name.lower().endswith(".gz") and reference.name.lower().endswith(".gz"):
        data = gzip.decompress(data)
    elif original.name.lower().endswith(".gz") and not reference.name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    try:
        mode = os.stat(reference).st_mode & 0o777 | 0o600
    except OSError:
        mode = 0o644
    folder = _folder(original, directory)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    existing = list_versions(original, directory=directory)
    number = max((v.number for v in existing), default=0) + 1
    while True:
        target = version_path(original, number, directory=directory)
        try:
            atomic_write_bytes(target, data, overwrite=False, mode=mode)
            break
        except FileExistsError:  # another process took this number
            number += 1
    version = MaskVersion(number, target)
    if make_current:
        set_current_version(original, version, directory=directory)
    return SavedVersion(version, hashlib.sha256(data).hexdigest(), len(data))
