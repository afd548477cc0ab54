"""Synthetic H&E tissue whose histology follows the tumour class, rendered tile by tile.

Colour follows the Beer-Lambert law with haematoxylin (nuclei, purple-blue), eosin (stroma,
pink) and blood (red cells) absorbances, so stain mixtures look like H&E. Every feature is a
pure function of level-0 coordinates (hashed per-cell random numbers and smooth low-resolution
fields), so neighbouring tiles join seamlessly and any tile can be rendered on its own.

What each class looks like (:func:`histology_style`), with overlap by design:

* glioblastoma: dense, pleomorphic, hyperchromatic nuclei with mitoses, necrosis rimmed by
  pseudopalisading nuclei, glomeruloid microvascular proliferation; some slides come from the
  infiltrating edge and look like a lower-grade astrocytoma;
* IDH-mutant astrocytoma: moderate cellularity, elongated irregular hyperchromatic nuclei in a
  fibrillary background, microcysts; grade 4 adds necrosis and vascular proliferation;
* oligodendroglioma: round, uniform nuclei with clear perinuclear halos ("fried eggs"), a
  branching "chicken-wire" capillary network, calcospherites; some without halos;
* pilocytic (circumscribed) astrocytoma: biphasic compact/loose-microcystic tissue, piloid
  nuclei, Rosenthal fibres and eosinophilic granular bodies;
* midline and rare tumours: infiltrating glioma of variable cellularity, ganglion-like cells in
  glioneuronal tumours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from corebt_viewer.io.demo import plan as P

TILE = 256
#: Tissue is synthesised at 1 um per pixel (half the level-0 resolution) and bilinearly
#: upsampled, so sizes in the rendering code are in microns; ``HistologyStyle`` sizes are in
#: level-0 pixels (0.5 um).
RENDER_SCALE = 2
#: Render pixels per cell of the low-resolution region fields.
FIELD_CELL = 24

# Optical-density vectors (R, G, B) of the stains.
_H = np.array([0.62, 0.78, 0.30])
_E = np.array([0.10, 0.95, 0.40])
_BLOOD = np.array([0.12, 0.85, 0.80])
_GLASS_OD = np.array([0.045, 0.055, 0.04])

_NH, _NE, _NB = 48, 48, 8
_HMAX, _EMAX, _BMAX = 2.4, 1.6, 1.4


@dataclass(frozen=True)
class HistologyStyle:
    """Parameters of the histology of one slide."""

    spacing: float = 26.0  # cell-grid spacing in level-0 px (smaller = more cellular)
    fill: float = 0.7  # share of grid cells holding a nucleus
    radius: float = 6.0  # mean nucleus radius (px at 0.5 um/px)
    radius_sd: float = 0.15  # relative spread of nuclear size (pleomorphism)
    elongation: float = 1.2  # long / short axis
    irregular: float = 0.1  # boundary irregularity
    darkness: float = 1.2  # haematoxylin density (hyperchromasia)
    halo: float = 0.0  # share of nuclei with a clear perinuclear halo
    giant: float = 0.0  # share of giant bizarre nuclei
    mitoses: float = 0.0  # share of mitotic figures
    necrosis: float = 0.0  # share of tissue that is necrotic (with pseudopalisading)
    mvp: float = 0.0  # density of glomeruloid vessels
    capillaries: float = 0.0  # strength of the chicken-wire capillary network
    microcysts: float = 0.0  # density of microcysts
    rosenthal: float = 0.0  # density of Rosenthal fibres and granular bodies
    biphasic: float = 0.0  # strength of compact / loose alternation
    ganglion: float = 0.0  # density of ganglion-like cells
    calcospherites: float = 0.0
    eosin: float = 0.55  # stroma eosin density
    fibrillary: float = 0.5  # strength of fibrillary texture


def histology_style(plan: P.PatientPlan, rng: np.random.Generator) -> HistologyStyle:
    """The histology of one slide of a patient: class look, patient variation and overlap."""
    level1, grade = plan.level1, plan.who_grade
    j = rng.uniform
    if level1 == P.GBM or (level1 == P.ASTRO and grade == 4) or level1 == P.MIDLINE:
        s = HistologyStyle(
            spacing=j(16, 21),
            fill=j(0.7, 0.9),
            radius=j(6.0, 7.5),
            radius_sd=j(0.25, 0.4),
            elongation=j(1.2, 1.6),
            irregular=j(0.2, 0.35),
            darkness=j(1.4, 1.8),
            giant=j(0.01, 0.04),
            mitoses=j(0.01, 0.03),
            necrosis=j(0.12, 0.3),
            mvp=j(0.5, 1.0),
        )
        if level1 == P.MIDLINE:
            s = replace(s, necrosis=s.necrosis * j(0.0, 0.6), spacing=j(18, 26), giant=0.005)
        if level1 == P.ASTRO:  # IDH-mutant grade 4: somewhat less necrosis, elongated nuclei
            s = replace(s, necrosis=s.necrosis * 0.6, elongation=j(1.6, 2.2))
        if rng.random() < 0.2:  # infiltrating edge: no necrosis, looks lower grade
            s = replace(s, necrosis=0.0, mvp=0.1, spacing=j(21, 27), giant=0.0)
    elif level1 == P.ASTRO:
        s = HistologyStyle(
            spacing=j(22, 28) if grade == 2 else j(18, 23),
            fill=j(0.55, 0.75),
            radius=j(5.0, 6.2),
            radius_sd=j(0.15, 0.25),
            elongation=j(1.7, 2.4),
            irregular=j(0.2, 0.35),
            darkness=j(1.35, 1.7),
            mitoses=0.0 if grade == 2 else 0.01,
            microcysts=j(0.0, 0.5),
            fibrillary=j(0.6, 0.9),
        )
        if rng.random() < 0.12:  # some astrocytomas show halo artefact (mimic oligo)
            s = replace(s, halo=j(0.2, 0.4))
    elif level1 == P.OLIGO:
        s = HistologyStyle(
            spacing=j(19, 23) if grade == 2 else j(16, 19),
            fill=j(0.7, 0.9),
            radius=j(4.8, 5.6),
            radius_sd=j(0.05, 0.1),
            elongation=j(1.0, 1.15),
            irregular=j(0.02, 0.08),
            darkness=j(1.2, 1.5),
            halo=j(0.6, 0.9),
            capillaries=j(0.6, 1.0),
            calcospherites=j(0.0, 0.4),
            fibrillary=j(0.15, 0.35),
            eosin=j(0.35, 0.5),
            mitoses=0.0 if grade == 2 else 0.01,
            mvp=0.0 if grade == 2 else j(0.0, 0.4),
        )
        if rng.random() < 0.18:  # poorly fixed: no halos (mimics astrocytoma)
            s = replace(s, halo=j(0.0, 0.15), elongation=j(1.2, 1.5), fibrillary=0.5)
    elif level1 == P.CIRCUMSCRIBED:
        s = HistologyStyle(
            spacing=j(22, 28),
            fill=j(0.55, 0.75),
            radius=j(4.5, 5.5),
            radius_sd=0.1,
            elongation=j(2.0, 2.8),
            irregular=0.05,
            darkness=j(1.1, 1.3),
            microcysts=j(0.6, 1.0),
            rosenthal=j(0.5, 1.0),
            biphasic=j(0.6, 1.0),
            eosin=j(0.65, 0.8),
            fibrillary=0.9,
        )
    elif level1 == P.GLIONEURONAL:
        s = HistologyStyle(
            spacing=j(24, 30),
            fill=j(0.5, 0.7),
            radius=j(5.0, 6.0),
            elongation=j(1.1, 1.4),
            darkness=j(1.0, 1.3),
            ganglion=j(0.4, 0.9),
            microcysts=j(0.2, 0.6),
            calcospherites=j(0.0, 0.3),
            rosenthal=j(0.0, 0.3),
        )
    else:  # pediatric diffuse astrocytoma, other / NEC low-grade glial tumours
        s = HistologyStyle(
            spacing=j(24, 32),
            fill=j(0.45, 0.65),
            radius=j(4.8, 5.8),
            elongation=j(1.5, 2.2),
            darkness=j(1.1, 1.4),
            microcysts=j(0.2, 0.6),
            fibrillary=0.7,
        )
    return s


def _hash_u(seed: int, a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Uniform [0, 1) numbers from integer coordinates (splitmix64 finaliser), vectorised."""
    with np.errstate(over="ignore"):
        x = a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= b.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        x ^= np.uint64((seed * 0x165667B19E3779F9 + k * 0x27D4EB2F165667C5) & 0xFFFFFFFFFFFFFFFF)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@lru_cache(maxsize=4)
