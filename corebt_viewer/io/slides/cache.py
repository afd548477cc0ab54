"""A thread-safe, byte-capped LRU cache of slide tiles, shared by the lazy pyramid levels."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

DEFAULT_CACHE_BYTES = 256 * 2**20


class TileCache:
    """Least-recently-used cache of tiles (numpy arrays), capped in bytes.

    Safe to share between threads (napari's asynchronous slicing reads from worker
    threads). When two threads ask for the same missing tile, one reads it and the
    other waits for that read instead of reading it again.

    Parameters
    ----------
    max_bytes : int
        Upper bound of the bytes held; least recently used tiles are dropped first.

    Examples
    --------
    >>> cache = TileCache(max_bytes=1 << 20)
    >>> tile = cache.get_or_load(("slide", 0, 0, 0), lambda: np.zeros((4, 4, 3), np.uint8))
    >>> cache.hits, cache.misses, cache.nbytes
    (0, 1, 48)
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Event] = {}
        self.nbytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return (
            f"TileCache({len(self)} tiles, {self.nbytes / 2**20:.1f}/"
            f"{self.max_bytes / 2**20:.0f} MiB, hits={self.hits}, misses={self.misses})"
        )

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached tile for `key` (marked recently used), or ``None``."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
                self.hits += 1
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Store a tile (made read-only); tiles larger than the cap are not stored."""
        value = np.asarray(value)
        value.setflags(write=False)
        size = value.nbytes
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            if size > self.max_bytes:
                return
            self._data[key] = value
            self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, dropped = self._data.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def get_or_load(self, key: Hashable, loader: Callable[[], np.ndarray]) -> np.ndarray:
        """Return the tile for `key`, calling `loader` (once, across threads) when missing."""
        while True:
            with self._lock:
                value = self._data.get(key)
                if value is not None:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return value
                event = self._loading.get(key)
                owner = event is None
                if owner:
                    event = self._loading[key] = threading.Event()
                    self.misses += 1
            if not owner:
                event.wait()
                continue  # read by the other thread, or failed there: look again
            try:
                value = np.asarray(loader())
                self.put(key, value)
                return value
            finally:
                with self._lock:
                    self._loading.pop(key, None)
                event.set()

    def evict(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop the tiles whose key satisfies `predicate`; returns how many."""
        with self._lock:
            keys = [k for k in self._data if predicate(k)]
            for key in keys:
                self.nbytes -= self._data.pop(key).nbytes
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.nbytes = 0


_default_cache: TileCache | None = None
_default_lock = threading.Lock()


def default_tile_cache() -> TileCache:
    """The process-wide tile cache the pyramids use when given none."""
    global _default_cache
    with _default_lock:
        if _default_cache is None:
            _default_cache = TileCache()
        return _default_cache
