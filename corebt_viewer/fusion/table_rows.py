"""The rows of an evaluation table (paper's Tables 2-3 layout, then the extensions).

See :mod:`corebt_viewer.fusion.evaluate` for what each row means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.sequence_dropout import MRI_PATTERNS

PAPER_MODALITIES = frozenset({Modality.MRI, Modality.WSI})


@dataclass(frozen=True)
class RowSpec:
    """One row of the table.

    Attributes
    ----------
    name : str
    probe : Modality or None
        For a probe row, its modality.
    shown : frozenset of Modality
        Modalities given to the model (the rest are withheld as missing).
    ablated : frozenset of Modality
        Modalities ablated in the row's meaning.
    requires : frozenset of Modality
        Modalities a case must have to be scored in this row.
    section : str
        ``"paper"`` (the rows of the paper's tables), ``"mri"`` (incomplete MRI) or
        ``"report"`` (the report extension).
    sequences : frozenset of str, optional
        Re-pool the MRI from these sequences only (cases lacking one are not scored).
    """

    name: str
    probe: Modality | None = None
    shown: frozenset[Modality] = frozenset()
    ablated: frozenset[Modality] = frozenset()
    requires: frozenset[Modality] = frozenset()
    section: str = "paper"
    sequences: frozenset[str] | None = None

    def defined(self, mode: str) -> bool:
        """Whether the row has something to predict from under this meaning."""
        return self.probe is not None or mode == "paper" or bool(self.shown - self.ablated)


def table_rows(modalities: Sequence[Modality]) -> list[RowSpec]:
    """The rows for a model with these modalities."""
    have = frozenset(modalities)
    base = PAPER_MODALITIES & have
    rows = [
        RowSpec(f"{m.title} only", probe=m, requires=base)
        for m in (Modality.MRI, Modality.WSI)
        if m in have
    ]
    ablations = [frozenset({m}) for m in (Modality.MRI, Modality.WSI) if m in have]
    if len(base) == 2:
        ablations.append(base)

    def label(ablated: frozenset[Modality]) -> str:
        return "Both" if ablated == base and len(base) == 2 else next(iter(ablated)).title

    rows.append(RowSpec("Fusion", shown=base, requires=base))
    rows += [
        RowSpec(f"Fusion ({label(a)} ablated)", shown=base, ablated=a, requires=base)
        for a in ablations
    ]
    if Modality.MRI in have:
        for pattern, sequences in MRI_PATTERNS:
            rows.append(
                RowSpec(
                    f"MRI only, {pattern}",
                    probe=Modality.MRI,
                    requires=base,
                    section="mri",
                    sequences=sequences,
                )
            )
            if len(base) == 2:
                rows.append(
                    RowSpec(
                        f"Fusion, MRI {pattern}",
                        shown=base,
                        requires=base,
                        section="mri",
                        sequences=sequences,
                    )
                )
    if Modality.REPORT in have:
        full = base | {Modality.REPORT}
        report_ablations = [*ablations, frozenset({Modality.REPORT})]
        rows.append(RowSpec("Report only", probe=Modality.REPORT, requires=full, section="report"))
        rows.append(RowSpec("Fusion + Report", shown=full, requires=full, section="report"))
        rows += [
            RowSpec(
                f"Fusion + Report ({label(a)} ablated)",
                shown=full,
                ablated=a,
                requires=full,
                section="report",
            )
            for a in report_ablations
        ]
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate table rows: {names}")
    return rows