def _stain_lut(stain_seed: int) -> np.ndarray:
    """RGB look-up table over quantised (haematoxylin, eosin, blood) densities."""
    rng = np.random.default_rng(stain_seed)
    h = _H * rng.uniform(0.9, 1.1, 3)
    e = _E * rng.uniform(0.9, 1.1, 3)
    hv = np.linspace(0, _HMAX, _NH)[:, None, None, None]
    ev = np.linspace(0, _EMAX, _NE)[None, :, None, None]
    bv = np.linspace(0, _BMAX, _NB)[None, None, :, None]
    od = _GLASS_OD + hv * h + ev * e + bv * _BLOOD
    rgb = 255.0 * np.exp(-od)
    return np.clip(rgb, 0, 255).astype(np.uint8).reshape(-1, 3)


def _periodic_noise(rng: np.random.Generator, size: int, sigma: tuple[float, float]) -> np.ndarray:
    """Periodic band-limited noise (FFT-filtered), normalised to [0, 1]."""
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    g = np.exp(-2 * np.pi**2 * ((fy * sigma[0]) ** 2 + (fx * sigma[1]) ** 2))
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * g))
    out -= out.min()
    return (out / out.max()).astype(np.float32)


@lru_cache(maxsize=2)
def _textures(seed: int) -> dict[str, np.ndarray]:
    """Periodic 512 px textures: fibrillary neuropil, coarse mottling, capillary network."""
    rng = np.random.default_rng(seed)
    fib = 0.5 * _periodic_noise(rng, 512, (1.2, 5.0)) + 0.5 * _periodic_noise(rng, 512, (5.0, 1.2))
    mottle = _periodic_noise(rng, 512, (10.0, 10.0))
    net = _periodic_noise(rng, 512, (14.0, 14.0))
    # Capillaries along the zero-crossings of a smooth field: a polygonal network.
    capill = np.clip(1.0 - np.abs(net - 0.5) * 40.0, 0, 1).astype(np.float32)
    return {
        k: np.tile(v, (2, 2)) for k, v in (("fib", fib), ("mottle", mottle), ("capill", capill))
    }


