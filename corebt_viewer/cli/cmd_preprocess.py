"""``corebt preprocess`` (atlas-space 1 mm copy) and ``corebt coregister`` (native space)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    pre = subparsers.add_parser(
        "preprocess",
        help="write an atlas-space 1 mm copy of a cohort (the paper's BraTS step)",
        description=(
            "Register each case rigidly to a T1 atlas (default: the MNI152 2009a template "
            "nilearn ships; no download), resample every sequence once onto its 1 mm grid, "
            "optionally strip the skull with the atlas brain mask, and write "
            "COHORT/.corebt/preprocessed/manifest.csv for the other commands. Cases already "
            "done are skipped; a case that fails is listed and the rest go on (exit 1). "
            "See docs/preprocessing.md for how this compares with BraTS."
        ),
    )
    pre.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
    pre.add_argument("--atlas", metavar="FILE", help="T1-weighted atlas NIfTI (default MNI152)")
    pre.add_argument("--skull-strip", action="store_true", help="keep only the atlas brain mask")
    pre.add_argument(
        "--out", metavar="DIR", help="output folder (default COHORT/.corebt/preprocessed)"
    )
    pre.add_argument(
        "--voxel-size",
        type=float,
        default=1.0,
        metavar="MM",
        help="isotropic output voxel size over the atlas (default 1 mm, as BraTS)",
    )
    pre.add_argument("--threads", type=int, default=None, help="registration threads")
    pre.set_defaults(func=run_preprocess)

    reg = subparsers.add_parser(
        "coregister",
        help="register each case's sequences rigidly to its T1c (native space)",
        description=(
            "For cases whose sequences' scanner coordinates disagree: register each sequence "
            "rigidly (SimpleITK, mutual information) to the reference sequence and write the "
            "transform and its residual to COHORT/.corebt/registration/<case>/. Original "
            "files are not modified."
        ),
    )
    reg.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
    reg.add_argument("--reference", default="t1c", choices=("t1", "t1c", "t2", "flair"))
    reg.add_argument("--case", action="append", metavar="ID", help="only this case (repeatable)")
    reg.add_argument("--threads", type=int, default=None, help="registration threads")
    reg.set_defaults(func=run_coregister)


def _progress(stream):
    def show(event) -> None:
        print(f"[{event.done}/{event.total}] {event.message}", file=stream, flush=True)

    return show


def run_preprocess(args: argparse.Namespace) -> int:
    import sys

    from corebt_viewer.io.manifest import read_cohort
    from corebt_viewer.services.preprocess import preprocess_cohort

    cohort = read_cohort(args.cohort)
    result = preprocess_cohort(
        cohort=cohort,
        out_dir=args.out,
        atlas=args.atlas,
        skull_strip=args.skull_strip,
        spacing=args.voxel_size,
        threads=args.threads,
        progress=_progress(sys.stderr),
    )
    print(
        f"{len(result.done)} case(s) written, {len(result.resumed)} already up to date, "
        f"{len(result.failed)} failed"
    )
    for case_id, reason in result.failed:
        print(f"failed: {case_id}: {reason}")
    if result.manifest is not None:
        print(f"manifest: {result.manifest}")
    return 1 if result.failed else 0


def run_coregister(args: argparse.Namespace) -> int:
    import sys

    from corebt_viewer.core.errors import InputError
    from corebt_viewer.io.manifest import read_cohort
    from corebt_viewer.services.native_space import coregister_case, registration_dir

    cohort = read_cohort(args.cohort)
    cases = [c for c in cohort if not args.case or c.patient_id in args.case]
    unknown = set(args.case or ()) - {c.patient_id for c in cases}
    if unknown:
        raise InputError(cohort.root, f"no case {', '.join(sorted(unknown))} in this cohort")
    failed = 0
    for case in cases:
        try:
            reg = coregister_case(
                cohort_root=cohort.root,
                case=case,
                reference=args.reference,
                threads=args.threads,
                progress=_progress(sys.stderr),
            )
        except InputError as exc:
            print(f"failed: {case.patient_id}: {exc}")
            failed += 1
            continue
        for role, record in reg.records.items():
            print(
                f"{case.patient_id} {role} -> {args.reference}: rotation "
                f"{record['rotation_deg']:.2f} deg, MI {record['metric_before']:.3f} -> "
                f"{record['metric_after']:.3f}"
            )
        print(f"written to {registration_dir(cohort.root, case.patient_id)}")
    return 1 if failed else 0
