"""LongNet's dilated attention in plain PyTorch, with the log-sum-exp computed in chunks.

The algorithm is the one of the Prov-GigaPath slide encoder (torchscale's
``DilatedAttention`` with flash-attention), rewritten without flash-attn so that it runs
on a CPU and on any CUDA GPU:

* each branch ``(s, r)`` cuts the sequence of ``L`` tokens into segments of
  ``min(s, L)`` tokens, zero-padding the sequence to a whole number of segments and each
  segment to a multiple of ``r``;
* inside a segment, the heads split into ``r`` contiguous groups of ``H / r`` heads;
  group ``g`` attends among the positions ``g, g + r, g + 2r, ...`` of that segment;
* the zero keys of the padding take part in the softmax (there is no key mask), so the
  amount of padding changes the result, exactly as in the official code;
* each branch's output is laid back onto the padded segments, which are concatenated and
  cut to ``L`` (as the official code does; this matters only when a segment of several
  needs inner padding, i.e. for more than 185,363 tokens);
* the branches are combined per head and position, weighted by a softmax over the
  branches' log-sum-exp; a position a head group did not see has a log-sum-exp of -1e8.

The scores of a query chunk are the only quadratic buffer, so memory stays bounded by
``max_chunk_elements`` whatever the slide's size.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Prov-GigaPath's segment lengths: 2 ** linspace(10, 20, 5) for a 1000 x 1000 tile grid.
SEGMENT_LENGTHS = (1024, 5792, 32768, 185363, 1048576)
#: Prov-GigaPath's dilation ratios, one per segment length.
DILATION_RATIOS = (1, 2, 4, 8, 16)
#: Log-sum-exp given to positions a head group did not attend from.
UNSEEN_LSE = -1e8
#: Default bound on the elements of one chunk of attention scores (128 MiB in fp32).
DEFAULT_CHUNK_ELEMENTS = 1 << 25


def attention_with_lse(q, k, v, *, max_chunk_elements: int = DEFAULT_CHUNK_ELEMENTS):
    """Softmax attention that also returns each query's log-sum-exp.

    Parameters
    ----------
    q, k, v : Tensor (B, H, M, d)
        Queries, keys and values; scores are scaled by ``d ** -0.5``.
    max_chunk_elements : int
        Largest number of score elements computed at once (queries are chunked).

    Returns
    -------
    out : Tensor (B, H, M, d), dtype of `v`
    lse : Tensor (B, H, M), float32
        Natural log of the sum of the exponentiated scaled scores of each query.
    """
    import torch

    batch, heads, length, head_dim = q.shape
    scale = head_dim**-0.5
    out = torch.empty_like(v)
    lse = torch.empty((batch, heads, length), dtype=torch.float32, device=q.device)
    per_query = heads * k.shape[2]
    chunk = max(1, min(length, max_chunk_elements // max(1, per_query)))
    for b in range(batch):
        keys_t = k[b].transpose(-1, -2)
        for start in range(0, length, chunk):
            stop = min(length, start + chunk)
            scores = torch.matmul(q[b, :, start:stop], keys_t).float()  # unscaled
            top = scores.amax(dim=-1, keepdim=True)
            weights = scores.sub_(top).mul_(scale).exp_()  # in place: one score buffer
            total = weights.sum(dim=-1, keepdim=True)
            values = torch.matmul(weights.to(v.dtype), v[b])
            out[b, :, start:stop] = values / total.to(values.dtype)
            lse[b, :, start:stop] = (top * scale + torch.log(total)).squeeze(-1)
    return out, lse


def _branch(q, k, v, segment: int, ratio: int, max_chunk_elements: int):
    """One branch ``(segment, ratio)``: dense output (L, H, d) and log-sum-exp (L, H)."""
    import torch
    import torch.nn.functional as F

    length, heads, head_dim = q.shape
    seg = min(segment, length)
    n_seg = -(-length // seg)
    per_group = -(-seg // ratio)  # positions one head group sees in a segment
    seg_padded = per_group * ratio
    group_of_head = torch.arange(heads, device=q.device) // (heads // ratio)
    head_index = torch.arange(heads, device=q.device)

    def sparse(x):
        if n_seg * seg > length:  # zero-pad to whole segments
            x = F.pad(x, (0, 0, 0, 0, 0, n_seg * seg - length))
        x = x.reshape(n_seg, seg, heads, head_dim)
        if seg_padded > seg:  # each segment to a multiple of r
            x = F.pad(x, (0, 0, 0, 0, 0, seg_padded - seg))
        x = x.reshape(n_seg, per_group, ratio, heads, head_dim)
        # head h sees the positions g, g + r, ... of its group g = h // (H / r)
        return x[:, :, group_of_head, head_index].permute(0, 2, 1, 3).contiguous()

    out_s, lse_s = attention_with_lse(
        sparse(q), sparse(k), sparse(v), max_chunk_elements=max_chunk_elements
    )
    out = q.new_zeros((n_seg, per_group, ratio, heads, head_dim))
    out[:, :, group_of_head, head_index] = out_s.permute(0, 2, 1, 3)
    lse = torch.full(
        (n_seg, per_group, ratio, heads), UNSEEN_LSE, dtype=torch.float32, device=q.device
    )
    lse[:, :, group_of_head, head_index] = lse_s.permute(0, 2, 1)
    # padded segments back to back, then cut to L (the official layout)
    out = out.reshape(n_seg * seg_padded, heads, head_dim)[:length]
    lse = lse.reshape(n_seg * seg_padded, heads)[:length]
    return out, lse


def dilated_attention(
    q,
    k,
    v,
    *,
    num_heads: int,
    segment_lengths: Sequence[int] = SEGMENT_LENGTHS,
    dilation_ratios: Sequence[int] = DILATION_RATIOS,
    max_chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
):
    """Multi-branch dilated self-attention of one sequence.

    Parameters
    ----------
    q, k, v : Tensor (L, H * d)
        Projected queries, keys and values of one slide (batch of one).
    num_heads : int
        H; every dilation ratio must divide it.
    segment_lengths, dilation_ratios : sequence of int
        One branch per pair.
    max_chunk_elements : int
        Bound on the score elements computed at once.

    Returns
    -------
    Tensor (L, H * d)
        The combined attention output (before ``inner_attn_ln`` and ``out_proj``), in the
        dtype of `v`.
    """
    import torch

    if len(segment_lengths) != len(dilation_ratios):
        raise ValueError("one dilation ratio per segment length is needed")
    for ratio in dilation_ratios:
        if ratio < 1 or num_heads % ratio:
            raise ValueError(f"dilation ratio {ratio} does not divide {num_heads} heads")
    length, width = q.shape
    shape = (length, num_heads, width // num_heads)
    q, k, v = (x.reshape(shape) for x in (q, k, v))
    total = None  # running log of the sum of exp(lse) over branches
    acc = None  # running lse-weighted sum of branch outputs, float32
    for segment, ratio in zip(segment_lengths, dilation_ratios, strict=True):
        out, lse = _branch(q, k, v, int(segment), int(ratio), max_chunk_elements)
        if total is None:
            total, acc = lse, out.float()
            continue
        new_total = torch.logaddexp(total, lse)
        acc.mul_(torch.exp(total - new_total).unsqueeze(-1))
        acc.add_(out.float() * torch.exp(lse - new_total).unsqueeze(-1))
        total = new_total
    return acc.to(v.dtype).reshape(length, width)
