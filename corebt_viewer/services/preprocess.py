"""``corebt preprocess``: an atlas-space, 1 mm copy of a cohort, as the paper's BraTS step.

Per case: the anchor sequence (T1, else T1c, else the first) is registered rigidly to the
atlas; every other sequence rigidly to the anchor in its own scanner space; each sequence
is then resampled once (trilinear) onto the atlas's 1 mm grid through the composed
transform, the mask (nearest neighbour) through the anchor's. Skull stripping, when asked
for, keeps the atlas's brain mask (dilated 3 mm) mapped onto the case: no model, no
download, but only as good as a rigid fit of a standard brain (see docs/preprocessing.md).

The default atlas is the MNI152 2009a symmetric T1 template (1 mm, 197x233x189, brain
only) that nilearn ships in its package data, read from the file without importing
nilearn; ``atlas=`` takes any T1-weighted NIfTI instead. Output:
``<cohort>/.corebt/preprocessed/<case>/<case>_{t1,t1c,t2,flair,seg}.nii.gz``, a
``provenance.json`` per case, and ``<cohort>/.corebt/preprocessed/manifest.csv`` that
every other command opens. A case whose outputs and provenance match its inputs and
settings is skipped (resume); a case that fails is listed with the reason and the rest go on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import CoreBTError, InputError
from corebt_viewer.core.progress import Cancelled, ProgressCallback, report

FORMAT = "corebt-preprocess/1"
NILEARN_TEMPLATE = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"


@dataclass(frozen=True)
class Atlas:
    """A template in its own world: data, affine, brain mask, where it came from."""

    name: str
    path: Path
    data: np.ndarray
    affine: np.ndarray
    brain: np.ndarray


def default_atlas_path() -> Path:
    """nilearn's packaged MNI152 2009a T1 template (no download; nilearn not imported)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(None, "the default atlas needs nilearn installed; or give --atlas FILE")
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / NILEARN_TEMPLATE
    )
    if not path.is_file():
        raise InputError(
            path, "nilearn's MNI152 template is missing from its package; give --atlas"
        )
    return path


def load_atlas(path: str | Path | None = None, *, spacing: float | None = 1.0) -> Atlas:
    """The atlas: `path` (a T1-weighted NIfTI) or nilearn's MNI152 template.

    The brain mask is the atlas's non-zero voxels with holes filled (a skull-stripped
    template); with a template that has a skull, skull stripping keeps the whole head.
    """
    from scipy import ndimage

    from corebt_viewer.io.nifti import load_volume
    from corebt_viewer.io.resample import isotropic_grid, resample_to_grid, same_grid

    source = Path(path) if path is not None else default_atlas_path()
    vol = load_volume(source)
    data, affine = vol.data, vol.affine
    if spacing is not None:
        shape, iso = isotropic_grid(vol.shape, vol.affine, spacing)
        if not same_grid((shape, iso), (vol.shape, vol.affine)):
            data, affine = resample_to_grid(vol.data, vol.affine, shape, iso), iso
    brain = ndimage.binary_fill_holes(data > 0)
    name = "MNI152 2009a symmetric (nilearn)" if path is None else source.name
    return Atlas(name, source, data, affine, brain)


