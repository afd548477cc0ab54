"""napari readers: a case folder or cohort manifest (MRI + mask), and slides via OpenSlide.

``get_case_reader`` and ``get_slide_reader`` are napari's ``get_reader`` hooks: they look
at the path cheaply and return ``None`` for anything they do not handle; they never raise.
The read functions they return load through :mod:`corebt_viewer.io` and convert through
:mod:`corebt_viewer.gui.layers`. Every layer carries ``metadata["corebt"]`` (the cohort,
the case and the layer's role) so the plugin's dock widgets can follow the open case.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from corebt_viewer.core.case import Case, Cohort
from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.modalities import Sequence

log = logging.getLogger("corebt_viewer.gui.plugin")

LayerData = tuple  # (data, kwargs, layer_type)

MANIFEST_NAME = "manifest.csv"
#: Slide suffixes offered to OpenSlide (TIFFs only when they hold a pyramid).
SLIDE_SUFFIXES = (".svs", ".ndpi", ".mrxs", ".scn", ".vms", ".vmu", ".bif", ".svslide")
TIFF_SUFFIXES = (".tif", ".tiff")
#: A DICOM file of a whole-slide series opens the series' folder as one slide.
DICOM_SUFFIXES = (".dcm", ".dicom")
#: Sequence shown first when a case opens (the others are one click away).
FIRST_VISIBLE = (Sequence.T1C, Sequence.FLAIR, Sequence.T2, Sequence.T1)
#: How far up from a case folder to look for the cohort's manifest.
MANIFEST_SEARCH_DEPTH = 3
#: Folder entries looked at when deciding whether a folder is a cohort.
MAX_ENTRIES_SCANNED = 400


@dataclass(frozen=True)
class CaseSource:
    """What a path opens: a cohort (``kind="cohort"``) or one case folder (``"case"``)."""

    kind: str
    path: Path


# ---------------------------------------------------------------- path recognition


def _brats_ids(folder: Path) -> list[str]:
    """Case ids of the BraTS-named NIfTI files directly inside `folder`, in name order."""
    from corebt_viewer.io.discovery import match_brats_name

    ids: list[str] = []
    with os.scandir(folder) as entries:
        for n, entry in enumerate(sorted(entries, key=lambda e: e.name)):
            if n >= MAX_ENTRIES_SCANNED:
                break
            if entry.is_file():
                match = match_brats_name(entry.name)
                if match and match[1] not in ids:
                    ids.append(match[1])
    return ids


def _is_manifest(path: Path) -> bool:
    """True for a CSV file whose header has a ``patient_id`` column."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = handle.readline().lower()
    except OSError:
        return False
    return "patient_id" in header


def find_case_source(path: str | Path) -> CaseSource | None:
    """Recognise a cohort manifest, a cohort folder or a BraTS case folder (cheap checks).

    Returns
    -------
    CaseSource or None
        ``None`` when `path` is none of these.
    """
    path = Path(os.path.normpath(Path(path).absolute()))
    if path.is_file():
        if path.suffix.lower() == ".csv" and _is_manifest(path):
            return CaseSource("cohort", path)
        return None
    if not path.is_dir():
        return None
    if (path / MANIFEST_NAME).is_file() and _is_manifest(path / MANIFEST_NAME):
        return CaseSource("cohort", path / MANIFEST_NAME)
    if _brats_ids(path):
        return CaseSource("case", path)
    with os.scandir(path) as entries:
        subfolders = sorted(e.path for e in entries if e.is_dir() and not e.name.startswith("."))
    for sub in subfolders[:MAX_ENTRIES_SCANNED]:
        if _brats_ids(Path(sub)):
            return CaseSource("cohort", path)
    return None


