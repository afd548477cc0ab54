"""One-page case summary (PDF and PNG) drawn with matplotlib's Agg canvas (no GUI).

The page shows the key MRI slice with the tumour mask, the slide thumbnails with the heat
map of each tile's contribution to the prediction, the prediction with its modality
weights and ablation table, and the region volumes. Inputs are plain data: arrays, dicts
and a :class:`~corebt_viewer.core.prediction.CasePrediction` (or any object with the same
attributes); every part may be missing and the page says so.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from corebt_viewer.core.segmentation import REGIONS, Region

A4_PORTRAIT_IN = (8.27, 11.69)
MAX_SLIDES = 3


# --------------------------------------------------------------------------- plain helpers


def key_slice(mask: np.ndarray | None, *, axis: int = 2, shape: Sequence[int] | None = None) -> int:
    """Index of the slice along `axis` with the most tumour (the middle one without)."""
    if mask is not None and mask.any():
        other = tuple(a for a in range(mask.ndim) if a != axis)
        return int(np.argmax((mask > 0).sum(axis=other)))
    size = (mask.shape if mask is not None else shape)[axis]
    return int(size) // 2


def tile_heatmap(
    *,
    coords: np.ndarray,
    values: np.ndarray,
    tile_size: float,
    slide_dimensions: tuple[int, int],
    thumbnail_shape: tuple[int, int],
) -> np.ndarray:
    """Rasterise per-tile values onto a thumbnail grid.

    Parameters
    ----------
    coords : ndarray, shape (n, 2)
        Level-0 (x, y) of each tile's top-left corner.
    values : ndarray, shape (n,)
    tile_size : float
        Tile side in level-0 pixels.
    slide_dimensions : (int, int)
        Level-0 (width, height).
    thumbnail_shape : (int, int)
        (height, width) of the thumbnail.

    Returns
    -------
    ndarray of float32, shape `thumbnail_shape`
        The value of the tile under each pixel; NaN where there is no tile (where tiles
        overlap, the mean).
    """
    h, w = thumbnail_shape
    sx, sy = w / slide_dimensions[0], h / slide_dimensions[1]
    total = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.int32)
    for (x, y), v in zip(
        np.asarray(coords).reshape(-1, 2), np.asarray(values).ravel(), strict=True
    ):
        c0, r0 = int(np.floor(x * sx)), int(np.floor(y * sy))
        c1 = max(int(np.ceil((x + tile_size) * sx)), c0 + 1)
        r1 = max(int(np.ceil((y + tile_size) * sy)), r0 + 1)
        c0, r0 = max(c0, 0), max(r0, 0)
        total[r0:r1, c0:c1] += v
        count[r0:r1, c0:c1] += 1
    out = np.full((h, w), np.nan, np.float32)
    hit = count > 0
    out[hit] = total[hit] / count[hit]
    return out


def mask_overlay(labels_2d: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGBA image of canonical labels in the BraTS colours (transparent background)."""
    rgba = np.zeros((*labels_2d.shape, 4), np.float32)
    for region in REGIONS:
        rgba[labels_2d == int(region)] = (*region.colour[:3], alpha)
    return rgba


def _get(obj: Any, name: str, default=None):
    return getattr(obj, name, default) if obj is not None else default


def _modality_name(key) -> str:
    title = getattr(key, "title", None)
    return title if isinstance(title, str) else str(key)


def _volume_name(key) -> str:
    if isinstance(key, Region):
        return key.title
    return str(key).replace("_", " ").capitalize()


# --------------------------------------------------------------------------- panels


def model_line(prediction) -> str:
    """What the page says about the model: its inputs, and why when it reads the report
    (``"model: MRI + Pathology (eq. 2)"``); ``""`` without a prediction."""
    from corebt_viewer.core.prediction import model_inputs_name, report_headline

    if prediction is None:
        return ""
    uses_report = bool(_get(prediction, "uses_report", False))
    line = f"model: {model_inputs_name(uses_report)}"
    return f"{line} {report_headline(uses_report)}" if uses_report else line


