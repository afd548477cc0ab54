"""Built-in MRI encoder: a radiomics-style vector per sequence (numpy only, no weights).

For each available sequence the vector holds

* region volumes (necrotic core, oedema, enhancing, whole tumour, tumour core), as
  ``log1p(mL)``, and the fraction of the whole tumour each region makes;
* intensity statistics of the sequence inside each region (mean, spread, 10th/50th/90th
  percentiles), expressed in standard deviations of *normal-appearing brain* (brain voxels
  outside the dilated tumour), so scanners and sequences compare;
* shape of the whole tumour: sphericity, bounding-box extent, and the elongation and
  flatness from its principal axes;
* location: the tumour centroid in brain-relative coordinates (-1..1 per RAS axis), its
  distance from the brain centre and its laterality;
* whole-brain features: brain volume and the normalised intensity distribution of the brain
  (1st/99th percentiles, skewness, kurtosis), plus a ``no_mask`` flag.

Without a segmentation only the whole-brain features are filled (region, shape and
location entries are 0) and ``no_mask`` is 1; :func:`encode_study` reports the flag.

Subject embedding: the mean over the available sequences, the paper's choice (section 4.2);
the per-sequence vectors are kept as the parts of the mean.
"""

from __future__ import annotations

import numpy as np

from corebt_viewer.core.segmentation import Region

_REGIONS = ("ncr", "ed", "et", "wt", "tc")
_STATS = ("mean", "std", "p10", "p50", "p90")

FEATURE_NAMES: tuple[str, ...] = (
    *(f"log_volume_ml_{r}" for r in _REGIONS),
    *(f"fraction_of_wt_{r}" for r in ("ncr", "ed", "et")),
    *(f"intensity_{s}_{r}" for r in ("ncr", "ed", "et", "wt") for s in _STATS),
    "sphericity",
    "bbox_extent",
    "elongation",
    "flatness",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "distance_from_centre",
    "laterality",
    "log_brain_volume_ml",
    "brain_p01",
    "brain_p99",
    "brain_skewness",
    "brain_kurtosis",
    "no_mask",
)


def _region_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    ncr = labels == int(Region.NECROTIC_CORE)
    ed = labels == int(Region.OEDEMA)
    et = labels == int(Region.ENHANCING)
    return {"ncr": ncr, "ed": ed, "et": et, "wt": ncr | ed | et, "tc": ncr | et}


def _surface_area_mm2(mask: np.ndarray, voxel: tuple[float, float, float]) -> float:
    """Area of the exposed voxel faces of a mask (mm^2)."""
    padded = np.pad(mask, 1)
    area = 0.0
    face = (voxel[1] * voxel[2], voxel[0] * voxel[2], voxel[0] * voxel[1])
    for axis in range(3):
        area += np.count_nonzero(np.diff(padded, axis=axis)) * face[axis]
    return float(area)


def _shape_features(wt: np.ndarray, voxel) -> list[float]:
    n = int(wt.sum())
    if n < 2:
        return [0.0, 0.0, 0.0, 0.0]
    volume = n * float(np.prod(voxel))
    area = _surface_area_mm2(wt, voxel)
    sphericity = (np.pi ** (1 / 3)) * (6 * volume) ** (2 / 3) / max(area, 1e-6)
    idx = np.argwhere(wt)
    extent = n / float(np.prod(idx.max(0) - idx.min(0) + 1))
    points = idx * np.asarray(voxel)
    eig = np.sort(np.linalg.eigvalsh(np.cov(points.T)))[::-1].clip(min=1e-9)
    return [
        float(sphericity),
        float(extent),
        float(np.sqrt(eig[1] / eig[0])),
        float(np.sqrt(eig[2] / eig[0])),
    ]


def _location_features(wt: np.ndarray, brain: np.ndarray) -> list[float]:
    if not wt.any() or not brain.any():
        return [0.0] * 5
    bidx = np.argwhere(brain)
    low, high = bidx.min(0), bidx.max(0)
    centre, half = (low + high) / 2.0, np.maximum((high - low) / 2.0, 1.0)
    rel = (np.argwhere(wt).mean(0) - centre) / half
    return [*map(float, rel), float(np.linalg.norm(rel)), float(abs(rel[0]))]


