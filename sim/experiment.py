"""Many replications of many variants: seeds, executors, confidence intervals, comparisons.

A *job* is one replication of one *variant* (a scenario plus optional policy objects).
Replication ``r`` of a variant uses ``replication_seed(scenario.seed, r)``: a function of
those two numbers only, so

- results do not depend on the executor, the number of workers or the order jobs finish;
- variants that share the scenario seed see the same customers, bills and first-attempt
  calls in replication ``r`` (common random numbers), which is what makes the paired
  differences of ``ExperimentResult.paired`` much tighter than two independent intervals.

Each job returns a compact ``RunSummary`` (KPIs and a few small tables) instead of the
full per-call arrays, so a sweep of hundreds of jobs fits in memory and crosses process
or network boundaries cheaply. A failing job becomes a ``JobFailure`` naming its variant
and seed; the other jobs still finish. With a results store (``sim.store``) every
finished job is committed as it arrives, and running the same experiment again skips
the jobs already stored: that is how an interrupted sweep resumes.

Summary statistics (defined here once):

- **mean, sd** over replications (sd with ``ddof=1``);
- **95 % confidence interval** = mean ± t(0.975, n−1) · sd / √n (Student t; needs n ≥ 2),
  cut at the natural bounds of the KPI (shares in [0, 1]; times and counts ≥ 0);
- **paired difference** of a KPI between a variant and the baseline = mean over
  replications of (variant − baseline) in the *same* replication, with the same t-interval
  on the differences. Replications where either value is undefined (NaN) are left out.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy import stats

from sim import __version__
from sim.callcenter import ABANDONED, ANSWERED
from sim.files import atomic_dir
from sim.metrics import KPI_DEFINITIONS, Results
from sim.model import simulate
from sim.rng import replication_seed
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_yaml, read_text_file

if TYPE_CHECKING:
    from sim.store import Store

ProgressFn = Callable[[float, str], None]
"""``(fraction done 0..1, message)``: the same callback ``simulate`` takes, so the CLI's
progress bar and the app's progress element serve single runs and experiments alike."""

TABLES: tuple[str, ...] = ("monthly", "intervals", "segments", "waits")
"""Per-run tables a job can keep besides its KPIs (``kpis`` is always kept)."""
DEFAULT_TABLES: tuple[str, ...] = ("monthly", "segments")
EXECUTORS: tuple[str, ...] = ("serial", "process", "dask")
DASK_RETRIES = 1
KEYS: tuple[str, ...] = ("variant", "replication", "seed")


# ---- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A named way to run the operation: a scenario and optional policy objects.

    ``options`` are extra keyword arguments for ``simulate`` (``discount_policy=...``,
    ``priority_policy=...``, ``staffing_policy=...``); with a process pool or Dask they
    must be picklable (module-level classes, not lambdas).
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
    """What one replication leaves behind: its KPIs and a few small tables."""

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
            out[name] = results.monthly
        elif name == "intervals":
            out[name] = results.intervals()
        elif name == "segments":
            segments = getattr(results, "segments", None)
            if segments is not None:
                out[name] = segments()
        elif name == "waits":
            out[name] = _waits(results)
        else:
            raise ValueError(f"unknown table '{name}' (valid: {', '.join(TABLES)})")
    return out


def _waits(results: Results) -> pd.DataFrame:
    """Waits of answered and abandoned attempts (float32): the wait distribution."""
    c = results.raw.calls
    status = c["status"]
    done = (status == ANSWERED) | (status == ABANDONED)
    abandoned = status[done] == ABANDONED
    # an abandoned caller's wait ends at their patience deadline (metrics.Results.calls)
    end = np.where(abandoned, c["deadline"][done], c["t_answer"][done])
    wait = end - c["t_arrive"][done]
    return pd.DataFrame(
        {
            "wait_s": wait.astype(np.float32),
            "outcome": pd.Categorical(
                np.where(abandoned, "abandoned", "answered"), ["answered", "abandoned"]
            ),
        }
    )


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
    variants: Sequence[Variant], replications: int, tables: Sequence[str] = DEFAULT_TABLES
) -> list[Job]:
    """Every (variant, replication) job, replications outermost so a partial run has a
    few replications of every variant rather than all replications of a few."""
    _check_variants(variants)
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
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
        for r in range(replications)
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


