"""The embedding-profile and run options, defined once for every command that may embed.

``embed``, ``train``, ``evaluate`` and ``predict`` take the same options. The profile options
(encoders, weights, tiling, slide aggregator) make a profile; without any, ``--profile NAME``
names one recorded in the cohort's cache, and without that the command uses the model's
profile (evaluate, predict) or the cache's only one (embed, train).
"""

from __future__ import annotations

import argparse

#: argparse destinations of the options that define a profile (None when not given)
PROFILE_FIELDS = (
    "wsi_encoder",
    "weights",
    "slide_encoder",
    "slide_weights",
    "slide_layer",
    "occlusion_blocks",
    "mri_encoder",
    "mri_weights",
    "mri_config",
    "report_encoder",
    "target_mpp",
    "tile_size",
    "min_tissue",
    "mpp",
)


def add_tiling_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """``--target-mpp --tile-size --min-tissue --mpp`` (``defaults=False``: None when absent)."""

    def default(value):
        return value if defaults else None

    parser.add_argument(
        "--target-mpp",
        type=float,
        default=default(0.5),
        help="tile resolution in um/px (default 0.5)",
    )
    parser.add_argument(
        "--tile-size", type=int, default=default(256), help="tile side in pixels (default 256)"
    )
    parser.add_argument(
        "--min-tissue",
        type=float,
        default=default(0.25),
        help="least tissue fraction of a kept tile (default 0.25)",
    )
    parser.add_argument(
        "--mpp", type=float, help="level-0 um/px for slides without it in their metadata"
    )


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose or define an embedding profile, and the run options."""
    group = parser.add_argument_group(
        "embedding profile",
        "Name a profile recorded in the cohort's cache (--profile), or define one with the "
        "options below (then --profile names it). Weights are never downloaded.",
    )
    group.add_argument("--profile", metavar="NAME", help="embedding profile name")
    group.add_argument("--wsi-encoder", help="tile encoder: builtin (default) or gigapath")
    group.add_argument("--weights", help="weights folder or file of the tile encoder (gigapath)")
    group.add_argument(
        "--slide-encoder",
        choices=("mean", "gigapath"),
        help="slide aggregator: mean of tile vectors (default) or Prov-GigaPath's slide encoder",
    )
    group.add_argument("--slide-weights", help="slide_encoder.pth of Prov-GigaPath")
    group.add_argument(
        "--slide-layer",
        help="slide encoder output: last_layer_embed (default, the official pipeline's), "
        "encoder_out, or layer_<i> (TRIDENT keeps layer_11)",
    )
    group.add_argument(
        "--occlusion-blocks",
        type=int,
        help="tile blocks occluded for the slide encoder's approximate heat map (default 16)",
    )
    group.add_argument("--mri-encoder", help="mri-builtin (default) or mri-torchscript")
    group.add_argument("--mri-weights", help="TorchScript file of the MRI encoder")
    group.add_argument("--mri-config", help="preprocessing JSON of the MRI encoder")
    group.add_argument(
        "--report-encoder", help="minilm or hashing-tfidf (default: minilm when installed)"
    )
    add_tiling_options(group, defaults=False)
    run = parser.add_argument_group("running")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    run.add_argument("--workers", type=int, default=2, help="tile-reading threads (default 2)")
    run.add_argument(
        "--batch-size", type=int, default=64, help="tiles per encoder batch (default 64)"
    )


def profile_from_args(args: argparse.Namespace):
    """An ``EmbeddingProfile`` when profile options were given, else ``args.profile`` (or None)."""
    given = {name: getattr(args, name, None) for name in PROFILE_FIELDS}
    if all(value is None for value in given.values()):
        return getattr(args, "profile", None)
    from corebt_viewer.embed.profile import (
        DEFAULT_OCCLUSION_BLOCKS,
        TilingSettings,
        make_profile,
    )

    tiling = TilingSettings(
        target_mpp=0.5 if given["target_mpp"] is None else given["target_mpp"],
        tile_size=256 if given["tile_size"] is None else given["tile_size"],
        min_tissue=0.25 if given["min_tissue"] is None else given["min_tissue"],
        mpp_override=given["mpp"],
    )
    slide = given["slide_encoder"] or "mean"
    return make_profile(
        name=getattr(args, "profile", None),
        wsi=given["wsi_encoder"] or "builtin",
        wsi_weights=given["weights"],
        mri=given["mri_encoder"] or "mri-builtin",
        mri_weights=given["mri_weights"],
        mri_config=given["mri_config"],
        report=given["report_encoder"],
        tiling=tiling,
        aggregator="gigapath-slide" if slide == "gigapath" else "mean",
        slide_weights=given["slide_weights"],
        slide_layer=given["slide_layer"] or "last_layer_embed",
        occlusion_blocks=DEFAULT_OCCLUSION_BLOCKS
        if given["occlusion_blocks"] is None
        else given["occlusion_blocks"],
    )


def run_options(args: argparse.Namespace) -> dict:
    """``device``, ``workers`` and ``batch_size`` as keyword arguments."""
    return {"device": args.device, "workers": args.workers, "batch_size": args.batch_size}
