"""Executors: jobs mapped over serial, a local process pool or a Dask cluster.

Only the job (scenario, seed, options) travels to a worker and only its ``RunSummary``
comes back. A job whose worker died runs once more on a fresh worker (same seed, same
result): on Dask through its retries, in the local process pool by starting a new pool
for the jobs that the broken one lost. The Dask side lives in ``sim.experiments.cluster``
(loaded only when Dask is asked for: it needs the optional ``distributed``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from typing import Any

from sim.core.optional import require
from sim.experiments.jobs import Job, RunSummary, run_job
from sim.experiments.pool import process_pool, worker_count

EXECUTORS: tuple[str, ...] = ("serial", "process", "dask")
Outcome = tuple[Job, RunSummary | BaseException]
"""A job with its summary, or the exception it raised."""
Outcomes = Generator[Outcome, None, None]
POOL_RETRIES = 2
"""Fresh pools a job may need after workers died under it (as on Dask, plus one: a
dying worker also breaks the jobs that ran beside it)."""


def _map_serial(jobs: Sequence[Job]) -> Iterator[Outcome]:
    for job in jobs:
        try:
            yield job, run_job(job)
        except Exception as exc:  # reported as a JobFailure, the other jobs go on
            yield job, exc


def _map_futures(
    submit: Callable[[Job], Future], jobs: Sequence[Job], wait: Callable[[list], Iterator]
) -> Outcomes:
    futures = {}
    try:
        for job in jobs:
            futures[submit(job)] = job
        for fut in wait(list(futures)):
            job = futures[fut]
            try:
                yield job, fut.result()
            except Exception as exc:
                yield job, exc
    finally:
        for fut in futures:
            fut.cancel()


def _map_pool(jobs: Sequence[Job], pool: Executor) -> Outcomes:
    return _map_futures(lambda j: pool.submit(run_job, j), jobs, as_completed)


def _map_process(jobs: Sequence[Job], workers: int | None) -> Outcomes:
    """Jobs over a local process pool; when a worker dies (killed, out of memory) the
    pool breaks, and every job it lost runs again on a fresh pool, up to POOL_RETRIES."""
    pending = list(jobs)
    lost: dict[tuple[str, int], int] = {}
    while pending:
        pool = process_pool(worker_count(workers, len(pending)))
        futures: dict[Future, Job] = {}
        retry: list[Job] = []
        try:
            for job in pending:
                futures[pool.submit(run_job, job)] = job
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    outcome: RunSummary | BaseException = fut.result()
                except BrokenProcessPool as exc:
                    key = (job.variant, job.replication)
                    lost[key] = lost.get(key, 0) + 1
                    if lost[key] <= POOL_RETRIES:
                        retry.append(job)
                        continue
                    outcome = exc
                except Exception as exc:
                    outcome = exc
                yield job, outcome
        finally:
            for fut in futures:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        pending = retry


def _map_dask(jobs: Sequence[Job], client: Any) -> Outcomes:
    cluster = require("sim.experiments.cluster")
    cluster.warm(client)  # once per client: later registrations are no-ops
    return cluster.map_jobs(client, jobs)


class JobRunner:
    """Opens the chosen executor, maps jobs over it, closes what it opened."""

    def __init__(self, executor: str | Executor | Any, workers: int | None, dask: str | None):
        self.executor = executor
        self.workers = workers
        self.dask = dask
        self._close: list[Callable[[], None]] = []

    def map(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        ex = self.executor
        if isinstance(ex, Executor):
            return self._closing(_map_pool(jobs, ex))
        if hasattr(ex, "submit") and hasattr(ex, "scheduler"):  # a dask Client
            return self._closing(_map_dask(jobs, ex))
        if ex == "serial" or (ex == "process" and (len(jobs) <= 1 or self.workers == 1)):
            return _map_serial(jobs)
        if ex == "process":
            return self._closing(_map_process(jobs, self.workers))  # closing shuts the pool
        if ex == "dask":
            return self._closing(_map_dask(jobs, self._dask_client()))
        raise ValueError(f"unknown executor {ex!r} (valid: {', '.join(EXECUTORS)})")

    def _closing(self, gen: Outcomes) -> Outcomes:
        """``gen``, closed with this runner: its jobs not yet finished are cancelled."""
        self._close.append(gen.close)
        return gen

    def _dask_client(self) -> Any:
        """A client of the cluster at ``self.dask`` or of a local one started here."""
        cluster = require("sim.experiments.cluster")
        if self.dask:
            client = cluster.connect(self.dask)
        else:
            local = cluster.local_cluster(self.workers or os.cpu_count() or 1)
            self._close.append(local.close)
            client = cluster.connect(local)
        self._close.append(client.close)
        return client

    def close(self) -> None:
        while self._close:
            with suppress(Exception):  # closing must not hide the experiment's outcome
                self._close.pop()()
