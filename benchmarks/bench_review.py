"""Mask review timings on the real TCGA-DU-7294 mask (240 x 240 x 155, 1 mm).

Prints the median of a few runs (seconds) for

* save: a corrected mask written as a new version (encode in the original's layout,
  gzip, temporary file, fsync, hard link, pointer update);
* autosave: the recovery file (compressed npz, atomic);
* edit_stats: region volumes, changed voxels and Dice against the original (the live table);
* islands / smooth / fill: the editing tools on the whole volume;
* surfaces: VTK surface nets + windowed sinc for every region, and the mesh / mask volume ratio;
* summary: the one-page PDF + PNG;
* db: review-database updates per second, one process and two processes at once.

Example::

    python benchmarks/bench_review.py --data ../shared/data/mri/TCGA-DU-7294
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _db_writer(root: str, name: str, n: int, start) -> None:
    from corebt_viewer.io.review_db import ReviewDB

    start.wait()
    with ReviewDB.for_cohort(root) as db:
        for i in range(n):
            db.update(f"{name}-{i % 20}", status="in_progress", append_note=str(i))


def db_rate(root: Path, processes: int, n: int = 200) -> float:
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(processes + 1)
    procs = [
        ctx.Process(target=_db_writer, args=(str(root), f"p{k}", n, start))
        for k in range(processes)
    ]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    return processes * n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/mri/TCGA-DU-7294")
    )
    args = parser.parse_args()

    from corebt_viewer.io import mask_recovery as mr
    from corebt_viewer.io import mask_versions as mv
    from corebt_viewer.io.review_db import ReviewDB
    from corebt_viewer.services import mask_editing as me
    from corebt_viewer.services import summary, surfaces

    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        original = tmp / "TCGA-DU-7294_seg_fusion_mav.nii.gz"
        shutil.copyfile(data / original.name, original)
        seg = mv.read_mask(original)
        labels = seg.labels.copy()
        labels[100:120, 100:120, 60:80] = 3
        rows = {
            "save version": timed(lambda: mv.save_version(labels, original=original)),
            "autosave (recovery)": timed(lambda: mr.write_recovery(labels, original=original)),
            "edit_stats": timed(lambda: me.edit_stats(seg.labels, labels, seg.voxel_size), 5),
            "remove islands": timed(
                lambda: me.remove_small_islands(labels, min_ml=0.1, voxel_size=seg.voxel_size)
            ),
            "smooth region": timed(lambda: me.smooth_region(labels, 2)),
            "fill between slices": timed(lambda: me.fill_between_slices(labels, 1)),
            "surfaces (all regions)": timed(
                lambda: surfaces.region_meshes(labels, affine=seg.affine)
            ),
            "summary pdf+png": timed(
                lambda: summary.render_case_summary(
                    case_id="bench", out=tmp / "summary", mask=labels, volumes=seg.volumes_ml()
                ),
                1,
            ),
        }
        for name, seconds in rows.items():
            print(f"{name:24s} {seconds * 1000:8.1f} ms")
        meshes = surfaces.region_meshes(labels, affine=seg.affine)
        volumes = me.edit_stats(labels, labels, seg.voxel_size).regions
        for mesh in meshes:
            print(
                f"mesh/mask volume {mesh.region.short:3s} {mesh.volume_ml:8.3f} / "
                f"{volumes[mesh.region].volume_ml:8.3f} mL = {mesh.volume_ml / volumes[mesh.region].volume_ml:.4f}"
            )
        ReviewDB.for_cohort(tmp / "cohort").close()
        print(f"db updates/s, 1 process  {db_rate(tmp / 'cohort', 1):8.0f}")
        print(f"db updates/s, 2 processes {db_rate(tmp / 'cohort', 2):7.0f}")


if __name__ == "__main__":
    main()
