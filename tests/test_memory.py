"""Freed memory goes back to the operating system at the model's high-water marks
(sim/core/memory.py)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from sim.core import memory

# In a fresh interpreter: 200 MB of 64 kB blocks (below glibc's threshold for blocks of
# their own mapping, so they come from the heap), one more block after them so that
# freeing cannot shrink the heap from its top, then everything but that block freed.
_CHILD = """
import sys
from sim.core.memory import give_back_free_memory
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
blocks = [bytearray(64 * 1024) for _ in range(3200)]
for b in blocks:
    b[::4096] = b"x" * len(b[::4096])  # touch every page
last = bytearray(64 * 1024)
del blocks
before = rss_mb()
give_back_free_memory()
print(before, rss_mb())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_freed_heap_memory_is_given_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = map(float, out.stdout.split())
    assert before - after > 150, (before, after)  # of the 200 MB freed


def test_without_malloc_trim_nothing_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    # musl, macOS, Windows: the lookup fails and the call does nothing, rather than raise
    def no_libc(*args: object, **kwargs: object) -> None:
        raise OSError("no such library")

    monkeypatch.setattr(memory.ctypes, "CDLL", no_libc)
    memory._malloc_trim.cache_clear()
    try:
        assert memory._malloc_trim() is None
        memory.give_back_free_memory()
    finally:
        memory._malloc_trim.cache_clear()
