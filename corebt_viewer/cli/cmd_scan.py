"""``corebt scan``: find the cases of a folder by file names and write the manifest inferred."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    scan = subparsers.add_parser(
        "scan",
        help="find the cases of a folder by file names; optionally write manifest.csv",
        description=(
            "Walk FOLDER (hidden folders skipped) and find its cases: one folder per case, "
            "or files prefixed with the case id. Sequence words are matched on word "
            "boundaries, case-insensitively (T1: t1 t1n t1w t1_pre; T1c: t1c t1ce t1gd "
            "t1post t1_post_gad t1-contrast; T2: t2 t2w; FLAIR: flair fla t2f; mask: seg "
            "mask label tumor), suffixes such as _bet tolerated. A folder of DICOM MR images (any "
            "depth, any names) is one case: its series are assigned by the saved choice or "
            "by the rules (SeriesDescription, sequence and contrast tags), localizers and "
            "derived series skipped, and each assigned series is read into "
            "FOLDER/.corebt/dicom/CASE/SEQ.nii.gz (provenance beside it), which the case "
            "and the manifest use. Prints the file chosen for "
            "each role and why, the files that joined no case, and the ambiguities. Exit "
            "status 2 when there are ambiguities."
        ),
    )
    scan.add_argument("folder", metavar="FOLDER", help="the cohort folder")
    scan.add_argument(
        "--write-manifest",
        action="store_true",
        help="write FOLDER/manifest.csv with the cases found, for you to check and edit "
        "(labels empty; ambiguous roles left empty)",
    )
    scan.add_argument("--force", action="store_true", help="replace an existing manifest.csv")
    from corebt_viewer.cli.dicom_scan import add_dicom_arguments

    add_dicom_arguments(scan)
    scan.add_argument(
        "--case",
        metavar="CASE",
        help="DICOM: the case (folder name) that --assign and --save-assignment apply to, "
        "when FOLDER holds several DICOM cases",
    )
    scan.set_defaults(func=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    import sys

    from corebt_viewer.cli.cmd_data import format_choices
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.io.discovery import scan_folder
    from corebt_viewer.io.manifest import MANIFEST_NAME, write_manifest

    if args.assign or args.save_assignment:
        _dicom_assign(args)
    scan = scan_folder(args.folder)
    root = scan.cohort.root
    choices = {
        case: {role: (str(c.path), c.reason) for role, c in roles.items()}
        for case, roles in scan.choices.items()
    }
    unmatched = [(str(u.path), u.reason) for u in scan.unmatched]
    print(f"{root}: {len(scan.cohort)} case(s)")
    print("\n".join(format_choices(choices, unmatched, root)[1:]))
    for problem in scan.problems:
        print(f"problem: {problem}")
    if args.write_manifest:
        target = root / MANIFEST_NAME
        if target.exists() and not args.force:
            raise InputError(target, "a manifest already exists; use --force to replace it")
        write_manifest(scan.cohort, target)
        print(f"wrote {target}: check it, add labels, and fix any role left empty")
    sys.stdout.flush()
    return 2 if scan.problems else 0


def _dicom_assign(args: argparse.Namespace) -> None:
    """Apply ``--assign`` / ``--save-assignment`` to the DICOM case chosen (listing it)."""
    import os
    from pathlib import Path

    from corebt_viewer.cli.dicom_scan import run_dicom_scan
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.io.dicom.cases import find_dicom_case_folders

    root = Path(os.path.normpath(Path(args.folder).absolute()))
    found = find_dicom_case_folders(root)
    folders = [f for f in found if f.name == args.case] if args.case else found
    if len(folders) != 1:
        names = ", ".join(f.name for f in found) or "none"
        what = "several DICOM cases" if folders else "no DICOM case"
        what += f" named {args.case!r}" if args.case and not folders else ""
        raise InputError(
            root, f"--assign/--save-assignment: {what} (DICOM cases: {names}); use --case"
        )
    run_dicom_scan(
        folder=folders[0],
        cohort_root=root,
        case=folders[0].name,
        assign=args.assign,
        save=True,
    )
    print()
