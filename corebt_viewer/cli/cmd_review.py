"""``corebt review``: print the review state of a cohort, update a case, export CSV."""

from __future__ import annotations

import argparse

STATUSES = ("not_started", "in_progress", "done", "flagged")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "review",
        help="print the review state of a cohort, set a case's status, export CSV",
        description=(
            "Print each case's review status, reviewer, mask versions and notes from the "
            "cohort's review database (<cohort>/.corebt/review.sqlite). With --set, update one "
            "case first; with --csv, also write the table as CSV."
        ),
    )
    parser.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
    parser.add_argument("--csv", metavar="OUT", help="write the review table to this CSV file")
    parser.add_argument("--set", metavar="ID", dest="case_id", help="case to update")
    parser.add_argument("--status", choices=STATUSES, help="new status (with --set)")
    parser.add_argument("--reviewer", metavar="NAME", help="reviewer name (with --set)")
    parser.add_argument("--notes", metavar="TEXT", help="replace the notes (with --set)")
    parser.add_argument("--next", action="store_true", help="print only the next case to review")
    parser.set_defaults(func=run_review)


def _cell(value: object, width: int) -> str:
    text = str(value).replace("\n", " / ")
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(rows: list[dict[str, object]]) -> list[str]:
    """Aligned text lines of the review table, with a count per status."""
    columns = [("case_id", "case", 24), ("status", "status", 11), ("reviewer", "reviewer", 12)]
    columns += [
        ("mask_versions", "versions", 8),
        ("updated_at", "updated (UTC)", 19),
        ("notes", "notes", 40),
    ]
    lines = ["  ".join(title.ljust(width) for _, title, width in columns).rstrip()]
    for row in rows:
        values = dict(row, updated_at=str(row["updated_at"])[:19].replace("T", " "))
        lines.append(
            "  ".join(_cell(values[key], width).ljust(width) for key, _, width in columns).rstrip()
        )
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    lines.append(
        f"{len(rows)} cases: " + ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES)
    )
    return lines


def run_review(args: argparse.Namespace) -> int:
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.services import review

    cohort = review.as_cohort(args.cohort)
    ids = [c.patient_id for c in cohort]
    if args.case_id is not None:
        if args.case_id not in ids:
            raise InputError(
                cohort.manifest or cohort.root, f"no case {args.case_id!r} in this cohort"
            )
        if args.status is None and args.reviewer is None and args.notes is None:
            raise InputError(None, "--set needs --status, --reviewer or --notes")
        state = review.set_review_status(
            cohort_root=cohort.root,
            case_id=args.case_id,
            status=args.status,
            reviewer=args.reviewer,
            notes=args.notes,
        )
        print(
            f"{state.case_id}: {state.status.value}"
            + (f" ({state.reviewer})" if state.reviewer else "")
        )
    elif args.status or args.reviewer or args.notes:
        raise InputError(None, "--status, --reviewer and --notes need --set ID")
    if args.next:
        found = review.next_case_to_review(cohort=cohort)
        print(found if found is not None else "every case is reviewed")
        return 0
    print("\n".join(format_table(review.review_table(cohort=cohort))))
    if args.csv:
        out = review.export_review_csv(cohort=cohort, out=args.csv)
        print(f"wrote {out}")
    return 0
