"""Write the files of demo patients and the cohort manifest.

Layout under the cohort folder::

    manifest.csv
    README.txt
    mri/DEMO-0001/DEMO-0001_t1.nii.gz ... _t1ce _t2 _flair _seg      (BraTS 2021 names, labels 1/2/4)
    mri/DEMO-0005/DEMO-0005-t1n.nii.gz ... -t1c -t2w -t2f -seg       (BraTS 2023 names, labels 1/2/3)
    slides/DEMO-0001/DEMO-0001-A1.svs                                (Aperio-style pyramidal TIFF)
    reports/DEMO-0001.txt

Every writer is a pure function of ``(seed, patient plan)``: the same seed gives the same files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from corebt_viewer.core.segmentation import LabelConvention, from_canonical
from corebt_viewer.io.demo import plan as P
from corebt_viewer.io.manifest import MANIFEST_COLUMNS, MANIFEST_NAME

#: File-name suffix of each role, per BraTS naming convention.
MRI_SUFFIXES = {
    "brats2021": {"t1": "_t1", "t1c": "_t1ce", "t2": "_t2", "flair": "_flair", "seg": "_seg"},
    "brats2023": {"t1": "-t1n", "t1c": "-t1c", "t2": "-t2w", "flair": "-t2f", "seg": "-seg"},
}


def patient_files(plan: P.PatientPlan) -> dict[str, list[str]]:
    """Paths (relative to the cohort folder, POSIX) of every file of a patient, per role."""
    pid = plan.patient_id
    names = MRI_SUFFIXES[plan.convention]
    files: dict[str, list[str]] = {}
    for role in P.SEQUENCES:
        files[role] = [f"mri/{pid}/{pid}{names[role]}.nii.gz"] if role in plan.sequences else []
    files["seg"] = [f"mri/{pid}/{pid}{names['seg']}.nii.gz"] if plan.has_mask else []
    files["slides"] = [f"slides/{pid}/{pid}-{chr(65 + k)}1.svs" for k in range(plan.n_slides)]
    files["report"] = [f"reports/{pid}.txt"] if plan.has_report else []
    return files


def write_patient_mri(out: Path, plan: P.PatientPlan, seed: int) -> list[Path]:
    """Write the NIfTI files of one patient (int16 images, uint8 mask, RAS affine, 1 mm)."""
    import nibabel as nib

    from corebt_viewer.io.demo.phantom import affine, make_phantom

    case = make_phantom(plan, seed)
    files = patient_files(plan)
    written = []
    aff = affine()

    def save(array: np.ndarray, rel: str) -> None:
        path = Path(out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img = nib.Nifti1Image(array, aff)
        img.header.set_xyzt_units("mm", "sec")
        img.set_qform(aff, code=1)
        img.set_sform(aff, code=1)
        tmp = path.with_name(".tmp-" + path.name)
        nib.save(img, tmp)
        tmp.replace(path)
        written.append(path)

    for role in plan.sequences:
        save(case.images[role], files[role][0])
    if plan.has_mask:
        conv = (
            LabelConvention.BRATS_2023
            if plan.convention == "brats2023"
            else LabelConvention.BRATS_2021
        )
        save(from_canonical(case.labels, conv, dtype=np.uint8), files["seg"][0])
    return written


def write_patient_slide(out: Path, plan: P.PatientPlan, seed: int, index: int, size: int) -> Path:
    """Write slide `index` of one patient; returns its path."""
    from corebt_viewer.io.demo.histology import write_demo_slide

    path = Path(out) / patient_files(plan)["slides"][index]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    write_demo_slide(tmp, plan, seed, index, size)
    tmp.replace(path)
    return path


def write_patient_report(out: Path, plan: P.PatientPlan, seed: int) -> Path:
    """Write the neuropathology report of one patient (UTF-8 text)."""
    from corebt_viewer.io.demo.reports import make_report

    path = Path(out) / patient_files(plan)["report"][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(make_report(plan, seed), encoding="utf-8")
    return path


def manifest_rows(plans: list[P.PatientPlan]) -> list[dict[str, str]]:
    """One manifest row (column -> text) per patient."""
    rows = []
    for plan in plans:
        files = patient_files(plan)
        row = {
            "patient_id": plan.patient_id,
            "level1": plan.level1,
            "subtype": plan.subtype,
            "who_grade": str(plan.who_grade),
        }
        for role in (*P.SEQUENCES, "seg", "report"):
            row[role] = files[role][0] if files[role] else ""
        row["slides"] = ";".join(files["slides"])
        rows.append(row)
    return rows


def write_manifest(out: Path, plans: list[P.PatientPlan]) -> Path:
    """Write ``manifest.csv`` (columns :data:`MANIFEST_COLUMNS`, paths relative to it)."""
    path = Path(out) / MANIFEST_NAME
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(manifest_rows(plans))
    return path


def write_readme(out: Path, seed: int, plans: list[P.PatientPlan], slide_size: int) -> Path:
    """A short README describing the synthetic cohort."""
    from collections import Counter

    counts = Counter(p.level1 for p in plans)
    lines = [
        "CoRe-BT demo cohort (synthetic data, no real patients)",
        f"Made by `corebt demo-data` with seed {seed}: {len(plans)} patients, slides {slide_size} px.",
        "",
        "Level-1 classes:",
        *[f"  {name}: {n}" for name, n in counts.most_common()],
        "",
        f"Full MRI with mask: {sum(p.has_mask for p in plans)}; incomplete MRI (no mask): "
        f"{sum(not p.has_mask for p in plans)}; with slides and report: "
        f"{sum(p.n_slides > 0 for p in plans)} ({sum(p.n_slides for p in plans)} slides).",
        "Masks: BraTS labels 1 necrotic/non-enhancing core, 2 oedema, 4 (2021) or 3 (2023) enhancing.",
        "MRI: 1 mm RAS grid 144 x 176 x 144, int16. Slides: 0.5 um/px, JPEG tiles, Aperio-style.",
    ]
    path = Path(out) / "README.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
