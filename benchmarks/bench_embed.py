"""Slide embedding throughput: reading only, encoder only, end to end (same slide, one run).

Prints tiles/s for

* read: tiles read and decoded by the parallel reader pool into batches, no encoder;
* encode: the encoder alone on tiles already in memory (on the device for a GPU);
* end to end: reader pool feeding the encoder, as ``corebt embed`` runs it;

and the ratio end-to-end / min(read, encode) (1.0 = perfect overlap: the slower stage sets
the pace). Also times tissue detection on the benchmark slide and, with
``--tissue-size``, on a generated pyramidal slide of that many pixels a side (one core).

Examples
--------
CPU, built-in encoder, generated slide::

    python benchmarks/bench_embed.py

GPU, full-size Prov-GigaPath with random weights in bf16::

    python benchmarks/bench_embed.py --encoder gigapath --device cuda --workers 12 --batch-size 128
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _tile_bank(n: int = 24, size: int = 256, seed: int = 0) -> list[np.ndarray]:
    """A few H&E-like tiles (pink stroma, purple nuclei) to pave a large slide with."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    bank = []
    for _ in range(n):
        tile = np.empty((size, size, 3), np.uint8)
        tile[:] = rng.integers(200, 235, 3) * np.array([1.0, 0.68, 0.85])
        tile += rng.integers(0, 18, tile.shape, dtype=np.uint8)
        for _ in range(rng.integers(20, 80)):
            r, c, rad = rng.integers(0, size), rng.integers(0, size), rng.integers(3, 7)
            tile[(yy - r) ** 2 + (xx - c) ** 2 <= rad * rad] = rng.integers(60, 110, 3) * np.array(
                [1.0, 0.6, 1.5]
            )
        bank.append(tile)
    return bank