def _placeholder(ax, text: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5, 0.5, text, ha="center", va="center", fontsize=9, color="0.4", transform=ax.transAxes
    )


def _draw_mri(ax, mri, mask, voxel_size, sequence_name: str, axis: int) -> None:
    if mri is None and mask is None:
        _placeholder(ax, "no MRI")
        return
    volume = mri if mri is not None else np.zeros(mask.shape, np.float32)
    if volume.ndim == 3:
        index = key_slice(mask, axis=axis, shape=volume.shape)
        image = np.take(volume, index, axis=axis)
        labels = np.take(mask, index, axis=axis) if mask is not None else None
        where = f"slice {index + 1}/{volume.shape[axis]}"
        plane = [s for i, s in enumerate(voxel_size or (1, 1, 1)) if i != axis]
    else:
        image, labels, where = volume, mask, ""
        plane = list(voxel_size or (1, 1))[:2]
    finite = image[np.isfinite(image) & (image != 0)]
    lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0)
    aspect = plane[1] / plane[0]
    # Array axes (x, y) of a RAS slice: show x across and y up (anterior at the top).
    ax.imshow(
        image.T, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, origin="lower", aspect=aspect
    )
    if labels is not None:
        ax.imshow(mask_overlay(labels).transpose(1, 0, 2), origin="lower", aspect=aspect)
    ax.set_title(f"MRI {sequence_name} {where}".replace("  ", " ").strip(), fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    for text, x in (("L", 0.02), ("R", 0.98)):  # RAS: x grows towards the patient's right
        ax.text(
            x, 0.5, text, transform=ax.transAxes, color="w", fontsize=8, ha="center", va="center"
        )
    if labels is not None:
        from matplotlib.patches import Patch

        handles = [Patch(color=r.colour[:3], label=r.short) for r in REGIONS]
        ax.legend(handles=handles, loc="lower right", fontsize=6, framealpha=0.6)


def _draw_prediction(ax, prediction) -> None:
    if prediction is None:
        _placeholder(ax, "no prediction")
        return
    classes = list(_get(prediction, "classes", ()))
    probs = np.asarray(_get(prediction, "probabilities", np.zeros(len(classes))), float)
    predicted = _get(prediction, "predicted", "")
    order = np.arange(len(classes))[::-1]
    colours = ["tab:red" if classes[i] == predicted else "tab:gray" for i in order]
    ax.barh(np.arange(len(order)), probs[order], color=colours, alpha=0.85)
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability", fontsize=8)
    ax.tick_params(labelsize=7)
    for row, i in enumerate(order):  # names inside the axes: long class names never clip
        ax.text(
            0.01,
            row,
            classes[i],
            va="center",
            fontsize=7,
            bbox={"fc": "w", "alpha": 0.6, "lw": 0, "pad": 1},
        )
    task = _get(prediction, "task", "")
    ax.set_title(f"Prediction{f' ({task})' if task else ''}: {predicted}", fontsize=9)
    for i, p in zip(range(len(order)), probs[order], strict=True):
        ax.text(0.98, i, f"{p:.2f}", va="center", ha="right", fontsize=7)


def _draw_weights(ax, prediction) -> None:
    weights = _get(prediction, "weights", None) or {}
    if not weights:
        _placeholder(ax, "no modality weights")
        return
    names = [_modality_name(k) for k in weights]
    values = [float(v) for v in weights.values()]
    gate = _get(prediction, "gate", None)
    if gate is not None:
        names.append("residual gate")
        values.append(float(gate))
    ax.bar(names, values, color=["tab:blue"] * len(weights) + ["tab:orange"] * (gate is not None))
    ax.set_ylim(0, 1)
    ax.set_title("Modality weights w_i", fontsize=9)
    ax.tick_params(labelsize=7)
    for i, v in enumerate(values):
        ax.text(i, v + 0.02, f"{v:.2f}", ha="center", fontsize=7)


def _table(
    ax, title: str, header: list[str], rows: list[list[str]], empty: str, widths: list[float]
) -> None:
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    if not rows:
        ax.text(
            0.5,
            0.5,
            empty,
            ha="center",
            va="center",
            fontsize=9,
            color="0.4",
            transform=ax.transAxes,
        )
        return
    table = ax.table(
        cellText=rows, colLabels=header, colWidths=widths, loc="upper center", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.4)
    for (r, _c), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        if r == 0:
            cell.set_text_props(weight="bold")


def _ablation_rows(prediction) -> list[list[str]]:
    rows = []
    classes = list(_get(prediction, "classes", ()))
    predicted = _get(prediction, "predicted", None)
    for row in _get(prediction, "ablation", ()) or ():
        probs = np.asarray(_get(row, "probabilities", ()), float)
        name = _get(row, "name", None) or " + ".join(
            _modality_name(m) for m in _get(row, "modalities", ())
        )
        row_pred = _get(row, "predicted", "")
        p_row = (
            float(probs[classes.index(row_pred)])
            if row_pred in classes and probs.size
            else float("nan")
        )
        p_main = (
            float(probs[classes.index(predicted)])
            if predicted in classes and probs.size
            else float("nan")
        )
        rows.append([name, str(row_pred), f"{p_row:.2f}", f"{p_main:.2f}"])
    return rows


def _draw_slides(
    fig, spec, thumbnails, heatmaps, names, problems=None, approximate: bool = False
) -> None:
    from matplotlib import colors

    n = min(len(thumbnails), MAX_SLIDES)
    if n == 0:
        _placeholder(fig.add_subplot(spec), "no slides")
        return
    sub = spec.subgridspec(1, n, wspace=0.05)
    finite = [h[np.isfinite(h)] for h in heatmaps if h is not None]
    limit = max((float(np.abs(f).max()) for f in finite if f.size), default=0.0)
    norm = colors.TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit) if limit > 0 else None
    image = None
    for i in range(n):
        ax = fig.add_subplot(sub[0, i])
        thumb = thumbnails[i]
        ax.imshow(thumb)
        heat = heatmaps[i] if i < len(heatmaps) else None
        if heat is not None and norm is not None:
            extent = (-0.5, thumb.shape[1] - 0.5, thumb.shape[0] - 0.5, -0.5)
            image = ax.imshow(
                np.ma.masked_invalid(heat), cmap="coolwarm", norm=norm, alpha=0.55, extent=extent
            )
        ax.set_xticks([])
        ax.set_yticks([])
        name = names[i] if i < len(names) else f"slide {i + 1}"
        problem = (problems or {}).get(str(name))
        if problem:  # an unreadable or left-out slide says so on the page
            ax.set_title(f"{str(name)[:30]}\n{problem[:60]}", fontsize=6, color="#c0392b")
        else:
            ax.set_title(str(name)[:40], fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=fig.axes[-n:], fraction=0.025, pad=0.01)
        bar.set_label(
            "approximate tile effect (occlusion, logit)"
            if approximate
            else "tile contribution (logit)",
            fontsize=7,
        )
        bar.ax.tick_params(labelsize=6)
    if len(thumbnails) > MAX_SLIDES:
        fig.axes[-1].text(
            1.0,
            -0.05,
            f"+{len(thumbnails) - MAX_SLIDES} more",
            transform=fig.axes[-1].transAxes,
            fontsize=7,
            ha="right",
            va="top",
        )