# ---- executors ------------------------------------------------------------------------------


def _map_serial(jobs: Sequence[Job]) -> Iterator[tuple[Job, RunSummary | BaseException]]:
    for job in jobs:
        try:
            yield job, run_job(job)
        except Exception as exc:  # reported as a JobFailure, the other jobs go on
            yield job, exc


def _map_futures(
    submit: Callable[[Job], Future], jobs: Sequence[Job], wait: Callable[[list], Iterator]
) -> Iterator[tuple[Job, RunSummary | BaseException]]:
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


def _map_pool(
    jobs: Sequence[Job], pool: Executor
) -> Iterator[tuple[Job, RunSummary | BaseException]]:
    return _map_futures(lambda j: pool.submit(run_job, j), jobs, as_completed)


def _map_dask(jobs: Sequence[Job], client: Any) -> Iterator[tuple[Job, RunSummary | BaseException]]:
    from distributed import as_completed as dask_completed

    return _map_futures(
        # retries: a job whose worker died (lost machine, out of memory) runs once more
        # elsewhere; same seed, so the same result
        lambda j: client.submit(run_job, j, pure=False, retries=DASK_RETRIES),
        jobs,
        dask_completed,
    )


class _Runner:
    """Opens the chosen executor, maps jobs over it, closes what it opened."""

    def __init__(self, executor: str | Executor | Any, workers: int | None, dask: str | None):
        self.executor = executor
        self.workers = workers
        self.dask = dask
        self._close: list[Callable[[], None]] = []

    def map(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, RunSummary | BaseException]]:
        ex = self.executor
        if isinstance(ex, Executor):
            return _map_pool(jobs, ex)
        if hasattr(ex, "submit") and hasattr(ex, "scheduler"):  # a dask Client
            return _map_dask(jobs, ex)
        if ex == "serial" or (ex == "process" and (len(jobs) <= 1 or self.workers == 1)):
            return _map_serial(jobs)
        if ex == "process":
            import multiprocessing

            n = min(self.workers or os.cpu_count() or 1, len(jobs))
            # fork where the platform has it: no `if __name__ == "__main__"` guard needed in
            # a researcher's script, and workers start without re-importing the package
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method))
            self._close.append(lambda: pool.shutdown(wait=True, cancel_futures=True))
            return _map_pool(jobs, pool)
        if ex == "dask":
            client = self._dask_client()
            return _map_dask(jobs, client)
        raise ValueError(f"unknown executor {ex!r} (valid: {', '.join(EXECUTORS)})")

    def _dask_client(self) -> Any:
        from distributed import Client, LocalCluster

        if self.dask:
            try:
                client = Client(self.dask, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at {self.dask}: {exc}"
                ) from None
            self._close.append(client.close)
            return client
        cluster = LocalCluster(
            n_workers=self.workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )
        client = Client(cluster)
        self._close.append(cluster.close)
        self._close.append(client.close)
        return client

    def close(self) -> None:
        while self._close:
            with suppress(Exception):  # closing must not hide the experiment's outcome
                self._close.pop()()


