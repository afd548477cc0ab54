"""Macenko stain normalisation of H&E tiles, as a transform before a tile encoder.

Each tile's haematoxylin and eosin stain vectors and concentrations are estimated as in
Macenko et al., "A method for normalizing histology slides for quantitative analysis"
(ISBI 2009): optical density, the plane of its two main eigenvectors, the extreme angles
(robust percentiles) as the two stain vectors, concentrations by least squares, and the
99th percentile of each concentration as its maximum. The tile is then rebuilt with a
reference stain matrix and reference maxima. Tiles with too little stain (glass, fat) are
left as they are, and counted.

Written here in numpy (about 40 lines, tested) rather than taken from a library: torchstain
installs a top-level ``tests`` package that shadows this project's tests, and staintools
needs SPAMS, which does not install from PyPI wheels.

The default reference is the one of Macenko's original code, used by most ports: stain
matrix ``[[0.5626, 0.2159], [0.7201, 0.8012], [0.4062, 0.5581]]`` (H and E columns, RGB
optical density) and maximum concentrations ``[1.9705, 1.0308]``. A reference can also be
fitted to a tile of a chosen slide (:meth:`MacenkoNormalizer.fitted`).
"""

from __future__ import annotations

import numpy as np

#: The reference of Macenko's original code, as recorded.
MACENKO_REFERENCE = "macenko-2009"
_HE_REF = ((0.5626, 0.2159), (0.7201, 0.8012), (0.4062, 0.5581))
_MAX_C_REF = (1.9705, 1.0308)


class NotEnoughStain(ValueError):
    """A tile has too few stained pixels to estimate its stains."""


def optical_density(rgb: np.ndarray, io: float = 240.0) -> np.ndarray:
    """(n, 3) optical density of RGB pixels: ``-log((I + 1) / io)``."""
    return -np.log((rgb.reshape(-1, 3).astype(np.float64) + 1.0) / io)


