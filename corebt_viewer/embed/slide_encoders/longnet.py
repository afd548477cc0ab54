"""Prov-GigaPath's slide encoder (LongNet ViT, 12 layers x 768) as plain PyTorch modules.

The modules carry the official parameter names, so the official ``slide_encoder.pth``
loads into them unchanged: ``patch_embed.proj``, ``cls_token``,
``encoder.layers.{i}.{self_attn.{q,k,v,out}_proj, self_attn.inner_attn_ln,
self_attn_layer_norm, ffn.{fc1,fc2,ffn_layernorm}, final_layer_norm}``,
``encoder.layer_norm`` and ``norm``.

Each layer is pre-norm with "subln": a LayerNorm on the attention output before
``out_proj`` and one between ``fc1`` (GELU) and ``fc2``. Positions come from a fixed
2-D sin-cos table over a 1000 x 1000 tile grid with a zero row for the cls token; only
the rows a slide uses are computed (the full table would take 3 GB).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from corebt_viewer.embed.slide_encoders.dilated_attention import (
    DEFAULT_CHUNK_ELEMENTS,
    DILATION_RATIOS,
    SEGMENT_LENGTHS,
    dilated_attention,
)

EMBED_DIM = 768
TILE_DIM = 1536
NUM_HEADS = 16
FFN_DIM = 3072
DEPTH = 12
GRID_SIZE = 1000
#: LayerNorm eps inside the encoder (torchscale's default) and of the model's ``norm``.
ENCODER_EPS = 1e-5
NORM_EPS = 1e-6


def sincos_position_rows(index, dim: int = EMBED_DIM, grid_size: int = GRID_SIZE):
    """Rows of the fixed 2-D sin-cos position table (row 0 is the cls slot, all zeros).

    Row ``1 + a * grid_size + b`` encodes grid cell ``(a, b)``: its first half is the 1-D
    sin-cos code of ``b`` and its second half that of ``a``, each ``[sin, cos]`` with
    frequencies ``10000 ** (-i / (dim / 4))``, computed in float64 like the official table.

    Parameters
    ----------
    index : LongTensor (N,)
    dim : int
    grid_size : int

    Returns
    -------
    Tensor (N, dim), float32
    """
    index = torch.as_tensor(index, dtype=torch.long).cpu()
    cell = index - 1
    rows = torch.div(cell, grid_size, rounding_mode="floor").double()
    cols = torch.remainder(cell, grid_size).double()
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)

    def code(pos):
        angles = pos[:, None] * omega[None, :]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)

    table = torch.cat([code(cols), code(rows)], dim=1)
    table[index == 0] = 0.0
    return table.float()


class PatchEmbed(nn.Module):
    """Linear projection of the tile features (official name ``patch_embed.proj``)."""

    def __init__(self, in_dim: int = TILE_DIM, dim: int = EMBED_DIM):
        super().__init__()
        self.proj = nn.Linear(in_dim, dim)

    def forward(self, x):
        return self.proj(x)


class DilatedSelfAttention(nn.Module):
    """Multi-head dilated self-attention with the subln LayerNorm before ``out_proj``."""

    def __init__(self, dim: int, heads: int, segment_lengths, dilation_ratios):
        super().__init__()
        self.num_heads = heads
        self.segment_lengths = tuple(segment_lengths)
        self.dilation_ratios = tuple(dilation_ratios)
        self.max_chunk_elements = DEFAULT_CHUNK_ELEMENTS
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.inner_attn_ln = nn.LayerNorm(dim, eps=ENCODER_EPS)

    def forward(self, x):
        attn = dilated_attention(
            self.q_proj(x),
            self.k_proj(x),
            self.v_proj(x),
            num_heads=self.num_heads,
            segment_lengths=self.segment_lengths,
            dilation_ratios=self.dilation_ratios,
            max_chunk_elements=self.max_chunk_elements,
        )
        return self.out_proj(self.inner_attn_ln(attn))


class FeedForward(nn.Module):
    """fc1 -> GELU (in float32) -> ``ffn_layernorm`` -> fc2."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.ffn_layernorm = nn.LayerNorm(hidden, eps=ENCODER_EPS)

    def forward(self, x):
        x = self.fc1(x)
        x = F.gelu(x.float()).type_as(x)
        return self.fc2(self.ffn_layernorm(x))