# ---- running -----------------------------------------------------------------------------


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
) -> ExperimentResult:
    """Run every replication of every variant; failures are collected, not raised.

    ``executor``: "serial", "process" (a local process pool with ``workers`` processes,
    default all cores), "dask" (the cluster at scheduler address ``dask``, e.g.
    ``tcp://host:8786``, or a local cluster when no address is given), or a ready
    ``concurrent.futures.Executor`` / ``distributed.Client``. With a ``store``, finished
    jobs are committed one by one and jobs already in the store are not run again.
    """
    all_jobs = jobs_for(variants, replications, tables)
    exp_id = experiment_id(variants, tables)
    label = name or (variants[0].name if len(variants) == 1 else f"{len(variants)} variants")
    done: dict[tuple[str, int], RunSummary] = {}
    if store is not None:
        store.begin_experiment(exp_id, label, variants, replications, tables, baseline)
        done = store.finished_runs(exp_id)
    todo = [j for j in all_jobs if (j.variant, j.replication) not in done]
    runs = {k: v for k, v in done.items() if k[1] < replications}
    failures: list[JobFailure] = []
    total = len(all_jobs)
    if progress is not None:
        resumed = f", {len(runs)} already stored" if runs else ""
        progress(len(runs) / total, f"{len(runs)}/{total} runs{resumed}")
    runner = _Runner(executor, workers, dask)
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
                    store.record_failure(exp_id, fail)
            else:
                runs[(job.variant, job.replication)] = outcome
                if store is not None:
                    store.record_run(exp_id, outcome)
            if progress is not None:
                n = len(runs) + len(failures)
                progress(n / total, f"{n}/{total} runs: {job.variant} #{job.replication}")
    except BaseException:
        if store is not None:  # Ctrl-C or a broken executor: the next run resumes it
            store.finish_experiment(exp_id, "interrupted")
        raise
    finally:
        runner.close()
    if store is not None:
        store.finish_experiment(exp_id, "failed" if failures else "complete")
    return ExperimentResult(
        variants=list(variants),
        replications=replications,
        runs=runs,
        failures=failures,
        experiment_id=exp_id,
        name=label,
        baseline=baseline,
        resumed=sum(1 for key in done if key[1] < replications),
    )


def replicate(
    scenario: Scenario, replications: int = 5, **kwargs: Any
) -> ExperimentResult:  # pragma: no cover - thin convenience
    """``run_experiment`` for one scenario run as it is."""
    options = kwargs.pop("options", {})
    return run_experiment([Variant(scenario.name, scenario, options)], replications, **kwargs)


# ---- results -------------------------------------------------------------------------------


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, ci_low, ci_high) of the finite values; the interval needs n >= 2."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    mean = float(v.mean())
    if n == 1:
        return 1, mean, np.nan, np.nan, np.nan
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return n, mean, sd, mean - half, mean + half


