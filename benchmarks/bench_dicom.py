"""DICOM series reading: CoRe-BT's reader against pydicom's own plain read of the same files.

Usage: ``python benchmarks/bench_dicom.py [--data ../shared/data] [--repeat 5] [--processes 5]``

Writes the real TCGA-DU-7294 T1 (240 x 240 x 155, int16) as DICOM into a temporary folder,
twice: classic (155 files, one slice each, shuffled names) and Enhanced MR (one
multi-frame file, frames shuffled). Then times, best of `--repeat` passes each, alternated:

* baseline: ``pydicom.dcmread`` of every file, ``.pixel_array``, ``numpy.stack`` (no
  sorting, no geometry, no rescale: the least a reader must do);
* ours: :func:`read_series_volume` (read, check and sort the geometry, rescale to float32,
  reorient to RAS), given the series from a scan;
* baseline + float32: the same, then ``astype(float32)`` (ours returns float32, like the
  project's NIfTI reader), for a comparison at equal output;
* scan: :func:`scan_folder` (headers only), reported on its own.

Prints seconds and the ratios baseline / ours (>= 1 means ours is at least as fast).

Each measurement runs in `--processes` fresh Python processes, one row each, then the
median of the rows: the plain read of the enhanced file is bimodal between processes
(about 7 or about 17 ms on the 2-core machine, steady within a process), so one process
alone can report either.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "io" / "dicom"))  # the test-data writer


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_read(files: list[Path]) -> np.ndarray:
    import pydicom

    arrays = [pydicom.dcmread(f).pixel_array for f in files]
    return np.concatenate([a.reshape(-1, *a.shape[-2:]) for a in arrays])


COLUMNS = ("scan", "ours", "pydicom", "+float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_process:
        measure(args)
        return
    print(f"volume (240, 240, 155), int16; best of {args.repeat} passes per process (s)")
    header = " ".join(f"{c:>8}" for c in COLUMNS)
    print(f"{'layout':<9} {'process':>7} {header} {'pydicom/ours':>13} {'+float32/ours':>14}")
    rows: dict[str, list[list[float]]] = {}
    for k in range(args.processes):
        out = subprocess.run(
            [sys.executable, __file__, "--one-process", "--data", str(args.data)]
            + ["--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in out.splitlines():
            label, *values = line.split()
            rows.setdefault(label, []).append([float(v) for v in values])
            _print_row(label, str(k + 1), [float(v) for v in values])
    for label, values in rows.items():
        _print_row(
            label, "median", [statistics.median(column) for column in zip(*values, strict=True)]
        )


def _print_row(label: str, process: str, values: list[float]) -> None:
    scan, ours, base, base32 = values
    cells = " ".join(f"{v:8.4f}" for v in values)
    print(f"{label:<9} {process:>7} {cells} {base / ours:12.2f}x {base32 / ours:13.2f}x")


def measure(args) -> None:
    """One process's best times, one line per layout: label scan ours pydicom +float32."""
    import nibabel as nib
    from _dicom_writer import write_classic, write_enhanced

    from corebt_viewer.io.dicom import read_series_volume, scan_folder

    img = nib.load(args.data / "mri" / "TCGA-DU-7294" / "TCGA-DU-7294_t1_bet.nii.gz")
    data = np.asarray(img.dataobj).astype(np.int16)
    rng = np.random.default_rng(0)
    names = rng.permutation(data.shape[2])
    with tempfile.TemporaryDirectory() as tmp:
        classic, enhanced = Path(tmp) / "classic", Path(tmp) / "enhanced"
        write_classic(
            classic,
            data,
            img.affine,
            name=lambda k: f"x{names[k]:04d}",
            number=1,
            description="AX T1",
        )
        write_enhanced(
            enhanced / "mr.dcm",
            data,
            img.affine,
            order=rng.permutation(data.shape[2]),
            number=2,
            description="AX T1 3D",
        )
        for label, folder in (("classic", classic), ("enhanced", enhanced)):
            scan = scan_folder(folder)
            series = scan.series[0]
            files = list(series.files)
            volume = read_series_volume(series)
            assert volume.shape == (240, 240, 155) and plain_read(files).shape == (155, 240, 240)
            t_scan = best(lambda folder=folder: scan_folder(folder), args.repeat)
            ours, base, base32 = [], [], []
            for _ in range(args.repeat):  # alternate so all see the same cache and load
                ours.append(best(lambda series=series: read_series_volume(series), 1))
                base.append(best(lambda files=files: plain_read(files), 1))
                base32.append(best(lambda f=files: plain_read(f).astype(np.float32), 1))
            print(label, t_scan, min(ours), min(base), min(base32))


if __name__ == "__main__":
    main()