class EncoderLayer(nn.Module):
    """Pre-norm block: x + attn(LN(x)), then x + ffn(LN(x))."""

    def __init__(self, dim, heads, ffn_dim, segment_lengths, dilation_ratios):
        super().__init__()
        self.self_attn = DilatedSelfAttention(dim, heads, segment_lengths, dilation_ratios)
        self.self_attn_layer_norm = nn.LayerNorm(dim, eps=ENCODER_EPS)
        self.ffn = FeedForward(dim, ffn_dim)
        self.final_layer_norm = nn.LayerNorm(dim, eps=ENCODER_EPS)

    def forward(self, x):
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.ffn(self.final_layer_norm(x))


class LongNetEncoder(nn.Module):
    """The stack of layers and the final ``layer_norm``."""

    def __init__(self, depth, dim, heads, ffn_dim, segment_lengths, dilation_ratios):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(dim, heads, ffn_dim, segment_lengths, dilation_ratios)
            for _ in range(depth)
        )
        self.layer_norm = nn.LayerNorm(dim, eps=ENCODER_EPS)


class SlideEncoderModel(nn.Module):
    """Prov-GigaPath's ``gigapath_slide_enc12l768d`` with ``global_pool=True``.

    Parameters
    ----------
    depth : int
        Number of encoder layers (12 in the official model; fewer for small test models).
    segment_lengths, dilation_ratios : sequence of int
        The dilated-attention branches (the official ones by default).
    """

    def __init__(
        self,
        depth: int = DEPTH,
        *,
        segment_lengths: Sequence[int] = SEGMENT_LENGTHS,
        dilation_ratios: Sequence[int] = DILATION_RATIOS,
    ):
        super().__init__()
        self.depth = int(depth)
        self.patch_embed = PatchEmbed(TILE_DIM, EMBED_DIM)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, EMBED_DIM))
        self.encoder = LongNetEncoder(
            depth, EMBED_DIM, NUM_HEADS, FFN_DIM, segment_lengths, dilation_ratios
        )
        self.norm = nn.LayerNorm(EMBED_DIM, eps=NORM_EPS)

    def set_chunk_elements(self, max_chunk_elements: int) -> None:
        """Bound the attention-score chunk of every layer (memory vs speed)."""
        for layer in self.encoder.layers:
            layer.self_attn.max_chunk_elements = int(max_chunk_elements)

    def tokens(self, features, positions):
        """Input sequence: cls token then the projected tiles, each plus its position row.

        Parameters
        ----------
        features : Tensor (N, 1536)
        positions : LongTensor (N,)
            Row of each tile in the position table (>= 1).
        """
        pos = sincos_position_rows(positions, EMBED_DIM).to(features.device)
        x = self.patch_embed(features) + pos
        cls = self.cls_token[0]  # the table's cls row is zero
        return torch.cat([cls.to(x.dtype), x], dim=0)

    def hidden_states(self, features, positions, *, upto: int | None = None):
        """Yield the sequence before the layers (state 0) and after each layer (1..depth)."""
        x = self.tokens(features, positions)
        yield x
        for layer in self.encoder.layers[: self.depth if upto is None else upto]:
            x = layer(x)
            yield x

    def pool(self, state):
        """Normed mean of the non-cls tokens (``global_pool=True``)."""
        return self.norm(state[1:].mean(dim=0))

    def embed(self, features, positions, *, layer: str = "last_layer_embed"):
        """Slide vector (768,) for one output choice (see :func:`parse_layer`)."""
        kind, index = parse_layer(layer, self.depth)
        # keep only the last state (a list of all would hold depth + 1 copies)
        (state,) = deque(self.hidden_states(features, positions, upto=index), maxlen=1)
        if kind == "encoder_out":
            state = self.encoder.layer_norm(state)
        return self.pool(state)


def parse_layer(layer: str, depth: int) -> tuple[str, int]:
    """Check an output choice; return its kind and how many layers it needs.

    ``last_layer_embed``: after the last layer, without the encoder's final LayerNorm
    (the official pipeline's output); ``encoder_out``: with that LayerNorm (the plain
    forward); ``layer_<i>``: after layer ``i`` (0 = the input tokens; TRIDENT keeps
    ``layer_11`` of the 12-layer model).
    """
    if layer == "last_layer_embed":
        return "layer", depth
    if layer == "encoder_out":
        return "encoder_out", depth
    if layer.startswith("layer_") and layer[6:].isdigit() and int(layer[6:]) <= depth:
        return "layer", int(layer[6:])
    raise ValueError(
        f"unknown slide-encoder output {layer!r}: use last_layer_embed, encoder_out "
        f"or layer_0 .. layer_{depth}"
    )
