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
        "--dask-scheduler",
        metavar="ADDRESS",
        help="send the work (a task per slide, per case for MRI/report) to this Dask scheduler; "
        "results are cached as they arrive, so a rerun resumes",
    )
    embed.add_argument(
        "--dask-resources",
        metavar="NAME=N[,...]",
        help="Dask resources each task asks for, e.g. GPU=1 (workers started with "
        "--resources GPU=1)",
    )
    embed.add_argument(
        "--dask-shared-cache",
        action="store_true",
        help="Dask workers write the cache themselves (it must be on a file system they share); "
        "default: the client writes each result as it arrives",
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
    from corebt_viewer.embed.distributed import parse_resources
    from corebt_viewer.services.embedding import embed_cohort

    if args.dask_scheduler is None and (args.dask_resources or args.dask_shared_cache):
        from corebt_viewer.core.errors import InputError

        raise InputError(None, "--dask-resources and --dask-shared-cache need --dask-scheduler")
    summary = embed_cohort(
        cohort=args.cohort,
        profile=profile_from_args(args),
        modalities=args.modalities,
        cache_dir=args.cache_dir,
        scheduler=args.dask_scheduler,
        dask_resources=parse_resources(args.dask_resources),
        shared_cache=args.dask_shared_cache,
        progress=TextProgress(),
        compile_encoder=args.compile,
        **run_options(args),
    )
    print("\n".join(summary.lines()))
    return 0 if summary.ok else 1