@dataclass
class PreprocessReport:
    """What a run did: cases written, resumed (already up to date) and failed (with reasons)."""

    out_dir: Path
    manifest: Path | None = None
    done: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _settings_key(atlas: Atlas, skull_strip: bool, sources: dict) -> str:
    blob = json.dumps(
        {
            "format": FORMAT,
            "atlas": str(atlas.path),
            "atlas_size": atlas.path.stat().st_size,
            "grid": [list(atlas.data.shape), atlas.affine.round(6).tolist()],
            "skull_strip": skull_strip,
            "sources": sources,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def preprocess_cohort(
    *,
    cohort,
    out_dir: str | Path | None = None,
    atlas: str | Path | None = None,
    skull_strip: bool = False,
    spacing: float | None = 1.0,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PreprocessReport:
    """Write an atlas-space 1 mm copy of every case of `cohort` (see the module docstring).

    Parameters
    ----------
    cohort : Cohort
    out_dir : path-like, optional
        Default ``<cohort root>/.corebt/preprocessed``.
    atlas : path-like, optional
        A T1-weighted template NIfTI (default: nilearn's MNI152 2009a, 1 mm).
    skull_strip : bool
        Zero everything outside the atlas brain mask (dilated 3 mm) mapped onto the case.
    spacing : float or None
        Output voxel size (mm) of an isotropic grid over the atlas; ``None`` keeps the
        atlas's own grid (the default atlas is 1 mm already).
    threads : int, optional
        SimpleITK threads.
    progress, cancel : callables, optional

    Returns
    -------
    PreprocessReport
    """
    from corebt_viewer.core.case import Case, Cohort
    from corebt_viewer.io.manifest import write_manifest

    out = Path(out_dir) if out_dir is not None else Path(cohort.root) / ".corebt" / "preprocessed"
    out.mkdir(parents=True, exist_ok=True)
    the_atlas = load_atlas(atlas, spacing=spacing)
    result = PreprocessReport(out)
    written: list[Case] = []
    total = len(cohort)
    for done, case in enumerate(cohort):
        if cancel is not None and cancel():
            raise Cancelled()
        report(progress, done, total, f"{case.patient_id}", "preprocess")
        try:
            new_case, resumed = _preprocess_case(case, out, the_atlas, skull_strip, threads)
        except (CoreBTError, RuntimeError, ValueError, OSError, MemoryError) as exc:
            result.failed.append((case.patient_id, str(exc)))
            continue
        (result.resumed if resumed else result.done).append(case.patient_id)
        written.append(new_case)
    report(progress, total, total, "done", "preprocess")
    if written:
        result.manifest = write_manifest(
            Cohort(root=out, cases=tuple(written)), out / "manifest.csv"
        )
    return result


def _case_dir(out: Path, case_id: str) -> Path:
    import re

    return out / (re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).strip(".") or "case")


def _preprocess_case(case, out: Path, atlas: Atlas, skull_strip: bool, threads: int | None):
    """Register, resample and write one case; returns ``(case in atlas space, resumed)``."""
    from dataclasses import replace

    from corebt_viewer.services.native_space import file_identity

    if not case.mri:
        raise InputError(None, "no MRI sequence")
    folder = _case_dir(out, case.patient_id)
    sources = {
        role: file_identity(path) for role, path in case.files() if role not in ("slide", "report")
    }
    key = _settings_key(atlas, skull_strip, sources)
    names = {seq: folder / f"{folder.name}_{seq.value}.nii.gz" for seq in case.sequences}
    seg_out = folder / f"{folder.name}_seg.nii.gz" if case.segmentation is not None else None
    new_case = replace(
        case,
        mri={seq: names[seq] for seq in case.sequences},
        segmentation=seg_out,
    )
    provenance = folder / "provenance.json"
    if provenance.is_file():
        try:
            old = json.loads(provenance.read_text())
        except ValueError:
            old = {}
        files = list(names.values()) + ([seg_out] if seg_out else [])
        if old.get("key") == key and all(f.is_file() for f in files):
            return new_case, True
    record = _register_and_write(case, folder, names, seg_out, atlas, skull_strip, threads)
    record.update(
        format=FORMAT,
        key=key,
        case=case.patient_id,
        sources=sources,
        atlas={"name": atlas.name, "path": str(atlas.path), "shape": list(atlas.data.shape)},
        skull_strip="atlas brain mask, dilated 3 mm" if skull_strip else None,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    tmp = provenance.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, provenance)
    return new_case, False


def _register_and_write(case, folder, names, seg_out, atlas, skull_strip, threads) -> dict:
    import nibabel as nib
    import SimpleITK as sitk
    from scipy import ndimage

    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.core.segmentation import from_canonical
    from corebt_viewer.io.nifti import load_segmentation, load_volume
    from corebt_viewer.io.registration import register_rigid
    from corebt_viewer.io.resample import resample_to_grid

    volumes = {seq: load_volume(case.mri[seq], seq) for seq in case.sequences}
    anchor = next(s for s in (Sequence.T1, Sequence.T1C, *volumes) if s in volumes)
    a = volumes[anchor]
    to_anchor = register_rigid(
        (atlas.data, atlas.affine),
        (a.data, a.affine),
        initialise="moments",
        finest_mm=2.0,
        sampling=0.1,
        threads=threads,
    )
    transforms = {anchor: to_anchor.matrix}
    record: dict = {
        "software": {"simpleitk": sitk.Version.VersionString(), "nibabel": nib.__version__},
        "anchor": anchor.value,
        "registration": {anchor.value: {"to": "atlas", **to_anchor.as_dict()}},
    }
    for seq, vol in volumes.items():
        if seq == anchor:
            continue
        within = register_rigid(
            (a.data, a.affine),
            (vol.data, vol.affine),
            initialise="none",
            finest_mm=2.0,
            sampling=0.1,
            threads=threads,
        )
        transforms[seq] = within.matrix @ to_anchor.matrix
        record["registration"][seq.value] = {"to": anchor.value, **within.as_dict()}
    brain = None
    if skull_strip:
        brain = ndimage.binary_dilation(atlas.brain, iterations=3)
    folder.mkdir(parents=True, exist_ok=True)
    shape = atlas.data.shape
    for seq, vol in volumes.items():
        data = resample_to_grid(
            vol.data, vol.affine, shape, atlas.affine, transform=transforms[seq]
        )
        if brain is not None:
            data[~brain] = 0
        _save(nib.Nifti1Image(data, atlas.affine), names[seq])
    if seg_out is not None:
        seg = load_segmentation(case.segmentation)
        labels = resample_to_grid(
            seg.labels, seg.affine, shape, atlas.affine, order=0, transform=to_anchor.matrix
        )
        file_labels = from_canonical(labels, seg.convention, dtype=np.uint8)
        _save(nib.Nifti1Image(file_labels, atlas.affine), seg_out)
        record["mask"] = (
            f"nearest neighbour through the {anchor.value} transform; convention {seg.convention.value}"
        )
    record["resampling"] = "trilinear, once, onto the atlas grid (1 mm)"
    return record


def _save(img, path: Path) -> None:
    from corebt_viewer.io.nifti import save_nifti_atomic

    img.header.set_xyzt_units("mm")
    save_nifti_atomic(img, path)
