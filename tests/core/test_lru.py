"""The small LRU mapping shared by the predictor and the viewer's caches."""

import threading

import pytest

from corebt_viewer.core.lru import LRUCache


def test_least_recently_used_goes_first():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3)
    assert "b" not in cache and sorted(cache) == ["a", "c"]
    assert cache.get("b") is None and len(cache) == 2


def test_add_keeps_an_existing_value_and_put_replaces_it():
    cache = LRUCache(4)
    first, second = object(), object()
    assert cache.add("k", first) is first
    assert cache.add("k", second) is first
    cache.put("k", second)
    assert cache.get("k") is second
    del cache["k"]
    assert "k" not in cache
    cache.put("x", 1)
    cache.clear()
    assert len(cache) == 0


def test_many_threads_never_exceed_the_cap():
    cache = LRUCache(8)

    def work(offset):
        for i in range(2000):
            cache.put((offset, i % 20), i)
            cache.get((offset, (i + 7) % 20))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 8


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError):
        LRUCache(0)
