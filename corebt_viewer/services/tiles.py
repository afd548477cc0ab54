"""``corebt tiles``: tissue mask, tile grid and tile coordinates of one slide."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from corebt_viewer.core.progress import ProgressCallback, report


@dataclass
class TilesSummary:
    """What :func:`tile_slide` wrote."""

    slide: Path
    n_tiles: int
    tissue_fraction: float
    tile_size_level0: int
    read_level: int
    mpp: float | None
    seconds: float
    files: dict[str, Path]
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [
            f"slide: {self.slide}",
            f"tissue: {self.tissue_fraction:.1%} of the slide; {self.n_tiles} tiles of {self.tile_size_level0} level-0 px (read at level {self.read_level})",
            f"resolution: {self.mpp if self.mpp else 'unknown'} um/px at level 0; detection and grid took {self.seconds:.2f} s",
        ]
        out += [f"note: {n}" for n in self.notes]
        out += [f"{k}: {v}" for k, v in self.files.items()]
        return out


def tile_slide(
    *,
    slide,
    out,
    target_mpp: float = 0.5,
    tile_size: int = 256,
    min_tissue: float = 0.25,
    mpp_override: float | None = None,
    progress: ProgressCallback | None = None,
) -> TilesSummary:
    """Detect tissue, lay the tile grid and write mask.png, grid.png and coords.csv/.h5 to `out`."""
    from corebt_viewer.embed.preview import write_tiling_outputs
    from corebt_viewer.embed.tiling import make_tile_grid
    from corebt_viewer.io.slides import open_slide

    out = Path(out)
    report(progress, 0, 2, f"detecting tissue on {Path(slide).name}", "tiles")
    started = time.perf_counter()
    with open_slide(slide, mpp_override=mpp_override) as reader:
        grid, tissue = make_tile_grid(
            reader, target_mpp=target_mpp, tile_size=tile_size, min_tissue=min_tissue
        )
        seconds = time.perf_counter() - started
        files = write_tiling_outputs(grid, tissue, out, slide_name=Path(slide).name)
    report(progress, 2, 2, f"{len(grid)} tiles", "tiles")
    return TilesSummary(
        slide=Path(slide),
        n_tiles=len(grid),
        tissue_fraction=tissue.fraction,
        tile_size_level0=grid.tile_size_level0,
        read_level=grid.read_level,
        mpp=grid.mpp,
        seconds=seconds,
        files=files,
        notes=grid.notes,
    )
