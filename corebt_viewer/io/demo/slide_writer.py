"""Write a pyramidal, JPEG-tiled, Aperio-style TIFF tile by tile with bounded memory.

Level 0 is rendered tile by tile and streamed to :mod:`tifffile` through a tile generator; each
tile is also averaged 4 x 4 into a disk-backed memory map that becomes level 1, which is streamed
the same way into level 2, and so on, so memory use does not grow with the slide size. Pages follow
the Aperio SVS order (level 0, thumbnail, lower levels, label, macro) and the descriptions start
with ``Aperio Image Library`` and carry ``MPP``, so OpenSlide reads the vendor, the levels and the
microns per pixel. Levels are separate pages (not SubIFDs) and are written with
``metadata=None`` so that tifffile adds no description of its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

TILE = 256
DOWNSAMPLE = 4
GLASS = (242, 240, 243)
_LIBRARY = "Aperio Image Library v12.0.16"


def level_sizes(width: int, height: int, min_levels: int = 3) -> list[tuple[int, int]]:
    """(width, height) of each pyramid level: factor 4 apart, down to about 512 px or `min_levels`."""
    sizes = [(width, height)]
    while len(sizes) < 8:
        w, h = sizes[-1]
        if (max(w, h) <= 1024 and len(sizes) >= min_levels) or min(w, h) < 2 * DOWNSAMPLE:
            break
        sizes.append((max(1, w // DOWNSAMPLE), max(1, h // DOWNSAMPLE)))
    return sizes


def _description(width, height, size, mpp, name, extra=""):
    w, h = size
    head = f"{_LIBRARY} \r\n{width}x{height} [0,0 {width}x{height}] ({TILE}x{TILE})"
    if (w, h) != (width, height):
        head += f" -> {w}x{h}"
    fields = [
        f"{head} JPEG/RGB Q=80{extra}",
        "AppMag = 20",
        "StripeWidth = 2032",
        "ScanScope ID = DEMO-SCANNER",
        f"Filename = {name}",
        "Date = 01/01/26",
        "Time = 12:00:00",
        f"MPP = {mpp:.4f}",
        "Filtered = 5",
        "OriginalWidth = " + str(width),
        "OriginalHeight = " + str(height),
    ]
    return "|".join(fields)


def _block_mean(tile: np.ndarray, factor: int) -> np.ndarray:
    """Mean over `factor` x `factor` blocks (partial blocks at the edges are dropped)."""
    h, w = tile.shape[0] // factor, tile.shape[1] // factor
    t = tile[: h * factor, : w * factor].astype(np.uint32)
    rows = t[0::factor]
    for k in range(1, factor):
        rows = rows + t[k::factor]
    out = rows[:, 0::factor]
    for k in range(1, factor):
        out = out + rows[:, k::factor]
    return (out // (factor * factor)).astype(np.uint8)


def write_pyramid(
    path: Path,
    width: int,
    height: int,
    render: Callable[[int, int, int, int], np.ndarray],
    *,
    has_content: Callable[[int, int, int, int], bool] | None = None,
    mpp: float = 0.5,
    name: str = "slide",
    label: np.ndarray | None = None,
    macro: np.ndarray | None = None,
    quality: int = 80,
) -> list[tuple[int, int]]:
    """Write a pyramidal TIFF whose level-0 pixels come from ``render(y0, x0, h, w)``.

    Parameters
    ----------
    path : Path
        Output file (``.svs`` or ``.tif``).
    width, height : int
        Level-0 size in pixels.
    render : callable
        ``render(y0, x0, h, w) -> (h, w, 3) uint8`` for a level-0 region.
    has_content : callable, optional
        ``has_content(y0, x0, h, w) -> bool``; regions without content are blank glass
        (rendered without calling `render`).
    mpp : float
        Microns per pixel at level 0.
    label, macro : ndarray, optional
        Associated images (RGB uint8).

    Returns
    -------
    list of (width, height)
        The level sizes written.
    """
    import tifffile

    sizes = level_sizes(width, height)
    glass = np.array(GLASS, np.uint8)
    blank = np.empty((TILE, TILE, 3), np.uint8)
    blank[:] = glass
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tmp-pyramid-") as tmp:
        maps = []
        for k, (w, h) in enumerate(sizes[1:], start=1):
            mm = np.lib.format.open_memmap(Path(tmp) / f"level{k}.npy", "w+", np.uint8, (h, w, 3))
            mm[:] = glass
            maps.append(mm)
        thumb_cell = max(1, int(np.ceil(max(width, height) / 768 / 16)) * 16)
        thumb = np.empty((-(-height // thumb_cell), -(-width // thumb_cell), 3), np.uint8)
        thumb[:] = glass

        def level0_tiles() -> Iterator[np.ndarray]:
            down = maps[0] if maps else None
            for y0 in range(0, height, TILE):
                for x0 in range(0, width, TILE):
                    h, w = min(TILE, height - y0), min(TILE, width - x0)
                    if has_content is not None and not has_content(y0, x0, h, w):
                        yield blank
                        continue
                    tile = render(y0, x0, h, w)
                    if down is not None:
                        d = _block_mean(tile, DOWNSAMPLE)
                        down[
                            y0 // DOWNSAMPLE : y0 // DOWNSAMPLE + d.shape[0],
                            x0 // DOWNSAMPLE : x0 // DOWNSAMPLE + d.shape[1],
                        ] = d
                    if thumb_cell <= TILE:
                        t = _block_mean(tile, thumb_cell)
                        thumb[
                            y0 // thumb_cell : y0 // thumb_cell + t.shape[0],
                            x0 // thumb_cell : x0 // thumb_cell + t.shape[1],
                        ] = t
                    if (h, w) != (TILE, TILE):
                        full = np.empty((TILE, TILE, 3), np.uint8)
                        full[:] = glass
                        full[:h, :w] = tile
                        tile = full
                    yield tile

        def level_tiles(k: int) -> Iterator[np.ndarray]:
            src = maps[k - 1]
            down = maps[k] if k < len(maps) else None
            h_all, w_all = src.shape[:2]
            for y0 in range(0, h_all, TILE):
                for x0 in range(0, w_all, TILE):
                    tile = np.asarray(src[y0 : y0 + TILE, x0 : x0 + TILE])
                    if down is not None:
                        d = _block_mean(tile, DOWNSAMPLE)
                        down[
                            y0 // DOWNSAMPLE : y0 // DOWNSAMPLE + d.shape[0],
                            x0 // DOWNSAMPLE : x0 // DOWNSAMPLE + d.shape[1],
                        ] = d
                    if tile.shape[:2] != (TILE, TILE):
                        full = np.empty((TILE, TILE, 3), np.uint8)
                        full[:] = glass
                        full[: tile.shape[0], : tile.shape[1]] = tile
                        tile = full
                    yield tile

        opts = dict(
            tile=(TILE, TILE),
            compression="jpeg",
            compressionargs={"level": quality},
            photometric="rgb",
            metadata=None,
            dtype=np.uint8,
        )
        with tifffile.TiffWriter(path, bigtiff=width * height > 2**31 // 3) as tif:
            tif.write(
                level0_tiles(),
                shape=(height, width, 3),
                subfiletype=0,
                description=_description(width, height, (width, height), mpp, name),
                **opts,
            )
            if thumb_cell > TILE:  # huge slides: thumbnail from the smallest level
                thumb = np.asarray(maps[-1])
            tif.write(
                thumb,
                compression="jpeg",
                photometric="rgb",
                metadata=None,
                description=(
                    f"{_LIBRARY} \r\n{width}x{height} -> {thumb.shape[1]}x{thumb.shape[0]}"
                    f" - |AppMag = 20|MPP = {mpp:.4f}"
                ),
            )
            for k, (w, h) in enumerate(sizes[1:], start=1):
                tif.write(
                    level_tiles(k),
                    shape=(h, w, 3),
                    subfiletype=0,
                    description=_description(width, height, (w, h), mpp, name),
                    **opts,
                )
            if label is not None:
                tif.write(
                    label,
                    compression="lzw",
                    photometric="rgb",
                    metadata=None,
                    subfiletype=1,
                    description=f"{_LIBRARY} \r\nlabel {label.shape[1]}x{label.shape[0]}",
                )
            if macro is not None:
                tif.write(
                    macro,
                    compression="jpeg",
                    photometric="rgb",
                    metadata=None,
                    subfiletype=9,
                    description=f"{_LIBRARY} \r\nmacro {macro.shape[1]}x{macro.shape[0]}",
                )
        maps.clear()  # release the memory maps before the folder goes
    return sizes
