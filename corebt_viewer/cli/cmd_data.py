"""``corebt validate`` and ``corebt info``: check and summarise a cohort."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check every row and file of a cohort (exit 0 clean, 2 problems)",
        description=(
            "Open every file of a cohort (manifest.csv, a folder holding one, or a BraTS "
            "2021/2023 folder) and print each problem on its own line: manifest and row, "
            "patient, file, problem. Exit status 0 when clean, 2 when not."
        ),
    )
    validate.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    validate.add_argument(
        "--deep",
        action="store_true",
        help="decompress every MRI file in full (slower; catches corruption inside "
        "files of the right size)",
    )
    validate.set_defaults(func=run_validate)

    info = subparsers.add_parser(
        "info",
        help="summarise a cohort: cases, modalities, classes per task",
        description="Summarise a cohort from its manifest (or BraTS folder) without opening files.",
    )
    info.add_argument("cohort", metavar="COHORT", help="manifest.csv or cohort folder")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.add_argument(
        "--model",
        metavar="MODEL_DIR",
        help="also describe a trained model: task, classes, embedding profile, cases per modality",
    )
    info.set_defaults(func=run_info)


def run_validate(args: argparse.Namespace) -> int:
    import sys

    from corebt_viewer.core.progress import Progress
    from corebt_viewer.services.cohort import validate

    interactive = sys.stderr.isatty() and not args.quiet

    def show(event: Progress) -> None:
        if interactive and event.total:
            print(f"\rchecking {event.done}/{event.total} cases", end="", file=sys.stderr)

    problems = validate(path=args.cohort, progress=show, deep=args.deep)
    if interactive:
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    for problem in problems:
        print(str(problem))
    sys.stdout.flush()
    if problems:
        rows = {(p.manifest, p.row) for p in problems}
        if not args.quiet:
            print(
                f"{len(problems)} problem{'s' * (len(problems) != 1)} in "
                f"{len(rows)} row{'s' * (len(rows) != 1)}",
                file=sys.stderr,
            )
        return 2
    if not args.quiet:
        print(f"{args.cohort}: OK, every file checked")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from corebt_viewer.services.cohort import summarise

    summary = summarise(path=args.cohort)
    card = None
    if args.model:
        from corebt_viewer.services.fusion import model_card

        card = model_card(args.model)
    if args.json:
        import json

        data = _as_json(summary)
        if card is not None:
            data["model"] = card
        print(json.dumps(data, indent=2, default=str))
    else:
        lines = format_summary(summary)
        if card is not None:
            from corebt_viewer.services.fusion import model_card_lines

            lines += ["", *model_card_lines(card)]
        print("\n".join(lines))
    return 0


def _as_json(summary) -> dict:
    return {
        "root": str(summary.root),
        "manifest": None if summary.manifest is None else str(summary.manifest),
        "cases": summary.n_cases,
        "modalities": summary.modality_counts,
        "sequences": summary.sequence_counts,
        "classes": summary.class_counts,
        "problems": [str(p) for p in summary.problems],
    }


def format_summary(summary) -> list[str]:
    """The summary as lines of text."""
    from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality
    from corebt_viewer.core.tasks import get_task

    n = summary.n_cases

    def share(count: int) -> str:
        return f"{count:>5}  ({100 * count / n:.0f}%)" if n else f"{count:>5}"

    source = summary.manifest if summary.manifest is not None else f"{summary.root} (BraTS folder)"
    counts = summary.modality_counts
    lines = [f"cohort: {source}", f"cases: {n}", "", "modalities:"]
    for modality in Modality:
        lines.append(f"  {modality.title:<24}{share(counts[modality.value])}")
    lines.append(f"  {'complete MRI (4 seq.)':<24}{share(counts['complete_mri'])}")
    lines.append(f"  {'tumour mask':<24}{share(counts['segmentation'])}")
    lines.append(f"  {'slides in total':<24}{counts['slides_total']:>5}")
    lines.append(
        "  MRI sequences: "
        + ", ".join(f"{seq.title} {summary.sequence_counts[seq.value]}" for seq in MRI_SEQUENCES)
    )
    for name, classes in summary.class_counts.items():
        lines += ["", f"task {name} ({get_task(name).title}):"]
        for cls, count in classes.items():
            lines.append(f"  {cls:<34}{count:>5}")
    if summary.problems:
        lines += [
            "",
            f"{len(summary.problems)} problem(s) in the manifest; run `corebt validate` for details",
        ]
    return lines