def _enclosing_cohort_case(folder: Path, case_id: str) -> tuple[Cohort, Case] | None:
    """The case `case_id` of a manifest above `folder` whose MRI lies in `folder`."""
    from corebt_viewer.io.manifest import read_manifest

    parent = folder
    for _ in range(MANIFEST_SEARCH_DEPTH):
        parent = parent.parent
        manifest = parent / MANIFEST_NAME
        if not manifest.is_file():
            continue
        try:
            cohort, _problems = read_manifest(manifest, strict=False)
        except CoreBTError:
            continue
        if case_id in cohort.ids:
            case = cohort[case_id]
            files = [*case.mri.values(), case.segmentation]
            if any(p is not None and Path(p).parent == folder for p in files):
                return cohort, case
    return None


def open_case_source(source: CaseSource) -> tuple[Cohort, Case]:
    """Read the cohort that `source` names and pick its case.

    A cohort opens on its first case with MRI. A case folder inside a cohort with a
    manifest opens as that cohort's case (labels, slides and report included).

    Raises
    ------
    InputError, ManifestError
    """
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.io.manifest import read_cohort

    if source.kind == "case":
        case_id = _brats_ids(source.path)[0]
        found = _enclosing_cohort_case(source.path, case_id)
        if found is not None:
            return found
        cohort = read_cohort(source.path)
        return cohort, cohort[case_id]
    cohort = read_cohort(source.path)
    if len(cohort) == 0:
        raise InputError(source.path, "the cohort has no cases")
    with_mri = [case for case in cohort if case.mri]
    return cohort, (with_mri[0] if with_mri else next(iter(cohort)))


# ---------------------------------------------------------------- layers


def corebt_metadata(cohort: Cohort | None, case: Case | None, role: str, **extra) -> dict:
    """The ``metadata["corebt"]`` entry the dock widgets read."""
    info = {
        "cohort": str(cohort.manifest or cohort.root) if cohort is not None else None,
        "case": case.patient_id if case is not None else None,
        "role": role,
    }
    info.update({k: (str(v) if isinstance(v, Path) else v) for k, v in extra.items()})
    return info


def _with_corebt(kwargs: dict, info: dict) -> dict:
    metadata = dict(kwargs.get("metadata") or {})
    metadata["corebt"] = info
    return {**kwargs, "metadata": metadata}


def case_layer_data(cohort: Cohort | None, case: Case) -> tuple[list[LayerData], dict[str, str]]:
    """Layer data of a case's MRI: one image per sequence, the mask as labels.

    Volumes are placed in millimetres (voxel size as ``scale``, the affine's origin as
    ``translate``); one sequence is visible. A case without MRI opens its first slide.

    Returns
    -------
    (list of (data, kwargs, layer_type), dict of role -> message)
        The layers and the files that could not be shown.
    """
    from corebt_viewer.gui import layers as L
    from corebt_viewer.io.nifti import load_case_mri

    if not case.mri and case.segmentation is None:
        if case.slides:
            return slide_layer_data(case.slides[0], cohort=cohort, case=case), {}
        return [], {"mri": f"{case.patient_id} has no MRI and no slide"}
    study = load_case_mri(case)
    shown = next((s for s in FIRST_VISIBLE if s in study.volumes), None)
    out: list[LayerData] = []
    for sequence, volume in study.volumes.items():
        data, kwargs = L.volume_layer(volume)
        kwargs["name"] = f"{case.patient_id} {kwargs['name']}"
        kwargs["visible"] = sequence is shown
        info = corebt_metadata(cohort, case, "mri", sequence=sequence.value, path=volume.path)
        out.append((data, _with_corebt(kwargs, info), "image"))
    if study.segmentation is not None:
        data, kwargs = L.segmentation_layer(study.segmentation)
        kwargs["name"] = f"{case.patient_id} tumour mask"
        reference = case.segmentation
        info = corebt_metadata(cohort, case, "mask", reference=reference)
        out.append((data, _with_corebt(kwargs, info), "labels"))
    return out, dict(study.errors)


