"""CoRe-BT-Fusion, equation 2 of the paper, for any set of modalities.

.. math::

    y = \\sum_i w_i \\, \\mathrm{Probe}_i(e_i)
        + \\sigma(\\alpha) \\, \\Phi([e_1 m_1; \\dots; e_k m_k])

* one linear probe per modality (trained first, on the cases that have the modality, and
  then frozen);
* instance-specific weights ``w_i``: a small scorer per modality maps its own (standardised)
  embedding to a score, and a softmax over the *available* modalities only turns the scores
  into weights. Because each score depends on its own modality alone, hiding a modality
  leaves the others' scores untouched and its weight is exactly renormalised away;
* a learnable scalar gate ``alpha`` and a residual MLP ``Phi`` whose last layer starts at
  zero, so that at initialisation the model *is* the weighted ensemble of the probes.

Two meanings of "ablated" are offered:

``"missing"``
    The modality is absent: its probe term is removed, the weights of the others are
    renormalised, and its embedding is zeroed in ``Phi``'s input.
``"paper"``
    As in the paper's Tables 2 and 3: only the residual branch's input is masked
    (``m_i = 0``); the probes and the weights still see every available modality.

Masking uses ``torch.where``, so a hidden modality's values (even NaN) cannot leak into any
output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

ABLATION_MODES = ("missing", "paper")


@dataclass
class FusionOutput:
    """Everything one forward pass computes (batch first).

    Attributes
    ----------
    logits : Tensor (B, C)
        ``y`` of equation 2.
    terms : Tensor (B, k, C)
        ``w_i * Probe_i(e_i)`` per modality (zero where the modality is not used).
    residual : Tensor (B, C)
        ``sigmoid(alpha) * Phi(...)``.
    weights : Tensor (B, k)
        ``w_i`` (zero where the probe term is not used).
    probe_logits : Tensor (B, k, C)
        ``Probe_i(e_i)`` before weighting.
    """

    logits: torch.Tensor
    terms: torch.Tensor
    residual: torch.Tensor
    weights: torch.Tensor
    probe_logits: torch.Tensor


class FusionNet(nn.Module):
    """The fusion model over ``k`` modalities with embedding sizes `dims`.

    Parameters
    ----------
    dims : sequence of int
        Embedding size of each modality, in the model's modality order.
    n_classes : int
    gate_hidden : int
        Hidden width of each modality's weight scorer.
    residual_hidden : int
        Hidden width of ``Phi``.
    dropout : float
        Dropout inside ``Phi`` (training only).
    """

    def __init__(
        self,
        dims: Sequence[int],
        n_classes: int,
        *,
        gate_hidden: int = 16,
        residual_hidden: int = 64,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        self.n_classes = int(n_classes)
        self.probes = nn.ModuleList(nn.Linear(d, n_classes) for d in self.dims)
        self.scorers = nn.ModuleList(
            nn.Sequential(nn.Linear(d, gate_hidden), nn.ReLU(), nn.Linear(gate_hidden, 1))
            for d in self.dims
        )
        self.alpha = nn.Parameter(torch.zeros(()))
        self.phi = nn.Sequential(
            nn.Linear(sum(self.dims), residual_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(residual_hidden, n_classes),
        )
        self.reset_fusion()

    @property
    def k(self) -> int:
        return len(self.dims)

    def reset_fusion(self) -> None:
        """Start the fusion part as a plain average of the probes (probes untouched)."""
        for scorer in self.scorers:
            nn.init.zeros_(scorer[-1].weight)
            nn.init.zeros_(scorer[-1].bias)
        nn.init.zeros_(self.phi[-1].weight)
        nn.init.zeros_(self.phi[-1].bias)
        with torch.no_grad():
            self.alpha.zero_()

    def fusion_parameters(self) -> list[nn.Parameter]:
        """Parameters trained in the fusion stage (everything but the probes)."""
        return [*self.scorers.parameters(), self.alpha, *self.phi.parameters()]

    def forward(
        self,
        inputs: Sequence[torch.Tensor],
        available: torch.Tensor,
        ablated: torch.Tensor | None = None,
        *,
        mode: str = "missing",
        probe_logits: torch.Tensor | None = None,
    ) -> FusionOutput:
        """Run equation 2.

        Parameters
        ----------
        inputs : sequence of Tensor (B, d_i)
            Standardised embeddings per modality (any values where unavailable).
        available : BoolTensor (B, k)
            Which modalities each case has.
        ablated : BoolTensor (B, k), optional
            Which available modalities to ablate.
        mode : {"missing", "paper"}
            Meaning of "ablated" (module docstring).
        probe_logits : Tensor (B, k, C), optional
            Use these instead of the probes' outputs (cross-fitted logits while training).
        """
        if mode not in ABLATION_MODES:
            raise ValueError(f"unknown ablation mode {mode!r}; expected one of {ABLATION_MODES}")
        available = available.bool()
        keep = available if ablated is None else available & ~ablated.bool()
        probe_mask = keep if mode == "missing" else available
        residual_mask = keep

        masked = [
            torch.where(residual_mask[:, i : i + 1], x, torch.zeros((), dtype=x.dtype))
            for i, x in enumerate(inputs)
        ]
        safe = [
            torch.where(probe_mask[:, i : i + 1], x, torch.zeros((), dtype=x.dtype))
            for i, x in enumerate(inputs)
        ]
        if probe_logits is None:
            probe_logits = torch.stack([p(x) for p, x in zip(self.probes, safe, strict=True)], 1)
        scores = torch.cat([s(x) for s, x in zip(self.scorers, safe, strict=True)], 1)
        scores = scores.masked_fill(~probe_mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=1), nan=0.0)
        terms = torch.where(
            probe_mask.unsqueeze(-1),
            weights.unsqueeze(-1) * probe_logits,
            torch.zeros((), dtype=probe_logits.dtype),
        )
        residual = torch.sigmoid(self.alpha) * self.phi(torch.cat(masked, 1))
        logits = terms.sum(1) + residual
        return FusionOutput(logits, terms, residual, weights, probe_logits)
