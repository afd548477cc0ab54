"""napari writer: a labels layer -> a NIfTI tumour mask on its reference image's grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError


def layer_affine(meta: dict) -> np.ndarray:
    """RAS affine of a layer placed by ``scale`` and ``translate`` (no rotation or shear)."""
    scale = np.asarray(meta.get("scale") or (1.0, 1.0, 1.0), dtype=float)
    translate = np.asarray(meta.get("translate") or (0.0, 0.0, 0.0), dtype=float)
    affine = np.eye(4)
    affine[:3, :3] = np.diag(scale[-3:])
    affine[:3, 3] = translate[-3:]
    return affine


def write_labels(path: str, data, meta: dict) -> list[str]:
    """Save a labels layer as a NIfTI mask through ``io.nifti.save_segmentation``.

    A mask opened by this plugin is written back on its original file's grid, header,
    affine, data type and label convention (``metadata["corebt"]["reference"]``);
    any other 3-D labels layer is written in RAS order with the affine built from the
    layer's ``scale`` and ``translate`` (BraTS 2021 values: enhancing tumour = 4).

    Parameters
    ----------
    path : str
        Destination ``.nii`` or ``.nii.gz``.
    data : array-like
        Canonical labels 0-3 (0 background, 1 necrotic core, 2 oedema, 3 enhancing).
    meta : dict
        The layer's attributes as napari passes them.

    Returns
    -------
    list of str
        The written file.

    Raises
    ------
    InputError
        Not 3-D, labels outside 0-3, or a mask that does not fit its reference grid.
    """
    from corebt_viewer.core.segmentation import LabelConvention
    from corebt_viewer.io.nifti import save_segmentation

    labels = np.asarray(data)
    if labels.ndim != 3:
        raise InputError(path, f"a tumour mask is 3-D; this layer has shape {labels.shape}")
    values = np.unique(labels)
    if values.size and (values.min() < 0 or values.max() > 3):
        raise InputError(
            path,
            "tumour masks hold labels 0-3 (necrotic core 1, oedema 2, enhancing 3); "
            f"this layer has {sorted(int(v) for v in values)}",
        )
    metadata = meta.get("metadata") or {}
    info = metadata.get("corebt") or {}
    reference = info.get("reference") or info.get("path")
    convention = metadata.get("convention") or LabelConvention.BRATS_2021
    convention = LabelConvention(convention)
    if reference is not None and Path(reference).is_file():
        written = save_segmentation(
            path, labels.astype(np.uint8), reference=Path(reference), convention=convention
        )
    else:
        written = save_segmentation(
            path, labels.astype(np.uint8), affine=layer_affine(meta), convention=convention
        )
    return [str(written)]
