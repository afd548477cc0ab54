"""``corebt tiles`` and ``corebt embed``: tissue and tile grid of a slide; cohort embeddings."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    tiles = subparsers.add_parser(
        "tiles",
        help="detect tissue on a slide and write its mask, tile grid and tile coordinates",
        description="Detect tissue on SLIDE and lay the tile grid; write mask.png, grid.png "
        "(thumbnail with the tiles), coords.csv and coords.h5 (level-0 x, y) into --out.",
    )
    tiles.add_argument("slide", help="whole-slide image (any format OpenSlide reads)")
    tiles.add_argument("--out", required=True, help="output folder")
    _tiling_options(tiles)
    tiles.set_defaults(func=run_tiles)

    embed = subparsers.add_parser(
        "embed",
        help="embed every case of a cohort (slides, MRI, reports), cached and resumable",
        description="Embed every case of COHORT into <cohort>/.corebt/embeddings (or --cache-dir). "
        "Reruns skip what is cached; bad files are reported and skipped (exit status 1).",
    )
    embed.add_argument("cohort", help="cohort folder or manifest.csv")
    embed.add_argument(
        "--modalities", default="mri,wsi,report", help="comma-separated subset of mri,wsi,report"
    )
    embed.add_argument(
        "--wsi-encoder", default="builtin", help="tile encoder: builtin (default) or gigapath"
    )
    embed.add_argument("--weights", help="weights folder or file of the tile encoder (gigapath)")
    embed.add_argument(
        "--mri-encoder", default="mri-builtin", help="mri-builtin (default) or mri-torchscript"
    )
    embed.add_argument("--mri-weights", help="TorchScript file of the MRI encoder")
    embed.add_argument(
        "--mri-config", help="preprocessing JSON of the MRI encoder (default: beside the model)"
    )
    embed.add_argument(
        "--report-encoder", help="minilm or hashing-tfidf (default: minilm when installed)"
    )
    embed.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    embed.add_argument("--workers", type=int, default=2, help="tile-reading threads (default 2)")
    embed.add_argument(
        "--batch-size", type=int, default=64, help="tiles per encoder batch (default 64)"
    )
    embed.add_argument("--cache-dir", help="cache folder (default <cohort>/.corebt/embeddings)")
    embed.add_argument(
        "--dask-scheduler", metavar="ADDRESS", help="send per-slide work to this Dask scheduler"
    )
    embed.add_argument(
        "--compile", action="store_true", help="torch.compile the tile encoder on CUDA (gigapath)"
    )
    _tiling_options(embed)
    embed.set_defaults(func=run_embed)


def _tiling_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target-mpp", type=float, default=0.5, help="tile resolution in um/px (default 0.5)"
    )
    parser.add_argument(
        "--tile-size", type=int, default=256, help="tile side in pixels (default 256)"
    )
    parser.add_argument(
        "--min-tissue", type=float, default=0.25, help="least tissue fraction of a kept tile"
    )
    parser.add_argument(
        "--mpp", type=float, help="level-0 um/px for slides without it in their metadata"
    )


class TextProgress:
    """Plain-text progress on stderr: a line per case, a bar line per slide every 10%."""

    def __init__(self, stream=None):
        import sys

        self.stream = stream or sys.stderr
        self._last = {}

    def __call__(self, event) -> None:
        if event.stage == "tiles":
            step = int(10 * event.fraction)
            if event.done == 0 or event.done == event.total or step != self._last.get("tiles"):
                self._last["tiles"] = step
                bar = "#" * step + "." * (10 - step)
                print(f"    [{bar}] {event.message}", file=self.stream, flush=True)
        else:
            print(f"[{event.stage}] {event.message}", file=self.stream, flush=True)


def run_tiles(args) -> int:
    from corebt_viewer.services.embedding import tile_slide

    summary = tile_slide(
        slide=args.slide,
        out=args.out,
        target_mpp=args.target_mpp,
        tile_size=args.tile_size,
        min_tissue=args.min_tissue,
        mpp_override=args.mpp,
    )
    print("\n".join(summary.lines()))
    return 0


def run_embed(args) -> int:
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.services.embedding import embed_cohort

    try:
        summary = embed_cohort(
            cohort=args.cohort,
            modalities=args.modalities,
            wsi_encoder=args.wsi_encoder,
            weights=args.weights,
            device=args.device,
            workers=args.workers,
            batch_size=args.batch_size,
            cache_dir=args.cache_dir,
            scheduler=args.dask_scheduler,
            progress=TextProgress(),
            mri_encoder=args.mri_encoder,
            mri_weights=args.mri_weights,
            mri_config=args.mri_config,
            report_encoder=args.report_encoder,
            target_mpp=args.target_mpp,
            tile_size=args.tile_size,
            min_tissue=args.min_tissue,
            mpp_override=args.mpp,
            compile_encoder=args.compile,
        )
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    print("\n".join(summary.lines()))
    return 0 if summary.ok else 1
