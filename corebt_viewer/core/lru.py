"""A small thread-safe least-recently-used mapping."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most `max_items` values; the least recently used go first. Safe across threads.

    Parameters
    ----------
    max_items : int

    Examples
    --------
    >>> cache = LRUCache(2)
    >>> cache.put("a", 1); cache.put("b", 2); _ = cache.get("a"); cache.put("c", 3)
    >>> sorted(cache)
    ['a', 'c']
    """

    def __init__(self, max_items: int):
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        self.max_items = int(max_items)
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value for `key` (marked recently used), or ``None``."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Store `value` for `key`, replacing any value it had."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            self._trim()

    def add(self, key: Hashable, value: V) -> V:
        """Store `value` unless `key` has one already; returns the value kept."""
        with self._lock:
            kept = self._data.setdefault(key, value)
            self._data.move_to_end(key)
            self._trim()
            return kept

    def _trim(self) -> None:
        while len(self._data) > self.max_items:
            self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._data))

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            del self._data[key]