def _heatmaps_from_prediction(
    prediction, thumbnails, slide_dimensions, tile_size, names=()
) -> list[np.ndarray | None]:
    """Per thumbnail, the heat map of the slide of the same FILE name (never by index: a
    slide that failed to embed would shift every later map onto its neighbour)."""
    out: list[np.ndarray | None] = [None] * len(thumbnails)
    if prediction is None or tile_size is None or not slide_dimensions:
        return out
    index_of = {str(name): i for i, name in enumerate(names)}
    for contribution in _get(prediction, "tile_contributions", ()) or ():
        group = index_of.get(str(_get(contribution, "slide", "")), -1)
        coords = np.asarray(_get(contribution, "coords", ()))
        if not 0 <= group < min(len(thumbnails), len(slide_dimensions)) or coords.size == 0:
            continue
        out[group] = tile_heatmap(
            coords=coords,
            values=np.asarray(_get(contribution, "values", ())),
            tile_size=tile_size,
            slide_dimensions=slide_dimensions[group],
            thumbnail_shape=thumbnails[group].shape[:2],
        )
    return out


def _rano_rows(rano) -> list[list[str]]:
    """Rows of the bidimensional RANO measurement for the volumes table."""
    if rano is None:
        return []
    rows = [
        [f"RANO longest ({rano.target})", f"{rano.longest_mm:.1f} mm"],
        ["RANO perpendicular", f"{rano.perpendicular_mm:.1f} mm"],
        [f"Product, axial slice {rano.slice_index}", f"{rano.product_mm2:.0f} mm²"],
    ]
    if not rano.measurable:
        rows.append(["RANO", "not measurable (< 10 mm)"])
    return rows


