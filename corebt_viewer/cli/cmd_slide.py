"""``corebt slide-embed``: Prov-GigaPath's slide encoder on a TRIDENT or CLAM feature file."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "slide-embed",
        help="run Prov-GigaPath's slide encoder on a TRIDENT/CLAM tile-feature file",
        description="Read FEATURES.h5 (features N x 1536 of Prov-GigaPath tiles, coords N x 2 "
        "level-0 x, y), run the LongNet slide encoder (CPU or any CUDA GPU, no flash-attn) "
        "and write OUT.h5 as TRIDENT's slide features: a 'features' dataset of 768 floats "
        "whose attributes record the encoder settings.",
    )
    parser.add_argument("features", help="TRIDENT features_<encoder>/*.h5 or CLAM h5_files/*.h5")
    parser.add_argument(
        "--slide-weights", required=True, help="the official slide_encoder.pth (local file)"
    )
    parser.add_argument("--out", required=True, help="slide-feature file to write (.h5)")
    parser.add_argument(
        "--layer",
        default="last_layer_embed",
        help="output: last_layer_embed (default, the official pipeline's), encoder_out "
        "(with the encoder's final LayerNorm) or layer_<i> (TRIDENT keeps layer_11)",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--tile-size-level0",
        type=float,
        help="level-0 side of a 256-px tile at 20x (default: from the file's attributes; "
        "256 when it has none)",
    )
    parser.set_defaults(func=run_slide_embed)


def run_slide_embed(args) -> int:
    from corebt_viewer.services.slide_embedding import slide_embed_file

    result = slide_embed_file(
        features_path=args.features,
        weights=args.slide_weights,
        out=args.out,
        layer=args.layer,
        device=args.device,
        tile_size_level0=args.tile_size_level0,
    )
    for note in result.notes:
        print(f"note: {note}")
    settings = result.settings
    print(
        f"{result.tiles} tiles ({result.layout} layout, {result.tile_size_level0:g} level-0 px "
        f"a tile) -> {settings['dim']}-d slide vector ({settings['layer']}, "
        f"{settings['depth']} layers, {settings['precision']} on {result.device}) "
        f"in {result.seconds:.1f} s"
    )
    print(f"wrote {result.out}")
    return 0
