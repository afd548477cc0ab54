"""Generators of small slides, volumes, reports and cohorts for the embedding tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def synthetic_he(height: int, width: int, seed: int = 0, *, tissue_box=None) -> np.ndarray:
    """An H&E-like RGB image: glass, a pink tissue region with purple nuclei."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 242, np.uint8)
    image += rng.integers(0, 6, image.shape, dtype=np.uint8)
    if tissue_box is None:
        tissue_box = (height // 5, width // 4, 4 * height // 5, 3 * width // 4)
    r0, c0, r1, c1 = tissue_box
    region = image[r0:r1, c0:c1]
    region[:] = (226, 150, 190)
    region += rng.integers(0, 20, region.shape, dtype=np.uint8)
    n_nuclei = (r1 - r0) * (c1 - c0) // 400
    rows = rng.integers(0, r1 - r0, n_nuclei)
    cols = rng.integers(0, c1 - c0, n_nuclei)
    yy, xx = np.mgrid[-4:5, -4:5]
    disc = yy**2 + xx**2 <= 16
    for r, c in zip(rows, cols, strict=True):
        ys, xs = r + yy[disc], c + xx[disc]
        ok = (ys >= 0) & (ys < r1 - r0) & (xs >= 0) & (xs < c1 - c0)
        region[ys[ok], xs[ok]] = (90, 50, 140)
    return image


def write_aperio_tiff(path: Path, image: np.ndarray, *, mpp: float = 0.5, levels: int = 2) -> Path:
    """Write a tiled pyramidal TIFF that OpenSlide reads as Aperio (one page per level)."""
    import tifffile
    from PIL import Image

    height, width = image.shape[:2]
    with tifffile.TiffWriter(path, bigtiff=False) as tif:
        current = image
        for level in range(levels):
            h, w = current.shape[:2]
            desc = (
                (
                    f"Aperio Image Library v12.0.0\r\n{width}x{height} [0,0 {w}x{h}] (256x256) JPEG/RGB Q=90"
                    f"|AppMag = 20|MPP = {mpp}"
                )
                if level == 0
                else f"Aperio Image Library v12.0.0\r\n{width}x{height} -> {w}x{h} - |"
            )
            tif.write(
                current,
                tile=(256, 256),
                photometric="rgb",
                compression="jpeg",
                description=desc,
                metadata=None,
                subfiletype=0 if level == 0 else 1,
            )
            current = np.asarray(Image.fromarray(current).reduce(4))
    return path


def write_nifti(path: Path, data: np.ndarray, voxel=(2.0, 2.0, 2.0)) -> Path:
    import nibabel as nib

    nib.save(nib.Nifti1Image(data, np.diag([*voxel, 1.0])), str(path))
    return path


def make_cohort(
    root: Path,
    *,
    n_cases: int = 2,
    slides_per_case: int = 1,
    slide_shape=(1024, 1280),
    seed: int = 0,
):
    """A small cohort (slides, tiny MRI with a mask for the first case, reports) with a manifest."""
    from corebt_viewer.core.case import Case, CaseLabels, Cohort
    from corebt_viewer.core.modalities import Sequence
    from corebt_viewer.io.manifest import write_manifest

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for i in range(n_cases):
        pid = f"P{i + 1:03d}"
        folder = root / pid
        folder.mkdir(exist_ok=True)
        slides = tuple(
            write_aperio_tiff(
                folder / f"{pid}_s{j}.svs", synthetic_he(*slide_shape, seed=seed + 10 * i + j)
            )
            for j in range(slides_per_case)
        )
        brain = np.zeros((20, 24, 16), np.float32)
        brain[3:17, 3:21, 2:14] = 1
        mri = {}
        for k, seq in enumerate(Sequence):
            data = (brain * (100 + 20 * k + rng.normal(0, 5, brain.shape))).astype(np.int16)
            mri[seq] = write_nifti(folder / f"{pid}_{seq.value}.nii.gz", data)
        seg = None
        if i == 0:
            labels = np.zeros(brain.shape, np.uint8)
            labels[8:12, 8:14, 6:10] = 2
            labels[9:11, 10:12, 7:9] = 4
            labels[10, 10, 8] = 1
            seg = write_nifti(folder / f"{pid}_seg.nii.gz", labels)
        report = folder / f"{pid}_report.txt"
        report.write_text(
            f"Case {pid}. Diffuse glioma with {'necrosis' if i % 2 else 'no necrosis'}. Mitoses {i + 2}."
        )
        cases.append(
            Case(
                pid,
                mri=mri,
                segmentation=seg,
                slides=slides,
                report=report,
                labels=CaseLabels(level1=None),
            )
        )
    cohort = Cohort(root=root, cases=tuple(cases))
    return write_manifest(cohort, root / "manifest.csv")
