"""A brain MRI phantom with a tumour whose look follows its class.

The head is a skull-stripped brain on a 1 mm grid (``GRID``, smaller than BraTS' 240 x 240 x 155
but with a realistic adult brain of about 13 x 16 x 12 cm): cerebral cortex with sulci, white
matter, lateral and third ventricles, deep grey nuclei, cerebellum with folia and the brainstem.
Each tissue has its own intensity per sequence (T1, T1c, T2, FLAIR), so grey/white/CSF contrast
differs between sequences as on real scans. Every patient gets its own gains, bias field, noise,
position and tumour.

Tumour phenotypes (:func:`tumour_phenotype`) follow what radiologists describe, with overlap:

* glioblastoma: large, irregular ring enhancement around necrosis, wide FLAIR oedema following
  the white matter; a minority without necrosis;
* IDH-mutant astrocytoma: frontal or temporal, mostly non-enhancing, T2-bright, often with the
  T2-FLAIR mismatch sign; grade 4 ones may enhance like a glioblastoma;
* oligodendroglioma: frontal, cortical-subcortical, patchy and heterogeneous, calcifications
  (dark on T2 and FLAIR), patchy enhancement more often in grade 3;
* circumscribed (pilocytic): cerebellar or suprasellar cyst with an enhancing mural nodule;
* midline: thalamus or pons, expansile, mostly non-enhancing;
* glioneuronal and rare low-grade tumours: small, near the ventricles or cortex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from corebt_viewer.io.demo import plan as P

#: Grid shape (x = left->right, y = posterior->anterior, z = inferior->superior), 1 mm voxels.
GRID = (144, 176, 144)
#: mm coordinate of voxel (0, 0, 0): the brain is centred on the origin.
ORIGIN = (-72.0, -88.0, -72.0)

SEQUENCES = P.SEQUENCES
_SEQ_INDEX = {s: k for k, s in enumerate(SEQUENCES)}

#: Intensity of each tissue on (t1, t1c, t2, flair).
TISSUE = {
    "csf": (180.0, 200.0, 1000.0, 110.0),
    "gm": (430.0, 450.0, 520.0, 560.0),
    "wm": (620.0, 640.0, 340.0, 420.0),
    "necrosis": (250.0, 265.0, 850.0, 470.0),
    "cyst": (195.0, 205.0, 980.0, 210.0),
    "enhancing": (420.0, 1150.0, 640.0, 690.0),
    "tumour": (360.0, 380.0, 830.0, 750.0),
    "oedema": (470.0, 485.0, 720.0, 800.0),
    "calcification": (520.0, 520.0, 140.0, 190.0),
}


def affine() -> np.ndarray:
    """RAS affine of the phantom grid (1 mm voxels, brain centred on the origin)."""
    out = np.eye(4)
    out[:3, 3] = ORIGIN
    return out


def _soft(distance: np.ndarray, width: float = 1.2) -> np.ndarray:
    """Partial-volume ramp: 0 outside, 1 inside, linear over `width` mm around distance 0."""
    return np.clip(0.5 + distance / width, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], cell: float) -> np.ndarray:
    """Smooth random field in [-1, 1]-ish on `shape`, with features of about `cell` voxels."""
    from scipy import ndimage as ndi

    coarse = [max(2, int(np.ceil(n / cell)) + 2) for n in shape]
    low = rng.standard_normal(coarse).astype(np.float32)
    zoom = [(n + 2 * cell) / c for n, c in zip(shape, coarse, strict=True)]
    up = ndi.zoom(low, zoom, order=1, prefilter=False)
    sl = tuple(slice(int(cell), int(cell) + n) for n in shape)
    out = up[sl]
    return out / (np.abs(out).max() + 1e-6)


def _coords(shape, origin):
    return np.ogrid[
        origin[0] : origin[0] + shape[0],
        origin[1] : origin[1] + shape[1],
        origin[2] : origin[2] + shape[2],
    ]


def _ellipsoid_depth(x, y, z, centre, axes) -> np.ndarray:
    """Approximate depth (mm) inside an ellipsoid: positive inside, negative outside."""
    e = np.sqrt(
        ((x - centre[0]) / axes[0]) ** 2
        + ((y - centre[1]) / axes[1]) ** 2
        + ((z - centre[2]) / axes[2]) ** 2
    )
    return (1.0 - e) * float(np.mean(axes))


@lru_cache(maxsize=1)
def template_fractions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSF, grey- and white-matter fractions of the template brain (cached per process)."""
    rng = np.random.default_rng(20_231_105)
    x, y, z = (c.astype(np.float32) for c in _coords(GRID, ORIGIN))
    zc = np.where(z >= 8, (z - 8) / 56.0, (z - 8) / 42.0)
    e = np.sqrt((x / 66.0) ** 2 + (y / 82.0) ** 2 + zc**2)
    depth = (1.0 - e) * 60.0
    fold = _smooth_noise(rng, GRID, 6.0)
    cerebrum = _soft(depth)
    # Interhemispheric fissure (upper part) and sulci: CSF invaginations lined by cortex.
    fissure = _soft(1.4 - np.abs(x)) * _soft(z + 2.0) * _soft(depth + 2.0)
    sulcus = _soft((0.05 - np.abs(fold)) * 30.0) * _soft(16.0 - depth) * cerebrum
    cortex = np.maximum(
        _soft(3.0 - depth), _soft((0.2 - np.abs(fold)) * 25.0) * _soft(19.0 - depth)
    )
    cortex = np.maximum(cortex, _soft(4.5 - np.abs(x)) * _soft(z + 2.0))
    # Deep grey nuclei: thalami, caudate/putamen.
    deep = np.zeros(GRID, np.float32)
    for side in (-1.0, 1.0):
        deep = np.maximum(deep, _soft(_ellipsoid_depth(x, y, z, (side * 10, -14, 4), (8, 13, 8))))
        deep = np.maximum(deep, _soft(_ellipsoid_depth(x, y, z, (side * 21, 6, 6), (6, 15, 9))))
    # Ventricles: lateral (curved bodies), third and fourth.
    vent = np.zeros(GRID, np.float32)
    for side in (-1.0, 1.0):
        bend = 12.0 + 0.004 * (y + 2.0) ** 2 * -1.0
        vent = np.maximum(
            vent, _soft(_ellipsoid_depth(x, y, z - bend, (side * 10, -2, 0), (5, 27, 6)))
        )
        vent = np.maximum(vent, _soft(_ellipsoid_depth(x, y, z, (side * 28, -12, -8), (3, 12, 4))))
    vent = np.maximum(
        vent, _soft(1.6 - np.abs(x)) * _soft(_ellipsoid_depth(x, y, z, (0, -6, 4), (3, 12, 8)))
    )
    # Cerebellum with folia, brainstem.
    cb_depth = _ellipsoid_depth(x, y, z, (0, -52, -36), (50, 30, 22))
    cerebellum = _soft(cb_depth)
    folia = 0.5 + 0.5 * np.sin((z * 0.9 + 0.25 * y) * 1.2 + fold * 3.0)
    cb_gm = cerebellum * np.where(cb_depth > 9.0, 0.25 * folia, 0.35 + 0.65 * folia)
    stem = _soft(11.0 - np.sqrt(x**2 + ((y + 24.0) / 1.15) ** 2)) * _soft(2.0 - z)
    v4 = _soft(_ellipsoid_depth(x, y, z, (0, -36, -30), (5, 4, 7)))
    brain = np.maximum(np.maximum(cerebrum, cerebellum), stem)
    csf = np.clip(np.maximum.reduce([sulcus, fissure, vent, v4 * brain]), 0, 1) * brain
    # A thin subarachnoid CSF rim outside the brain (skull-stripped scans keep some).
    rim = _soft(1.8 + depth) * (1.0 - brain) * _soft(z + 40.0)
    csf = np.maximum(csf, rim)
    tissue = brain * (1.0 - csf)
    gm_share = np.clip(np.maximum.reduce([cortex * cerebrum, 0.75 * deep, cb_gm]), 0, 1)
    gm_share = np.where(stem > 0.5, 0.15 * gm_share, gm_share)
    gm = tissue * gm_share
    wm = tissue - gm
    return csf.astype(np.float32), gm.astype(np.float32), wm.astype(np.float32)


