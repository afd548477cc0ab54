"""Slide aggregators: from a slide's tile features to its slide vector.

``mean`` is the tile mean (computed where it is used). ``gigapath-slide`` runs
Prov-GigaPath's LongNet slide encoder (:mod:`corebt_viewer.embed.slide_encoders`) on the
tile features in the order of the feature file, and keeps, for an approximate heat map, the
slide vector with each of a few spatial blocks of tiles left out (occlusion). Its results
are cached per slide in TRIDENT's slide-feature layout (a ``features`` dataset of the slide
vector), under ``<cache>/slide-embeddings/<aggregator tag>/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.core.embedding import SlideOcclusion
from corebt_viewer.embed.cache import SlideFeatures, stable_hash
from corebt_viewer.io.atomic_files import atomic_path


def build_slide_encoder(name: str, *, weights, layer: str, device: str):
    """The slide encoder called `name` (``gigapath-slide``) with local weights."""
    if name != "gigapath-slide":
        raise ValueError(f"unknown slide aggregator {name!r}")
    from corebt_viewer.embed.slide_encoders.gigapath_slide import GigaPathSlideEncoder

    return GigaPathSlideEncoder(weights, layer=layer, device=device)


def tile_size_level0(result: SlideFeatures) -> int:
    """The level-0 side of a slide's tiles, from its feature file's attributes."""
    for key in ("tile_size_level0", "patch_size_level0"):
        value = result.attrs.get(key)
        if value not in (None, ""):
            return int(value)
    from corebt_viewer.core.errors import InputError

    raise InputError(
        result.attrs.get("slide_path") or None,
        "the feature file does not say the tiles' level-0 size (tile_size_level0 or "
        "patch_size_level0): the slide encoder needs it to place the tiles",
    )


def slide_embedding_key(tile_key: str, aggregator_settings: dict) -> str:
    return stable_hash({"tiles": tile_key, "aggregator": aggregator_settings}, 32)


def encode_slide(encoder, result: SlideFeatures, *, name: str, n_blocks: int) -> SlideOcclusion:
    """Run the slide encoder on one slide's tiles, with the occlusion blocks."""
    from corebt_viewer.embed.slide_encoders.occlusion import occlusion_by_blocks

    size = tile_size_level0(result)
    if n_blocks >= 2 and result.features.shape[0] >= 2:
        occluded = occlusion_by_blocks(
            encoder, result.features, result.coords, n_blocks=n_blocks, tile_size_level0=size
        )
        vector, blocks, tile_block = (
            occluded.full,
            occluded.without_block,
            occluded.block_of_tile,
        )
    else:  # one tile, or occlusion switched off: no heat map
        vector = encoder.encode(result.features, result.coords, tile_size_level0=size)
        blocks = np.zeros((0, vector.shape[0]), np.float32)
        tile_block = np.zeros(result.features.shape[0], np.int64)
    return SlideOcclusion(
        slide=name,
        vector=np.asarray(vector, np.float32),
        coords=np.asarray(result.coords, np.int64),
        tile_block=np.asarray(tile_block, np.int64),
        block_vectors=np.asarray(blocks, np.float32),
    )


def write_slide_embedding(path: Path, occ: SlideOcclusion, *, cache_key: str, attrs: dict) -> None:
    """Write a slide vector (TRIDENT's slide-feature layout) and its occlusion blocks."""
    import json

    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("features", data=occ.vector)
            h5.create_dataset("coords", data=occ.coords)
            h5.create_dataset("tile_block", data=occ.tile_block)
            h5.create_dataset("block_vectors", data=occ.block_vectors)
            for key, value in attrs.items():
                h5.attrs[key] = json.dumps(value) if isinstance(value, dict | list) else value
            h5.attrs["slide_name"] = occ.slide
            h5.attrs["cache_key"] = cache_key
            h5.attrs["complete"] = True


def read_slide_embedding(path: Path, *, cache_key: str) -> SlideOcclusion | None:
    """A cached slide vector; ``None`` when absent, unreadable or stale."""
    import h5py

    path = Path(path)
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("cache_key") != cache_key or not h5.attrs.get("complete", False):
                return None
            return SlideOcclusion(
                slide=str(h5.attrs.get("slide_name", path.stem)),
                vector=np.asarray(h5["features"][()], np.float32).reshape(-1),
                coords=np.asarray(h5["coords"][()], np.int64),
                tile_block=np.asarray(h5["tile_block"][()], np.int64),
                block_vectors=np.asarray(h5["block_vectors"][()], np.float32),
            )
    except (OSError, KeyError, ValueError):
        return None
