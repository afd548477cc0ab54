"""Device choice shared by the encoders."""

from __future__ import annotations


def resolve_device(device: str | None = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is usable, else ``"cpu"``; others pass through.

    Raises
    ------
    ValueError
        When ``"cuda"`` is asked for but no GPU is available.
    """
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no GPU here; use --device cpu")
    return device