@dataclass
class TumourPhenotype:
    """Geometry and look of one tumour (mm, in phantom coordinates)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    enhancement: str = "none"  # "none" | "ring" | "patchy" | "solid" | "nodule"
    necrosis_ratio: float = 0.0  # inner radius of the ring / necrotic core (fraction of radius)
    oedema_mm: float = 3.0  # extent of oedema beyond the tumour
    mismatch: bool = False  # T2-FLAIR mismatch
    calcification: float = 0.0  # share of the tumour with calcified foci
    cyst: bool = False  # cyst with a mural nodule instead of a solid mass
    heterogeneity: float = 0.1
    cortical: bool = False  # grows along the cortex
    extras: dict = field(default_factory=dict)


def _pick_side(rng):
    return -1.0 if rng.random() < 0.5 else 1.0


def _location(rng: np.random.Generator, where: str) -> tuple[float, float, float]:
    s = _pick_side(rng)
    if where == "hemisphere":
        return (s * rng.uniform(18, 38), rng.uniform(-45, 40), rng.uniform(0, 34))
    if where == "frontal":
        return (s * rng.uniform(14, 36), rng.uniform(28, 55), rng.uniform(10, 36))
    if where == "frontal_cortex":
        return (s * rng.uniform(22, 44), rng.uniform(35, 62), rng.uniform(16, 40))
    if where == "temporal":
        return (s * rng.uniform(36, 48), rng.uniform(-10, 22), rng.uniform(-14, 2))
    if where == "cerebellum":
        return (s * rng.uniform(5, 24), rng.uniform(-58, -46), rng.uniform(-40, -30))
    if where == "suprasellar":
        return (rng.uniform(-3, 3), rng.uniform(2, 8), rng.uniform(-8, -2))
    if where == "thalamus":
        return (s * rng.uniform(7, 12), rng.uniform(-17, -10), rng.uniform(1, 8))
    if where == "pons":
        return (rng.uniform(-3, 3), rng.uniform(-27, -21), rng.uniform(-36, -28))
    if where == "monro":
        return (s * rng.uniform(5, 8), rng.uniform(0, 5), rng.uniform(12, 16))
    if where == "fourth_ventricle":
        return (rng.uniform(-2, 2), rng.uniform(-40, -34), rng.uniform(-30, -24))
    raise ValueError(where)


def _radii(rng, r0):
    return tuple(float(r0 * rng.uniform(0.8, 1.2)) for _ in range(3))


def tumour_phenotype(plan: P.PatientPlan, rng: np.random.Generator) -> TumourPhenotype:
    """Draw the tumour of a patient from its class and grade (with deliberate overlap)."""
    level1, grade, u = plan.level1, plan.who_grade, rng.random()
    if level1 == P.GBM:
        t = TumourPhenotype(_location(rng, "hemisphere"), _radii(rng, rng.uniform(15, 26)))
        if u < 0.85:
            t.enhancement, t.necrosis_ratio = "ring", float(rng.uniform(0.45, 0.75))
        else:  # non-necrotic, patchily enhancing glioblastoma (looks lower grade)
            t.enhancement = "patchy" if rng.random() < 0.6 else "none"
        t.oedema_mm = float(rng.uniform(8, 24))
        t.heterogeneity = 0.2
        t.mismatch = rng.random() < 0.05
    elif level1 == P.ASTRO:
        where = rng.choice(["frontal", "frontal_cortex", "temporal"], p=[0.55, 0.15, 0.3])
        t = TumourPhenotype(_location(rng, str(where)), _radii(rng, rng.uniform(14, 26)))
        t.cortical = where == "frontal_cortex"
        ring_p, patchy_p = {2: (0.0, 0.12), 3: (0.05, 0.3), 4: (0.55, 0.3)}[grade]
        if u < ring_p:
            t.enhancement, t.necrosis_ratio = "ring", float(rng.uniform(0.35, 0.6))
            t.oedema_mm = float(rng.uniform(5, 16))
        else:
            t.enhancement = "patchy" if u < ring_p + patchy_p else "none"
            t.oedema_mm = float(rng.uniform(1, 6))
        t.mismatch = t.enhancement == "none" and rng.random() < 0.55
        t.calcification = float(rng.uniform(0.03, 0.06)) if rng.random() < 0.2 else 0.0
        t.heterogeneity = float(rng.uniform(0.04, 0.2))
    elif level1 == P.OLIGO:
        where = rng.choice(["frontal_cortex", "frontal", "temporal"], p=[0.6, 0.15, 0.25])
        t = TumourPhenotype(_location(rng, str(where)), _radii(rng, rng.uniform(12, 22)))
        t.cortical = True
        patchy_p = {2: 0.25, 3: 0.6}[grade]
        t.enhancement = "patchy" if u < patchy_p else "none"
        t.calcification = float(rng.uniform(0.04, 0.1)) if rng.random() < 0.45 else 0.0
        t.oedema_mm = float(rng.uniform(1, 6))
        t.heterogeneity = float(rng.uniform(0.1, 0.3))
        t.mismatch = rng.random() < 0.08
    elif level1 == P.CIRCUMSCRIBED:
        t = TumourPhenotype(
            _location(rng, "cerebellum" if rng.random() < 0.65 else "suprasellar"),
            _radii(rng, rng.uniform(9, 18)),
        )
        if u < 0.75:
            t.cyst, t.enhancement = True, "nodule"
        else:
            t.enhancement = "solid"
        t.oedema_mm = float(rng.uniform(0.5, 3))
    elif level1 == P.MIDLINE:
        t = TumourPhenotype(
            _location(rng, "thalamus" if rng.random() < 0.55 else "pons"),
            _radii(rng, rng.uniform(9, 14)),
        )
        if u < 0.2:
            t.enhancement, t.necrosis_ratio = "ring", float(rng.uniform(0.4, 0.6))
        else:
            t.enhancement = "patchy" if u < 0.35 else "none"
        t.oedema_mm = float(rng.uniform(2, 8))
    elif level1 == P.GLIONEURONAL:
        kind = plan.subtype
        if kind == "SEGA":
            t = TumourPhenotype(_location(rng, "monro"), _radii(rng, rng.uniform(6, 10)))
            t.enhancement, t.oedema_mm = "solid", 0.5
        elif kind == "RGNT":
            t = TumourPhenotype(_location(rng, "fourth_ventricle"), _radii(rng, rng.uniform(7, 11)))
            t.enhancement, t.oedema_mm = "patchy", 1.0
        else:
            t = TumourPhenotype(_location(rng, "temporal"), _radii(rng, rng.uniform(8, 13)))
            t.cyst, t.enhancement, t.calcification, t.oedema_mm = True, "nodule", 0.05, 1.0
    else:  # pediatric diffuse astrocytoma, other / NEC low-grade glial tumours
        t = TumourPhenotype(
            _location(rng, "frontal_cortex" if rng.random() < 0.5 else "temporal"),
            _radii(rng, rng.uniform(8, 14)),
        )
        t.cortical, t.oedema_mm = True, float(rng.uniform(1, 4))
        t.enhancement = "patchy" if u < 0.2 else "none"
    return t


@dataclass
class TumourMaps:
    """Soft fractions of the tumour compartments inside a box of the grid."""

    box: tuple[slice, slice, slice]
    parts: dict[str, np.ndarray]
    flair_scale: np.ndarray  # multiplies FLAIR of the non-enhancing tumour (mismatch sign)
    texture: np.ndarray


def tumour_maps(t: TumourPhenotype, rng: np.random.Generator, wm: np.ndarray) -> TumourMaps:
    """Render a tumour phenotype into soft compartment fractions inside its bounding box."""
    reach = max(t.radii) * 1.25 + t.oedema_mm * 1.4 + 4.0
    lo = [max(0, int(np.floor(c - reach - o))) for c, o in zip(t.centre, ORIGIN, strict=True)]
    hi = [
        min(n, int(np.ceil(c + reach - o)) + 1)
        for c, o, n in zip(t.centre, ORIGIN, GRID, strict=True)
    ]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    shape = tuple(b - a for a, b in zip(lo, hi, strict=True))
    x, y, z = _coords(shape, tuple(o + a for o, a in zip(ORIGIN, lo, strict=True)))
    cx, cy, cz = t.centre
    rx, ry, rz = t.radii
    rm = float(np.mean(t.radii))
    lob = _smooth_noise(rng, shape, 9.0)
    lob2 = _smooth_noise(rng, shape, 5.0)
    rho = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2)
    rho = rho * (1.0 + (0.06 if t.cyst else 0.2) * lob)
    mass = _soft((1.0 - rho) * rm)
    parts: dict[str, np.ndarray] = {}
    zero = np.zeros(shape, np.float32)
    enh, core = zero, zero
    if t.cyst:
        core = mass
        # Mural nodule on the cyst wall, away from the brain centre.
        d = np.array(t.centre, float)
        d = d / (np.linalg.norm(d) + 1e-6)
        rn = rm * rng.uniform(0.35, 0.55)
        nc = np.array(t.centre) + d * rm * 0.95
        dist = np.sqrt((x - nc[0]) ** 2 + (y - nc[1]) ** 2 + (z - nc[2]) ** 2)
        enh = _soft(rn - dist)
        core = core * (1.0 - enh)
        parts["cyst"] = core
        solid = zero
    elif t.enhancement == "ring":
        inner = t.necrosis_ratio + 0.12 * lob2
        core = _soft((inner - rho) * rm)
        enh = mass * (1.0 - core)
        parts["necrosis"] = core
        solid = zero
    else:
        solid = mass
        if t.enhancement == "patchy":
            enh = solid * _soft((lob2 - 0.45) * 12.0)
        elif t.enhancement == "solid":
            enh = solid
        solid = solid * (1.0 - enh)
    if t.cortical:
        # Cortical-subcortical growth: spread out along grey matter.
        solid = solid * (0.8 + 0.4 * _soft((lob - 0.1) * 8.0) * 0.5)
    calc = zero
    if t.calcification > 0:
        calc = (solid + core * 0) * _soft((lob2 - (1.0 - 2.0 * t.calcification)) * 20.0)
        solid = solid - calc
    parts["enhancing"] = enh
    parts["tumour"] = solid
    parts["calcification"] = calc
    local_wm = wm[box]
    edge = 1.0 + t.oedema_mm / rm * (1.0 + 0.5 * lob2)
    oedema = _soft((edge - rho) * rm, 3.0) * (1.0 - mass)
    oedema = oedema * np.clip(local_wm * 1.4 + 0.15, 0.0, 1.0)
    parts["oedema"] = oedema
    flair_scale = np.ones(shape, np.float32)
    if t.mismatch:
        flair_scale = 1.0 - 0.55 * _soft((0.75 - rho) * rm, 4.0)
    texture = 1.0 + t.heterogeneity * lob2
    return TumourMaps(
        box, {k: v.astype(np.float32) for k, v in parts.items()}, flair_scale, texture
    )


def tumour_labels(maps: TumourMaps) -> np.ndarray:
    """Canonical BraTS regions in the box: 1 necrotic/non-enhancing core, 2 oedema, 3 enhancing."""
    p = maps.parts
    core = p["tumour"] + p["calcification"] + p.get("necrosis", 0) + p.get("cyst", 0)
    labels = np.zeros(p["tumour"].shape, np.uint8)
    labels[p["oedema"] > 0.35] = 2
    labels[core > 0.5] = 1
    labels[p["enhancing"] > 0.5] = 3
    return labels


@dataclass
class PhantomCase:
    """The MRI of one demo patient: int16 images per sequence and the canonical label map."""

    images: dict[str, np.ndarray]
    labels: np.ndarray  # uint8, canonical regions 0-3
    phenotype: TumourPhenotype


def make_phantom(plan: P.PatientPlan, seed: int) -> PhantomCase:
    """Render the MRI of one patient (a pure function of the plan and the seed)."""
    rng = P.patient_rng(seed, plan.index, "mri")
    csf, gm, wm = template_fractions()
    t = tumour_phenotype(plan, rng)
    maps = tumour_maps(t, rng, wm)
    shift = tuple(int(v) for v in rng.integers(-3, 4, size=3))
    box = maps.box
    frac = sum(maps.parts.values())
    scale = np.clip(frac, 0.0, 1.0)
    keep = 1.0 - scale
    images: dict[str, np.ndarray] = {}
    axes = [np.linspace(-1, 1, n, dtype=np.float32) for n in GRID]
    for name in plan.sequences:
        k = _SEQ_INDEX[name]
        gain = rng.normal(1.0, 0.07)
        c_csf, c_gm, c_wm = (TISSUE[n][k] * rng.normal(1.0, 0.04) for n in ("csf", "gm", "wm"))
        img = csf * c_csf
        img += gm * c_gm
        img += wm * c_wm
        local = img[box] * keep
        for part, f in maps.parts.items():
            value = TISSUE[part][k] * rng.normal(1.0, 0.05)
            contrib = f * value
            if part == "tumour":
                contrib = contrib * maps.texture
                if name == "flair":
                    contrib = contrib * maps.flair_scale
            local += contrib
        img[box] = local
        b = [1.0 + rng.normal(0, 0.05) * a + rng.normal(0, 0.03) * a * a for a in axes]
        img *= b[0][:, None, None] * b[1][None, :, None] * b[2][None, None, :]
        img *= gain
        brain = img > 1.0
        img += rng.standard_normal(GRID, dtype=np.float32) * (5.0 * brain)
        np.clip(img, 0, 32000, out=img)
        images[name] = np.roll(img.astype(np.int16), shift, axis=(0, 1, 2))
    labels = np.zeros(GRID, np.uint8)
    labels[box] = tumour_labels(maps)
    labels = np.roll(labels, shift, axis=(0, 1, 2))
    if plan.sequences:
        head = next(iter(images.values())) > 0
        labels[~head] = 0
    return PhantomCase(images, labels, t)
