"""A small memo of results keyed by a digest of their inputs' bytes.

Why: runs that share a seed share their accounts at the start (common random numbers
across strategies: every staffing and discount plan of replication r sees the same
customers), and some results depend on those alone -- the value of the base at the start
of the horizon is about a sixth of a one-month run's time (0.14 of ~0.9 s), paid by every
candidate of an optimiser. The key is a digest of the inputs themselves (the arrays'
bytes, dtypes and shapes, and any text such as a model's parameters), so a hit returns
what the same computation on the same bytes returned: never an approximation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


def digest(*parts: np.ndarray | str) -> bytes:
    """A 32-byte key of ``parts``: each array's dtype, shape and bytes, each text as
    UTF-8, in order (BLAKE2b, ~550 MB/s: 6.5 ms for 200 000 accounts' three columns)."""
    h = hashlib.blake2b(digest_size=32)
    for part in parts:
        if isinstance(part, str):
            h.update(b"s%d:" % len(part.encode()))
            h.update(part.encode())
            continue
        a = np.ascontiguousarray(part)
        h.update(f"a{a.dtype.str}{a.shape}:".encode())
        h.update(memoryview(a).cast("B"))
    return h.digest()


class Memo(Generic[T]):
    """The last ``size`` results by key, least recently used dropped first; safe to share
    between threads (the app runs a session per thread). ``hits`` and ``misses`` count
    look-ups, for tests and benchmarks."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a memo keeps at least one result (got {size})")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[bytes, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, compute: Callable[[], T]) -> T:
        """The result kept under ``key``, or ``compute()`` kept under it. Two threads that
        miss the same key both compute it (the same value); the lock is never held while
        computing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0
