"""Lazy array-likes over one pyramid level: indexing reads only the tiles it needs."""

from __future__ import annotations

import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from corebt_viewer.io.slides.cache import TileCache

if TYPE_CHECKING:
    from corebt_viewer.io.slides.reader import SlideReader

TILE_SIZE = 256
#: ``np.asarray(level)`` is refused above this size: index a region instead.
MAX_ARRAY_BYTES = 64 * 2**20
#: Threads that read the missing tiles of one request in parallel (OpenSlide reads are
#: thread-safe and release the GIL while decoding).
READ_THREADS = max(2, min(4, os.cpu_count() or 2))

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_pool = threading.local()


def _read_pool() -> ThreadPoolExecutor:
    """The process-wide tile-reading thread pool (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=READ_THREADS,
                thread_name_prefix="corebt-tiles",
                initializer=_mark_pool_thread,
            )
        return _pool


def _mark_pool_thread() -> None:
    _in_pool.active = True


class LazyLevel:
    """One level of a slide pyramid as a read-only ``(rows, cols, 3)`` uint8 array-like.

    Indexing with integers, slices (any step), an integer array (on one axis) or ``...``
    on the row and column axes reads only the ``tile_size`` tiles the selection touches, through a
    shared :class:`TileCache`. This is what napari needs for a multiscale image layer
    (``shape``, ``dtype``, ``ndim``, ``__getitem__``); ``np.asarray`` works only for
    levels under ``MAX_ARRAY_BYTES`` (the small levels napari loads whole).

    Parameters
    ----------
    reader : SlideReader
    level : int
    cache : TileCache
    tile_size : int
    """

    def __init__(
        self, reader: SlideReader, level: int, cache: TileCache, tile_size: int = TILE_SIZE
    ):
        if tile_size < 16:
            raise ValueError("tile_size must be at least 16")
        width, height = reader.level_dimensions[level]
        self.reader = reader
        self.level = level
        self.cache = cache
        self.tile_size = int(tile_size)
        self.shape = (int(height), int(width), 3)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size

    @property
    def downsample(self) -> float:
        return float(self.reader.level_downsamples[self.level])

    @property
    def chunks(self) -> tuple[int, int, int]:
        return (self.tile_size, self.tile_size, 3)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        name = self.reader.info().name
        return f"LazyLevel({name!r}, level={self.level}, shape={self.shape}, tile={self.tile_size})"

    def __array__(self, dtype=None, copy=None):
        if self.nbytes > MAX_ARRAY_BYTES:
            raise ValueError(
                f"level {self.level} of {self.reader.info().name} is {self.shape[1]}x"
                f"{self.shape[0]} px ({self.nbytes / 2**20:.0f} MiB): too large to load "
                "whole; index a region instead"
            )
        out = self[:, :, :]
        return out if dtype is None else out.astype(dtype, copy=False)

    def to_dask(self):
        """This level as a dask array with one chunk per tile (dask imported lazily)."""
        import dask.array as da

        return da.from_array(
            self, chunks=self.chunks, asarray=False, fancy=False, meta=np.empty((0, 0, 0), np.uint8)
        )

    # -- indexing ---------------------------------------------------------------------

    def __getitem__(self, key) -> np.ndarray:
        rows_key, cols_key, channel_key = _split_key(key)
        if _is_array(rows_key) and _is_array(cols_key):
            raise IndexError(
                "index arrays on both rows and columns are not supported; index one axis at a time"
            )
        rows, rows_scalar = _positions(rows_key, self.shape[0], "row")
        cols, cols_scalar = _positions(cols_key, self.shape[1], "column")
        out = self._gather(rows, cols)
        out = out[0 if rows_scalar else slice(None), 0 if cols_scalar else slice(None)]
        if isinstance(channel_key, slice) and channel_key == slice(None):
            return out
        return out[..., channel_key]

    def _gather(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, cols.size, 3), np.uint8)
        if rows.size == 0 or cols.size == 0:
            return out
        size = self.tile_size
        row_tiles = rows // size
        col_tiles = cols // size
        tys, txs = np.unique(row_tiles), np.unique(col_tiles)
        tiles = self._tiles([(int(tx), int(ty)) for ty in tys for tx in txs])
        for ty in tys:
            pos_r = np.flatnonzero(row_tiles == ty)
            local_r = _as_index(rows[pos_r] - ty * size)
            where_r = _as_index(pos_r)
            for tx in txs:
                pos_c = np.flatnonzero(col_tiles == tx)
                local_c = _as_index(cols[pos_c] - tx * size)
                where_c = _as_index(pos_c)
                tile = tiles[int(tx), int(ty)]
                if isinstance(local_r, slice) and isinstance(local_c, slice):
                    block = tile[local_r, local_c]  # a view: one copy, into `out`
                else:
                    block = tile[local_r][:, local_c]
                if not isinstance(where_r, slice) and not isinstance(where_c, slice):
                    out[np.ix_(where_r, where_c)] = block
                else:
                    out[where_r, where_c] = block
        return out

    def _tiles(self, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        """The tiles `wanted`, reading the uncached ones in parallel on the read pool."""
        missing = [t for t in wanted if self._key(*t) not in self.cache]
        futures = {}
        if len(missing) > 1 and not getattr(_in_pool, "active", False):
            pool = _read_pool()
            futures = {t: pool.submit(self._tile, *t) for t in missing[1:]}
        found = {t: self._tile(*t) for t in wanted if t not in futures}
        for t, future in futures.items():
            # a read still queued is done here: waiting on it could wait forever when
            # every pool thread waits on a tile that this thread (or its caller) is reading
            found[t] = self._tile(*t) if future.cancel() else future.result()
        return found

    def _key(self, tx: int, ty: int) -> tuple:
        return (self.reader.token, self.level, self.tile_size, tx, ty)

    def _tile(self, tx: int, ty: int) -> np.ndarray:
        return self.cache.get_or_load(
            self._key(tx, ty), lambda: self.reader.read_tile(self.level, tx, ty, self.tile_size)
        )


class DownsampledLevel(LazyLevel):
    """A level the file lacks: the level above halved (2x2 box mean), built tile by tile.

    Lets a slide without a (deep enough) pyramid still offer a small overview level,
    without ever holding a whole level: each tile reads four tiles of its parent
    through the shared cache.

    Parameters
    ----------
    parent : LazyLevel
        The next larger level.
    """

    def __init__(self, parent: LazyLevel):
        self.reader = parent.reader
        self.level = parent.level + 1
        self.cache = parent.cache
        self.tile_size = parent.tile_size
        self.parent = parent
        height, width = parent.shape[:2]
        self.shape = ((height + 1) // 2, (width + 1) // 2, 3)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3

    @property
    def downsample(self) -> float:
        return 2.0 * self.parent.downsample

    def _key(self, tx: int, ty: int) -> tuple:
        return (self.reader.token, "halved", self.level, self.tile_size, tx, ty)

    def _tile(self, tx: int, ty: int) -> np.ndarray:
        size = self.tile_size
        key = self._key(tx, ty)

        def load() -> np.ndarray:
            block = self.parent[
                2 * ty * size : 2 * (ty + 1) * size, 2 * tx * size : 2 * (tx + 1) * size
            ]
            return halve_rgb(block)

        return self.cache.get_or_load(key, load)


def halve_rgb(image: np.ndarray) -> np.ndarray:
    """2x2 box mean of an (h, w, c) uint8 image; odd edges are padded by repetition."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge").astype(np.uint16)
    summed = padded[0::2, 0::2] + padded[1::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 1::2]
    return ((summed + 2) // 4).astype(np.uint8)


def _split_key(key) -> tuple[object, object, object]:
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = 3 - (len(key) - 1)
        key = key[:at] + (slice(None),) * fill + key[at + 1 :]
    if len(key) > 3:
        raise IndexError(f"too many indices for a (rows, cols, 3) slide level: {len(key)}")
    key = key + (slice(None),) * (3 - len(key))
    return key[0], key[1], key[2]


def _is_array(key) -> bool:
    return not isinstance(key, slice) and np.ndim(key) > 0


def _positions(key, length: int, axis: str) -> tuple[np.ndarray, bool]:
    """Positions selected by `key` on an axis of `length`, and whether it was a scalar."""
    if isinstance(key, slice):
        return np.arange(*key.indices(length), dtype=np.int64), False
    if key is None:
        raise IndexError("np.newaxis is not supported on slide levels")
    try:
        index = operator.index(key)
    except TypeError:
        arr = np.asarray(key)
        if arr.dtype == bool:
            if arr.shape != (length,):
                raise IndexError(f"boolean {axis} index of wrong length") from None
            return np.flatnonzero(arr).astype(np.int64), False
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise IndexError(f"unsupported {axis} index {key!r}") from None
        arr = arr.astype(np.int64)
        arr = np.where(arr < 0, arr + length, arr)
        if arr.size and (arr.min() < 0 or arr.max() >= length):
            raise IndexError(f"{axis} index out of range for size {length}") from None
        return arr, False
    if not -length <= index < length:
        raise IndexError(f"{axis} index {index} out of range for size {length}")
    return np.array([index % length], dtype=np.int64), True


def _as_index(positions: np.ndarray):
    """A slice when `positions` is a contiguous ascending run (fast copies), else the array."""
    if positions.size and positions[-1] - positions[0] == positions.size - 1:
        if positions.size == 1 or np.all(np.diff(positions) == 1):
            return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions
