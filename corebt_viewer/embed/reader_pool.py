"""Parallel tile reading into (pinned) batches, overlapping the encoder.

Worker threads each hold their own slide handle (OpenSlide releases the GIL while it
decodes, so threads read in parallel); a producer thread fills batch ``k + 1`` and
``k + 2`` while the caller encodes batch ``k``. Tiles read at another size than the
encoder's input are resampled with Pillow (antialiased).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from corebt_viewer.embed.tiling import TileGrid

_DONE = object()


class TileReaderPool:
    """Read the tiles of a grid in batches with `workers` threads.

    Parameters
    ----------
    source : path or ndarray
        The slide (each worker opens its own handle on a path).
    grid : TileGrid
    batch_size : int
    workers : int
        Reading threads (at least 1).
    pin_memory : bool
        Allocate batches in pinned memory (faster copies to a GPU).
    prefetch : int
        Batches read ahead of the consumer.
    mpp_override : float, optional
    cancel : callable returning bool, optional
        Checked between batches; when it returns True reading stops.

    Examples
    --------
    >>> for start, tiles in TileReaderPool(path, grid, batch_size=32):  # doctest: +SKIP
    ...     features = encoder.encode(tiles)
    """

    def __init__(
        self,
        source: str | Path | np.ndarray,
        grid: TileGrid,
        *,
        batch_size: int = 64,
        workers: int = 2,
        pin_memory: bool = False,
        prefetch: int = 2,
        mpp_override: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ):
        self.source = source
        self.grid = grid
        self.batch_size = max(1, int(batch_size))
        self.workers = max(1, int(workers))
        self.pin_memory = bool(pin_memory)
        self.prefetch = max(1, int(prefetch))
        self.mpp_override = mpp_override
        self.cancel = cancel
        self._local = threading.local()
        self._handles: list = []
        self._lock = threading.Lock()

    def _reader(self):
        reader = getattr(self._local, "reader", None)
        if reader is None:
            from corebt_viewer.io.slides import open_slide

            reader = open_slide(self.source, mpp_override=self.mpp_override)
            self._local.reader = reader
            with self._lock:
                self._handles.append(reader)
        return reader

    def read_tile(self, index: int) -> np.ndarray:
        """Tile `index` of the grid, as (tile_size, tile_size, 3) uint8."""
        grid = self.grid
        x, y = (int(v) for v in grid.coords[index])
        tile = self._reader().read_region((x, y), grid.read_level, (grid.read_size, grid.read_size))
        if grid.read_size != grid.tile_size:
            from PIL import Image

            tile = np.asarray(
                Image.fromarray(np.ascontiguousarray(tile)).resize(
                    (grid.tile_size, grid.tile_size), Image.Resampling.BILINEAR
                )
            )
        return tile

    def _fill(self, out: np.ndarray, indices: range) -> None:
        for j, index in enumerate(indices):
            out[j] = self.read_tile(index)

    def _new_batch(self, n: int):
        import torch

        size = self.grid.tile_size
        batch = torch.empty((n, size, size, 3), dtype=torch.uint8, pin_memory=self.pin_memory)
        return batch

    def _produce(self, out_queue: queue.Queue, stop: threading.Event) -> None:
        n_tiles = len(self.grid)
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="tile-reader") as pool:
                for start in range(0, n_tiles, self.batch_size):
                    if stop.is_set() or (self.cancel is not None and self.cancel()):
                        break
                    stop_at = min(start + self.batch_size, n_tiles)
                    batch = self._new_batch(stop_at - start)
                    array = batch.numpy()
                    step = -(-(stop_at - start) // self.workers)
                    futures = [
                        pool.submit(
                            self._fill,
                            array[i - start : min(i + step, stop_at) - start],
                            range(i, min(i + step, stop_at)),
                        )
                        for i in range(start, stop_at, step)
                    ]
                    for future in futures:
                        future.result()
                    while not stop.is_set():
                        try:
                            out_queue.put((start, batch), timeout=0.1)
                            break
                        except queue.Full:
                            continue
        except BaseException as exc:  # hand reading errors to the consumer
            out_queue.put(exc)
            return
        out_queue.put(_DONE)

    def __iter__(self) -> Iterator[tuple[int, object]]:
        """Yield ``(first tile index, uint8 tensor (b, tile, tile, 3))`` in grid order."""
        out_queue: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        producer = threading.Thread(target=self._produce, args=(out_queue, stop), daemon=True)
        producer.start()
        try:
            while True:
                item = out_queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while producer.is_alive():
                try:
                    out_queue.get(timeout=0.1)
                except queue.Empty:
                    pass
            producer.join()
            self.close()

    def close(self) -> None:
        """Close every worker's slide handle."""
        with self._lock:
            for reader in self._handles:
                reader.close()
            self._handles.clear()
