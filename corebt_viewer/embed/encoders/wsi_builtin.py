"""Built-in tile encoder: a morphological descriptor of H&E tiles in batched torch.

No weights needed. For each tile (RGB, at the grid's target resolution) it computes:

* colour: RGB means and spreads, saturation, background (glass) fraction;
* stains: Ruifrok-Johnston colour deconvolution into haematoxylin (H) and eosin (E) optical
  densities, their means, spreads and quantiles, and the H/E balance;
* nuclei, from the H channel (at half the tile resolution): area fraction above two absolute thresholds and one relative
  one, nuclei counted as local maxima of the smoothed H map (per 10,000 um^2), mean nuclear
  size (um^2) and the H density inside nuclei;
* texture: gradient (Sobel) statistics at two scales and on H, Laplacian energy, and
  grey-level co-occurrence statistics (contrast, homogeneity, correlation at 1 and 4
  pixels, histogram energy and entropy).

Everything runs on the batch at once on CPU or GPU. The feature names are in
:data:`FEATURE_NAMES` (so a linear probe on them can be read).
"""

from __future__ import annotations

import numpy as np

#: Stain vectors (optical density of H, E and DAB), Ruifrok & Johnston 2001.
RUIFROK_HED = np.array(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=np.float64
)

_QUANTILES = (0.1, 0.5, 0.9)
_NUCLEUS_THRESHOLDS = (0.25, 0.5)
_GLCM_LEVELS = 16
_GLCM_DISTANCES = (1, 4)

FEATURE_NAMES: tuple[str, ...] = (
    *(f"rgb_mean_{c}" for c in "rgb"),
    *(f"rgb_std_{c}" for c in "rgb"),
    "saturation_mean",
    "saturation_std",
    "background_fraction",
    *(f"h_{s}" for s in ("mean", "std", "p10", "p50", "p90")),
    *(f"e_{s}" for s in ("mean", "std", "p10", "p50", "p90")),
    "od_mean",
    "h_over_e",
    *(f"nuclear_fraction_h{t}" for t in _NUCLEUS_THRESHOLDS),
    "nuclear_fraction_relative",
    *(f"nuclear_density_h{t}" for t in _NUCLEUS_THRESHOLDS),
    *(f"nuclear_size_um2_h{t}" for t in _NUCLEUS_THRESHOLDS),
    "nuclear_h_mean",
    "gradient_mean",
    "gradient_std",
    "gradient_mean_half",
    "gradient_std_half",
    "h_gradient_mean",
    "laplacian_energy",
    *(
        f"glcm_{s}_d{d}"
        for d in _GLCM_DISTANCES
        for s in ("contrast", "homogeneity", "correlation")
    ),
    "grey_energy",
    "grey_entropy",
)


def _stain_matrix():
    rows = RUIFROK_HED / np.linalg.norm(RUIFROK_HED, axis=1, keepdims=True)
    return np.linalg.inv(rows)