@dataclass
class ExperimentResult:
    """Runs of an experiment, as tidy tables."""

    variants: list[Variant]
    replications: int
    runs: dict[tuple[str, int], RunSummary]
    failures: list[JobFailure] = field(default_factory=list)
    experiment_id: str = ""
    name: str = ""
    baseline: str | None = None
    resumed: int = 0
    """Runs taken from the results store instead of being simulated again."""

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def _ordered(self) -> list[RunSummary]:
        order = {n: i for i, n in enumerate(self.variant_names)}
        return sorted(self.runs.values(), key=lambda r: (order.get(r.variant, 0), r.replication))

    def table(self, name: str) -> pd.DataFrame:
        """One per-run table of every run, with leading columns variant, replication, seed.

        ``kpis`` is long: one row per (run, kpi) with columns kpi and value.
        """
        frames = []
        for r in self._ordered():
            if name == "kpis":
                df = pd.DataFrame({"kpi": list(r.kpis), "value": list(r.kpis.values())})
            elif name in r.tables:
                df = r.tables[name].copy()
            else:
                continue
            df.insert(0, "seed", r.seed)
            df.insert(0, "replication", r.replication)
            df.insert(0, "variant", r.variant)
            frames.append(df)
        if not frames:
            if name not in (*TABLES, "kpis"):
                raise ValueError(f"unknown table '{name}' (valid: kpis, {', '.join(TABLES)})")
            return pd.DataFrame(columns=list(KEYS))
        out = pd.concat(frames, ignore_index=True)
        out["variant"] = pd.Categorical(out["variant"], self.variant_names)
        return out

    @property
    def kpis(self) -> pd.DataFrame:
        """Wide: one row per run, one column per KPI."""
        rows = [
            {"variant": r.variant, "replication": r.replication, "seed": r.seed, **r.kpis}
            for r in self._ordered()
        ]
        return pd.DataFrame(rows)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per variant and KPI: n, mean, sd and the confidence interval over replications."""
        return summarise_kpis(self.table("kpis"), level)

    def paired(self, baseline: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Variant − baseline per KPI, paired by replication (common random numbers)."""
        base = baseline or self.baseline or self.variant_names[0]
        if base not in self.variant_names:
            raise ValueError(
                f"baseline '{base}' is not a variant (variants: {', '.join(self.variant_names)})"
            )
        wide = self.kpis
        if wide.empty:
            return pd.DataFrame(columns=_PAIRED_COLUMNS)
        kpi_cols = [c for c in wide.columns if c not in KEYS]
        ref = wide[wide["variant"] == base].set_index("replication")[kpi_cols]
        rows = []
        for variant in self.variant_names:
            if variant == base:
                continue
            other = wide[wide["variant"] == variant].set_index("replication")[kpi_cols]
            common = ref.index.intersection(other.index)
            diff = other.loc[common] - ref.loc[common]
            for kpi in kpi_cols:
                n, mean, sd, lo, hi = t_interval(diff[kpi].to_numpy(), level)
                row = _kpi_row(variant, kpi, n, mean, sd, lo, hi)
                row["baseline"] = base
                row["mean_base"] = float(ref.loc[common, kpi].mean()) if n else np.nan
                rows.append(row)
        out = pd.DataFrame(rows)
        if out.empty:
            return pd.DataFrame(columns=_PAIRED_COLUMNS)
        out = out.rename(columns={"mean": "mean_diff", "sd": "sd_diff"})
        out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
        return out[_PAIRED_COLUMNS]

    def metadata(self) -> dict[str, Any]:
        """What produced these results: experiment id, seeds per run, versions."""
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "replications": self.replications,
            "baseline": self.baseline,
            "variants": [
                {
                    "name": v.name,
                    "fingerprint": v.scenario.fingerprint(),
                    "scenario_seed": v.scenario.seed,
                    "options": {k: repr(o) for k, o in v.options.items()},
                    "seeds": [
                        self.runs[(v.name, r)].seed
                        for r in range(self.replications)
                        if (v.name, r) in self.runs
                    ],
                }
                for v in self.variants
            ],
            "failures": [str(f) for f in self.failures],
            "versions": versions(),
        }

    def write(self, out_dir: str | Path, formats: Sequence[str] = ("csv", "parquet")) -> Path:
        """Write the tables, summaries, resolved scenarios and versions, atomically.

        Layout: ``summary``, ``kpis`` (one row per run), ``paired`` and ``retention``
        (per segment, against the baseline; with two or more variants) and every kept
        per-run table, each as CSV and/or Parquet;
        ``scenarios/<n>-<variant>.yaml``; ``experiment.json``.
        """
        tables: dict[str, pd.DataFrame] = {"summary": self.summary(), "kpis": self.kpis}
        if len(self.variants) > 1:
            tables["paired"] = self.paired()
        for name in TABLES:
            df = self.table(name)
            if len(df.columns) > len(KEYS):
                tables[name] = df
        if len(self.variants) > 1 and "segments" in tables:
            from sim.analytics import retention_table

            base = self.baseline or self.variant_names[0]
            tables["retention"] = retention_table(tables["segments"], baseline=base)
        with atomic_dir(out_dir) as tmp:
            for name, df in tables.items():
                if "csv" in formats:
                    df.to_csv(tmp / f"{name}.csv", index=False)
                if "parquet" in formats:
                    df.to_parquet(tmp / f"{name}.parquet", index=False)
            folder = tmp / "scenarios"
            folder.mkdir()
            for i, v in enumerate(self.variants):
                (folder / f"{i:03d}-{_file_name(v.name)}.yaml").write_text(
                    v.scenario.to_yaml(), encoding="utf-8"
                )
            (tmp / "experiment.json").write_text(
                json.dumps(self.metadata(), indent=2), encoding="utf-8"
            )
        return Path(out_dir)

    def scenario(self, variant: str) -> Scenario:
        for v in self.variants:
            if v.name == variant:
                return v.scenario
        raise KeyError(variant)


