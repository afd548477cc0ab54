"""``corebt train``, ``corebt evaluate`` and ``corebt predict``: the fusion model."""

from __future__ import annotations

import argparse

from corebt_viewer.cli.profile_options import add_profile_options, profile_from_args, run_options

TASK_NAMES = ("level1", "who_grade", "lgg_hgg")


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="train CoRe-BT-Fusion for a task on the cohort's embeddings",
        description="Train the fusion model (probes, then gated fusion with modality dropout) "
        "on the cached embeddings of COHORT, embedding missing cases first. A stratified test "
        "split of cases with MRI and pathology is held out and recorded in the model.",
    )
    train.add_argument("cohort", help="cohort folder or manifest.csv")
    train.add_argument("--task", required=True, choices=TASK_NAMES)
    train.add_argument("--out", help="model folder (default <cohort>/.corebt/models/<task>)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_profile_options(train)
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on held-out cases: table.md, metrics.json, confusion plots",
        description="Score the model on its held-out cases that have MRI and pathology, in the "
        "layout of the paper's Tables 2-3, under both meanings of 'ablated'. With --cv K the "
        "model is retrained on every fold of a repeated stratified K-fold split.",
    )
    evaluate.add_argument("cohort", help="cohort folder or manifest.csv")
    evaluate.add_argument("--model", required=True, help="model folder written by `corebt train`")
    evaluate.add_argument("--out", required=True, help="report folder")
    evaluate.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation")
    evaluate.add_argument(
        "--repeats", type=int, help="cross-validation repeats (default: enough for ~100 cases)"
    )
    add_profile_options(evaluate)
    evaluate.set_defaults(func=run_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help="predict one case: probabilities, modality weights, contributions, ablations",
        description="Predict case ID of COHORT with the model; print the weights of each "
        "modality, each term's logit contribution and the prediction from every subset of "
        "the case's modalities.",
    )
    predict.add_argument("cohort", help="cohort folder or manifest.csv")
    predict.add_argument("--model", required=True, help="model folder written by `corebt train`")
    predict.add_argument("--case", required=True, metavar="ID", help="patient id")
    predict.add_argument(
        "--without", default="", help="modalities to hide, comma-separated: mri,wsi,report"
    )
    predict.add_argument(
        "--ablation",
        default="missing",
        choices=("missing", "paper"),
        help="what hiding means: missing (default) or paper (only the residual is masked)",
    )
    predict.add_argument("--json", action="store_true", help="print JSON")
    add_profile_options(predict)
    predict.set_defaults(func=run_predict)


def _progress():
    import sys

    from corebt_viewer.core.progress import Progress

    def show(event: Progress) -> None:
        if event.message:
            print(f"[{event.stage or 'train'}] {event.message}", file=sys.stderr)

    return show


def run_train(args: argparse.Namespace) -> int:
    from corebt_viewer.services.fusion import train_model

    summary = train_model(
        cohort=args.cohort,
        task=args.task,
        out=args.out,
        seed=args.seed,
        progress=_progress(),
        profile=profile_from_args(args),
        **run_options(args),
    )
    print("\n".join(summary.lines()))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from corebt_viewer.services.fusion import evaluate_model

    summary = evaluate_model(
        cohort=args.cohort,
        model_dir=args.model,
        out=args.out,
        cv=args.cv,
        repeats=args.repeats,
        progress=_progress(),
        profile=profile_from_args(args),
        **run_options(args),
    )
    print("\n".join(summary.lines()))
    return 0


def format_prediction(prediction) -> str:
    """Human-readable lines for a CasePrediction."""
    from corebt_viewer.core.prediction import modality_set_name

    p = prediction
    width = max(len(c) for c in p.classes)
    lines = [
        f"case {p.patient_id}, task {p.task}: {p.predicted} ({p.confidence:.1%})",
        f"available: {modality_set_name(p.available)}; used: {modality_set_name(p.used)} "
        f"(ablation meaning: {p.ablation_mode})",
        "",
        "probabilities:",
    ]
    lines += [f"  {c:<{width}}  {v:.3f}" for c, v in zip(p.classes, p.probabilities, strict=True)]
    lines += ["", "modality weights w_i:"]
    lines += [f"  {m.title:<10} {w:.3f}" for m, w in p.weights.items()]
    lines.append(f"  residual gate sigmoid(alpha) = {p.gate:.3f}")
    lines += ["", "logit contributions (" + ", ".join(p.classes) + "):"]
    for term, values in p.contributions.items():
        lines.append(f"  {term:<9} " + " ".join(f"{v:+8.3f}" for v in values))
    if p.sequence_contributions:
        lines += ["", "MRI term by sequence:"]
        for seq, values in p.sequence_contributions.items():
            lines.append(f"  {seq:<9} " + " ".join(f"{v:+8.3f}" for v in values))
    if p.tile_contributions:
        approximate = any(t.approximate for t in p.tile_contributions)
        what = "occlusion attribution, approximate" if approximate else "exact"
        lines += ["", f"pathology term for {p.predicted}, by slide ({what}):"]
        for t in p.tile_contributions:
            lines.append(f"  {t.slide}: {t.values.size} tiles, sum {t.values.sum():+.3f}")
    lines += ["", "ablation table:"]
    for row in p.ablation:
        lines.append(
            f"  {row.name:<26} {row.predicted:<{width}}  "
            + " ".join(f"{v:.3f}" for v in row.probabilities)
        )
    for key, note in p.flags.items():
        lines.append(f"note ({key}): {note}")
    return "\n".join(lines)


def run_predict(args: argparse.Namespace) -> int:
    import json

    from corebt_viewer.core.errors import InputError
    from corebt_viewer.core.modalities import Modality
    from corebt_viewer.services.fusion import predict_case

    try:
        without = Modality.parse_list(args.without)
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    prediction = predict_case(
        cohort=args.cohort,
        model_dir=args.model,
        case_id=args.case,
        without=without,
        ablation=args.ablation,
        profile=profile_from_args(args),
        device=args.device,
    )
    if args.json:
        print(json.dumps(prediction.to_dict(), indent=1))
    else:
        print(format_prediction(prediction))
    return 0
