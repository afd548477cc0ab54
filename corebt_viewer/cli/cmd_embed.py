"""``corebt tiles`` and ``corebt embed``: tissue and tile grid of a slide; cohort embeddings."""

from __future__ import annotations

from corebt_viewer.cli.profile_options import (
    add_profile_options,
    add_tiling_options,
    profile_from_args,
    run_options,
)


def register(subparsers) -> None:
    tiles = subparsers.add_parser(
        "tiles",
        help="detect tissue on a slide and write its mask, tile grid and tile coordinates",
        description="Detect tissue on SLIDE and lay the tile grid; write mask.png, grid.png "
        "(thumbnail with the tiles), coords.csv and coords.h5 (level-0 x, y) into --out.",
    )
    tiles.add_argument("slide", help="whole-slide image (any format OpenSlide reads)")
    tiles.add_argument("--out", required=True, help="output folder")
    add_tiling_options(tiles)
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
    embed.add_argument("--cache-dir", help="cache folder (default <cohort>/.corebt/embeddings)")
    embed.add_argument(
        "--dask-scheduler", metavar="ADDRESS", help="send per-slide work to this Dask scheduler"
    )
    embed.add_argument(
        "--compile", action="store_true", help="torch.compile the tile encoder on CUDA (gigapath)"
    )
    add_profile_options(embed)
    embed.set_defaults(func=run_embed)


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
    from corebt_viewer.services.embedding import embed_cohort

    summary = embed_cohort(
        cohort=args.cohort,
        profile=profile_from_args(args),
        modalities=args.modalities,
        cache_dir=args.cache_dir,
        scheduler=args.dask_scheduler,
        progress=TextProgress(),
        compile_encoder=args.compile,
        **run_options(args),
    )
    print("\n".join(summary.lines()))
    return 0 if summary.ok else 1