def write_synthetic_slide(path: Path, size: int, *, mpp: float = 0.5, seed: int = 0) -> Path:
    """A tiled, pyramidal, JPEG Aperio-like TIFF, `size` pixels square, tissue in an ellipse."""
    import tifffile

    rng = np.random.default_rng(seed)
    glass = np.full((256, 256, 3), 243, np.uint8)
    levels, side = [], size
    while True:
        levels.append(side)
        if side <= 2048:
            break
        side //= 4
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        for level, side in enumerate(levels):
            n = -(-side // 256)
            bank = _tile_bank(seed=seed + level)

            def tiles(n=n, bank=bank):
                for ty in range(n):
                    for tx in range(n):
                        cy, cx = (ty + 0.5) / n - 0.5, (tx + 0.5) / n - 0.5
                        inside = (cy / 0.42) ** 2 + (cx / 0.3) ** 2 < 1
                        yield bank[rng.integers(len(bank))] if inside else glass

            desc = (
                f"Aperio Image Library v12.0.0\r\n{size}x{size} [0,0 {side}x{side}] (256x256) JPEG/RGB Q=80|AppMag = 20|MPP = {mpp}"
                if level == 0
                else f"Aperio Image Library v12.0.0\r\n{size}x{size} -> {side}x{side} - |"
            )
            tif.write(
                tiles(),
                shape=(side, side, 3),
                dtype=np.uint8,
                tile=(256, 256),
                photometric="rgb",
                compression="jpeg",
                description=desc,
                metadata=None,
                subfiletype=0 if level == 0 else 1,
            )
    return path


def build_encoder(args):
    from corebt_viewer.embed.encoders import build_encoder as build

    if args.encoder == "gigapath" and not args.weights:
        import torch

        from corebt_viewer.embed.encoders.devices import resolve_device
        from corebt_viewer.embed.encoders.gigapath import GigaPathTileEncoder, create_gigapath_model

        device = resolve_device(args.device)
        with torch.device("meta"):
            model = create_gigapath_model()
        model = model.to_empty(device=device)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.02)
        print(
            f"Prov-GigaPath full size, random weights: {sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters"
        )
        return GigaPathTileEncoder.from_model(model, device=device, compile=args.compile)
    if args.encoder == "builtin":
        return build("builtin", device=args.device, mpp=0.5)
    return build(args.encoder, weights=args.weights, device=args.device, compile=args.compile)


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slide", help="slide to use (default: a generated one)")
    parser.add_argument(
        "--size", type=int, default=6144, help="side of the generated slide (default 6144)"
    )
    parser.add_argument("--encoder", default="builtin", help="builtin (default) or gigapath")
    parser.add_argument(
        "--weights", help="weights of the encoder (gigapath: random full-size if absent)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--max-tiles", type=int, default=0, help="use at most this many tiles (0: all)"
    )
    parser.add_argument(
        "--encode-tiles",
        type=int,
        default=256,
        help="tiles held in memory for the encoder-only run",
    )
    parser.add_argument(
        "--tissue-size",
        type=int,
        default=0,
        help="also time tissue detection on a generated slide this big (e.g. 40000)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch default)"
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the encoder (gigapath on CUDA)"
    )
    args = parser.parse_args(argv)

    import torch

    from corebt_viewer.embed.pipeline import TilingSettings, embed_slide
    from corebt_viewer.embed.reader_pool import TileReaderPool
    from corebt_viewer.embed.tiling import make_tile_grid
    from corebt_viewer.io.slides import open_slide

    if args.threads:
        torch.set_num_threads(args.threads)
    workdir = Path(os.environ.get("COREBT_BENCH_DIR", tempfile.gettempdir())) / "corebt-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    slide_path = Path(args.slide) if args.slide else workdir / f"synthetic-{args.size}.tiff"
    if not slide_path.exists():
        t = time.perf_counter()
        write_synthetic_slide(slide_path, args.size)
        print(f"generated {slide_path} in {time.perf_counter() - t:.1f} s")
    encoder = build_encoder(args)
    device = str(getattr(encoder, "device", "cpu"))
    print(
        f"slide: {slide_path.name}; encoder: {args.encoder} (dim {encoder.dim}) on {device}; "
        f"workers {args.workers}; batch {args.batch_size}; torch threads {torch.get_num_threads()}"
    )

    with open_slide(slide_path) as slide:
        t = time.perf_counter()
        grid, tissue = make_tile_grid(slide)
        t_tissue = time.perf_counter() - t
        print(
            f"tissue + grid: {t_tissue:.2f} s for {slide.dimensions[0]}x{slide.dimensions[1]} px "
            f"({tissue.fraction:.0%} tissue, {len(grid)} tiles at level {grid.read_level})"
        )
    if args.max_tiles and len(grid) > args.max_tiles:
        from dataclasses import replace

        grid = replace(
            grid, coords=grid.coords[: args.max_tiles], tissue=grid.tissue[: args.max_tiles]
        )
    n = len(grid)
    pin = device.startswith("cuda")

    # 1. reading and decoding only
    t = time.perf_counter()
    held = []
    for _, tiles in TileReaderPool(
        slide_path, grid, batch_size=args.batch_size, workers=args.workers, pin_memory=pin
    ):
        if sum(x.shape[0] for x in held) < args.encode_tiles:
            held.append(tiles.clone())
    read_rate = n / (time.perf_counter() - t)

    # 2. encoder only, on tiles already in memory (on the device)
    ready = torch.cat(held)[: args.encode_tiles].to(device)
    batches = [ready[i : i + args.batch_size] for i in range(0, ready.shape[0], args.batch_size)]
    encoder.encode(batches[0])  # warm-up
    _sync(device)
    rounds = max(1, -(-min(n, 4 * ready.shape[0]) // ready.shape[0]))
    t = time.perf_counter()
    for _ in range(rounds):
        for b in batches:
            encoder.encode(b)
    _sync(device)
    encode_rate = rounds * ready.shape[0] / (time.perf_counter() - t)

    # 3. end to end (reader pool overlapping the encoder), the grid already laid
    t = time.perf_counter()
    result = embed_slide(
        slide_path,
        encoder,
        tiling=TilingSettings(),
        batch_size=args.batch_size,
        workers=args.workers,
        grid=grid,
    )
    _sync(device)
    e2e_rate = result.features.shape[0] / (time.perf_counter() - t)

    print(f"tiles: {n}")
    print(f"read only   : {read_rate:8.1f} tiles/s")
    print(f"encoder only: {encode_rate:8.1f} tiles/s")
    print(f"end to end  : {e2e_rate:8.1f} tiles/s")
    print(f"ratio end-to-end / min(read, encode): {e2e_rate / min(read_rate, encode_rate):.2f}")

    if args.tissue_size:
        big = workdir / f"synthetic-{args.tissue_size}.tiff"
        if not big.exists():
            t = time.perf_counter()
            write_synthetic_slide(big, args.tissue_size, seed=1)
            print(f"generated {big.name} in {time.perf_counter() - t:.1f} s")
        torch.set_num_threads(1)
        from corebt_viewer.embed.tissue import detect_tissue

        with open_slide(big) as slide:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                mask = detect_tissue(slide, tile_area_level0=256.0**2)
                times.append(time.perf_counter() - t)
        print(
            f"tissue detection, {args.tissue_size} px slide: best {min(times):.2f} s of 3 "
            f"(mask {mask.mask.shape[1]}x{mask.mask.shape[0]}, {mask.fraction:.0%} tissue)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
