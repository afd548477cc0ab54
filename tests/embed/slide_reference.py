"""An independent, naive Prov-GigaPath slide encoder for the tests (float64, plain loops).

Written from the algorithm's description, not from the package's code: loops over the
branches, segments, head groups and heads, an explicit softmax, the same zero padding
(sequence to whole segments, each segment to a multiple of the ratio, zero keys in the
softmax), padded segments laid back to back and cut to L, and branches weighted by a
softmax of their log-sum-exp (-1e8 where a head group did not look).
"""

from __future__ import annotations

import math

import numpy as np
import torch

SEGMENTS = (1024, 5792, 32768, 185363, 1048576)
RATIOS = (1, 2, 4, 8, 16)


def blob_coords(n: int, seed: int = 0, tile: int = 256) -> np.ndarray:
    """Level-0 coordinates of about `n` tiles in a lobed, tissue-like blob, row by row."""
    rng = np.random.default_rng(seed)
    radius = math.sqrt(n / math.pi) * 1.25
    size = int(2 * radius * 1.3) + 4
    yy, xx = np.mgrid[0:size, 0:size]
    dx, dy = xx - size / 2, yy - size / 2
    angle = np.arctan2(dy, dx)
    inside = np.hypot(dx, dy) < radius * (1 + 0.2 * np.sin(3 * angle))
    inside &= rng.random(inside.shape) > 0.08  # a few holes
    cells = np.argwhere(inside)[:, ::-1]  # (x, y)
    cells = cells[np.lexsort((cells[:, 1], cells[:, 0]))][:n]
    return (cells + 7) * tile + 31  # an offset grid, as a tissue detector gives


def position_rows(index: np.ndarray, dim: int = 768, grid: int = 1000) -> np.ndarray:
    """MAE-style 2-D sin-cos rows: [code(column), code(row)] of cell index - 1; row 0 zero."""
    rows = np.zeros((len(index), dim))
    quarter = dim // 4
    freqs = 1.0 / 10000 ** (np.arange(quarter) / quarter)
    for n, idx in enumerate(index):
        if idx == 0:
            continue
        a, b = divmod(int(idx) - 1, grid)
        rows[n] = np.concatenate(
            [np.sin(b * freqs), np.cos(b * freqs), np.sin(a * freqs), np.cos(a * freqs)]
        )
    return rows


def dilated_attention(q, k, v, heads, segments=SEGMENTS, ratios=RATIOS):
    """q, k, v: (L, H*d) float64 tensors -> (L, H*d)."""
    length, width = q.shape
    d = width // heads
    q, k, v = (x.reshape(length, heads, d) for x in (q, k, v))
    branch_out, branch_lse = [], []
    for seg_len, ratio in zip(segments, ratios, strict=True):
        sl = min(seg_len, length)
        n_seg = math.ceil(length / sl)
        slp = math.ceil(sl / ratio) * ratio
        out = torch.zeros(n_seg * slp, heads, d, dtype=q.dtype)
        lse = torch.full((n_seg * slp, heads), -1e8, dtype=q.dtype)
        for s in range(n_seg):
            blocks = []
            for x in (q, k, v):
                block = torch.zeros(slp, heads, d, dtype=q.dtype)
                part = x[s * sl : min((s + 1) * sl, length)]
                block[: len(part)] = part
                blocks.append(block)
            qs, ks, vs = blocks
            group_size = heads // ratio
            for g in range(ratio):
                qg, kg, vg = qs[g::ratio], ks[g::ratio], vs[g::ratio]  # positions g, g+r, ...
                rows = slice(s * slp + g, (s + 1) * slp, ratio)
                for h in range(g * group_size, (g + 1) * group_size):
                    scores = qg[:, h] @ kg[:, h].T / math.sqrt(d)
                    top = scores.max(dim=1, keepdim=True).values
                    e = torch.exp(scores - top)  # explicit softmax, zero keys included
                    total = e.sum(dim=1, keepdim=True)
                    out[rows, h] = (e @ vg[:, h]) / total
                    lse[rows, h] = (top + torch.log(total))[:, 0]
        branch_out.append(out[:length])
        branch_lse.append(lse[:length])
    lses = torch.stack(branch_lse)  # (B, L, H)
    weights = torch.exp(lses - lses.max(dim=0).values)
    weights = weights / weights.sum(dim=0)
    result = sum(w[..., None] * o for w, o in zip(weights, branch_out, strict=True))
    return result.reshape(length, width)


def _ln(x, state, prefix, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * state[prefix + ".weight"] + state[prefix + ".bias"]


def _lin(x, state, prefix):
    return x @ state[prefix + ".weight"].T + state[prefix + ".bias"]


def slide_vectors(state, features, coords, *, tile=256.0, segments=SEGMENTS, ratios=RATIOS):
    """All outputs of the naive model: ``{"layer_i": ..., "encoder_out": ...}`` (float64)."""
    state = {key: value.double() for key, value in state.items()}
    depth = 1 + max(int(key.split(".")[2]) for key in state if key.startswith("encoder.layers."))
    cells = np.floor(np.asarray(coords) / tile).astype(np.int64)
    index = cells[:, 0] * 1000 + cells[:, 1] + 1
    x = _lin(torch.as_tensor(features, dtype=torch.float64), state, "patch_embed.proj")
    x = x + torch.as_tensor(position_rows(index))
    x = torch.cat([state["cls_token"][0], x])

    def pooled(h):
        return _ln(h[1:].mean(0), state, "norm", 1e-6).numpy()

    outputs = {"layer_0": pooled(x)}
    for i in range(depth):
        p = f"encoder.layers.{i}."
        h = _ln(x, state, p + "self_attn_layer_norm", 1e-5)
        q, k, v = (_lin(h, state, p + f"self_attn.{n}_proj") for n in "qkv")
        a = dilated_attention(q, k, v, 16, segments, ratios)
        a = _ln(a, state, p + "self_attn.inner_attn_ln", 1e-5)
        x = x + _lin(a, state, p + "self_attn.out_proj")
        h = _ln(x, state, p + "final_layer_norm", 1e-5)
        h = _lin(h, state, p + "ffn.fc1")
        h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
        h = _ln(h, state, p + "ffn.ffn_layernorm", 1e-5)
        x = x + _lin(h, state, p + "ffn.fc2")
        outputs[f"layer_{i + 1}"] = pooled(x)
    outputs["last_layer_embed"] = outputs[f"layer_{depth}"]
    outputs["encoder_out"] = pooled(_ln(x, state, "encoder.layer_norm", 1e-5))
    return outputs
