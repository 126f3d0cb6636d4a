"""Many replications of many variants: run every job, keep what finished, resume from the store.

A failing job becomes a ``JobFailure`` naming its variant and seed; the other jobs still
finish. With a results store (``sim.experiments.store``) every finished job is committed
as it arrives, and running the same experiment again skips the jobs already stored: that
is how an interrupted sweep resumes.
"""

from __future__ import annotations

import contextlib
import traceback
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from sim.core.progress import ProgressFn
from sim.experiments.executors import JobRunner
from sim.experiments.jobs import (
    DEFAULT_TABLES,
    JobFailure,
    RunSummary,
    Variant,
    experiment_id,
    jobs_for,
)
from sim.experiments.result import ExperimentResult
from sim.experiments.store import Store, StoreError
from sim.scenario import Scenario


def run_experiment(
    variants: Sequence[Variant],
    replications: int = 5,
    *,
    executor: str | Executor | Any = "process",
    workers: int | None = None,
    dask: str | None = None,
    tables: Sequence[str] = DEFAULT_TABLES,
    progress: ProgressFn | None = None,
    store: Store | None = None,
    name: str | None = None,
    baseline: str | None = None,
    raise_on_failure: bool = False,
    first_replication: int = 0,
) -> ExperimentResult:
    """Run every replication of every variant; failures are collected and warned about
    (``ExperimentFailuresWarning``), or raised as ``ExperimentFailed`` with
    ``raise_on_failure``, so a variant missing from the summary never goes unnoticed.

    The store is a keeper, not a dependency: if it fails mid-run (disk full, a corrupt
    file) a ``StoreFailedWarning`` is issued, the store is left alone from then on and
    the experiment finishes in memory, so its results can still be written elsewhere.

    ``executor``: "serial", "process" (a local process pool with ``workers`` processes,
    default all cores), "dask" (the cluster at scheduler address ``dask``, e.g.
    ``tcp://host:8786``, or a local cluster when no address is given), or a ready
    ``concurrent.futures.Executor`` / ``distributed.Client``. With a ``store``, finished
    jobs are committed one by one and jobs already in the store are not run again.

    ``first_replication`` starts the replication indices (and so the seeds) there:
    replications ``first_replication .. first_replication + replications - 1``, e.g. fresh
    hold-out runs after a search's. It cannot be combined with a store (which resumes by
    index from 0).
    """
    if first_replication and store is not None:
        raise ValueError("first_replication cannot be combined with a results store")
    all_jobs = jobs_for(variants, replications, tables, first_replication)
    exp_id = experiment_id(variants, tables)
    label = name or (variants[0].name if len(variants) == 1 else f"{len(variants)} variants")
    done: dict[tuple[str, int], RunSummary] = {}
    if store is not None:
        try:
            store.begin_experiment(exp_id, label, variants, replications, tables, baseline)
            done = store.finished_runs(exp_id)
        except StoreError as exc:
            store = _store_failed(exc)
    todo = [j for j in all_jobs if (j.variant, j.replication) not in done]
    runs = {k: v for k, v in done.items() if k[1] < replications}
    failures: list[JobFailure] = []
    total = len(all_jobs)
    if progress is not None:
        resumed = f", {len(runs)} already stored" if runs else ""
        progress(len(runs) / total, f"{len(runs)}/{total} runs{resumed}")
    runner = JobRunner(executor, workers, dask)
    try:
        for job, outcome in runner.map(todo) if todo else iter(()):
            if isinstance(outcome, BaseException):
                fail = JobFailure(
                    job.variant,
                    job.replication,
                    job.seed,
                    f"{type(outcome).__name__}: {outcome}",
                    "".join(traceback.format_exception(outcome)),
                )
                failures.append(fail)
                if store is not None:
                    try:
                        store.record_failure(exp_id, fail)
                    except StoreError as exc:
                        store = _store_failed(exc)
            else:
                runs[(job.variant, job.replication)] = outcome
                if store is not None:
                    try:
                        store.record_run(exp_id, outcome)
                    except StoreError as exc:
                        store = _store_failed(exc)
            if progress is not None:
                n = len(runs) + len(failures)
                progress(n / total, f"{n}/{total} runs: {job.variant} #{job.replication}")
    except BaseException:
        if store is not None:  # Ctrl-C or a broken executor: the next run resumes it
            # the interrupt is the news; the next start recovers the status
            with contextlib.suppress(StoreError):
                store.finish_experiment(exp_id, "interrupted")
        raise
    finally:
        runner.close()
    if store is not None:
        try:
            store.finish_experiment(exp_id, "failed" if failures else "complete")
        except StoreError as exc:
            _store_failed(exc)
    if failures:
        names = sorted({f.variant for f in failures})
        message = (
            f"{len(failures)} of {total} runs failed (variants: {', '.join(names)}); "
            "their replications are missing from the summary"
        )
        if raise_on_failure:
            raise ExperimentFailed(message, failures)
        warnings.warn(message, ExperimentFailuresWarning, stacklevel=2)
    return ExperimentResult(
        variants=list(variants),
        replications=replications,
        runs=runs,
        failures=failures,
        experiment_id=exp_id,
        name=label,
        baseline=baseline,
        resumed=sum(1 for key in done if key[1] < replications),
        first_replication=first_replication,
    )


class ExperimentFailuresWarning(UserWarning):
    """Some runs of an experiment raised; the summary lacks their replications."""


class StoreFailedWarning(UserWarning):
    """The results store failed during an experiment; the rest ran without it."""


class ExperimentFailed(RuntimeError):
    """``run_experiment(..., raise_on_failure=True)`` and some runs failed."""

    def __init__(self, message: str, failures: list[JobFailure]) -> None:
        super().__init__(message)
        self.failures = failures


def _store_failed(exc: StoreError) -> None:
    warnings.warn(
        f"{exc}; the experiment goes on without the store", StoreFailedWarning, stacklevel=3
    )
    return None


def replicate(
    scenario: Scenario, replications: int = 5, **kwargs: Any
) -> ExperimentResult:  # pragma: no cover - thin convenience
    """``run_experiment`` for one scenario run as it is."""
    options = kwargs.pop("options", {})
    return run_experiment([Variant(scenario.name, scenario, options)], replications, **kwargs)