def _moments(values: np.ndarray) -> tuple[float, float]:
    if values.size < 3:
        return 0.0, 0.0
    centred = values - values.mean()
    sd = centred.std()
    if sd == 0:
        return 0.0, 0.0
    z = centred / sd
    return float((z**3).mean()), float((z**4).mean() - 3.0)


def encode_sequence(
    data: np.ndarray,
    labels: np.ndarray | None,
    voxel_size: tuple[float, float, float],
) -> np.ndarray:
    """Feature vector of one sequence (see :data:`FEATURE_NAMES`).

    Parameters
    ----------
    data : ndarray, shape (x, y, z)
        Intensities (skull-stripped: the brain is the non-zero voxels).
    labels : ndarray of uint8 or None
        Canonical tumour labels on the same grid, or ``None`` when the case has no mask.
    voxel_size : tuple of float
        Millimetres.
    """
    from scipy import ndimage as ndi

    data = np.asarray(data, dtype=np.float32)
    brain = data != 0
    voxel_ml = float(np.prod(voxel_size)) / 1000.0
    has_mask = labels is not None and bool(np.any(labels))
    if has_mask:
        masks = _region_masks(labels)
        near_tumour = ndi.binary_dilation(masks["wt"], iterations=3)
        normal = brain & ~near_tumour
    else:
        masks = None
        normal = brain
    reference = data[normal] if normal.any() else data[brain] if brain.any() else data.ravel()
    mu, sd = float(reference.mean()), float(reference.std()) or 1.0

    feats: list[float] = []
    if has_mask:
        wt_voxels = max(int(masks["wt"].sum()), 1)
        feats += [float(np.log1p(masks[r].sum() * voxel_ml)) for r in _REGIONS]
        feats += [float(masks[r].sum() / wt_voxels) for r in ("ncr", "ed", "et")]
        for r in ("ncr", "ed", "et", "wt"):
            values = (data[masks[r]] - mu) / sd
            if values.size:
                p10, p50, p90 = np.percentile(values, [10, 50, 90])
                feats += [
                    float(values.mean()),
                    float(values.std()),
                    float(p10),
                    float(p50),
                    float(p90),
                ]
            else:
                feats += [0.0] * len(_STATS)
        feats += _shape_features(masks["wt"], voxel_size)
        feats += _location_features(masks["wt"], brain)
    else:
        feats += [0.0] * (len(_REGIONS) + 3 + 4 * len(_STATS) + 4 + 5)
    brain_values = (data[brain] - mu) / sd if brain.any() else np.zeros(1, np.float32)
    p01, p99 = np.percentile(brain_values, [1, 99])
    skew, kurt = _moments(brain_values)
    feats += [float(np.log1p(brain.sum() * voxel_ml)), float(p01), float(p99), skew, kurt]
    feats.append(0.0 if has_mask else 1.0)
    return np.asarray(feats, dtype=np.float32)


class BuiltinMRIEncoder:
    """Radiomics-style MRI encoder (see the module docstring)."""

    name = "mri-builtin"
    version = 1
    dim = len(FEATURE_NAMES)
    feature_names = FEATURE_NAMES

    def settings(self) -> dict:
        return {"name": self.name, "version": self.version, "dim": self.dim}

    def encode_study(self, study) -> tuple[dict, dict[str, str]]:
        """Vectors of each sequence of an ``MRIStudy``.

        Returns
        -------
        vectors : dict of Sequence -> ndarray (dim,)
        flags : dict of str -> str
            ``{"mri": "no mask: whole-brain features only"}`` when there is no mask.
        """
        labels = None if study.segmentation is None else study.segmentation.labels
        vectors = {}
        for sequence, volume in study.volumes.items():
            seq_labels = labels if labels is not None and labels.shape == volume.shape else None
            vectors[sequence] = encode_sequence(volume.data, seq_labels, volume.voxel_size)
        flags = {}
        if labels is None or not np.any(labels):
            flags["mri"] = "no mask: whole-brain features only"
        elif any(labels.shape != v.shape for v in study.volumes.values()):
            flags["mri"] = "mask grid differs from a sequence: whole-brain features for it"
        return vectors, flags


def build() -> BuiltinMRIEncoder:
    """Registry factory."""
    return BuiltinMRIEncoder()
