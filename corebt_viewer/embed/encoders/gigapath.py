"""Prov-GigaPath tile encoder: the published architecture through timm, local weights only.

Prov-GigaPath's tile encoder is timm's ``vit_giant_patch14_dinov2`` configured with a
224-pixel input, 16-pixel patches, width 1536, depth 40, 24 heads and a SwiGLU MLP of
ratio 5.33334 (``SwiGLUPacked`` + SiLU), LayerScale 1e-5, no classifier; its output is the
1536-d CLS token. Tiles go through Resize(256) + CenterCrop(224) + ImageNet normalisation.

Weights come from a local folder in the model hub layout (``config.json`` plus
``model.safetensors`` or ``pytorch_model.bin``) or from a single weights file, read with
safetensors or ``torch.load(weights_only=True)``; nothing is ever fetched from a network.
A ``config.json`` with ``model_args`` (the hub's timm layout) overrides the architecture,
which is how a reduced-depth variant is loaded for tests.

On CUDA the forward pass runs under bf16 autocast; ``compile=True`` adds ``torch.compile``
(measured on an H200 with random full-size weights: 830 tiles/s eager, 1,100 compiled,
against an arithmetic limit of about 1,750).
"""

from __future__ import annotations

import json
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.embed.cache import file_fingerprint

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Prov-GigaPath's timm arguments (as in its hub config.json).
GIGAPATH_ARGS = {
    "img_size": 224,
    "in_chans": 3,
    "patch_size": 16,
    "embed_dim": 1536,
    "depth": 40,
    "num_heads": 24,
    "init_values": 1e-5,
    "mlp_ratio": 5.33334,
    "num_classes": 0,
}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def create_gigapath_model(**overrides):
    """Build the Prov-GigaPath architecture (random weights) with timm.

    Parameters
    ----------
    **overrides
        Replace any of :data:`GIGAPATH_ARGS` (``depth=2`` for a small test model).
    """
    import timm
    import torch.nn as nn
    from timm.layers import SwiGLUPacked

    args = dict(GIGAPATH_ARGS, **overrides)
    return timm.create_model(
        "vit_giant_patch14_dinov2",
        pretrained=False,
        mlp_layer=SwiGLUPacked,
        act_layer=nn.SiLU,
        **args,
    )


