"""NIfTI reading and writing: volumes and segmentations in canonical RAS orientation.

Every array this module returns is indexed (x, y, z) in RAS+ order (``nib.as_closest_canonical``
semantics): the voxel size is kept and the affine is updated to match. Grid checks work from
the headers alone (:func:`read_header`), so a cohort can be validated without decompressing
every volume.

nibabel is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterable
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Sequence
from corebt_viewer.core.segmentation import (
    LabelConvention,
    Segmentation,
    SegmentationLabelError,
    decide_convention,
    from_canonical,
    to_canonical,
)
from corebt_viewer.core.volume import MRIStudy, Volume, voxel_size_of

NIFTI_SUFFIXES = (".nii", ".nii.gz")

_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile, struct.error)


def is_nifti(path: str | Path) -> bool:
    """Whether `path` has a NIfTI file name (``.nii`` or ``.nii.gz``)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


@dataclass(frozen=True)
class NiftiHeader:
    """What the header of a NIfTI file says, in canonical (RAS) voxel order.

    Attributes
    ----------
    path : Path
    shape : tuple of int
        Spatial shape after reorientation to RAS.
    affine : ndarray
        4x4 voxel-to-world affine after reorientation to RAS.
    voxel_size : tuple of float
        Voxel size (mm) along the canonical axes.
    dtype : numpy.dtype
        Data type stored on disk.
    axcodes : tuple of str
        Orientation of the file itself, e.g. ``("L", "P", "S")``.
    """

    path: Path
    shape: tuple[int, int, int]
    affine: np.ndarray
    voxel_size: tuple[float, float, float]
    dtype: np.dtype
    axcodes: tuple[str, str, str]

    @property
    def grid(self) -> tuple[Path, tuple[int, int, int], np.ndarray]:
        """``(path, shape, affine)``, the form :func:`check_same_grid` takes."""
        return (self.path, self.shape, self.affine)


def _open_image(path: str | Path):
    """Open a NIfTI image lazily (header only), or raise InputError."""
    import nibabel as nib

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a file")
    if not is_nifti(path):
        raise InputError(path, "not a NIfTI file (expected .nii or .nii.gz)")
    try:
        img = nib.load(str(path))
    except nib.filebasedimages.ImageFileError:
        raise InputError(path, "not a readable NIfTI image (unknown or corrupt header)") from None
    except _READ_ERRORS as exc:
        raise InputError(path, f"cannot read NIfTI header ({_describe(exc)})") from None
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(path, f"not a NIfTI-1/2 image ({type(img).__name__})")
    shape = img.shape
    if len(shape) == 4 and shape[3] == 1:
        pass
    elif len(shape) != 3:
        extra = f"{len(shape)}-D image of shape {_fmt_shape(shape)}"
        raise InputError(path, f"{extra}; expected a 3-D volume")
    if min(shape[:3]) < 1:
        raise InputError(path, f"empty image of shape {_fmt_shape(shape)}")
    if not np.all(np.isfinite(img.affine)):
        raise InputError(path, "affine holds non-finite values")
    if abs(np.linalg.det(img.affine[:3, :3])) < 1e-12:
        raise InputError(path, "affine is singular (zero voxel size?)")
    return img


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    if isinstance(exc, EOFError | gzip.BadGzipFile | zlib.error):
        return f"corrupt or truncated compressed data: {text or name}"
    return text or name


