"""One BLAS thread while the model runs.

Why: the model's BLAS calls are matrix-vector products with a handful of columns (the
experience score, Σ β_k E_k, of a bill run's accounts and of each batch of calls), far
too small to share between threads. OpenBLAS starts one thread per core anyway, and its
threads spin waiting for the next call, which came every bill day: a replication at
3 million accounts used 18-25 CPU seconds for 10-15 s of wall time, the spinning core
slowed the event loop on the other (6.5-6.9 s against 4.8-5.2 s in the same run), and
in a process pool each worker's spinning thread took a core from the other worker.

The numbers do not change: a matrix-vector product splits its output rows between
threads and each row's dot product is computed whole by one of them, with the same
kernel (``tests/test_population.py`` checks it bit for bit at the model's sizes).
Scoped to the model (``sim.model.replication.run`` and the value of the base), not
process-wide: a researcher's own linear algebra, or a calibration's, keeps its threads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to the calling thread inside the block (threadpoolctl)."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


@functools.cache
def _controller() -> ThreadpoolController:
    """The process's BLAS libraries, found once: ``threadpool_limits`` scans every
    loaded library each time (2.3 ms with pandas, pyarrow and scipy loaded; an
    optimiser makes hundreds of runs), a controller's ``limit`` takes 0.02 ms. It knows
    the libraries loaded when it is made, at the first run, when numpy's (the one the
    model calls) is loaded."""
    return ThreadpoolController()
