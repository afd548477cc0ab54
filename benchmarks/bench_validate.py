"""How long `corebt validate` takes on a 100-case cohort, against loading every volume.

Usage: ``python benchmarks/bench_validate.py [--cases 100] [--workers N] [--data ../shared/data]``

Writes a temporary manifest whose rows all point at the real TCGA case (four 240x240x155
sequences and a mask, gzip-compressed), then times

* ``validate_cohort`` (headers + gzip size checks for the sequences, voxels of the mask only),
* the naive alternative: ``load_case_mri`` on every case (every voxel decompressed,
  converted to float32 and reoriented).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from corebt_viewer.io.manifest import MANIFEST_COLUMNS, read_cohort
from corebt_viewer.io.nifti import load_case_mri
from corebt_viewer.io.validate import validate_cohort

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--naive-cases", type=int, default=10, help="cases for the naive timing")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    mri = args.data / "mri" / "TCGA-DU-7294"
    names = {
        "t1": "TCGA-DU-7294_t1_bet.nii.gz",
        "t1c": "TCGA-DU-7294_t1c_bet.nii.gz",
        "t2": "TCGA-DU-7294_t2_bet.nii.gz",
        "flair": "TCGA-DU-7294_fla_bet.nii.gz",
        "seg": "TCGA-DU-7294_seg_fusion_mav.nii.gz",
    }
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        lines = [",".join(MANIFEST_COLUMNS)]
        for i in range(args.cases):
            row = {"patient_id": f"P{i:04d}", "level1": "Oligodendroglioma", "who_grade": "2"}
            row.update({k: str(mri / v) for k, v in names.items()})
            lines.append(",".join(row.get(c, "") for c in MANIFEST_COLUMNS))
        manifest.write_text("\n".join(lines) + "\n")

        start = time.perf_counter()
        problems = validate_cohort(manifest, workers=args.workers)
        validate_s = time.perf_counter() - start
        assert not problems, problems

        cohort = read_cohort(manifest)
        start = time.perf_counter()
        for case in cohort.cases[: args.naive_cases]:
            load_case_mri(case)
        naive_per_case = (time.perf_counter() - start) / args.naive_cases
    print(
        f"validate_cohort, {args.cases} cases x 5 files: {validate_s:.2f} s "
        f"({1000 * validate_s / args.cases:.0f} ms per case)"
    )
    print(
        f"load_case_mri (every voxel), per case: {1000 * naive_per_case:.0f} ms "
        f"-> {naive_per_case * args.cases:.1f} s for {args.cases} cases"
    )


if __name__ == "__main__":
    main()