class BuiltinTileEncoder:
    """Morphological descriptor of RGB tiles (see the module docstring).

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    mpp : float
        Microns per pixel of the tiles it receives (for nuclear sizes and densities).
    """

    name = "builtin"
    version = 1
    dim = len(FEATURE_NAMES)
    feature_names = FEATURE_NAMES

    def __init__(self, device: str = "auto", mpp: float = 0.5):
        import torch

        from corebt_viewer.embed.encoders.devices import resolve_device

        self.device = resolve_device(device)
        self.mpp = float(mpp)
        self._stains = torch.tensor(_stain_matrix(), dtype=torch.float32, device=self.device)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        self._sobel = torch.stack([sobel, sobel.T])[:, None].to(self.device)
        lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
        self._laplace = lap[None, None].to(self.device)

    def settings(self) -> dict:
        return {"name": self.name, "version": self.version, "dim": self.dim, "mpp": self.mpp}

    def encode(self, tiles):
        """Encode a batch of tiles.

        Parameters
        ----------
        tiles : torch.Tensor or ndarray of uint8, shape (B, H, W, 3)

        Returns
        -------
        torch.Tensor of float32, shape (B, dim), on the CPU
        """
        import torch

        with torch.inference_mode():
            x = torch.as_tensor(tiles).to(self.device, non_blocking=True)
            return self._features(x).float().cpu()

    def _features(self, tiles):
        import torch
        import torch.nn.functional as F

        full = tiles.permute(0, 3, 1, 2).float()  # B,3,H,W in 0-255
        full_grey = (0.299 * full[:, 0] + 0.587 * full[:, 1] + 0.114 * full[:, 2])[:, None] / 255.0
        # Everything else at half size (1 um/px for 0.5 um/px tiles): 4x cheaper, nuclei
        # (6-10 um) still span several pixels.
        half = F.avg_pool2d(full, 2)
        mpp = self.mpp * 2
        rgb = half / 255.0
        batch = rgb.shape[0]
        flat = rgb.flatten(2)
        feats = [flat.mean(2), flat.std(2)]
        high, low = rgb.max(1).values, rgb.min(1).values
        sat = (high - low) / high.clamp_min(1e-6)
        feats.append(sat.flatten(1).mean(1, keepdim=True))
        feats.append(sat.flatten(1).std(1, keepdim=True))
        background = (high > 0.85) & (sat < 0.07)
        feats.append(background.flatten(1).float().mean(1, keepdim=True))

        od = -torch.log10((half + 1.0) / 256.0)  # B,3,h,w
        stains = torch.einsum("bchw,cs->bshw", od, self._stains).clamp_min(0)
        h, e = stains[:, 0], stains[:, 1]
        small = F.avg_pool2d(stains[:, :2], 2).flatten(2)  # B,2,N (quantiles on quarter size)
        q = torch.tensor(_QUANTILES, device=rgb.device)
        quant = torch.quantile(small, q, dim=2).permute(1, 2, 0)  # B,2,3
        for i, channel in enumerate((h, e)):
            c = channel.flatten(1)
            feats += [c.mean(1, keepdim=True), c.std(1, keepdim=True), quant[:, i]]
        feats.append(od.flatten(1).mean(1, keepdim=True))
        feats.append((h.flatten(1).mean(1) / e.flatten(1).mean(1).clamp_min(1e-3))[:, None])

        area_um2 = h.shape[1] * h.shape[2] * mpp**2
        h1 = h[:, None]
        smooth = F.avg_pool2d(h1, 3, stride=1, padding=1, count_include_pad=False)
        local_max = F.max_pool2d(smooth, (5, 1), stride=1, padding=(2, 0))
        local_max = F.max_pool2d(local_max, (1, 5), stride=1, padding=(0, 2))
        peaks = smooth >= local_max
        fractions, densities, sizes = [], [], []
        for threshold in _NUCLEUS_THRESHOLDS:
            nuclear = h1 > threshold
            fraction = nuclear.flatten(1).float().mean(1)
            count = (peaks & (smooth > threshold)).flatten(1).float().sum(1)
            fractions.append(fraction)
            densities.append(count / area_um2 * 1e4)
            sizes.append(torch.where(count > 0, fraction * area_um2 / count.clamp_min(1), 0))
        relative = h1 > (h.flatten(1).mean(1) + h.flatten(1).std(1))[:, None, None, None]
        fractions.append(relative.flatten(1).float().mean(1))
        feats += [torch.stack(fractions, 1), torch.stack(densities, 1), torch.stack(sizes, 1)]
        nuclear = (h1 > _NUCLEUS_THRESHOLDS[0]).float()
        feats.append(
            ((h1 * nuclear).flatten(1).sum(1) / nuclear.flatten(1).sum(1).clamp_min(1))[:, None]
        )

        grey = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2])[:, None]
        for image in (full_grey, grey):
            g = F.conv2d(image, self._sobel, padding=1)
            mag = g.pow(2).sum(1).sqrt().flatten(1)
            feats += [mag.mean(1, keepdim=True), mag.std(1, keepdim=True)]
        gh = F.conv2d(h1, self._sobel, padding=1).pow(2).sum(1).sqrt().flatten(1)
        feats.append(gh.mean(1, keepdim=True))
        lap = F.conv2d(grey, self._laplace, padding=1)
        feats.append(lap.pow(2).flatten(1).mean(1, keepdim=True))

        levels = _GLCM_LEVELS
        quantised = (grey[:, 0] * (levels - 1)).round()
        for d in _GLCM_DISTANCES:
            pairs = (
                (quantised[:, :, :-d], quantised[:, :, d:]),
                (quantised[:, :-d, :], quantised[:, d:, :]),
            )
            contrast, homogeneity, correlation = 0.0, 0.0, 0.0
            for a, b in pairs:
                a, b = a.flatten(1), b.flatten(1)
                diff = (a - b).abs()
                contrast = contrast + diff.pow(2).mean(1) / (levels - 1) ** 2 / len(pairs)
                homogeneity = homogeneity + (1.0 / (1.0 + diff)).mean(1) / len(pairs)
                ca, cb = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
                denom = (ca.pow(2).mean(1) * cb.pow(2).mean(1)).sqrt().clamp_min(1e-6)
                correlation = correlation + (ca * cb).mean(1) / denom / len(pairs)
            feats.append(torch.stack([contrast, homogeneity, correlation], 1))
        hist = torch.zeros(batch, levels, device=rgb.device)
        hist.scatter_add_(1, quantised.flatten(1).long(), torch.ones_like(quantised.flatten(1)))
        prob = hist / hist.sum(1, keepdim=True)
        feats.append(prob.pow(2).sum(1, keepdim=True))
        feats.append(-(prob * prob.clamp_min(1e-12).log()).sum(1, keepdim=True))
        out = torch.cat(feats, 1)
        return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def build(device: str = "auto", mpp: float = 0.5) -> BuiltinTileEncoder:
    """Registry factory (``weights`` is accepted and ignored: none needed)."""
    return BuiltinTileEncoder(device=device, mpp=mpp)