def find_weights(path: str | Path) -> tuple[Path, dict]:
    """Locate the weights file and the architecture arguments under `path`.

    Returns
    -------
    weights_file : Path
    model_args : dict
        From ``config.json`` (``model_args``) when there is one, else ``{}``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(path, "Prov-GigaPath weights not found (give a folder or a file)")
    folder = path if path.is_dir() else path.parent
    model_args: dict = {}
    config = folder / "config.json"
    if config.is_file():
        try:
            model_args = dict(json.loads(config.read_text()).get("model_args", {}))
        except (ValueError, OSError) as exc:
            raise InputError(config, f"unreadable config.json: {exc}") from exc
    if path.is_file():
        return path, model_args
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name, model_args
    raise InputError(
        path, f"no weights file in the folder (expected one of {', '.join(WEIGHT_FILES)})"
    )


def load_state_dict(weights_file: Path) -> dict:
    """Read a state dict safely: safetensors, or ``torch.load(weights_only=True)``."""
    import torch

    try:
        if weights_file.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(weights_file))
        state = torch.load(weights_file, map_location="cpu", weights_only=True)
    except Exception as exc:  # any read/unpickle failure is a bad input file
        raise InputError(weights_file, f"cannot read weights: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(weights_file, "weights file does not hold a state dict")
    return state


class GigaPathTileEncoder:
    """Prov-GigaPath tile encoder on CPU or GPU (bf16 autocast on CUDA).

    Parameters
    ----------
    weights : path
        Folder in the hub layout, or a weights file.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    name = "gigapath"

    def __init__(self, weights, device: str = "auto", compile: bool = False):
        import torch

        from corebt_viewer.embed.encoders.devices import resolve_device

        if weights is None:
            raise InputError(
                None,
                "the gigapath encoder needs --weights: a folder with config.json and "
                "pytorch_model.bin or model.safetensors (it is never downloaded)",
            )
        weights_file, model_args = find_weights(weights)
        self.model_args = dict(GIGAPATH_ARGS, **model_args)
        with torch.device("meta"):  # no random initialisation: the weights replace it
            model = create_gigapath_model(**model_args)
        state = load_state_dict(weights_file)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise InputError(
                weights_file,
                f"weights do not fit Prov-GigaPath: {len(missing)} missing keys "
                f"(e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})",
            )
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.dim = int(model.num_features)
        self.weights_id = file_fingerprint(weights_file)
        self.img_size = int(self.model_args["img_size"])
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        self._setup_compile(compile)

    def _setup_compile(self, compile: bool) -> None:
        """Optionally ``torch.compile`` the model (CUDA only; batches padded to one size)."""
        import torch

        self._compiled = None
        self._compiled_batch = 0
        if compile and self.device.startswith("cuda"):
            self._compiled = torch.compile(self.model)

    @classmethod
    def from_model(
        cls, model, device: str = "auto", weights_id: str = "in-memory", compile: bool = False
    ):
        """Wrap a model already built (benchmarks: random full-size weights on a GPU)."""
        import torch

        from corebt_viewer.embed.encoders.devices import resolve_device

        self = cls.__new__(cls)
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.model_args = dict(GIGAPATH_ARGS)
        self.dim = int(model.num_features)
        self.weights_id = weights_id
        self.img_size = int(model.patch_embed.img_size[0])
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        self._setup_compile(compile)
        return self

    def settings(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "weights": self.weights_id,
            "model_args": self.model_args,
            "transform": "resize256-centercrop224-imagenet",
        }

    def preprocess(self, tiles):
        """Resize(256) + CenterCrop(img_size) + ImageNet normalisation of uint8 tiles."""
        import torch.nn.functional as F

        x = tiles.permute(0, 3, 1, 2).float() / 255.0
        resize = round(self.img_size * 256 / 224)
        height, width = x.shape[-2:]
        if min(height, width) != resize:
            scale = resize / min(height, width)
            size = (round(height * scale), round(width * scale))
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        height, width = x.shape[-2:]
        top, left = (height - self.img_size) // 2, (width - self.img_size) // 2
        x = x[..., top : top + self.img_size, left : left + self.img_size]
        return (x - self._mean) / self._std

    def encode(self, tiles):
        """Encode uint8 tiles (B, H, W, 3) -> float32 (B, 1536) on the CPU."""
        import torch

        with torch.inference_mode():
            x = torch.as_tensor(tiles).to(self.device, non_blocking=True)
            x = self.preprocess(x)
            if not self.device.startswith("cuda"):
                return self.model(x).float().cpu()
            n = x.shape[0]
            model = self.model
            if self._compiled is not None:
                # one batch size for the compiled graph: pad smaller batches (a slide's last)
                self._compiled_batch = self._compiled_batch or n
                if n <= self._compiled_batch:
                    model = self._compiled
                    if n < self._compiled_batch:
                        pad = x.new_zeros((self._compiled_batch - n, *x.shape[1:]))
                        x = torch.cat([x, pad])
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = model(x)
            return out[:n].float().cpu()


def save_hub_layout(
    model, folder: str | Path, *, model_args: dict | None = None, safetensors: bool = False
) -> Path:
    """Save `model` as the hub lays Prov-GigaPath out: config.json + weights file.

    Used by tests and benchmarks to make random-weight checkpoints.
    """
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": "vit_giant_patch14_dinov2",
        "num_classes": 0,
        "num_features": int(model.num_features),
        "global_pool": "token",
        "model_args": dict(GIGAPATH_ARGS, **(model_args or {})),
        "pretrained_cfg": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if safetensors:
        from safetensors.torch import save_file

        save_file(state, str(folder / "model.safetensors"))
    else:
        torch.save(state, folder / "pytorch_model.bin")
    return folder


def build(weights=None, device: str = "auto", compile: bool = False) -> GigaPathTileEncoder:
    """Registry factory (``compile=True``: ``torch.compile`` on CUDA, about 30% faster on an H200)."""
    return GigaPathTileEncoder(weights=weights, device=device, compile=compile)
