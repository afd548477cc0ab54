"""Measurements on an MRI mask: the bidimensional RANO product, region volumes, ruler lengths.

Qt-free. RANO (Wen et al., J Clin Oncol 2010) measures a lesion by its longest diameter on
an axial slice and the longest diameter perpendicular to it on the same slice. We measure
the enhancing tumour when the mask has any (RANO's target), else the whole tumour (as
RANO 2.0 allows for non-enhancing tumours); the result says which. The slice is the one
whose largest connected lesion has the largest product of the two diameters.

Diameters run between voxel centres in millimetres (the voxel size comes from the NIfTI
affine), so a rasterised ellipse of axes 2a and 2b measures 2a and 2b to within a voxel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corebt_viewer.core.segmentation import Region, composite_volumes_ml, region_volumes_ml

MEASURABLE_MM = 10.0  # RANO: both diameters at least 10 mm


@dataclass(frozen=True)
class RanoMeasurement:
    """The bidimensional measurement of the largest lesion.

    Attributes
    ----------
    target : str
        ``"enhancing tumour"`` or ``"whole tumour"`` (no enhancement in the mask).
    longest_mm, perpendicular_mm : float
    slice_index : int
        Axial slice (index along the mask's third, inferior-superior axis).
    longest_ends, perpendicular_ends : ndarray, shape (2, 3)
        Voxel coordinates (x, y, z) of the two ends of each diameter (the longest runs
        between voxel centres; the perpendicular is drawn exactly at right angles, so its
        ends may fall between centres).
    volumes_ml : dict of str -> float
        Per region and BraTS composite (whole tumour, tumour core, enhancing) volumes.
    """

    target: str
    longest_mm: float
    perpendicular_mm: float
    slice_index: int
    longest_ends: np.ndarray
    perpendicular_ends: np.ndarray
    volumes_ml: dict[str, float] = field(default_factory=dict)

    @property
    def product_mm2(self) -> float:
        return self.longest_mm * self.perpendicular_mm

    @property
    def measurable(self) -> bool:
        return min(self.longest_mm, self.perpendicular_mm) >= MEASURABLE_MM

    def text(self) -> str:
        """One line, e.g. ``RANO (enhancing tumour): 42.0 x 30.5 mm = 1281 mm² (slice 77)``."""
        note = "" if self.measurable else ", below RANO's 10 mm: not measurable"
        return (
            f"RANO ({self.target}): {self.longest_mm:.1f} x {self.perpendicular_mm:.1f} mm"
            f" = {self.product_mm2:.0f} mm² (axial slice {self.slice_index}{note})"
        )


def measure_rano(mask: np.ndarray, voxel_size: tuple[float, ...]) -> RanoMeasurement | None:
    """Bidimensional RANO measurement and region volumes of a canonical mask.

    Parameters
    ----------
    mask : ndarray, shape (x, y, z)
        Canonical labels (1 necrotic core, 2 oedema, 3 enhancing) in RAS order: the
        third axis is axial.
    voxel_size : tuple of float
        Millimetres along the three axes (from the affine).

    Returns
    -------
    RanoMeasurement or None
        None when the mask is empty.
    """
    from scipy import ndimage

    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"a mask for RANO must be 3-D, got shape {mask.shape}")
    voxel = tuple(float(v) for v in voxel_size)
    if len(voxel) != 3 or min(voxel) <= 0:
        raise ValueError(f"voxel size must be three positive millimetres, got {voxel_size!r}")
    enhancing = mask == int(Region.ENHANCING)
    if enhancing.any():
        target, name = enhancing, "enhancing tumour"
    else:
        target, name = mask > 0, "whole tumour"
    if not target.any():
        return None
    best = None
    structure = np.ones((3, 3), bool)
    for z in np.flatnonzero(target.any(axis=(0, 1))):
        labels, count = ndimage.label(target[:, :, z], structure=structure)
        sizes = np.bincount(labels.ravel())[1:]
        component = labels == (int(np.argmax(sizes)) + 1)
        longest, ld_ends, perp, pd_ends = _diameters(np.argwhere(component), voxel[:2])
        if best is None or longest * perp > best[0] * best[2]:
            best = (longest, ld_ends, perp, pd_ends, int(z))
    longest, ld_ends, perp, pd_ends, z = best
    volumes = {r.title: v for r, v in region_volumes_ml(mask, voxel).items()}
    composite = composite_volumes_ml(mask, voxel)
    volumes |= {k.replace("_", " ").capitalize(): v for k, v in composite.items()}
    return RanoMeasurement(
        target=name,
        longest_mm=longest,
        perpendicular_mm=perp,
        slice_index=z,
        longest_ends=np.column_stack([ld_ends, [z, z]]).astype(float),
        perpendicular_ends=np.column_stack([pd_ends, [z, z]]).astype(float),
        volumes_ml=volumes,
    )


def _diameters(pixels: np.ndarray, spacing: tuple[float, float]):
    """Longest diameter and longest perpendicular chord of a 2-D pixel set (mm)."""
    mm = pixels * np.asarray(spacing)
    hull = _hull_points(mm)
    diff = hull[:, None, :] - hull[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    longest = float(dist[i, j])
    index = {tuple(p): k for k, p in enumerate(mm)}
    ld_ends = pixels[[index[tuple(hull[i])], index[tuple(hull[j])]]]
    if longest == 0:
        return 0.0, ld_ends, 0.0, ld_ends
    d = (hull[j] - hull[i]) / longest
    u = np.array([-d[1], d[0]])
    along, across = mm @ d, mm @ u
    step = min(spacing)
    bins = np.round((along - along.min()) / step).astype(int)
    order = np.argsort(bins, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(bins[order]) != 0])
    lo = np.minimum.reduceat(across[order], starts)
    hi = np.maximum.reduceat(across[order], starts)
    k = int(np.argmax(hi - lo))
    members = order[starts[k] : (starts[k + 1] if k + 1 < len(starts) else len(order))]
    # the chord drawn exactly perpendicular, at the mean position of its line along d
    s = float(along[members].mean())
    ends_mm = np.array([s * d + lo[k] * u, s * d + hi[k] * u])
    return longest, ld_ends, float(hi[k] - lo[k]), ends_mm / np.asarray(spacing)


def _hull_points(points: np.ndarray) -> np.ndarray:
    if len(points) < 3:
        return points
    from scipy.spatial import ConvexHull, QhullError

    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # collinear pixels: every point is on the "hull"
        return points


def line_length_mm(start, end) -> float:
    """Length of a ruler between two world points given in millimetres."""
    a, b = np.asarray(start, float), np.asarray(end, float)
    if a.shape != b.shape:
        raise ValueError(f"ruler ends differ in dimension: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(b - a))


def describe_probe(
    values: dict[str, float],
    label: int | None,
    voxel: tuple[int, int, int],
    world: tuple[float, float, float],
) -> str:
    """Status-bar text for the voxel under the cursor.

    `values` maps a sequence title to the voxel's intensity as stored in its NIfTI (after
    the header's slope and intercept); `label` is the canonical mask label or None.
    """
    from corebt_viewer.core.segmentation import REGIONS

    parts = [f"{name} {value:.4g}" for name, value in values.items()]
    if label is not None:
        titles = {int(r): r.title for r in REGIONS}
        parts.append(f"mask: {titles.get(int(label), 'background' if label == 0 else label)}")
    i, j, k = voxel
    x, y, z = world
    parts.append(f"voxel ({i}, {j}, {k})  ({x:.1f}, {y:.1f}, {z:.1f}) mm")
    return "  ·  ".join(parts)
