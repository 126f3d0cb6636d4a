"""Jobs of an experiment: one replication of one variant, its seed and its compact result.

Replication ``r`` of a variant uses ``replication_seed(scenario.seed, r)``: a function of
those two numbers only, so results do not depend on the executor, the number of workers
or the order jobs finish, and variants that share the scenario seed see the same
customers, bills and first-attempt calls in replication ``r`` (common random numbers).
Each job returns a compact ``RunSummary`` (KPIs and a few small tables) instead of the
full per-call arrays, so a sweep of hundreds of jobs crosses process or network
boundaries cheaply.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.core.rng import replication_seed
from sim.core.version import __version__
from sim.model.replication import simulate
from sim.results import Results
from sim.scenario import Scenario

TABLES: tuple[str, ...] = ("monthly", "intervals", "segments", "waits")
"""Per-run tables a job can keep besides its KPIs (``kpis`` is always kept)."""
DEFAULT_TABLES: tuple[str, ...] = ("monthly", "segments")


@dataclass(frozen=True)
class Variant:
    """A named way to run the operation: a scenario and optional policy objects.

    ``options`` are extra keyword arguments for ``simulate`` (``discount_policy=...``,
    ``priority_policy=...``, ``staffing_policy=...``); with a process pool or Dask they
    must be picklable (module-level classes, not lambdas).

    Fields: ``name`` (unique within an experiment), ``scenario`` (a validated
    ``Scenario``; its seed seeds the replications), ``options`` (see above).
    """

    name: str
    scenario: Scenario
    options: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """What identifies this variant's results: scenario content and options."""
        opts = {k: repr(v) for k, v in sorted(self.options.items())}
        return json.dumps([self.name, self.scenario.fingerprint(), opts])


@dataclass(frozen=True)
class Job:
    variant: str
    replication: int
    seed: int
    scenario: Scenario
    options: Mapping[str, Any]
    tables: tuple[str, ...]

    def describe(self) -> str:
        return f"variant '{self.variant}' replication {self.replication} (seed {self.seed})"


@dataclass
class RunSummary:
    """What one replication leaves behind: its KPIs and a few small tables.

    Fields: ``variant`` (name), ``replication`` (0-based index r), ``seed`` (derived
    from the scenario seed and r), ``kpis`` (KPI name → value, see
    ``sim.results.KPI_DEFINITIONS``), ``tables`` (table name → DataFrame, the names in
    ``TABLES`` that were kept), ``elapsed_s`` (wall time of the replication).
    """

    variant: str
    replication: int
    seed: int
    kpis: dict[str, float]
    tables: dict[str, pd.DataFrame]
    elapsed_s: float


@dataclass(frozen=True)
class JobFailure:
    """A job that raised: enough to reproduce it (variant, seed) and see why."""

    variant: str
    replication: int
    seed: int
    error: str
    traceback: str = ""

    def __str__(self) -> str:
        return (
            f"variant '{self.variant}' replication {self.replication} "
            f"(seed {self.seed}) failed: {self.error}"
        )


def run_tables(results: Results, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The per-run tables an experiment keeps, computed from one replication's Results."""
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        if name == "monthly":
            out[name] = results.monthly()
        elif name == "intervals":
            out[name] = results.intervals()
        elif name == "segments":
            segments = getattr(results, "segments", None)
            if segments is not None:
                out[name] = segments()
        elif name == "waits":
            out[name] = results.waits()
        else:
            raise ValueError(f"unknown table '{name}' (valid: {', '.join(TABLES)})")
    return out


def run_job(job: Job) -> RunSummary:
    """One replication; module-level so process pools and Dask workers can import it."""
    start = time.perf_counter()
    results = simulate(job.scenario, job.seed, **dict(job.options))
    return RunSummary(
        variant=job.variant,
        replication=job.replication,
        seed=job.seed,
        kpis=results.kpis(),
        tables=run_tables(results, job.tables),
        elapsed_s=time.perf_counter() - start,
    )


def jobs_for(
    variants: Sequence[Variant],
    replications: int,
    tables: Sequence[str] = DEFAULT_TABLES,
    first_replication: int = 0,
) -> list[Job]:
    """Every (variant, replication) job, replications outermost so a partial run has a
    few replications of every variant rather than all replications of a few.

    Replication indices run from ``first_replication``: a later stage of a study (more
    runs, fresh hold-out runs) continues the seeds instead of repeating them."""
    _check_variants(variants)
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
    if first_replication < 0:
        raise ValueError(f"first_replication must be >= 0 (got {first_replication})")
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown tables {unknown} (valid: {', '.join(TABLES)})")
    return [
        Job(
            variant=v.name,
            replication=r,
            seed=replication_seed(v.scenario.seed, r),
            scenario=v.scenario,
            options=dict(v.options),
            tables=tuple(tables),
        )
        for r in range(first_replication, first_replication + replications)
        for v in variants
    ]


def _check_variants(variants: Sequence[Variant]) -> None:
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    names = [v.name for v in variants]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"variant names must be unique (repeated: {', '.join(dupes)})")
    for v in variants:
        if not isinstance(v.scenario, Scenario):
            raise TypeError(f"variant '{v.name}': scenario must be a sim.Scenario")


def experiment_id(variants: Sequence[Variant], tables: Sequence[str]) -> str:
    """Identity of an experiment for the results store: variants, tables, package version.

    The number of replications is deliberately not part of it: asking for more
    replications of a stored experiment reuses the ones already run.
    """
    payload = json.dumps([__version__, sorted(tables), [v.key() for v in variants]])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