def _sample_texture(tex: np.ndarray, x0: int, y0: int, h: int, w: int) -> np.ndarray:
    """A (h, w) window of a periodic texture stored twice over in each direction (a view)."""
    n = tex.shape[0] // 2
    if h > n or w > n:
        reps = (h // n + 2, w // n + 2)
        return np.tile(tex[:n, :n], reps)[y0 % n : y0 % n + h, x0 % n : x0 % n + w]
    return tex[y0 % n : y0 % n + h, x0 % n : x0 % n + w]


@lru_cache(maxsize=8)
def _sprite_bank(style_key: tuple, seed: int, n: int = 48) -> tuple[np.ndarray, int]:
    """Nucleus sprites (haematoxylin density) of one style: (n, S*S) and the sprite size S."""
    style = HistologyStyle(*style_key)
    rng = np.random.default_rng(seed)
    rmax = min(6.5, style.radius * (1 + 2 * style.radius_sd) * np.sqrt(style.elongation) + 1.5)
    size = int(2 * np.ceil(rmax) + 3)
    c = size // 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - c
    ang = np.arctan2(yy, xx)
    sprites = np.zeros((n, size, size), np.float32)
    for k in range(n):
        r = style.radius * max(0.5, rng.normal(1.0, style.radius_sd))
        el = max(1.0, rng.normal(style.elongation, 0.15 * style.elongation))
        a, b = r * np.sqrt(el), r / np.sqrt(el)
        th = rng.uniform(0, np.pi)
        u = xx * np.cos(th) + yy * np.sin(th)
        v = -xx * np.sin(th) + yy * np.cos(th)
        wobble = 1.0 + style.irregular * (
            np.sin(3 * ang + rng.uniform(0, 6.3)) * rng.uniform(0.3, 1)
            + np.sin(5 * ang + rng.uniform(0, 6.3)) * rng.uniform(0.2, 0.6)
        )
        d = np.sqrt((u / min(a, rmax)) ** 2 + (v / b) ** 2) / wobble
        body = np.clip((1.0 - d) * r * 0.9, 0, 1)
        chrom = 0.75 + 0.5 * rng.random((size, size)).astype(np.float32)
        rim = np.clip(1.0 - np.abs(1.0 - d) * r * 0.5, 0, 1) * 0.3
        sprites[k] = body * (chrom * 0.8 + rim) * rng.uniform(0.85, 1.15)
    return sprites.reshape(n, -1), size


def _disc_sprite(radius: float, size: int, soft: float = 1.0) -> np.ndarray:
    c = size // 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - c
    return np.clip((radius - np.sqrt(xx**2 + yy**2)) / soft, 0, 1).ravel()


class SlideRenderer:
    """Renders the tissue of one slide at level 0, one region at a time.

    Parameters
    ----------
    width, height : int
        Level-0 size in pixels (0.5 um/px).
    style : HistologyStyle
    seed : int
        Seed of this slide (hashes every cell, lays out tissue pieces and regions).
    """

    def __init__(self, width: int, height: int, style: HistologyStyle, seed: int):
        self.width, self.height, self.seed = width, height, seed
        self.style = style = replace(
            style, spacing=style.spacing / RENDER_SCALE, radius=style.radius / RENDER_SCALE
        )
        width, height = -(-width // RENDER_SCALE) + 2, -(-height // RENDER_SCALE) + 2
        rng = np.random.default_rng(seed)
        fh, fw = height // FIELD_CELL + 2, width // FIELD_CELL + 2
        self.tissue = self._tissue_field(rng, fh, fw)
        self.necrosis = self._region_field(rng, fh, fw, style.necrosis, 7.0)
        self.phase = self._region_field(rng, fh, fw, 0.5, 4.0)  # biphasic / density modulation
        self.textures = _textures(seed % 4)
        self.lut = _stain_lut(seed % 16)
        self.sprites, self.sprite_size = _sprite_bank(tuple(vars(style).values()), seed % 8)
        big = replace(style, radius=min(6.5, style.radius * 2.0), irregular=0.4, elongation=1.4)
        self.giants, self.giant_size = _sprite_bank(tuple(vars(big).values()), seed % 8 + 100, 12)
        gang = replace(style, radius=5.5, radius_sd=0.05, elongation=1.0, irregular=0.02)
        self.ganglion_nuclei, self.ganglion_size = _sprite_bank(tuple(vars(gang).values()), 7, 8)
        self.margin = max(
            self.sprite_size,
            self.giant_size,
            21,
            31 if style.rosenthal > 0 else 0,
            37 if style.ganglion > 0 else 0,
        )

    # -- layout ---------------------------------------------------------------------------
    def _smooth(self, rng, fh, fw, cell):
        from scipy import ndimage as ndi

        low = rng.standard_normal((int(fh / cell) + 3, int(fw / cell) + 3))
        up = ndi.zoom(low, (fh / (low.shape[0] - 2), fw / (low.shape[1] - 2)), order=3)
        return up[:fh, :fw].astype(np.float32)

    def _tissue_field(self, rng, fh, fw) -> np.ndarray:
        """Signed field (>0 tissue) on the coarse grid: 1-4 irregular pieces on glass."""
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        field = np.full((fh, fw), -1.0, np.float32)
        n = int(rng.integers(1, 5))
        for _ in range(n):
            cy, cx = rng.uniform(0.3, 0.7) * fh, rng.uniform(0.25, 0.75) * fw
            ry = rng.uniform(0.12, 0.24) * fh * (1.1 / np.sqrt(n))
            rx = rng.uniform(0.12, 0.24) * fw * (1.1 / np.sqrt(n))
            th = rng.uniform(0, np.pi)
            u = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
            v = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
            field = np.maximum(field, 1.0 - np.sqrt((u / rx) ** 2 + (v / ry) ** 2))
        field += 0.25 * self._smooth(rng, fh, fw, max(4.0, min(fh, fw) / 12))
        field += 0.06 * self._smooth(rng, fh, fw, 2.0)
        return field

    def _region_field(self, rng, fh, fw, share: float, cell: float) -> np.ndarray:
        """Signed field whose positive part covers about `share` of the slide."""
        f = self._smooth(rng, fh, fw, cell)
        if share <= 0:
            return np.full((fh, fw), -10.0, np.float32)
        return f - np.quantile(f, 1.0 - share)

    def _coarse(self, field: np.ndarray, y0: int, x0: int, h: int, w: int) -> np.ndarray:
        """Bilinear upsampling of a coarse field onto level-0 pixels [y0:y0+h, x0:x0+w]."""
        return _bilinear(
            field,
            (np.arange(y0, y0 + h) + 0.5) / FIELD_CELL - 0.5,
            (np.arange(x0, x0 + w) + 0.5) / FIELD_CELL - 0.5,
        )

    def has_tissue(self, y0: int, x0: int, h: int, w: int) -> bool:
        """Whether the level-0 region can contain tissue (cheap test on the coarse grid)."""
        k = RENDER_SCALE
        return self._has_tissue(y0 // k, x0 // k, -(-h // k) + 1, -(-w // k) + 1)

    def render(self, y0: int, x0: int, h: int = TILE, w: int = TILE) -> np.ndarray:
        """RGB uint8 (h, w, 3) of the level-0 region starting at (x0, y0).

        Renders at 1 um/px with a one-pixel border and upsamples bilinearly, so tiles join.
        """
        assert RENDER_SCALE == 2
        ry, rx = y0 // 2, x0 // 2
        rh, rw = (y0 + h + 1) // 2 - ry + 2, (x0 + w + 1) // 2 - rx + 2
        low = self._render(ry - 1, rx - 1, rh, rw).astype(np.uint16)
        up = _upsample2(low)  # row i is level-0 row 2 * (ry - 1) + 1 + i
        oy, ox = y0 - 2 * ry + 1, x0 - 2 * rx + 1
        return np.ascontiguousarray(up[oy : oy + h, ox : ox + w])

    def _has_tissue(self, y0: int, x0: int, h: int, w: int) -> bool:
        a, b = max(0, y0 // FIELD_CELL - 1), y0 // FIELD_CELL + h // FIELD_CELL + 3
        c, d = max(0, x0 // FIELD_CELL - 1), x0 // FIELD_CELL + w // FIELD_CELL + 3
        return bool((self.tissue[a:b, c:d] > -0.05).any())

    # -- rendering ----------------------------------------------------------------------
    def _render(self, y0: int, x0: int, h: int, w: int) -> np.ndarray:
        """RGB uint8 (h, w, 3) of a region in render pixels (1 um)."""
        glass = self.lut[0]
        if not self._has_tissue(y0, x0, h, w):
            return np.broadcast_to(glass, (h, w, 3)).copy()
        st = self.style
        m = self.margin
        H, W = h + 2 * m, w + 2 * m
        tissue = np.clip(self._coarse(self.tissue, y0, x0, h, w) * 150.0 + 0.5, 0, 1)
        if st.necrosis > 0:
            necrotic = np.clip(self._coarse(self.necrosis, y0, x0, h, w) * 8.0 + 0.5, 0, 1)
        else:
            necrotic = np.zeros((h, w), np.float32)
        phase = self._coarse(self.phase, y0, x0, h, w) if st.biphasic > 0 else None
        fib = _sample_texture(self.textures["fib"], x0, y0, h, w)
        mottle = _sample_texture(self.textures["mottle"], x0 + 131, y0 + 57, h, w)
        eosin = st.eosin * (1.0 - st.fibrillary * 0.5 + st.fibrillary * fib) * (0.85 + 0.3 * mottle)
        if st.biphasic > 0:
            loose = np.clip(-phase * 4.0 + 0.5, 0, 1) * st.biphasic
            eosin = eosin * (1.0 - 0.45 * loose) + 0.25 * (1 - loose) * st.biphasic
        # Necrosis: pale, granular, pink; no viable nuclei.
        eosin = eosin * (1.0 - necrotic) + necrotic * (0.75 + 0.35 * mottle)
        blood = np.zeros((h, w), np.float32)
        hema = np.full((h, w), 0.06, np.float32)
        clear = np.zeros((H, W), np.float32)
        hcan = np.zeros(H * W, np.float32)
        ecan = np.zeros(H * W, np.float32)
        bcan = np.zeros(H * W, np.float32)
        if st.capillaries > 0:
            cap = _sample_texture(self.textures["capill"], x0, y0, h, w) * st.capillaries
            blood += 0.55 * cap * (1 - necrotic)
            eosin = eosin + 0.35 * cap
        self._nuclei(y0, x0, h, w, hcan, ecan, bcan, clear)
        self._vessels(y0, x0, h, w, hcan, bcan, clear)
        inner = (slice(m, m + h), slice(m, m + w))
        hema = hema + hcan.reshape(H, W)[inner]
        eosin = np.clip(eosin + ecan.reshape(H, W)[inner], 0, None) * (
            1.0 - np.clip(clear[inner], 0, 1)
        )
        blood = blood + bcan.reshape(H, W)[inner]
        hema *= tissue
        eosin *= tissue
        blood *= tissue
        hq = np.clip(hema * ((_NH - 1) / _HMAX) + 0.5, 0, _NH - 1).astype(np.int32)
        eq = np.clip(eosin * ((_NE - 1) / _EMAX) + 0.5, 0, _NE - 1).astype(np.int32)
        bq = np.clip(blood * ((_NB - 1) / _BMAX) + 0.5, 0, _NB - 1).astype(np.int32)
        return self.lut[(hq * _NE + eq) * _NB + bq]

    def _cells(self, y0, x0, h, w, spacing, key):
        m = self.margin
        i0, i1 = int((y0 - m) // spacing), int((y0 + h + m) // spacing) + 1
        j0, j1 = int((x0 - m) // spacing), int((x0 + w + m) // spacing) + 1
        ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        u = [_hash_u(self.seed, ii, jj, key + k) for k in range(5)]
        cy = (ii + 0.15 + 0.7 * u[0]) * spacing
        cx = (jj + 0.15 + 0.7 * u[1]) * spacing
        return cy, cx, u

    def _field_at(self, field, cy, cx):
        return _bilinear_points(field, cy / FIELD_CELL - 0.5, cx / FIELD_CELL - 0.5)

    def _stamp(self, canvas, bank, size, idx, cy, cx, y0, x0, weight):
        """Add sprites `bank[idx]` centred at (cy, cx) (level-0) onto a margin canvas."""
        if len(idx) == 0:
            return
        m = self.margin
        W = self.width_canvas
        top = np.round(cy - y0 + m - size // 2).astype(np.int64)
        left = np.round(cx - x0 + m - size // 2).astype(np.int64)
        ok = (top >= 0) & (left >= 0) & (top + size <= self.height_canvas) & (left + size <= W)
        top, left, idx, weight = top[ok], left[ok], idx[ok], weight[ok]
        if len(idx) == 0:
            return
        offs = (np.arange(size)[:, None] * W + np.arange(size)[None, :]).ravel()
        flat = (top * W + left)[:, None] + offs[None, :]
        vals = bank[idx] * weight[:, None]
        lo, hi = int(flat.min()), int(flat.max()) + 1
        canvas[lo:hi] += np.bincount((flat - lo).ravel(), vals.ravel(), minlength=hi - lo)

    def _nuclei(self, y0, x0, h, w, hcan, ecan, bcan, clear):
        st = self.style
        m = self.margin
        self.height_canvas, self.width_canvas = h + 2 * m, w + 2 * m
        cy, cx, u = self._cells(y0, x0, h, w, st.spacing, 0)
        tis = self._field_at(self.tissue, cy, cx)
        nec = self._field_at(self.necrosis, cy, cx)
        ph = self._field_at(self.phase, cy, cx)
        density = st.fill * (0.8 + 0.4 * np.clip(ph + 0.5, 0, 1))
        # Pseudopalisading: a crowded rim just outside necrosis.
        rim = np.clip(1.0 - np.abs(nec + 0.06) * 14.0, 0, 1) * (st.necrosis > 0)
        density = np.minimum(1.0, density + 0.9 * rim)
        alive = (nec < -0.01) | (st.necrosis <= 0)
        present = (u[2] < density) & (tis > -0.02)
        viable = present & alive
        n_bank = len(self.sprites)
        idx = np.minimum((u[3] * n_bank).astype(np.int64), n_bank - 1)
        dark = st.darkness * (0.8 + 0.4 * u[4])
        giant = viable & (u[4] > 1.0 - st.giant)
        mitosis = viable & (u[4] < st.mitoses)
        normal = viable & ~giant
        if st.halo > 0:
            halo = normal & (
                _hash_u(self.seed, cy.astype(np.int64), cx.astype(np.int64), 9) < st.halo
            )
            r = st.radius * 2.0
            hs = int(2 * np.ceil(r) + 3)
            if hs <= self.margin:
                disc = _disc_sprite(r, hs, 2.0)[None, :]
                self._stamp(
                    clear.ravel(),
                    disc,
                    hs,
                    np.zeros(halo.sum(), np.int64),
                    cy[halo],
                    cx[halo],
                    y0,
                    x0,
                    np.full(halo.sum(), 0.9, np.float32),
                )
        if st.microcysts > 0 or st.biphasic > 0:
            loose = np.clip(-ph * 4.0 + 0.5, 0, 1) if st.biphasic > 0 else 1.0
            cyst = present & (
                _hash_u(self.seed, cy.astype(np.int64), cx.astype(np.int64), 11)
                < 0.35 * max(st.microcysts, st.biphasic) * loose
            )
            cyst &= ~normal | (u[0] > 0.5)
            r = 9.0
            disc = _disc_sprite(r, 21, 1.5)[None, :]
            self._stamp(
                clear.ravel(),
                disc,
                21,
                np.zeros(cyst.sum(), np.int64),
                cy[cyst] + 5,
                cx[cyst] - 5,
                y0,
                x0,
                np.full(cyst.sum(), 1.0, np.float32),
            )
        self._stamp(
            hcan,
            self.sprites,
            self.sprite_size,
            idx[normal],
            cy[normal],
            cx[normal],
            y0,
            x0,
            dark[normal].astype(np.float32),
        )
        if giant.any():
            gi = np.minimum((u[3][giant] * len(self.giants)).astype(np.int64), len(self.giants) - 1)
            self._stamp(
                hcan,
                self.giants,
                self.giant_size,
                gi,
                cy[giant],
                cx[giant],
                y0,
                x0,
                (dark[giant] * 1.15).astype(np.float32),
            )
        if mitosis.any():
            dot = _disc_sprite(3.0, 9, 1.0)[None, :]
            for dy, dx in ((-3, 0), (3, 1), (0, -3)):
                self._stamp(
                    hcan,
                    dot,
                    9,
                    np.zeros(mitosis.sum(), np.int64),
                    cy[mitosis] + dy,
                    cx[mitosis] + dx,
                    y0,
                    x0,
                    np.full(mitosis.sum(), 1.6, np.float32),
                )
        # Karyorrhectic debris in necrosis.
        debris = present & ~alive & (u[4] < 0.5)
        if debris.any():
            dot = _disc_sprite(1.8, 7, 1.0)[None, :]
            self._stamp(
                hcan,
                dot,
                7,
                np.zeros(debris.sum(), np.int64),
                cy[debris],
                cx[debris],
                y0,
                x0,
                np.full(debris.sum(), 1.1, np.float32),
            )
        if st.rosenthal > 0:
            self._rosenthal(y0, x0, h, w, ecan)
        if st.ganglion > 0:
            self._ganglion(y0, x0, h, w, hcan, ecan)
        if st.calcospherites > 0:
            cy2, cx2, u2 = self._cells(y0, x0, h, w, 160.0, 40)
            sel = (u2[2] < 0.25 * st.calcospherites) & (self._field_at(self.tissue, cy2, cx2) > 0)
            disc = _disc_sprite(9.0, 21, 2.0)[None, :]
            self._stamp(
                hcan,
                disc,
                21,
                np.zeros(sel.sum(), np.int64),
                cy2[sel],
                cx2[sel],
                y0,
                x0,
                np.full(sel.sum(), 1.7, np.float32),
            )

    def _rosenthal(self, y0, x0, h, w, ecan):
        st = self.style
        cy, cx, u = self._cells(y0, x0, h, w, 70.0, 20)
        sel = u[2] < 0.35 * st.rosenthal
        size = 31
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size // 2
        bank = []
        for k in range(6):
            th = k * np.pi / 6
            uu = xx * np.cos(th) + yy * np.sin(th)
            vv = -xx * np.sin(th) + yy * np.cos(th) - 2.0 * np.sin(uu / 3.0)
            bank.append(np.clip(1.0 - np.sqrt((uu / 13.0) ** 2 + (vv / 2.6) ** 2), 0, 1) * 3.0)
        for k in range(3):  # eosinophilic granular bodies: clusters of droplets
            g = np.zeros((size, size), np.float32)
            rr = np.random.default_rng(k)
            for _ in range(9):
                py, px = rr.uniform(-8, 8, 2)
                g += np.clip(2.2 - np.sqrt((yy - py) ** 2 + (xx - px) ** 2), 0, 1)
            bank.append(np.clip(g, 0, 1) * 1.4)
        bank = np.stack([b.ravel() for b in bank]).astype(np.float32)
        idx = np.minimum((u[3][sel] * len(bank)).astype(np.int64), len(bank) - 1)
        self._stamp(ecan, bank, size, idx, cy[sel], cx[sel], y0, x0, np.ones(sel.sum(), np.float32))

    def _ganglion(self, y0, x0, h, w, hcan, ecan):
        st = self.style
        cy, cx, u = self._cells(y0, x0, h, w, 90.0, 30)
        sel = (u[2] < 0.3 * st.ganglion) & (self._field_at(self.tissue, cy, cx) > 0)
        body = _disc_sprite(16.0, 37, 3.0)[None, :]
        self._stamp(
            ecan,
            body,
            37,
            np.zeros(sel.sum(), np.int64),
            cy[sel],
            cx[sel],
            y0,
            x0,
            np.full(sel.sum(), 0.7, np.float32),
        )
        idx = np.minimum((u[3][sel] * len(self.ganglion_nuclei)).astype(np.int64), 7)
        self._stamp(
            hcan,
            self.ganglion_nuclei,
            self.ganglion_size,
            idx,
            cy[sel] + 3,
            cx[sel],
            y0,
            x0,
            np.full(sel.sum(), 0.7, np.float32),
        )
        dot = _disc_sprite(2.0, 7, 1.0)[None, :]  # prominent nucleolus
        self._stamp(
            hcan,
            dot,
            7,
            np.zeros(sel.sum(), np.int64),
            cy[sel] + 3,
            cx[sel],
            y0,
            x0,
            np.full(sel.sum(), 1.6, np.float32),
        )

    def _vessels(self, y0, x0, h, w, hcan, bcan, clear):
        """Glomeruloid vessels: a lumen with red cells and a multilayered cellular wall."""
        st = self.style
        base = 0.15 + st.mvp
        cy, cx, u = self._cells(y0, x0, h, w, 220.0, 50)
        sel = (u[2] < 0.25 * base) & (self._field_at(self.tissue, cy, cx) > 0.02)
        sel &= self._field_at(self.necrosis, cy, cx) < -0.02
        if not sel.any():
            return
        for vy, vx, uu in zip(cy[sel], cx[sel], u[3][sel], strict=True):
            lumen = 6.0 + 10.0 * uu
            wall = 4.0 + 14.0 * st.mvp * (0.5 + uu)
            # Endothelial / pericyte nuclei crowd the wall.
            n = int(10 + 40 * st.mvp)
            ang = _hash_u(self.seed, np.arange(n), np.full(n, int(vy * 7 + vx)), 60) * 2 * np.pi
            rad = (
                lumen
                + 2
                + _hash_u(self.seed, np.arange(n), np.full(n, int(vy + vx * 5)), 61) * wall
            )
            ny, nx = vy + rad * np.sin(ang), vx + rad * np.cos(ang)
            idx = (np.arange(n) % len(self.sprites)).astype(np.int64)
            self._stamp(
                hcan,
                self.sprites,
                self.sprite_size,
                idx,
                ny,
                nx,
                y0,
                x0,
                np.full(n, self.style.darkness * 0.9, np.float32),
            )
            size = int(2 * lumen + 5)
            if size < self.margin * 2:
                disc = _disc_sprite(lumen, size, 1.5)[None, :]
                self._stamp(
                    bcan,
                    disc,
                    size,
                    np.zeros(1, np.int64),
                    np.array([vy]),
                    np.array([vx]),
                    y0,
                    x0,
                    np.array([0.9], np.float32),
                )


def _upsample2(a: np.ndarray) -> np.ndarray:
    """Bilinear 2x upsampling of (h, w, 3) uint16 to uint8 (2h - 2, 2w - 2, 3), pixel-centred.

    Output row 2q - 1 + j (j = 0, 1) blends input rows q - 1 + j and q with weights 1:3 / 3:1,
    which is exactly bilinear interpolation of pixel centres; the outermost half-pixels
    need neighbours outside `a` and are dropped.
    """
    h, w = a.shape[:2]
    rows = np.empty((2 * h - 2, w, 3), np.uint16)
    rows[0::2] = 3 * a[:-1] + a[1:]
    rows[1::2] = a[:-1] + 3 * a[1:]
    out = np.empty((2 * h - 2, 2 * w - 2, 3), np.uint16)
    out[:, 0::2] = 3 * rows[:, :-1] + rows[:, 1:]
    out[:, 1::2] = rows[:, :-1] + 3 * rows[:, 1:]
    out += 8
    out >>= 4
    return out.astype(np.uint8)


def _interp_matrix(coords: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.clip(coords, 0, n - 1.001)
    i0 = np.floor(c).astype(np.int64)
    f = (c - i0).astype(np.float32)
    return i0, np.minimum(i0 + 1, n - 1), f


def _bilinear(field: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear samples of `field` on the grid ys x xs (coarse-grid coordinates).

    Interpolates the few coarse rows along x first, then along y, so the work on full-size
    arrays is two row gathers and a blend.
    """
    y0, y1, fy = _interp_matrix(ys, field.shape[0])
    x0, x1, fx = _interp_matrix(xs, field.shape[1])
    lo, hi = int(y0.min()), int(y1.max()) + 1
    rows = field[lo:hi]
    along_x = rows[:, x0] * (1 - fx) + rows[:, x1] * fx
    a = along_x[y0 - lo]
    b = along_x[y1 - lo]
    b -= a
    b *= fy[:, None]
    a += b
    return a


def _bilinear_points(field: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    y0, y1, fy = _interp_matrix(ys, field.shape[0])
    x0, x1, fx = _interp_matrix(xs, field.shape[1])
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _label_image(text: str, seed: int) -> np.ndarray:
    """A slide label: a 2-D barcode-like pattern and the (synthetic) specimen text."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (300, 360), (250, 250, 246))
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(seed)
    cells = rng.random((14, 14)) < 0.5
    for i, j in zip(*np.nonzero(cells), strict=True):
        draw.rectangle([40 + j * 15, 20 + i * 15, 54 + j * 15, 34 + i * 15], fill=(20, 20, 20))
    for k, line in enumerate(text.split("\n")):
        draw.text((30, 250 + 24 * k), line, fill=(10, 10, 60))
    return np.asarray(img)


def write_demo_slide(
    path, plan: P.PatientPlan, seed: int, slide_index: int, size: int
) -> list[tuple[int, int]]:
    """Write slide `slide_index` of a patient as an Aperio-style pyramidal TIFF.

    A pure function of ``(seed, plan.index, slide_index, size)``. Returns the level sizes.
    """
    from corebt_viewer.io.demo.slide_writer import write_pyramid

    rng = P.patient_rng(seed, plan.index, f"wsi{slide_index}")
    style = histology_style(plan, rng)
    slide_seed = int(rng.integers(0, 2**31 - 1))
    height = int(size)
    width = int(size * rng.uniform(1.0, 1.1)) // 16 * 16
    renderer = SlideRenderer(width, height, style, slide_seed)
    block = chr(ord("A") + slide_index)
    label = _label_image(f"{plan.patient_id}\nblock {block}1  H&E", slide_seed)
    macro_h = 300
    macro_w = int(macro_h * width / height)
    overview = renderer.tissue[:: max(1, renderer.tissue.shape[0] // macro_h)]
    overview = overview[:, :: max(1, renderer.tissue.shape[1] // macro_w)][:macro_h, :macro_w]
    macro = np.where(
        (overview > 0)[..., None],
        np.array([200, 130, 190], np.uint8),
        np.array([235, 235, 238], np.uint8),
    ).astype(np.uint8)
    macro = np.concatenate([np.asarray(_resize_nearest(label, macro.shape[0])), macro], axis=1)
    return write_pyramid(
        path,
        width,
        height,
        renderer.render,
        has_content=renderer.has_tissue,
        mpp=0.5,
        name=f"{plan.patient_id}-{block}1",
        label=label,
        macro=macro,
    )


def _resize_nearest(img: np.ndarray, height: int) -> np.ndarray:
    rows = np.linspace(0, img.shape[0] - 1, height).astype(int)
    width = max(1, int(img.shape[1] * height / img.shape[0]))
    cols = np.linspace(0, img.shape[1] - 1, width).astype(int)
    return img[rows][:, cols]
