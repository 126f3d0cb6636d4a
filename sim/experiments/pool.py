"""The one way billsim opens local worker processes (experiments and the staffing optimiser).

Fork where the platform has it: workers inherit the scenario and policy objects without
pickling, and a researcher's script needs no ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def worker_count(workers: int | None, jobs: int | None = None) -> int:
    """Workers to start: as asked (default all cores), never more than there are jobs."""
    n = max(1, workers or os.cpu_count() or 1)
    return n if jobs is None else max(1, min(n, jobs))


def process_pool(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes started by fork (spawn where fork is missing)."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=initializer,
        initargs=initargs,
    )
