"""Prov-GigaPath slide encoder: seconds and peak memory for 1k / 10k / 20k tiles.

Full 12-layer model with random weights (the real architecture), tiles on a tissue-like
blob. Each size runs in its own process so that its peak memory is its own:

* CPU, float32: wall seconds, CPU seconds of the process (what a shared machine does not
  distort), peak RSS of the process, and the RSS added by the encoding over the baseline
  of the same process just before it (model and inputs loaded);
* CUDA, bf16 autocast (when a GPU is present): seconds after one warm-up run and
  ``torch.cuda.max_memory_allocated``; fp32 on the same GPU as the baseline.

Ratios: seconds per 1,000 tiles against the 1k run (how far from linear the dilated
attention scales), and the attention-score memory a dense (non-dilated) attention would
need at that size, for comparison.

Examples
--------
::

    python benchmarks/bench_slide_encoder.py                 # CPU 1k, 10k, 20k + CUDA if any
    python benchmarks/bench_slide_encoder.py --sizes 1000 10000 --skip-cuda
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _blob(n: int, seed: int = 0):
    """Level-0 coordinates (20x, 256-px tiles) of `n` tiles on a lobed blob, row by row."""
    import numpy as np

    radius = (n / np.pi) ** 0.5 * 1.25
    size = int(2 * radius * 1.3) + 4
    yy, xx = np.mgrid[0:size, 0:size]
    dx, dy = xx - size / 2, yy - size / 2
    inside = np.hypot(dx, dy) < radius * (1 + 0.2 * np.sin(3 * np.arctan2(dy, dx)))
    cells = np.argwhere(inside)[:, ::-1]
    cells = cells[np.lexsort((cells[:, 1], cells[:, 0]))][:n]
    if len(cells) < n:
        raise SystemExit(f"blob too small for {n} tiles")
    return cells * 256


def run_one(n: int, device: str, precision: str) -> dict:
    """Encode one slide of `n` tiles in this process; return the figures."""
    import resource

    import numpy as np
    import psutil
    import torch

    sys.path.insert(0, str(ROOT))
    from corebt_viewer.embed.slide_encoders.checkpoint import random_slide_model
    from corebt_viewer.embed.slide_encoders.gigapath_slide import GigaPathSlideEncoder

    coords = _blob(n)
    features = np.random.default_rng(1).normal(size=(n, 1536)).astype(np.float32)
    encoder = GigaPathSlideEncoder.from_model(
        random_slide_model(12), device=device, precision=precision
    )
    process = psutil.Process()
    result = {"tiles": n, "device": device, "precision": encoder.precision}
    if device.startswith("cuda"):
        encoder.encode(features, coords)  # warm-up (kernels, allocator)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        start = time.perf_counter()
        vector = encoder.encode(features, coords)
        torch.cuda.synchronize()
        result["seconds"] = time.perf_counter() - start
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        result["added_gib"] = (torch.cuda.max_memory_allocated() - base) / 2**30
        result["gpu"] = torch.cuda.get_device_name()
    else:
        base = process.memory_info().rss
        cpu = process.cpu_times()
        start = time.perf_counter()
        vector = encoder.encode(features, coords)
        result["seconds"] = time.perf_counter() - start
        after = process.cpu_times()
        result["cpu_seconds"] = after.user + after.system - cpu.user - cpu.system
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
        result["peak_gib"] = peak / 2**30
        result["added_gib"] = (peak - base) / 2**30
        result["threads"] = torch.get_num_threads()
    result["finite"] = bool(np.all(np.isfinite(vector)))
    return result


def _child(n: int, device: str, precision: str, timeout: float) -> dict:
    command = [sys.executable, __file__, "--one", str(n), "--device", device]
    command += ["--precision", precision]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"tiles": n, "device": device, "error": f"over {timeout:.0f} s: stopped"}
    if done.returncode != 0:
        return {"tiles": n, "device": device, "error": done.stderr.strip()[-400:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print(rows: list[dict], first: dict) -> None:
    """One line per run; ratios against `first` (the smallest size of the same device)."""
    for r in rows:
        if "error" in r:
            print(f"  {r['tiles']:>6} tiles  {r['device']:<5} FAILED: {r['error']}")
            continue
        per_k = r["seconds"] / r["tiles"] * 1000
        ratio = per_k / (first["seconds"] / first["tiles"] * 1000) if "seconds" in first else 0
        dense = 16 * (r["tiles"] + 1) ** 2 * 4 / 2**30
        cpu = f" ({r['cpu_seconds']:.0f} s of CPU)" if "cpu_seconds" in r else ""
        print(
            f"  {r['tiles']:>6} tiles  {r['device']:<5} {r['precision']:<18} "
            f"{r['seconds']:8.1f} s{cpu}  {per_k:6.2f} s/1k tiles (x{ratio:.2f} of the first)  "
            f"peak {r['peak_gib']:.2f} GiB (+{r['added_gib']:.2f} for encoding; dense fp32 "
            f"scores alone would be {dense:.1f} GiB)"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--skip-cuda", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.device, args.precision)))
        return 0

    import torch

    print(f"Prov-GigaPath slide encoder, 12 layers, random weights; torch {torch.__version__}")
    print(f"CPU (float32, {torch.get_num_threads()} threads):")
    rows = []
    for n in args.sizes:  # printed as they finish (20k tiles takes minutes on 2 cores)
        rows.append(_child(n, "cpu", "auto", args.timeout))
        _print(rows[-1:], next((r for r in rows if "seconds" in r), rows[-1]))
    if args.skip_cuda:
        print("CUDA: skipped (--skip-cuda)")
    elif not torch.cuda.is_available():
        print("CUDA: no CUDA device: skipped")
    else:
        for precision in ("auto", "float32"):
            label = "bf16 autocast" if precision == "auto" else "fp32 baseline"
            print(f"CUDA ({label}):")
            runs = [_child(n, "cuda", precision, args.timeout) for n in args.sizes]
            _print(runs, next((r for r in runs if "seconds" in r), runs[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