def _file_name(text: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in text)
    return safe.strip("._")[:80] or "variant"


def versions() -> dict[str, str]:
    """Versions of the package, Python and the libraries that shape the numbers."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"billsim": __version__, "python": platform.python_version()}
    for lib in ("numpy", "simpy", "pandas", "scipy", "pydantic"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover
            out[lib] = "unknown"
    return out


_SUMMARY_COLUMNS = ["variant", "kpi", "label", "unit", "n", "mean", "sd", "ci_low", "ci_high"]
_PAIRED_COLUMNS = [
    "variant",
    "baseline",
    "kpi",
    "label",
    "unit",
    "n",
    "mean_base",
    "mean_diff",
    "sd_diff",
    "ci_low",
    "ci_high",
    "significant",
]


def summarise_kpis(long: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per (variant and) KPI of a long per-run table (columns [variant,] kpi, value): n,
    mean, sd and the t-interval, in the order the variants and KPIs first appear."""
    if long.empty or "kpi" not in long.columns:
        return pd.DataFrame(columns=_SUMMARY_COLUMNS)
    by = ["variant", "kpi"] if "variant" in long.columns else ["kpi"]
    rows = []
    for key, grp in long.groupby(by, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n, mean, sd, lo, hi = t_interval(grp["value"].to_numpy(dtype=float), level)
        rows.append(
            _kpi_row(str(key[0]) if len(by) == 2 else "", str(key[-1]), n, mean, sd, lo, hi)
        )
    out = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    # a share cannot leave [0, 1], a time or a count cannot be negative: the t-interval
    # is cut at those bounds (it is symmetric and knows nothing of them)
    share = out["unit"] == "share"
    nonneg = share | out["unit"].isin(["s", "calls", "accounts"])
    out.loc[nonneg, "ci_low"] = out.loc[nonneg, "ci_low"].clip(lower=0.0)
    out.loc[share, "ci_high"] = out.loc[share, "ci_high"].clip(upper=1.0)
    return out if len(by) == 2 else out.drop(columns="variant")


def _kpi_row(variant: str, kpi: str, n: int, mean: float, sd: float, lo: float, hi: float):
    d = KPI_DEFINITIONS.get(kpi)
    return {
        "variant": variant,
        "kpi": kpi,
        "label": d.label if d else kpi,
        "unit": d.unit if d else "",
        "n": n,
        "mean": mean,
        "sd": sd,
        "ci_low": lo,
        "ci_high": hi,
    }


# ---- sweep files ----------------------------------------------------------------------------


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float = Field(alias="from")
    to: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ascending(self) -> _Range:
        if self.to < self.start:
            raise ValueError(f"'to' ({self.to:g}) is below 'from' ({self.start:g})")
        return self

    def values(self) -> list[float | int]:
        n = int(np.floor((self.to - self.start) / self.step + 1e-9)) + 1
        vals = [self.start + i * self.step for i in range(max(n, 0))]
        if all(float(x).is_integer() for x in (self.start, self.step)):
            return [round(x) for x in vals]
        return [round(x, 12) for x in vals]


class _NamedVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    changes: dict[str, Any] = Field(default_factory=dict)


class SweepSpec(BaseModel):
    """A sweep file: a scenario, named variants and/or a grid of parameter values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field(min_length=1)
    """Scenario file, relative to the sweep file."""
    name: str | None = None
    replications: int = Field(5, ge=1, le=10_000)
    seed: int | None = Field(None, ge=0)
    baseline: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    """Changes applied to the scenario before anything else."""
    variants: list[_NamedVariant] = Field(default_factory=list)
    grid: dict[str, list[Any] | _Range] = Field(default_factory=dict)
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))

    @field_validator("grid")
    @classmethod
    def _grid_not_empty(cls, grid: dict[str, Any]) -> dict[str, Any]:
        for path, values in grid.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"'{path}' has no values")
        return grid

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables: list[str]) -> list[str]:
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise ValueError(f"unknown tables {unknown} (valid: {', '.join(TABLES)})")
        return tables


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the variants to run and how."""

    name: str
    variants: list[Variant]
    replications: int
    baseline: str | None
    tables: tuple[str, ...]
    base: Scenario


def _short(path: str) -> str:
    """'contact_center.groups[0].shifts[1].agents' -> 'shifts[1].agents'."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else path


def _value_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def sweep_variants(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    named: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> list[Variant]:
    """Variants for every named variant (or the base) × every point of the grid.

    A point's name lists its values, e.g. ``agents=25, discount.name=flat``; every
    variant is validated as a scenario, and an invalid one is an error naming it.
    """
    starts = list(named) or [("", {})]
    keys = list(grid)
    points = list(itertools.product(*(grid[k] for k in keys))) if keys else [()]
    variants = []
    for vname, vchanges in starts:
        for point in points:
            parts = [f"{_short(k)}={_value_text(v)}" for k, v in zip(keys, point, strict=True)]
            name = ", ".join(([vname] if vname else []) + parts) or base.name
            changes = {**vchanges, **dict(zip(keys, point, strict=True))}
            try:
                sc = base.with_changes(changes)
            except ScenarioError as exc:
                raise ScenarioError(exc.problems, f"variant '{name}'") from None
            variants.append(Variant(name, sc))
    return variants


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; errors name the file, the field and the reason."""
    p = Path(path)
    source = p.name
    data = parse_yaml(read_text_file(p), source)
    if not isinstance(data, dict):
        raise ScenarioError(["must be a mapping with at least 'scenario'"], source)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{loc}: {msg}")
        raise ScenarioError(problems, source) from None
    scenario_path = (p.parent / spec.scenario).resolve()
    try:
        base = load_scenario(scenario_path)
        changes = dict(spec.changes)
        if spec.seed is not None:
            changes["seed"] = spec.seed
        if changes:
            base = base.with_changes(changes)
    except ScenarioError as exc:
        raise ScenarioError([f"scenario: {'; '.join(exc.problems)}"], source) from None
    grid = {k: (v.values() if isinstance(v, _Range) else v) for k, v in spec.grid.items()}
    for key, values in grid.items():  # name the grid entry when a path or value is wrong
        try:
            base.with_changes({key: values[0]})
        except ScenarioError as exc:
            raise ScenarioError([f"grid: {p}" for p in exc.problems], source) from None
    try:
        variants = sweep_variants(base, grid, [(v.name, v.changes) for v in spec.variants])
    except ScenarioError as exc:
        raise ScenarioError([f"{exc.source}: {'; '.join(exc.problems)}"], source) from None
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ScenarioError(["variants: names must be unique"], source)
    if spec.baseline is not None and spec.baseline not in names:
        raise ScenarioError(
            [f"baseline: '{spec.baseline}' is not one of the variants ({', '.join(names)})"],
            source,
        )
    return Sweep(
        name=spec.name or p.stem,
        variants=variants,
        replications=spec.replications,
        baseline=spec.baseline,
        tables=tuple(spec.tables),
        base=base,
    )
