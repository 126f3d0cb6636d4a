"""The one way billsim opens local worker processes (experiments and the staffing optimiser).

Fork where the platform has it: workers inherit the scenario and policy objects without
pickling, and a researcher's script needs no ``if __name__ == "__main__"`` guard.

Workers die with their parent: on Linux each asks the kernel for SIGKILL when its parent
exits (``prctl(PR_SET_PDEATHSIG)``, which covers a SIGKILLed parent too); elsewhere a
watch thread exits the worker once its parent is gone. Without this, a killed CLI left
forked workers of ~180 MB alive, holding the caller's pipes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1
_WATCH_EVERY_S = 1.0


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when process ``parent`` does (called first in a worker)."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(_WATCH_EVERY_S)
            os._exit(1)

        threading.Thread(target=watch, name="billsim-parent-watch", daemon=True).start()


def _init_worker(
    parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    _die_with_parent(parent)
    # the parent handles Ctrl-C and SIGTERM (and shuts the pool down); a worker that
    # raised KeyboardInterrupt mid-job would only add a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


def worker_count(workers: int | None, jobs: int | None = None) -> int:
    """Workers to start: as asked (default all cores), never more than there are jobs."""
    n = max(1, workers or os.cpu_count() or 1)
    return n if jobs is None else max(1, min(n, jobs))


def process_pool(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A process pool of ``workers`` processes started by fork (spawn where fork is
    missing), whose workers exit when this process dies."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(os.getpid(), initializer, initargs),
    )
