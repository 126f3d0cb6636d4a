"""Give freed memory back to the operating system at the model's few high-water marks.

Why: glibc's allocator keeps freed heap memory for reuse instead of returning it, and
raises its threshold for serving large blocks from their own mappings after the first
such block is freed (up to 32 MB). The day loop allocates and frees per-bill-run arrays
of tens of thousands of accounts all year, so by its end a million-account run held
~50-65 MB of freed heap (576-591 MB resident against 521 MB after a trim), and the
results' tables were then computed on top of it. ``malloc_trim`` returns it (~4 ms).

Called once a month of the day loop and after it, never per call or per bill run (each
trim makes the next allocations fault their pages in again). Numbers cannot change: only
where free memory lives does. A no-op where the C library is not glibc (macOS, musl,
Windows). Dask's documentation gives the same advice for its workers' memory that
"is not released back to the OS".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


def give_back_free_memory() -> None:
    """Return the allocator's free heap memory to the operating system (glibc only)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once; None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim
