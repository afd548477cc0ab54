"""Files that show a slide's tiling: tissue mask, thumbnail with the grid, coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corebt_viewer.embed.tiling import TileGrid
from corebt_viewer.embed.tissue import TissueMask


def draw_grid(tissue: TissueMask, grid: TileGrid, *, colour=(0, 160, 60)) -> np.ndarray:
    """The overview with the tissue outline tinted and every kept tile outlined."""
    from PIL import Image, ImageDraw

    image = tissue.overview.copy()
    edge = tissue.mask ^ _erode(tissue.mask)
    image[edge] = (40, 40, 220)
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    side = grid.tile_size_level0 / tissue.downsample
    for x, y in grid.coords:
        x0, y0 = x / tissue.downsample, y / tissue.downsample
        draw.rectangle([x0, y0, x0 + side - 1, y0 + side - 1], outline=colour)
    return np.asarray(pil)


def _erode(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.binary_erosion(mask, iterations=1, border_value=0)


def write_tiling_outputs(
    grid: TileGrid, tissue: TissueMask, out: Path, *, slide_name: str = ""
) -> dict[str, Path]:
    """Write ``mask.png``, ``grid.png``, ``coords.csv`` and ``coords.h5`` into `out`.

    Returns
    -------
    dict of str -> Path
    """
    import h5py
    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "mask": out / "mask.png",
        "grid": out / "grid.png",
        "coords_csv": out / "coords.csv",
        "coords_h5": out / "coords.h5",
    }
    Image.fromarray(tissue.mask.astype(np.uint8) * 255).save(files["mask"])
    Image.fromarray(draw_grid(tissue, grid)).save(files["grid"])
    with open(files["coords_csv"], "w") as fh:
        fh.write("x,y,tissue_fraction\n")
        for (x, y), f in zip(grid.coords, grid.tissue, strict=True):
            fh.write(f"{int(x)},{int(y)},{float(f):.4f}\n")
    with h5py.File(files["coords_h5"], "w") as h5:
        coords = h5.create_dataset("coords", data=grid.coords.astype(np.int64))
        for key, value in grid.attrs().items():
            coords.attrs[key] = value
        coords.attrs["name"] = slide_name
        coords.attrs["mask_downsample"] = tissue.downsample
        h5.create_dataset("tissue_fraction", data=grid.tissue)
    return files
