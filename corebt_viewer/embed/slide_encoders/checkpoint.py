"""Prov-GigaPath slide-encoder checkpoints: the official layout, read and written safely.

The official ``slide_encoder.pth`` is ``{"model": state_dict}`` with the key names of
:func:`official_keys` (86,330,880 parameters for 12 layers). The depth is read from the
``encoder.layers.{i}.`` keys present, so a reduced-depth test model in the same layout
loads without any separate config. Nothing is ever downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path

from corebt_viewer.core.errors import InputError

#: Parameters of one encoder layer, relative to ``encoder.layers.{i}.``.
LAYER_PARAMS = tuple(
    f"{module}.{kind}"
    for module in (
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.out_proj",
        "self_attn.inner_attn_ln",
        "self_attn_layer_norm",
        "ffn.fc1",
        "ffn.fc2",
        "ffn.ffn_layernorm",
        "final_layer_norm",
    )
    for kind in ("weight", "bias")
)
#: Parameters outside the layers.
TOP_PARAMS = (
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    "cls_token",
    "encoder.layer_norm.weight",
    "encoder.layer_norm.bias",
    "norm.weight",
    "norm.bias",
)
#: Parameters of the official 12-layer model.
OFFICIAL_PARAMETER_COUNT = 86_330_880
_LAYER_KEY = re.compile(r"^encoder\.layers\.(\d+)\.")


def official_keys(depth: int = 12) -> list[str]:
    """The state-dict keys of a model with `depth` layers, in the official naming."""
    keys = list(TOP_PARAMS)
    for i in range(depth):
        keys += [f"encoder.layers.{i}.{name}" for name in LAYER_PARAMS]
    return keys


def infer_depth(keys) -> int:
    """Number of layers: one more than the highest ``encoder.layers.{i}`` index present."""
    indices = [int(m.group(1)) for key in keys if (m := _LAYER_KEY.match(key))]
    return max(indices) + 1 if indices else 0


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_official_state(path: str | Path) -> tuple[dict, int]:
    """Read ``torch.load(path, weights_only=True)["model"]`` and check its keys.

    Returns
    -------
    state : dict of str -> Tensor
    depth : int
        Layers found in the keys.

    Raises
    ------
    InputError
        When the file is missing or unreadable, has no ``"model"`` entry, or a key is
        missing or unexpected (the message names them).
    """
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(path, "slide-encoder weights not found (expected slide_encoder.pth)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means a bad weights file
        raise InputError(path, f"cannot read slide-encoder weights: {exc}") from exc
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise InputError(
            path, 'not a Prov-GigaPath slide-encoder checkpoint: no "model" state dict inside'
        )
    state = checkpoint["model"]
    depth = infer_depth(state)
    if depth == 0:
        raise InputError(path, "slide-encoder checkpoint has no encoder.layers.* keys")
    expected = official_keys(depth)
    missing = [key for key in expected if key not in state]
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing key(s) {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected key(s) {_listing(unexpected)}")
    if problems:
        raise InputError(
            path,
            "does not fit Prov-GigaPath's slide encoder "
            f"({depth} layer(s) found): {'; '.join(problems)}",
        )
    return state, depth


def load_slide_model(path: str | Path):
    """Build the slide-encoder model and load the official checkpoint at `path`.

    Returns
    -------
    SlideEncoderModel
        In eval mode, on the CPU, with ``model.depth`` layers.
    """
    import torch

    from corebt_viewer.embed.slide_encoders.longnet import SlideEncoderModel

    state, depth = read_official_state(path)
    with torch.device("meta"):
        model = SlideEncoderModel(depth)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:  # wrong tensor shapes
        raise InputError(path, f"slide-encoder weights have the wrong shapes: {exc}") from exc
    return model.eval()


def save_official_slide_checkpoint(model, path: str | Path) -> Path:
    """Write `model` as the official file does: ``torch.save({"model": state_dict})``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    torch.save({"model": state}, path)
    return path


def random_slide_model(
    depth: int = 12,
    *,
    seed: int = 0,
    segment_lengths: tuple[int, ...] | None = None,
    dilation_ratios: tuple[int, ...] | None = None,
):
    """The real architecture with random weights (tests and benchmarks).

    Linear weights are Xavier-uniform like the official initialisation; biases, the cls
    token and every LayerNorm are randomised too, so a misplaced norm or bias shows.

    Parameters
    ----------
    depth : int
        Layers (12 is the official model).
    seed : int
    segment_lengths, dilation_ratios : tuple of int, optional
        Other attention branches (tests only); the official ones by default.
    """
    import torch
    import torch.nn as nn

    from corebt_viewer.embed.slide_encoders import longnet

    generator = torch.Generator().manual_seed(seed)
    model = longnet.SlideEncoderModel(
        depth,
        segment_lengths=segment_lengths or longnet.SEGMENT_LENGTHS,
        dilation_ratios=dilation_ratios or longnet.DILATION_RATIOS,
    )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                bound = (6.0 / sum(module.weight.shape)) ** 0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.normal_(0.0, 0.02, generator=generator)
            elif isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.1, generator=generator)
                module.bias.normal_(0.0, 0.05, generator=generator)
        model.cls_token.normal_(0.0, 0.02, generator=generator)
    return model.eval()