def estimate_stains(
    rgb: np.ndarray,
    *,
    io: float = 240.0,
    alpha: float = 1.0,
    beta: float = 0.15,
    min_pixels: int = 50,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stain matrix, concentrations and maximum concentrations of an RGB image (Macenko).

    Returns
    -------
    stains : ndarray (3, 2)
        Unit optical-density vectors of haematoxylin (column 0) and eosin (column 1).
    concentrations : ndarray (2, n_pixels)
    max_concentrations : ndarray (2,)
        99th percentile of each stain's concentration.

    Raises
    ------
    NotEnoughStain
        Fewer than `min_pixels` pixels above `beta` in every channel.
    """
    od = optical_density(rgb, io)
    stained = od[(od >= beta).all(axis=1)]
    if len(stained) < min_pixels:
        raise NotEnoughStain(f"{len(stained)} stained pixels")
    _, vectors = np.linalg.eigh(np.cov(stained.T))
    plane = vectors[:, 1:3]  # the two largest eigenvalues (eigh sorts ascending)
    projected = stained @ plane
    angles = np.arctan2(projected[:, 1], projected[:, 0])
    low, high = np.percentile(angles, [alpha, 100 - alpha])
    ends = [plane @ np.array([np.cos(a), np.sin(a)]) for a in (low, high)]
    ends = [v if v.sum() >= 0 else -v for v in ends]
    ends = [v / max(np.linalg.norm(v), 1e-12) for v in ends]
    # haematoxylin absorbs more red than eosin does: it goes first
    h, e = (ends[0], ends[1]) if ends[0][0] >= ends[1][0] else (ends[1], ends[0])
    stains = np.stack([h, e], axis=1)
    concentrations = np.linalg.pinv(stains) @ od.T
    maxima = np.percentile(concentrations, 99, axis=1)
    return stains, concentrations, maxima


class MacenkoNormalizer:
    """Normalise the stain of RGB tiles to a reference (callable on a tile or a batch).

    Parameters
    ----------
    reference : str
        Name of the reference, recorded (``"macenko-2009"`` for the default).
    stain_matrix, max_concentrations : array-like, optional
        The reference (3 x 2 optical-density H and E columns; 2 maxima). Default: the
        original implementation's.
    io : float
        Transmitted light intensity (brightness of glass).
    alpha : float
        Percentile of the stain-angle extremes (robustness to outliers).
    beta : float
        Optical density under which a pixel counts as glass.
    min_stained_fraction : float
        Tiles with fewer stained pixels than this are left as they are (no stain to
        estimate) and counted in ``skipped``; ``normalised`` counts the others.

    Examples
    --------
    >>> normalise = MacenkoNormalizer()
    >>> tiles = normalise(tiles)  # doctest: +SKIP  (B, H, W, 3) uint8 in and out
    >>> normalise.record()["method"]
    'macenko'
    """

    def __init__(
        self,
        *,
        reference: str = MACENKO_REFERENCE,
        stain_matrix=_HE_REF,
        max_concentrations=_MAX_C_REF,
        io: float = 240.0,
        alpha: float = 1.0,
        beta: float = 0.15,
        min_stained_fraction: float = 0.05,
    ):
        self.reference = str(reference)
        self.stain_matrix = np.asarray(stain_matrix, dtype=np.float64).reshape(3, 2)
        self.max_concentrations = np.asarray(max_concentrations, dtype=np.float64).reshape(2)
        self.io, self.alpha, self.beta = float(io), float(alpha), float(beta)
        self.min_stained_fraction = float(min_stained_fraction)
        self.normalised = 0
        self.skipped = 0

    @classmethod
    def fitted(cls, reference_rgb: np.ndarray, *, name: str, **kwargs) -> MacenkoNormalizer:
        """A normaliser whose reference is estimated on `reference_rgb` (a tile or region
        of a chosen slide), recorded under `name`.

        Raises
        ------
        NotEnoughStain
            The reference image is (nearly) glass.
        """
        probe = cls(reference=name, **kwargs)
        stains, _, maxima = estimate_stains(
            reference_rgb[..., :3], io=probe.io, alpha=probe.alpha, beta=probe.beta
        )
        return cls(reference=name, stain_matrix=stains, max_concentrations=maxima, **kwargs)

    def normalise_tile(self, tile: np.ndarray) -> np.ndarray:
        """One (H, W, 3) uint8 tile, normalised (or unchanged when it has too little stain)."""
        tile = np.ascontiguousarray(tile[..., :3])
        needed = max(50, int(self.min_stained_fraction * tile.shape[0] * tile.shape[1]))
        try:
            _, concentrations, maxima = estimate_stains(
                tile, io=self.io, alpha=self.alpha, beta=self.beta, min_pixels=needed
            )
        except (NotEnoughStain, np.linalg.LinAlgError):
            self.skipped += 1
            return tile
        scale = self.max_concentrations / np.maximum(maxima, 1e-6)
        od = self.stain_matrix @ (concentrations * scale[:, None])
        rgb = np.clip(self.io * np.exp(-od), 0, 255).T.reshape(tile.shape)
        self.normalised += 1
        return rgb.astype(np.uint8)

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        """Normalise a tile (H, W, 3) or a batch (B, H, W, 3) of uint8 tiles."""
        tiles = np.asarray(tiles)
        if tiles.ndim == 3:
            return self.normalise_tile(tiles)
        return np.stack([self.normalise_tile(t) for t in tiles]) if len(tiles) else tiles

    def record(self) -> dict:
        """What to store in the embedding profile (JSON-able)."""
        return {
            "method": "macenko",
            "implementation": "corebt_viewer.embed.stain v1 (numpy)",
            "reference": self.reference,
            "stain_matrix": np.round(self.stain_matrix, 6).tolist(),
            "max_concentrations": np.round(self.max_concentrations, 6).tolist(),
            "io": self.io,
            "alpha": self.alpha,
            "beta": self.beta,
            "min_stained_fraction": self.min_stained_fraction,
        }
