"""Slide-encoder service: a tile-feature file in, a slide-feature file out.

Keyword-only, Qt-free; the CLI's ``corebt slide-embed`` calls :func:`slide_embed_file`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corebt_viewer.core.progress import ProgressCallback, report


@dataclass
class SlideEmbedResult:
    """What :func:`slide_embed_file` did.

    Attributes
    ----------
    vector : ndarray (768,)
    out : Path
    tiles : int
    layout : str
        ``"trident"`` or ``"clam"``.
    tile_size_level0 : float
    notes : list of str
        Assumptions made (missing attributes...): show them to the user.
    settings : dict
        The encoder's settings.
    device : str
        Where it ran.
    seconds : float
        Encoder time.
    """

    vector: np.ndarray
    out: Path
    tiles: int
    layout: str
    tile_size_level0: float
    notes: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    device: str = "cpu"
    seconds: float = 0.0


def slide_embed_file(
    *,
    features_path: str | Path,
    weights: str | Path,
    out: str | Path,
    layer: str = "last_layer_embed",
    device: str = "auto",
    tile_size_level0: float | None = None,
    progress: ProgressCallback | None = None,
) -> SlideEmbedResult:
    """Run Prov-GigaPath's slide encoder on a TRIDENT or CLAM tile-feature file.

    Parameters
    ----------
    features_path : path
        ``features`` (N x 1536) and ``coords`` (N x 2, level-0) in HDF5.
    weights : path
        The official ``slide_encoder.pth``.
    out : path
        The slide-feature file to write (``features``: 768 floats, attributes: settings).
    layer : str
        ``last_layer_embed`` (default), ``encoder_out`` or ``layer_<i>``.
    device : str
    tile_size_level0 : float, optional
        Level-0 side of a 256-px tile at 20x; by default from the file's attributes
        (256 assumed, with a note, when it has none).
    progress : callable, optional
        Receives a :class:`~corebt_viewer.core.progress.Progress` per stage.
    """
    from corebt_viewer.embed.slide_encoders.gigapath_slide import GigaPathSlideEncoder
    from corebt_viewer.embed.slide_encoders.positions import tile_size_from_attrs
    from corebt_viewer.io.feature_files import read_tile_feature_file, write_slide_feature_file

    report(progress, 0, 3, "reading the tile features", "slide-embed")
    tiles = read_tile_feature_file(features_path)
    size, notes = tile_size_from_attrs(tiles.attrs, source=tiles.path, override=tile_size_level0)
    report(progress, 1, 3, "loading the slide encoder", "slide-embed")
    encoder = GigaPathSlideEncoder(weights, device=device, layer=layer)
    report(progress, 2, 3, f"encoding {len(tiles.features)} tiles", "slide-embed")
    start = time.perf_counter()
    vector = encoder.encode(tiles.features, tiles.coords, tile_size_level0=size, source=tiles.path)
    seconds = time.perf_counter() - start
    settings = encoder.settings()
    attrs = dict(settings)
    attrs.update(
        {
            "source_file": tiles.path.name,
            "source_layout": tiles.layout,
            "num_tiles": len(tiles.features),
            "tile_size_level0": size,
            "notes": notes,
        }
    )
    out = write_slide_feature_file(out, vector, attrs)
    report(progress, 3, 3, "slide vector written", "slide-embed")
    return SlideEmbedResult(
        vector=vector,
        out=out,
        tiles=len(tiles.features),
        layout=tiles.layout,
        tile_size_level0=size,
        notes=notes,
        settings=settings,
        device=encoder.device,
        seconds=seconds,
    )
