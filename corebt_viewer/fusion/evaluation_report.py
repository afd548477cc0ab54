"""Writing an evaluation: ``table.md``, ``metrics.json``, ``per_class.md``, confusion
matrices and reliability diagrams.

``table.md`` keeps the paper's rows first (eq. 2: MRI + pathology), then the incomplete-MRI
rows, then, apart and under their own heading, the rows of the report extension; after each
meaning's tables comes a calibration table (ECE, 15 bins, and Brier score before and after
temperature scaling, for every row).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corebt_viewer.core.prediction import ABLATION_MEANINGS, REPORT_REASON
from corebt_viewer.fusion.metrics import METRIC_NAMES, METRIC_TITLES

if TYPE_CHECKING:
    from corebt_viewer.fusion.evaluate import Evaluation

SECTION_TITLES = {
    "paper": "Rows of the paper (eq. 2: MRI + pathology)",
    "mri": "Incomplete MRI (the MRI re-pooled from two sequences)",
    "report": f"Extension, not in the paper: with the pathology report ({REPORT_REASON})",
}


def _metric_table(evaluation: Evaluation, rows: list[dict], with_ci: bool) -> list[str]:
    header = ["Task", "Model Configuration", "n", *(METRIC_TITLES[m] for m in METRIC_NAMES)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        cells = [evaluation.task if i == 0 else "", row["name"], str(row["n"])]
        for m in METRIC_NAMES:
            value = f"{row['metrics'][m]:.3f}"
            if with_ci and None not in row["ci95"][m]:
                lo, hi = row["ci95"][m]
                value += f" ({lo:.2f}-{hi:.2f})"
            cells.append(value)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fmt(value) -> str:
    return (
        "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"
    )


def _calibration_table(rows: list[dict]) -> list[str]:
    lines = [
        "| Model Configuration | n | ECE before | ECE after | Brier before | Brier after |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        c = row.get("calibration", {})
        lines.append(
            f"| {row['name']} | {c.get('n', 0)} | {_fmt(c.get('ece_before'))} | "
            f"{_fmt(c.get('ece_after'))} | {_fmt(c.get('brier_before'))} | "
            f"{_fmt(c.get('brier_after'))} |"
        )
    return lines


def markdown_table(evaluation: Evaluation, title: str, with_ci: bool = True) -> str:
    """The tables in the paper's layout, one set per meaning of "ablated"."""
    lines = [f"# {title}", ""]
    if evaluation.cv:
        cv = evaluation.cv
        shared = " (the cohort's shared folds: the same patients for every task)"
        lines.append(
            f"{cv['repeats']} x {cv['folds']}-fold cross-validation over {cv['cases']} cases "
            f"with MRI and pathology{shared if cv.get('shared_folds') else ''} (predictions "
            "pooled; 95% bootstrap intervals over patients)."
        )
    else:
        lines.append(
            f"Held-out test split: {len(evaluation.patient_ids)} cases with MRI and pathology "
            "(95% bootstrap intervals)."
        )
    lines.append(
        "Acc. (Macro) is the balanced accuracy (mean per-class recall), as in the paper's tables."
    )
    lines.append(
        "ECE: expected calibration error, 15 equal-width bins of top-class confidence; "
        "Brier: mean squared error of the probability vector (before / after temperature "
        "scaling; probes have no temperature)."
    )
    for mode, rows in evaluation.rows.items():
        lines += ["", f"## Ablation meaning: {mode} ({ABLATION_MEANINGS.get(mode, '')})"]
        for section, heading in SECTION_TITLES.items():
            chosen = [r for r in rows if r.get("section", "paper") == section]
            if not chosen:
                continue
            lines += ["", f"### {heading}", ""]
            lines += _metric_table(evaluation, chosen, with_ci)
        lines += ["", f"### Calibration ({mode})", ""]
        lines += _calibration_table(rows)
    return "\n".join(lines) + "\n"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], title: str, path: Path) -> None:
    """Save a confusion-matrix figure (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    fig = Figure(figsize=(1.2 * len(classes) + 2.5, 1.0 * len(classes) + 2))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(title, fontsize=9)
    top = matrix.max() if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def reliability_curves(evaluation: Evaluation) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, probabilities, targets) before and after scaling of the ``Fusion`` rows."""
    from corebt_viewer.fusion.calibration import softmax

    curves = []
    for row in evaluation.predictions.get("missing", []):
        if row.spec.name not in ("Fusion", "Fusion + Report") or row.temperatures is None:
            continue
        keep = row.predicted >= 0
        if not keep.any():
            continue
        z, y = row.logits[keep], evaluation.targets[keep]
        curves.append((f"{row.spec.name}, before", softmax(z), y))
        curves.append((f"{row.spec.name}, after", softmax(z, row.temperatures[keep][:, None]), y))
    return curves


def write_evaluation(
    evaluation: Evaluation, out: str | Path, *, title: str, extra: Mapping | None = None
) -> Path:
    """Write ``table.md``, ``metrics.json``, ``per_class.md``, confusion PNGs and
    ``reliability.png`` into `out`."""
    from corebt_viewer.fusion.reliability import plot_reliability

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(markdown_table(evaluation, title), encoding="utf-8")
    per_class = [f"# Per-class results: {title}", ""]
    plots = out / "confusion"
    plots.mkdir(exist_ok=True)
    for mode, rows in evaluation.rows.items():
        for row in rows:
            per_class += [f"## {row['name']} (ablation meaning: {mode}, n={row['n']})", ""]
            per_class += [row["report"], ""]
            if mode == "paper" and "ablated" not in row["name"]:
                continue  # identical to the 'missing' plot
            name = f"{mode}_{slug(row['name'])}.png"
            plot_confusion(
                np.array(row["confusion"]),
                evaluation.classes,
                f"{evaluation.task}: {row['name']} ({mode})",
                plots / name,
            )
    (out / "per_class.md").write_text("\n".join(per_class), encoding="utf-8")
    curves = reliability_curves(evaluation)
    reliability = None
    if curves:
        reliability = plot_reliability(
            curves, f"{evaluation.task}: reliability (held-out cases)", out / "reliability.png"
        )
    payload = {
        "task": evaluation.task,
        "classes": list(evaluation.classes),
        "cross_validation": evaluation.cv,
        "patients": sorted(set(evaluation.patient_ids)),
        "metric_note": "accuracy_macro is the balanced accuracy (= macro recall), as in the "
        "paper's tables; accuracy_overall is the fraction correct",
        "calibration_note": "ece_* use 15 equal-width bins of top-class confidence; brier_* "
        "is the multi-class Brier score; before = temperature 1, after = the model's "
        "temperature(s); probes have no temperature (ece_after null)",
        "reliability_diagram": None if reliability is None else reliability.name,
        "rows": {
            mode: [{k: v for k, v in row.items() if k != "report"} for row in rows]
            for mode, rows in evaluation.rows.items()
        },
        **(dict(extra) if extra else {}),
    }
    (out / "metrics.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return out
