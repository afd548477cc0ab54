"""Write a DICOM series' volume as a derived NIfTI file, with its provenance beside it.

Derived files live under the cohort's ``.corebt/`` folder; the DICOM files are only read.
The provenance JSON holds allow-listed attributes, the source files (relative to the
scanned folder) and the time; no patient attribute.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from corebt_viewer.core.volume import Volume
from corebt_viewer.io.dicom.series import DicomSeries


def derived_nifti_path(cohort_root: str | Path, case: str, name: str) -> Path:
    """``<cohort_root>/.corebt/dicom/<case>/<name>.nii.gz``."""
    from corebt_viewer.io.dicom.assignment import assignment_path

    return assignment_path(cohort_root, case).parent / f"{name}.nii.gz"


def write_derived_nifti(
    volume: Volume, series: DicomSeries, path: str | Path, *, source_folder: str | Path
) -> Path:
    """Save `volume` (RAS, as read from `series`) to `path` and ``<path>.json`` provenance.

    Returns
    -------
    Path
        The NIfTI file written (atomically).
    """
    import nibabel as nib
    import pydicom

    from corebt_viewer import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(np.asarray(volume.data, np.float32), np.asarray(volume.affine, float))
    img.header.set_xyzt_units("mm")
    img.header.set_qform(volume.affine, code=1)
    img.header.set_sform(volume.affine, code=1)
    from corebt_viewer.io.nifti import save_nifti_atomic

    save_nifti_atomic(img, path)
    root = Path(source_folder)
    provenance = {
        "derived_from": "DICOM series",
        "series": series.to_dict(),
        "source_folder": str(root),
        "source_files": [_relative(p, root) for p in series.files],
        "sequence": volume.sequence.value if volume.sequence else None,
        "shape": list(volume.shape),
        "affine_ras": np.asarray(volume.affine, float).round(6).tolist(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": f"corebt-viewer {__version__}, pydicom {pydicom.__version__}",
    }
    side = path.with_name(path.name.removesuffix(".nii.gz") + ".json")
    side.write_text(json.dumps(provenance, indent=2) + "\n")
    return path


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