def _fmt_shape(shape: Iterable[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


def _canonical_grid(img) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    """Orientation transform to RAS, the canonical shape and affine (no data read)."""
    from nibabel import orientations as ornt_mod

    shape = tuple(int(s) for s in img.shape[:3])
    ornt = ornt_mod.io_orientation(img.affine)
    canonical = ornt_mod.axcodes2ornt(("R", "A", "S"))
    transform = ornt_mod.ornt_transform(ornt, canonical)
    affine = img.affine @ ornt_mod.inv_ornt_aff(transform, shape)
    new_shape = tuple(shape[int(ax)] for ax in np.argsort(transform[:, 0]))
    return transform, new_shape, affine


def _check_data_size(img, path: Path, deep: bool = False) -> None:
    """Integrity check: the file holds as many bytes as the header promises.

    For ``.nii`` the file size is compared; for ``.nii.gz`` the gzip trailer's ISIZE field
    (uncompressed size modulo 2**32) is, and only when it disagrees is the file decompressed
    in full (multi-member gzip files legitimately disagree). With `deep`, a ``.nii.gz`` is
    always decompressed in full (streamed), which also checks its CRC.
    """
    header = img.header
    offset = int(getattr(img.dataobj, "offset", header.get_data_offset()))
    expected = offset + int(np.prod(img.shape)) * header.get_data_dtype().itemsize
    size = path.stat().st_size
    if not str(path).lower().endswith(".gz"):
        if size < expected:
            raise InputError(path, f"truncated: {size} bytes on disk, header promises {expected}")
        return
    if size < 18:
        raise InputError(path, "truncated gzip file")
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        isize = struct.unpack("<I", fh.read(4))[0]
    if isize == expected % 2**32 and not deep:
        return
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                total += len(chunk)
    except _READ_ERRORS as exc:
        raise InputError(path, _describe(exc)) from None
    if total < expected:
        raise InputError(path, f"truncated: {total} bytes of data, header promises {expected}")


def read_header(path: str | Path, *, check_size: bool = True, deep: bool = False) -> NiftiHeader:
    """Read a NIfTI header and report its grid in canonical RAS orientation.

    Parameters
    ----------
    path : path-like
    check_size : bool
        Also check that the file holds all the voxels the header promises (cheap; see
        :func:`_check_data_size`).
    deep : bool
        Decompress a ``.nii.gz`` in full (streamed, constant memory) to check its data
        and CRC: catches corruption inside a file of the right size, at decompression cost.

    Raises
    ------
    InputError
        Missing, unreadable, truncated or non-3-D file.
    """
    from nibabel.orientations import aff2axcodes

    path = Path(path)
    img = _open_image(path)
    if check_size or deep:
        _check_data_size(img, path, deep)
    _, shape, affine = _canonical_grid(img)
    return NiftiHeader(
        path=path,
        shape=shape,
        affine=affine,
        voxel_size=voxel_size_of(affine),
        dtype=img.header.get_data_dtype(),
        axcodes=tuple(aff2axcodes(img.affine)),
    )


def _read_unscaled(img, path: Path) -> np.ndarray:
    """The voxels as stored, before any scaling, or raise InputError.

    A gzipped file is inflated in one call that releases the GIL. Python's gzip reader
    takes the GIL back after every 128 KiB chunk, so while other threads run Python a
    load waits for it hundreds of times (4 s instead of 0.1 s for a demo sequence).
    Anything unusual takes nibabel's own path. The result may be read-only.
    """
    proxy = img.dataobj
    fast = _inflate_whole(proxy, path) if path.name.lower().endswith(".gz") else None
    if fast is not None:
        return fast
    try:
        return proxy.get_unscaled() if hasattr(proxy, "get_unscaled") else np.asanyarray(proxy)
    except _READ_ERRORS as exc:
        raise InputError(path, f"cannot read voxel data ({_describe(exc)})") from None


def _inflate_whole(proxy, path: Path) -> np.ndarray | None:
    """The voxel array of a single-member gzip file, or ``None`` to let nibabel read it."""
    try:
        offset, dtype, shape = int(proxy.offset), np.dtype(proxy.dtype), tuple(proxy.shape)
        order = getattr(proxy, "order", "F")
        with open(path, "rb") as f:
            packed = f.read()
        # the trailer's size (mod 2**32) sizes the output at once: no copy with the GIL held
        # (deflate packs at most about 1032:1, so a corrupt trailer cannot ask for more)
        size = min(int.from_bytes(packed[-4:], "little"), 1032 * len(packed) + 1024)
        buffer = zlib.decompress(packed, wbits=31, bufsize=max(size, zlib.DEF_BUF_SIZE))
    except (AttributeError, TypeError, MemoryError, *_READ_ERRORS):
        return None  # not a plain array proxy, or corrupt: nibabel reports it in its words
    if len(buffer) < offset + dtype.itemsize * int(np.prod(shape)):
        return None  # several gzip members, or a short file
    return np.ndarray(shape, dtype, buffer=buffer, offset=offset, order=order)


def _read_data(img, path: Path) -> np.ndarray:
    """Read the voxels as stored (scaled when the header says so) or raise InputError."""
    from nibabel.volumeutils import apply_read_scaling

    proxy = img.dataobj
    data = _read_unscaled(img, path)
    data = apply_read_scaling(data, getattr(proxy, "slope", None), getattr(proxy, "inter", None))
    if data.ndim == 4:
        data = data[..., 0]
    return data


def _read_float32_canonical(img, path: Path, transform: np.ndarray) -> np.ndarray:
    """Voxels as C-ordered float32 in RAS order, in one pass over the stored type."""
    from nibabel.orientations import apply_orientation

    proxy = img.dataobj
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    raw = _read_unscaled(img, path)
    if raw.ndim == 4:
        raw = raw[..., 0]
    oriented = apply_orientation(raw, transform)
    data = np.empty(oriented.shape, np.float32)
    np.copyto(data, oriented, casting="unsafe")
    if slope != 1.0 or inter != 0.0:
        data *= np.float32(slope)
        data += np.float32(inter)
    if data.dtype.kind == "f" and raw.dtype.kind in "fc" and not np.isfinite(data).all():
        np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return data


def _reorient(data: np.ndarray, transform: np.ndarray) -> np.ndarray:
    from nibabel.orientations import apply_orientation

    return np.ascontiguousarray(apply_orientation(data, transform))


def load_volume(path: str | Path, sequence: Sequence | None = None) -> Volume:
    """Load one MRI sequence as float32, reoriented to RAS.

    Parameters
    ----------
    path : path-like
        A ``.nii`` or ``.nii.gz`` file holding a 3-D volume.
    sequence : Sequence, optional
        The sequence it holds, kept on the returned volume.

    Returns
    -------
    Volume
        ``data`` (x, y, z) float32 in RAS order, with the matching affine and voxel size.

    Raises
    ------
    InputError
        Missing, unreadable, corrupt or non-3-D file.

    Examples
    --------
    >>> vol = load_volume("case_t1.nii.gz", Sequence.T1)  # doctest: +SKIP
    >>> vol.data.shape, vol.voxel_size  # doctest: +SKIP
    ((240, 240, 155), (1.0, 1.0, 1.0))
    """
    path = Path(path)
    img = _open_image(path)
    transform, shape, affine = _canonical_grid(img)
    data = _read_float32_canonical(img, path, transform)
    return Volume(
        data=data,
        affine=affine,
        voxel_size=voxel_size_of(affine),
        sequence=sequence,
        path=path,
    )


def label_values(data: np.ndarray) -> set[int]:
    """The distinct values of an integer label array (fast for small label ranges).

    Raises
    ------
    ValueError
        When the array holds non-integer values.
    """
    if data.size == 0:
        return set()
    if data.dtype.kind == "f":
        if not np.isfinite(data).all() or not np.array_equal(data, np.round(data)):
            raise ValueError("holds non-integer values; a segmentation needs integer labels")
        data = data.astype(np.int64)
    elif data.dtype.kind not in "uib":
        raise ValueError(f"has data type {data.dtype}; a segmentation needs integer labels")
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
    low, high = int(data.min()), int(data.max())
    if high - low <= 64:
        # a few vectorised comparisons beat sorting (np.unique) or bincount's int64 copy
        return {v for v in range(low, high + 1) if v in (low, high) or (data == v).any()}
    return {int(v) for v in np.unique(data)}


def read_label_values(path: str | Path) -> tuple[NiftiHeader, set[int]]:
    """Header and distinct label values of a segmentation file (no reorientation).

    Raises
    ------
    InputError
        Unreadable file, or non-integer labels.
    """
    path = Path(path)
    header = read_header(path, check_size=False)
    img = _open_image(path)
    data = _read_data(img, path)
    try:
        return header, label_values(data)
    except ValueError as exc:
        raise InputError(path, f"segmentation {exc}") from None


def load_segmentation(path: str | Path, *, declared=None) -> Segmentation:
    """Load a tumour mask, decide its BraTS convention and map it to canonical labels.

    The convention comes from `declared` (a manifest's ``seg_convention``), else the labels,
    else the file name's layout, else an assumption that the result states
    (:func:`corebt_viewer.core.segmentation.decide_convention`).

    Returns
    -------
    Segmentation
        ``labels`` uint8 (0 background, 1 necrotic core, 2 oedema, 3 enhancing) in RAS
        order, with the convention of the file (used again when saving).

    Raises
    ------
    InputError
        Unreadable file, non-integer data, or labels that no BraTS convention knows.
    """
    path = Path(path)
    img = _open_image(path)
    transform, shape, affine = _canonical_grid(img)
    raw = _read_data(img, path)
    try:
        values = label_values(raw)
        choice = decide_convention(values, declared=declared, file_name=path.name)
    except (ValueError, SegmentationLabelError) as exc:
        raise InputError(path, f"segmentation {exc}") from None
    convention = choice.convention
    labels = _reorient(to_canonical(raw, convention), transform)
    return Segmentation(
        labels=labels,
        convention=convention,
        voxel_size=voxel_size_of(affine),
        affine=affine,
        convention_source=choice.source,
        convention_note=choice.note,
    )


def grid_mismatch(
    a: tuple[Path, tuple[int, ...], np.ndarray],
    b: tuple[Path, tuple[int, ...], np.ndarray],
    atol: float = 1e-3,
) -> str | None:
    """Describe how the grid of `b` differs from that of `a`, or ``None`` when they match.

    Each argument is ``(path, shape, affine)``; the affines are compared element-wise
    with absolute tolerance `atol` (mm).
    """
    (path_a, shape_a, aff_a), (_, shape_b, aff_b) = a, b
    shape_a, shape_b = tuple(shape_a)[:3], tuple(shape_b)[:3]
    aff_a, aff_b = np.asarray(aff_a, float), np.asarray(aff_b, float)
    problems = []
    if shape_a != shape_b:
        problems.append(f"shape {_fmt_shape(shape_b)} vs {_fmt_shape(shape_a)}")
    if not np.allclose(aff_a, aff_b, atol=atol, rtol=0):
        zoom_a = np.sqrt((aff_a[:3, :3] ** 2).sum(axis=0))
        zoom_b = np.sqrt((aff_b[:3, :3] ** 2).sum(axis=0))
        if not np.allclose(zoom_a, zoom_b, atol=atol, rtol=0):
            problems.append(f"voxel size {_fmt_vec(zoom_b)} mm vs {_fmt_vec(zoom_a)} mm")
        dirs_a = aff_a[:3, :3] / zoom_a
        dirs_b = aff_b[:3, :3] / zoom_b
        if not np.allclose(dirs_a, dirs_b, atol=1e-4, rtol=0):
            problems.append("axis directions differ (different orientation or obliquity)")
        shift = float(np.linalg.norm(aff_a[:3, 3] - aff_b[:3, 3]))
        if shift > atol:
            problems.append(f"origin differs by {shift:.3g} mm")
        if len(problems) == (shape_a != shape_b):
            diff = float(np.abs(aff_a - aff_b).max())
            problems.append(f"affines differ by up to {diff:.3g}")
    if not problems:
        return None
    return f"grid differs from {Path(path_a).name}: " + ", ".join(problems)


def _fmt_vec(values) -> str:
    return "x".join(f"{float(v):.4g}" for v in values)


def check_same_grid(
    named: SequenceOf[tuple[Path, tuple[int, ...], np.ndarray]], atol: float = 1e-3
) -> None:
    """Check that every ``(path, shape, affine)`` shares the grid of the first.

    Raises
    ------
    InputError
        Naming the first file that differs, the reference file and the mismatch.
    """
    if not named:
        return
    reference = named[0]
    for other in named[1:]:
        problem = grid_mismatch(reference, other, atol)
        if problem is not None:
            raise InputError(other[0], problem)


def load_case_mri(
    case,
    *,
    atol: float = 1e-3,
    workers: int = 4,
    resample: bool = True,
    reference: str = "t1c",
    transforms=None,
) -> MRIStudy:
    """Load every MRI file of a case onto one grid, keeping what loads and explaining the rest.

    Sequences and a mask on other grids (native space: other shape, voxel size, axis
    directions or origin) are resampled onto the reference grid through their affines
    (scanner coordinates), each with a note in ``notes`` saying so. Files that fail to
    load are left out with a message in ``errors``.

    Parameters
    ----------
    case : Case
    atol : float
        Tolerance (mm) when comparing affines.
    workers : int
        Files read in parallel threads (decompression releases the GIL).
    resample : bool
        Resample sequences on other grids (default). When false, they are left out with
        a message in ``errors``, as before native-space support.
    reference : str
        The grid: a sequence (``"t1c"`` default, ``"t1"``, ``"t2"``, ``"flair"``; when
        absent, the grid most sequences share) or ``"iso1"``, a 1 mm isotropic RAS grid
        covering that sequence's field of view.
    transforms : mapping of str -> ndarray, optional
        Role -> 4x4 world-to-world transform (reference world -> that file's world) from a
        rigid registration (:mod:`corebt_viewer.io.registration`), for when the scanner
        coordinates disagree.

    Returns
    -------
    MRIStudy
    """
    from concurrent.futures import ThreadPoolExecutor

    from corebt_viewer.io.resample import describe_grid, isotropic_grid, resample_to_grid

    jobs: list[tuple[str, object]] = [
        (seq.value, lambda seq=seq: load_volume(case.mri[seq], seq)) for seq in case.sequences
    ]
    if case.segmentation is not None:
        jobs.append(("seg", lambda: load_segmentation(case.segmentation)))

    def run(job):
        role, load = job
        try:
            return role, load(), None
        except InputError as exc:
            return role, None, str(exc)

    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(run, jobs))
    else:
        results = [run(job) for job in jobs]
    volumes: dict[Sequence, Volume] = {}
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}
    segmentation = None
    for role, loaded, error in results:
        if error is not None:
            errors[role] = error
        elif role == "seg":
            segmentation = loaded
        else:
            volumes[Sequence(role)] = loaded
    transforms = dict(transforms or {})
    if not volumes:
        return MRIStudy(volumes=volumes, segmentation=segmentation, errors=errors, notes=notes)
    grids = [(v.path, v.shape, v.affine) for v in volumes.values()]
    wanted = reference if reference != "iso1" else "t1c"
    if wanted in {s.value for s in volumes}:
        ref_vol = volumes[Sequence(wanted)]
        ref_grid, ref_name = (ref_vol.path, ref_vol.shape, ref_vol.affine), wanted
    else:
        groups = [[g for g in grids if grid_mismatch(r, g, atol) is None] for r in grids]
        ref_grid = max(groups, key=len)[0]
        ref_name = next(s.value for s, v in volumes.items() if v.path == ref_grid[0])
        if resample and any(grid_mismatch(ref_grid, g, atol) for g in grids):
            notes["reference"] = f"no {wanted} loaded: the {ref_name} grid is the reference"
    if reference == "iso1":
        shape, affine = isotropic_grid(ref_grid[1], ref_grid[2], 1.0)
        ref_name = f"1 mm isotropic ({ref_name} field of view)"
        ref_grid = (Path("1 mm isotropic grid"), shape, affine)
    how = "through the scanner coordinates"
    for seq, vol in list(volumes.items()):
        moved = transforms.get(seq.value)
        problem = grid_mismatch(ref_grid, (vol.path, vol.shape, vol.affine), atol)
        if problem is None and moved is None:
            continue
        if not resample:
            errors[seq.value] = f"{vol.path}: {problem}"
            del volumes[seq]
            continue
        data = resample_to_grid(vol.data, vol.affine, ref_grid[1], ref_grid[2], transform=moved)
        volumes[seq] = Volume(
            data=data,
            affine=np.asarray(ref_grid[2], float),
            voxel_size=voxel_size_of(ref_grid[2]),
            sequence=seq,
            path=vol.path,
        )
        via = "through its registration transform" if moved is not None else how
        notes[seq.value] = (
            f"resampled (trilinear) from {describe_grid(vol.shape, vol.affine)} onto the "
            f"{ref_name} grid {describe_grid(ref_grid[1], ref_grid[2])} {via}"
        )
    if segmentation is not None:
        seg_grid = (case.segmentation, segmentation.labels.shape, segmentation.affine)
        problem = grid_mismatch(ref_grid, seg_grid, atol)
        if problem is not None and not resample:
            errors["seg"] = f"{case.segmentation}: {problem}"
            segmentation = None
        elif problem is not None:
            labels = resample_to_grid(
                segmentation.labels, segmentation.affine, ref_grid[1], ref_grid[2], order=0
            )
            notes["seg"] = (
                f"mask resampled (nearest neighbour) from "
                f"{describe_grid(segmentation.labels.shape, segmentation.affine)} onto the "
                f"{ref_name} grid; saved versions go back to the original's grid"
            )
            segmentation = Segmentation(
                labels=labels,
                convention=segmentation.convention,
                voxel_size=voxel_size_of(ref_grid[2]),
                affine=np.asarray(ref_grid[2], float),
            )
    volumes = {s: volumes[s] for s in sorted(volumes, key=list(Sequence).index)}
    return MRIStudy(volumes=volumes, segmentation=segmentation, errors=errors, notes=notes)


