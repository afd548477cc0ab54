"""The "Export case summary" action: one page (PDF and PNG) of what the viewer shows.

:func:`summary_task` gathers plain data on the UI thread (the sequence in view, the working
mask, the prediction with the current switches, the review) and returns a worker task that
reads the slide thumbnails and draws the page with :mod:`corebt_viewer.services.summary`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def summary_task(
    *,
    case,
    out: str | Path,
    mri: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    voxel_size=None,
    sequence_name: str = "",
    prediction=None,
    review: str = "",
    notes: str = "",
    slide_problems: dict[str, str] | None = None,
    thumbnail_size: int = 768,
):
    """A worker task ``(progress, cancelled) -> list[Path]`` writing the summary of `case`.

    Parameters
    ----------
    case : Case
        Its slides give the thumbnails (at most three); an unreadable slide gets a blank
        tile with its message.
    out : path-like
        Output path; ``.pdf`` and ``.png`` are written.
    mri, mask : ndarray, optional
        The sequence in view and the working mask (copied now: editing may go on).
    prediction : CasePrediction, optional
    review, notes : str
    slide_problems : dict, optional
        Slide file name -> why it was left out of the prediction (printed under it).
    """
    mri = None if mri is None else np.array(mri, copy=True)
    mask = None if mask is None else np.array(mask, copy=True)
    slides = tuple(case.slides)[:3]

    def task(progress, cancelled):
        from corebt_viewer.core.progress import report
        from corebt_viewer.core.segmentation import region_volumes_ml
        from corebt_viewer.io.slides import open_slide
        from corebt_viewer.services.summary import render_case_summary

        thumbnails, names, dimensions = [], [], []
        problems = dict(slide_problems or {})
        for i, path in enumerate(slides):
            report(progress, i, len(slides) + 1, f"thumbnail of {Path(path).name}", "summary")
            try:
                with open_slide(path) as reader:
                    thumbnails.append(reader.thumbnail(thumbnail_size))
                    dimensions.append(tuple(reader.dimensions))
                    names.append(Path(path).name)
            except Exception as exc:  # noqa: BLE001 - the page says so under a blank tile
                thumbnails.append(np.full((64, 64, 3), 235, np.uint8))
                dimensions.append((1, 1))
                names.append(Path(path).name)
                problems[Path(path).name] = f"cannot read: {exc}"
        tile_size = None
        for tiles in getattr(prediction, "tile_contributions", ()) or ():
            if tiles.coords is not None and len(tiles.coords):
                from corebt_viewer.gui.layers import infer_tile_size

                tile_size = infer_tile_size(tiles.coords)
                break
        volumes = rano = None
        if mask is not None and voxel_size is not None:
            from corebt_viewer.services.mri_measure import measure_rano

            volumes = region_volumes_ml(mask, tuple(voxel_size))
            rano = measure_rano(mask, tuple(voxel_size))
        report(progress, len(slides), len(slides) + 1, "drawing the summary", "summary")
        return render_case_summary(
            case_id=case.patient_id,
            out=out,
            mri=mri,
            mask=mask,
            voxel_size=voxel_size,
            sequence_name=sequence_name,
            slide_thumbnails=thumbnails,
            slide_names=names,
            slide_dimensions=dimensions,
            slide_problems=problems,
            tile_size=tile_size,
            prediction=prediction,
            volumes=volumes,
            rano=rano,
            review=review,
            notes=notes,
        )

    return task