def slide_layer_data(
    path: str | Path, *, cohort: Cohort | None = None, case: Case | None = None
) -> list[LayerData]:
    """A slide as one lazy multiscale RGB layer, in microns when the slide knows its mpp.

    Raises
    ------
    InputError
        The file is not a slide OpenSlide can read.
    """
    from corebt_viewer.gui import layers as L
    from corebt_viewer.io.slides import open_slide

    reader = open_slide(path)
    data, kwargs = L.slide_layer(reader)
    info = corebt_metadata(cohort, case, "slide", path=Path(path))
    return [(data, _with_corebt(kwargs, info), "image")]


# ---------------------------------------------------------------- napari hooks


def _notify(level: str, message: str) -> None:
    try:
        from napari.utils import notifications

        getattr(notifications, f"show_{level}")(message)
    except Exception:  # noqa: BLE001 - no napari session: the log has it
        log.warning(message)


def _failed(message: str) -> list[LayerData]:
    """Tell the user and return napari's "read, but no layers" value (never raise)."""
    _notify("error", message)
    return [(None,)]


def read_case(path) -> list[LayerData]:
    """napari read function for a case folder, a cohort folder or a manifest."""
    path = path[0] if isinstance(path, list) else path
    source = find_case_source(path)
    if source is None:
        return _failed(f"CoRe-BT: {path} is neither a case folder nor a cohort")
    try:
        cohort, case = open_case_source(source)
        layers, errors = case_layer_data(cohort, case)
    except CoreBTError as exc:
        return _failed(f"CoRe-BT: {exc}")
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
        log.exception("reading %s", path)
        return _failed(f"CoRe-BT: cannot open {path}: {exc}")
    for role, message in errors.items():
        _notify("warning", f"{case.patient_id} {role}: {message}")
    return layers or _failed(f"CoRe-BT: nothing to show for {case.patient_id}")


def read_slide(path) -> list[LayerData]:
    """napari read function for one slide file (or DICOM whole-slide folder)."""
    path = path[0] if isinstance(path, list) else path
    if Path(path).suffix.lower() in DICOM_SUFFIXES:
        path = Path(path).parent  # the series, not one of its files
    try:
        return slide_layer_data(path)
    except CoreBTError as exc:
        return _failed(f"CoRe-BT: {exc}")
    except Exception as exc:  # noqa: BLE001
        log.exception("reading %s", path)
        return _failed(f"CoRe-BT: cannot open {path}: {exc}")


def get_case_reader(path):
    """Return :func:`read_case` for a case folder, cohort folder or manifest, else ``None``."""
    try:
        if isinstance(path, list):
            if len(path) != 1:
                return None
            path = path[0]
        return read_case if find_case_source(path) is not None else None
    except Exception:  # noqa: BLE001 - a get_reader hook never raises
        return None


def _is_pyramidal_tiff(path: Path) -> bool:
    import warnings

    from corebt_viewer.io.slides import open_slide

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a missing mpp matters only once it is opened
            with open_slide(path) as reader:
                vendor = str(reader.vendor or "")
                return reader.level_count > 1 or vendor not in ("", "generic-tiff", "image")
    except Exception:  # noqa: BLE001
        return False


def get_slide_reader(path):
    """Return :func:`read_slide` for a slide file OpenSlide handles, else ``None``.

    Plain (single-level) TIFFs are left to napari's own TIFF reader. A folder of DICOM
    whole-slide instances, or one file of it, opens as one slide.
    """
    try:
        if isinstance(path, list):
            if len(path) != 1:
                return None
            path = path[0]
        path = Path(path)
        if path.is_dir():
            from corebt_viewer.io.slides.dicom import find_dicom_wsi_file

            return read_slide if find_dicom_wsi_file(path) is not None else None
        if not path.is_file():
            return None
        suffix = path.suffix.lower()
        if suffix in DICOM_SUFFIXES:
            from corebt_viewer.io.slides.dicom import is_dicom_wsi_file

            return read_slide if is_dicom_wsi_file(path) else None
        if suffix in SLIDE_SUFFIXES:
            return read_slide
        if suffix in TIFF_SUFFIXES and _is_pyramidal_tiff(path):
            return read_slide
        return None
    except Exception:  # noqa: BLE001
        return None