def save_segmentation(
    path: str | Path,
    labels_canonical: np.ndarray,
    *,
    reference: str | Path | None = None,
    convention: LabelConvention = LabelConvention.BRATS_2021,
    affine: np.ndarray | None = None,
    dtype=None,
) -> Path:
    """Write a canonical mask as a NIfTI file in a BraTS convention.

    With a `reference` file (the original mask or a sequence of the case) the mask is
    written back in that file's own voxel order, with its header, affine and, unless
    `dtype` says otherwise, its data type. Without one, it is written in RAS order with
    `affine` (required) as uint8. The write is atomic (temporary file, then rename).

    Parameters
    ----------
    path : path-like
        Destination (``.nii`` or ``.nii.gz``).
    labels_canonical : ndarray
        Canonical labels (0-3) in RAS order, as :func:`load_segmentation` returns them.
    reference : path-like, optional
    convention : LabelConvention
        Label values to write (``BRATS_2021``: enhancing 4; ``BRATS_2023``: 3).
    affine : ndarray, optional
        The canonical (RAS) affine, used when there is no reference.
    dtype : numpy dtype, optional

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Unreadable reference, or a mask whose shape does not fit it.
    """
    import nibabel as nib
    from nibabel import orientations as ornt_mod

    path = Path(path)
    if not is_nifti(path):
        raise InputError(path, "segmentations are saved as .nii or .nii.gz")
    labels_canonical = np.asarray(labels_canonical)
    if labels_canonical.ndim != 3:
        raise InputError(path, f"mask must be 3-D, got shape {labels_canonical.shape}")
    if reference is not None:
        ref = _open_image(reference)
        _, shape, _ = _canonical_grid(ref)
        if tuple(labels_canonical.shape) != shape:
            raise InputError(
                reference,
                f"mask shape {_fmt_shape(labels_canonical.shape)} does not fit this file's "
                f"grid {_fmt_shape(shape)}",
            )
        out_dtype = np.dtype(dtype) if dtype is not None else ref.header.get_data_dtype()
        to_file = ornt_mod.ornt_transform(
            ornt_mod.axcodes2ornt(("R", "A", "S")), ornt_mod.io_orientation(ref.affine)
        )
        file_labels = from_canonical(labels_canonical, convention, dtype=out_dtype)
        data = ornt_mod.apply_orientation(file_labels, to_file)
        header = ref.header.copy()
        header.set_data_dtype(out_dtype)
        img = type(ref)(np.ascontiguousarray(data), ref.affine, header)
        img.header.set_slope_inter(1.0, 0.0)
    else:
        if affine is None:
            raise ValueError("save_segmentation needs a reference file or an affine")
        out_dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.uint8)
        data = from_canonical(labels_canonical, convention, dtype=out_dtype)
        img = nib.Nifti1Image(data, np.asarray(affine, float))
        img.header.set_data_dtype(out_dtype)
        img.header.set_xyzt_units("mm")
    return save_nifti_atomic(img, path)


def save_nifti_atomic(img, path: str | Path) -> Path:
    """Write a NIfTI image to a temporary file beside `path`, then rename it over `path`.

    A reader never sees a half-written file; the folder is created when needed.
    """
    import nibabel as nib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".nii.gz" if str(path).lower().endswith(".gz") else ".nii"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        nib.save(img, str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
