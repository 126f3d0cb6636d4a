"""Jobs on a Dask cluster: reach one or start a local one, warm its workers, map jobs over it.

Dask should cost a job of a second or more only a few per cent of its run time (issue 17).
What stood in the way, measured on 2 local workers, and what this module does about it:

- **Dask's malloc setting.** A Dask nanny starts its workers with
  ``MALLOC_TRIM_THRESHOLD_=65536``, which switches off glibc's adaptive mmap threshold:
  every array above 128 kB is then mapped and unmapped afresh (315 000 page faults a
  replication instead of 3 000-11 000), and a replication spent 25-40 % more CPU than in
  a plain process. A local cluster started here leaves the variable out
  (``local_cluster``); workers started elsewhere keep what they were given.
- **Housekeeping.** Each worker samples its running task's stack every 10 ms for the
  dashboard's profiler, checks its memory every 100 ms, system metrics every 500 ms and
  its event loop every 20 ms: 4.3 % of a core per idle worker here, each wake-up taking
  the GIL from the running job. A local cluster started here runs without the profiler
  and checks the rest less often (0.9 %). Whether a job gains the same few per cent was
  below what this shared machine resolves (identical set-ups differed by up to 15 %).
- **The first job's imports.** A fresh worker imported the model inside its first job
  (about 1 s, as long as the job itself). ``warm`` registers a worker plugin that imports
  it when the worker joins, so a cluster's start-up pays it once, and workers that join
  later are warmed too.
- **One graph update.** The jobs go to the scheduler in one ``client.map`` call, not one
  message per job; ``pure=False`` so that every replication runs, and one retry so that a
  job whose worker died runs again elsewhere (same seed, same result).

What travels is small already: a job (scenario, seed, options) pickles to about 7 kB in
0.3 ms, and only its ``RunSummary`` (KPIs and small tables, a few kB) comes back, so the
scenario is not scattered separately.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Sequence
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from sim.experiments.jobs import Job, RunSummary, run_job

RETRIES = 1
DASHBOARD = "127.0.0.1:0"
"""A local cluster's dashboard: loopback only, never every interface."""
MODEL_MODULES: tuple[str, ...] = ("sim.experiments.jobs", "sim.model.replication", "sim.results")
"""What a worker imports when it joins: everything a job touches."""
LOCAL_SETTINGS: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "100ms",
}
"""Dask settings of a local cluster started here (see the module docstring): a memory
check each second still stops a runaway worker long before it fills the machine."""


class WarmWorkers(WorkerPlugin):
    """Imports the model on every worker as it joins, not inside its first job."""

    idempotent = True  # registering it again (another experiment, same client) is a no-op
    name = "billsim-warm-workers"

    def setup(self, worker: Any) -> None:
        for module in MODEL_MODULES:
            importlib.import_module(module)


def local_cluster(workers: int) -> LocalCluster:
    """``workers`` local worker processes of one thread each, started with
    ``LOCAL_SETTINGS`` (no malloc trimming, no profiler, quieter housekeeping)."""
    with dask.config.set(LOCAL_SETTINGS):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=DASHBOARD,
        )


def connect(cluster: str | LocalCluster) -> Client:
    """A client of ``cluster`` (a scheduler address or a local cluster); one line of
    error if the address cannot be reached."""
    if isinstance(cluster, LocalCluster):
        return Client(cluster)
    try:
        return Client(cluster, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None


def warm(client: Client) -> None:
    """Have every worker of ``client``'s cluster, present and future, import the model."""
    client.register_plugin(WarmWorkers())


def map_jobs(
    client: Client, jobs: Sequence[Job]
) -> Generator[tuple[Job, RunSummary | BaseException], None, None]:
    """Each job with its summary, or the exception it raised, in the order they finish;
    jobs not yet finished are cancelled when the iterator is closed."""
    futures = client.map(run_job, list(jobs), pure=False, retries=RETRIES)
    job_of = dict(zip(futures, jobs, strict=True))
    try:
        for fut in as_completed(futures):
            job = job_of[fut]
            try:
                yield job, fut.result()
            except Exception as exc:  # reported as a JobFailure, the other jobs go on
                yield job, exc
    finally:
        client.cancel(futures)