# --------------------------------------------------------------------------- the page


def render_case_summary(
    *,
    case_id: str,
    out: str | Path,
    mri: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    voxel_size: Sequence[float] | None = None,
    sequence_name: str = "",
    axis: int = 2,
    slide_thumbnails: Sequence[np.ndarray] = (),
    slide_heatmaps: Sequence[np.ndarray | None] | None = None,
    slide_names: Sequence[str] = (),
    slide_dimensions: Sequence[tuple[int, int]] = (),
    tile_size: float | None = None,
    slide_problems: Mapping[str, str] | None = None,
    prediction: Any = None,
    volumes: Mapping[Any, float] | None = None,
    rano: Any = None,
    review: str = "",
    notes: str = "",
    formats: Sequence[str] = ("pdf", "png"),
    dpi: int = 150,
) -> list[Path]:
    """Draw the one-page summary of a case and write it as PDF and PNG.

    Parameters
    ----------
    case_id : str
    out : path-like
        Output path without suffix (a given ``.pdf``/``.png`` suffix is replaced).
    mri : ndarray, optional
        A 3-D volume (x, y, z in RAS order; the slice with most tumour is shown) or a 2-D slice.
    mask : ndarray, optional
        Canonical labels matching `mri`.
    voxel_size : sequence of float, optional
        For the slice's aspect ratio.
    sequence_name : str
        Shown in the title (``"T1c"``).
    axis : int
        Slicing axis (2: axial).
    slide_thumbnails : sequence of ndarray
        RGB thumbnails (at most three are drawn).
    slide_heatmaps : sequence of ndarray or None, optional
        Per thumbnail, a (h, w) map of tile contributions (NaN where no tile), e.g. from
        :func:`tile_heatmap`. Default: built from ``prediction.tile_contributions`` when
        `slide_dimensions` and `tile_size` are given.
    slide_names, slide_dimensions, tile_size
        File names, level-0 (width, height) and tile size of the slides; heat maps are
        matched to thumbnails by file name.
    slide_problems : mapping, optional
        Slide file name -> why it could not be read or was left out (printed under it).
    prediction : CasePrediction-like, optional
        Uses ``classes``, ``probabilities``, ``predicted``, ``task``, ``weights``,
        ``gate``, ``ablation`` and ``tile_contributions`` when present.
    volumes : mapping, optional
        Region (or name) -> millilitres.
    rano : RanoMeasurement, optional
        From :func:`corebt_viewer.services.mri_measure.measure_rano`: its diameters are
        added under the volumes (and its volumes used when `volumes` is not given).
    review, notes : str
        Review status and notes, printed under the title.
    formats : sequence of {"pdf", "png"}
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    list of Path
        The files written, in `formats` order (each written atomically).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from corebt_viewer.io.atomic_files import atomic_write_bytes

    out = Path(out)
    if out.suffix.lower() in (".pdf", ".png"):
        out = out.with_suffix("")
    fig = Figure(figsize=A4_PORTRAIT_IN, dpi=dpi)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(
        4,
        2,
        height_ratios=[0.35, 3.2, 2.3, 2.2],
        hspace=0.3,
        wspace=0.15,
        left=0.05,
        right=0.9,
        top=0.97,
        bottom=0.03,
    )

    head = fig.add_subplot(grid[0, :])
    head.set_axis_off()
    head.text(
        0,
        0.75,
        f"CoRe-BT case summary: {case_id}",
        fontsize=14,
        weight="bold",
        transform=head.transAxes,
    )
    line = f"{datetime.now().strftime('%Y-%m-%d %H:%M')}"
    if review:
        line += f"   review: {review}"
    if notes:
        line += f"   notes: {notes.splitlines()[0][:80]}"
    head.text(0, 0.05, line, fontsize=8, color="0.3", transform=head.transAxes)
    model = model_line(prediction)
    if model:
        head.text(0, 0.4, model, fontsize=8, color="0.15", transform=head.transAxes)

    _draw_mri(fig.add_subplot(grid[1, 0]), mri, mask, voxel_size, sequence_name, axis)
    right = grid[1, 1].subgridspec(2, 1, hspace=0.55)
    _draw_prediction(fig.add_subplot(right[0]), prediction)
    weights_ax = fig.add_subplot(right[1])
    if prediction is None:
        _placeholder(weights_ax, "")
    else:
        _draw_weights(weights_ax, prediction)

    thumbnails = list(slide_thumbnails)
    heatmaps = (
        list(slide_heatmaps)
        if slide_heatmaps is not None
        else _heatmaps_from_prediction(
            prediction, thumbnails, list(slide_dimensions), tile_size, list(slide_names)
        )
    )
    approximate = any(
        bool(_get(t, "approximate", False))
        for t in (_get(prediction, "tile_contributions", ()) or ())
    )
    _draw_slides(
        fig, grid[2, :], thumbnails, heatmaps, list(slide_names), slide_problems, approximate
    )

    predicted = _get(prediction, "predicted", "")
    meaning = _get(prediction, "ablation_mode", "")
    _table(
        fig.add_subplot(grid[3, 0]),
        f"Ablation (modalities kept{f'; ablated = {meaning}' if meaning else ''})",
        ["Modalities", "Predicted", "P", f"P({predicted})"],
        _ablation_rows(prediction),
        "no ablation",
        [0.36, 0.26, 0.1, 0.28],
    )
    if volumes is None and rano is not None:
        volumes = rano.volumes_ml
    volume_rows = [[_volume_name(k), f"{float(v):.2f}"] for k, v in (volumes or {}).items()]
    volume_rows += _rano_rows(rano)
    _table(
        fig.add_subplot(grid[3, 1]),
        "Region volumes",
        ["Region", "mL"],
        volume_rows,
        "no mask",
        [0.6, 0.4],
    )

    written = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        if fmt not in ("pdf", "png"):
            raise ValueError(f"unknown summary format {fmt!r}; use pdf or png")
        buffer = io.BytesIO()
        metadata = {"Title": f"CoRe-BT case summary {case_id}", "Creator": "CoRe-BT Viewer"}
        if model:  # searchable in the file, not only drawn
            metadata["Subject" if fmt == "pdf" else "Description"] = model
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        path = out.with_suffix(f".{fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write_bytes(path, buffer.getvalue()))
    return written
