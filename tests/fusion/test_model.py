"""Equation 2: the initial ensemble and exact masking in both meanings of "ablated"."""

import pytest
import torch

from corebt_viewer.fusion.model import FusionNet

DIMS = (5, 7, 3)
N_CLASSES = 4


def random_net(seed: int = 0, *, residual: bool = True) -> FusionNet:
    """A net with random probes, a non-trivial gate and (optionally) a non-zero residual."""
    torch.manual_seed(seed)
    net = FusionNet(DIMS, N_CLASSES, dropout=0.0)
    with torch.no_grad():
        for scorer in net.scorers:
            scorer[-1].weight.normal_()
            scorer[-1].bias.normal_()
        net.alpha.fill_(0.3)
        if residual:
            net.phi[-1].weight.normal_()
            net.phi[-1].bias.normal_()
    return net.eval()


def batch(n: int = 6, seed: int = 1) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g) for d in DIMS]


def test_fresh_model_is_the_weighted_probe_ensemble():
    torch.manual_seed(3)
    net = FusionNet(DIMS, N_CLASSES).eval()
    with torch.no_grad():  # gate scorers away from their (uniform) start
        for scorer in net.scorers:
            scorer[-1].weight.normal_()
    x = batch()
    available = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1]])
    out = net(x, available.bool())
    with torch.no_grad():
        scores = torch.cat([s(xi) for s, xi in zip(net.scorers, x, strict=True)], 1)
        expected = torch.zeros(6, N_CLASSES)
        for row in range(6):
            idx = torch.nonzero(available[row]).ravel()
            w = torch.softmax(scores[row, idx], 0)
            for wi, i in zip(w, idx, strict=True):
                expected[row] += wi * net.probes[i](x[i][row])
    torch.testing.assert_close(out.logits, expected, rtol=1e-6, atol=1e-6)
    assert torch.count_nonzero(out.residual) == 0
    # a fresh gate weighs the available modalities equally
    fresh = FusionNet(DIMS, N_CLASSES).eval()(x, available.bool())
    counts = available.sum(1, keepdim=True).float()
    torch.testing.assert_close(fresh.weights, available.float() / counts)


@pytest.mark.parametrize("mode", ["missing", "paper"])
@pytest.mark.parametrize("hidden", [0, 1, 2])
def test_hidden_modality_values_cannot_reach_any_output(mode, hidden):
    net = random_net()
    x = batch()
    available = torch.ones(6, 3, dtype=torch.bool)
    ablated = torch.zeros(6, 3, dtype=torch.bool)
    ablated[:, hidden] = True
    reference = net(x, available, ablated, mode=mode)
    for replacement in (torch.zeros_like(x[hidden]), 1e3 * torch.randn_like(x[hidden])):
        y = list(x)
        y[hidden] = replacement
        other = net(y, available, ablated, mode=mode)
        # the residual branch never sees an ablated modality
        assert torch.equal(other.residual, reference.residual)
        if mode == "missing":  # nor does anything else
            assert torch.equal(other.logits, reference.logits)
            assert torch.equal(other.weights, reference.weights)
            assert torch.equal(other.terms, reference.terms)
    if mode == "missing":  # even NaN values of an absent modality do not leak
        y = list(x)
        y[hidden] = torch.full_like(x[hidden], float("nan"))
        assert torch.equal(net(y, available, ablated, mode=mode).logits, reference.logits)


def test_missing_meaning_removes_the_term_and_renormalises_the_weights():
    net = random_net()
    x = batch()
    available = torch.ones(6, 3, dtype=torch.bool)
    full = net(x, available)
    ablated = torch.zeros(6, 3, dtype=torch.bool)
    ablated[:, 1] = True
    part = net(x, available, ablated, mode="missing")
    assert torch.count_nonzero(part.terms[:, 1]) == 0
    assert torch.count_nonzero(part.weights[:, 1]) == 0
    renormalised = full.weights[:, [0, 2]] / full.weights[:, [0, 2]].sum(1, keepdim=True)
    torch.testing.assert_close(part.weights[:, [0, 2]], renormalised, rtol=1e-6, atol=1e-7)
    # a missing modality is the same as an absent one
    absent = available.clone()
    absent[:, 1] = False
    assert torch.equal(net(x, absent).logits, part.logits)


def test_paper_meaning_masks_only_the_residual_input():
    net = random_net()
    x = batch()
    available = torch.ones(6, 3, dtype=torch.bool)
    full = net(x, available)
    ablated = torch.zeros(6, 3, dtype=torch.bool)
    ablated[:, 0] = True
    paper = net(x, available, ablated, mode="paper")
    assert torch.equal(paper.terms, full.terms)
    assert torch.equal(paper.weights, full.weights)
    y = list(x)
    y[0] = torch.zeros_like(x[0])
    expected_residual = torch.sigmoid(net.alpha) * net.phi(torch.cat(y, 1))
    torch.testing.assert_close(paper.residual, expected_residual)
    torch.testing.assert_close(paper.logits, full.terms.sum(1) + expected_residual)
    # every modality ablated: the probes alone plus Phi(0)
    everything = net(x, available, available, mode="paper")
    assert torch.equal(everything.terms, full.terms)


def test_unknown_ablation_mode_is_refused():
    net = random_net()
    with pytest.raises(ValueError, match="ablation mode"):
        net(batch(), torch.ones(6, 3, dtype=torch.bool), mode="zeroed")


def test_case_with_nothing_left_gets_zero_weights_not_nan():
    net = random_net(residual=False)
    out = net(batch(), torch.zeros(6, 3, dtype=torch.bool))
    assert torch.isfinite(out.logits).all()
    assert torch.count_nonzero(out.weights) == 0
