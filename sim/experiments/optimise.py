"""The cheapest interval staffing that meets the service-level target *in simulation*.

Erlang formulas staff each interval as if it were a stationary queue with the forecast
load; the simulated center has retrials, repeats, overflow, backlog carried across
interval edges and a load that itself depends on the staffing. Following the iterative
staffing algorithm of Feldman, Mandelbaum, Massey & Whitt (2008, Management Science
54(2)) — staff, simulate, re-estimate the load the simulation actually offered, staff
again, until the staffing stops changing — then correcting and pruning by simulation:

1. **Start**: Erlang A per interval and group from the planner's forecast
   (``sim.world.forecast``), the callers' mean patience and the scenario's SL target.
2. **Iterate (ISA)**: simulate the ``replications`` *training* runs with common random
   numbers, estimate each interval's offered rate (answered + abandoned attempts,
   retrials and repeats included) and re-staff it with Erlang A; stop when nothing
   changes, when an iteration moves as many agent-intervals as the one before (it no
   longer contracts: what moves is sampling noise — on the baseline month it wandered
   for all 30 iterations), or after a step that moved at most 1 % of them (a step
   within that noise: ``_ISA_SETTLED``).
3. **Correct**: while the training runs miss the *search goal* ``target + margin``, add
   one agent in every measured interval that misses it, and, for a group whose overall
   level misses it, in the intervals with the most late calls.
4. **Prune** (against the goal, on the training runs): first in *rounds* over interval
   classes (interval index mod 2, all groups): a class trial removes one agent from every
   removable cell of the class at once, and each removal is judged where it acts — its
   own interval and the next one, in every group — so one trial of 3 runs tests hundreds
   of removals. Removals whose measured cell misses there are marked stuck; the rest
   (unmeasured cells only while their group's level holds) are applied together and
   confirmed by a run of the resulting staffing; a failed confirmation keeps the safer
   half (lowest utilisation with one agent fewer, then most slack), at most 3 times. The
   rounds end when one removes nothing. Then, on small problems (at most 48 removable
   cells) or up to ``max_trials``, passes of single removals (same order, several
   evaluated side by side, the first success in order kept, as one at a time would)
   until a pass removes nothing. At that point removing any single agent-interval makes
   the training runs miss the goal (or would go below the floor of ``min_agents`` while
   open): ``pruned_fully``.
5. **Hold out**: evaluate the result on ``holdout`` fresh runs (replications
   ``R .. R+H-1``, never used by steps 2-4). While the training *or* the hold-out runs
   miss the target itself, add agents where the pooled training + hold-out runs, or
   either half alone, miss it (the rule of step 3) and re-evaluate on both, at most
   ``max_iterations`` times. Hold-out runs are always full simulations.
   ``holdout_added`` counts those agent-intervals.

**Why a margin and a hold-out.** Greedy pruning tries hundreds of removals against
the same few sample paths and keeps each that happens to pass: the result is fitted to
those paths (the baseline over one month met 86.5 % on its 3 training seeds but
79–81 % on fresh ones, 68 of 180 measured intervals below target). The margin (default
2 points, also used by step 3) leaves room for that selection bias in the group-wide
levels; per-interval levels, measured on a few dozen calls, are too noisy for any small
margin, so the hold-out runs measure what remains and step 5 repairs it instead of
reporting a target that only the training seeds meet (on that baseline month it adds
back about 6 % of the agent-intervals). The local-minimality guarantee therefore holds
*on the training seeds, against target + margin*, and only when ``holdout_added == 0``
(``StaffingResult.locally_minimal``); agents added in step 5 are not pruned again
(that would fit the hold-out seeds too).

**The target, precisely.** Each attempt that reached a queue belongs to the interval
of its arrival and to the group it was routed to (its primary group by reason, or a
transfer's target). Over a set of runs (seeds ``replication_seed(scenario.seed, r)``,
identical for every staffing tried: common random numbers, down to each caller's
retrials and repeat calls, so one more agent changes its own half hour and what its
callers do next, not the rest of the month), an interval-group cell is
*measured* when it averages at least ``min_calls`` answered + abandoned attempts per
run; its service level is ``Σ answered within T / Σ (answered + abandoned)`` pooled
over the runs. A staffing meets a level ``L`` when every measured cell reaches ``L``
*and* so does each group's service level over the whole horizon (pooled over all its
cells, measured or not — this keeps quiet intervals from being starved).
Cost = scheduled agents (``ceil(on_duty / (1 − shrinkage))``) × open hours
× the group's hourly cost.

**Speed.** The runs of a trial staffing — and, in the single-removal passes, of several
trials at once — are simulated in a process pool (``workers``, fork start method);
each run's counts are integers summed in seed order, so the answer is identical to a
serial run (only the count of discarded speculative runs, ``simulations``, differs).
Pruning trials are capped only by ``max_trials`` (default: none for the rounds; the
single-removal passes only on small problems). On the baseline month (~1 000 removable
cells) a single-removal pass would cost ~3 000 runs, so by default ``pruned_fully`` is
False there: pass ``max_trials`` for the certificate. Measured there (200 000 accounts,
~620 measured cells): 2 ISA steps, 5 correction rounds, 2 pruning rounds removing 64
agent-intervals, 5 hold-out repairs; 102 runs, ~25 s on 2 cores (benchmarks/optimise.py).
Before a caller's retrials and repeat calls had their own draws, every change re-dealt
the rest of the month: 14 correction rounds chased that noise, pruning removed nothing
and the hold-out repair took 12 rounds (156 runs, 5 % more cost).

A **shift plan** then covers the scheduled head count per day with shifts of allowed
lengths starting on the interval grid inside open hours (a greedy set-cover heuristic:
at the first uncovered interval, start the missing shifts with the length that covers
most demand per paid hour).

Use a representative short horizon (a week or a month), not a quarter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.codes import ABANDONED, ANSWERED, REASONS
from sim.core.erlang import staff_intervals
from sim.core.files import atomic_dir
from sim.core.progress import ProgressFn
from sim.core.rng import replication_seed
from sim.core.version import __version__
from sim.experiments.pool import process_pool, worker_count
from sim.model import simulate
from sim.policies.load import ForecastLoad
from sim.policies.staffing import ErlangAStaffing, IntervalStaffing
from sim.scenario import Scenario
from sim.scenario.calendar import DAY_S, Clock
from sim.world.forecast import forecast_load

_CACHE_BYTES = 256 * 2**20
"""Memory for per-run counts kept for reuse (a repeated trial costs no simulation)."""
_TOL = 1e-12
_STRIDE = 2
"""Interval classes of the pruning rounds: cells of one class are never adjacent, so a
removal's backlog spills into an interval where nothing else was removed."""
_HALVINGS = 3
"""Confirmations of a class's safe-looking removals that may fail (each halving them)
before the class waits for the next round."""
_ISA_SETTLED = 0.01
"""An ISA step that moves at most this share of the agent-intervals is the last: the
offered load it re-staffs for is an estimate from a few runs, and steps that small are
its noise (the baseline month moved 760, 94, then 45-51 agent-intervals of ~10 300 a
step for four more steps that changed nothing else)."""
_CERTIFY_CELLS = 48
"""Up to this many removable cells after the rounds, the default runs the single-removal
passes too (the local-minimality certificate); a month of the baseline has ~1 000, and
a pass would cost three runs each."""


@dataclass(frozen=True)
class _Fixed:
    """A staffing policy holding a ready (groups, intervals) table."""

    table: np.ndarray

    def agents(self, load: ForecastLoad) -> np.ndarray:
        return self.table


class _Runner:
    """Simulates one staffing on one seed and counts queue outcomes per cell.

    Lives in the parent and, inherited through fork, in every pool worker, so that
    neither the scenario nor researcher policy objects need to be picklable.
    """

    def __init__(
        self,
        scenario: Scenario,
        options: dict[str, Any],
        edges: np.ndarray,
        primary: np.ndarray,
        threshold: float,
        shape: tuple[int, int],
    ) -> None:
        self.sc = scenario
        self.options = options
        self.edges = edges
        self.primary = primary
        self.threshold = threshold
        self.shape = shape

    def counts(self, key: bytes, seed: int) -> np.ndarray:
        """(2, groups, intervals) int32: answered + abandoned, and answered within T."""
        agents = np.frombuffer(key, dtype=np.int64).reshape(self.shape).copy()
        res = simulate(self.sc, seed, staffing_policy=_Fixed(agents), **self.options)
        c = res.raw.calls
        status = c["status"]
        done = (status == ANSWERED) | (status == ABANDONED)
        grp = np.where(c["target"] >= 0, c["target"], self.primary[c["reason"]])
        nb = self.shape[1]
        b = np.clip(np.searchsorted(self.edges, c["t_arrive"], side="right") - 1, 0, nb - 1)
        ok = (status == ANSWERED) & (c["t_answer"] - c["t_arrive"] <= self.threshold)
        out = np.zeros((2, *self.shape), dtype=np.int32)
        np.add.at(out[0], (grp[done], b[done]), 1)
        np.add.at(out[1], (grp[ok], b[ok]), 1)
        return out


_WORKER: _Runner | None = None


def _init_worker(runner: _Runner) -> None:
    global _WORKER
    _WORKER = runner


def _work(task: tuple[bytes, int]) -> np.ndarray:
    assert _WORKER is not None, "pool worker not initialised"
    return _WORKER.counts(*task)


@dataclass
class Evaluation:
    """Simulated queue statistics of one staffing, pooled over a set of runs."""

    offered: np.ndarray
    """Mean answered + abandoned attempts per run, (groups, intervals)."""
    within: np.ndarray
    """Mean attempts answered within the threshold per run."""
    measured: np.ndarray
    service_level: np.ndarray

    @property
    def group_service_level(self) -> np.ndarray:
        """Each group's service level over the whole horizon (1 when it had no calls)."""
        off = self.offered.sum(axis=1)
        return np.where(off > 0, self.within.sum(axis=1) / np.maximum(off, 1e-300), 1.0)

    def meets(self, target: float) -> bool:
        cells = bool(np.all(self.service_level[self.measured] >= target - _TOL))
        return cells and bool(np.all(self.group_service_level >= target - _TOL))

    def overall(self) -> float:
        total = self.offered.sum()
        return float(self.within.sum() / total) if total else float("nan")

    def min_measured(self) -> float:
        """Lowest service level over measured cells (nan when none is measured)."""
        sl = self.service_level[self.measured]
        return float(sl.min()) if sl.size else float("nan")

    def misses(self, target: float) -> np.ndarray:
        """Cells to give one more agent: measured cells below ``target`` and, for each
        group whose overall level misses it, its cells with the most late calls."""
        miss = self.measured & (self.service_level < target - _TOL)
        short = self.group_service_level < target - _TOL
        if short.any():
            late = self.offered * (target - self.service_level)
            late[~short] = 0.0
            worst = late > 0
            if worst.any():
                miss |= worst & (late >= np.quantile(late[worst], 0.75))
        return miss


@dataclass
class StaffingResult:
    """The optimiser's answer; ``staffing`` is tidy (one row per interval and group)."""

    scenario: Scenario
    agents: np.ndarray
    """Agents on duty, (groups, intervals)."""
    start_agents: np.ndarray
    """The Erlang A starting point, for comparison."""
    staffing: pd.DataFrame
    shifts: pd.DataFrame
    cost: float
    """Scheduled agents × open hours × hourly cost: the interval staffing's price."""
    start_cost: float
    shift_cost: float
    """What the shift plan pays: whole shifts cover more than the interval staffing."""
    service_level: float
    """Achieved on the training runs over all attempts, measured cells or not."""
    min_interval_service_level: float
    """Lowest SL on the training runs over *measured* interval-group cells only (those
    averaging >= ``min_calls`` attempts per run); quiet cells are judged only through
    their group's overall level, so this is not the lowest SL of any interval."""
    feasible: bool
    """The training runs meet the target."""
    pruned_fully: bool
    """The pruning passes ended with a pass removing nothing (not stopped by a cap)."""
    simulations: int
    history: list[dict[str, Any]] = field(default_factory=list)
    holdout_service_level: float = float("nan")
    """Overall SL on the hold-out runs (nan without hold-out runs)."""
    holdout_min_interval_service_level: float = float("nan")
    """Lowest SL on the hold-out runs over the cells measured there."""
    holdout_feasible: bool | None = None
    """The hold-out runs meet the target (None without hold-out runs)."""
    holdout_added: int = 0
    """Agent-intervals added after pruning because the hold-out runs missed."""
    margin: float = 0.0
    replications: int = 0
    holdout: int = 0
    prune_trials: int = 0

    @property
    def locally_minimal(self) -> bool:
        """Removing any single agent-interval makes the training runs miss target + margin."""
        return self.pruned_fully and self.holdout_added == 0

    def policy(self) -> IntervalStaffing:
        """A staffing policy reproducing this staffing (``simulate(staffing_policy=...)``)."""
        names = [g.name for g in self.scenario.contact_center.groups]
        return IntervalStaffing({n: self.agents[g].tolist() for g, n in enumerate(names)})

    def to_scenario(self) -> Scenario:
        """The scenario with ``policies.staffing`` set to this table (name 'table')."""
        params = {"agents_by_group": self.policy().agents_by_group}
        return self.scenario.with_changes(
            {"policies.staffing": {"name": "table", "params": params}}
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Everything worth writing: staffing, shifts, the search history, the summary."""
        return {
            "staffing": self.staffing,
            "shifts": self.shifts,
            "history": pd.DataFrame(self.history),
            "summary": pd.DataFrame([self.summary()]),
        }

    def shift_plan(self) -> pd.DataFrame:
        """The shifts summed over the days: group, start, hours, days worked, agents."""
        if self.shifts.empty:
            return pd.DataFrame(columns=["group", "start", "hours", "days", "agents"])
        return (
            self.shifts.groupby(["group", "start", "hours"], observed=True)
            .agg(days=("date", "nunique"), agents=("agents", "sum"))
            .reset_index()
        )

    def write(self, out_dir: str | Path) -> Path:
        """Write the tables (CSV), the staffed ``scenario.yaml`` and ``run.json`` (summary,
        scenario name, version) into ``out_dir``, atomically."""
        target = Path(out_dir)
        with atomic_dir(target) as tmp:
            for name, df in self.tables().items():
                df.to_csv(tmp / f"{name}.csv", index=False)
            (tmp / "scenario.yaml").write_text(self.to_scenario().to_yaml(), encoding="utf-8")
            meta = {"scenario": self.scenario.name, "version": __version__, **self.summary()}
            (tmp / "run.json").write_text(
                json.dumps(meta, indent=2, default=_jsonable), encoding="utf-8"
            )
        return target

    def summary(self) -> dict[str, Any]:
        """Flat key figures. ``min_interval_service_level`` covers measured cells only;
        ``feasible`` is judged on the training runs, ``holdout_feasible`` on fresh ones."""
        return {
            "cost": self.cost,
            "erlang_start_cost": self.start_cost,
            "shift_plan_cost": self.shift_cost,
            "service_level": self.service_level,
            "min_interval_service_level": self.min_interval_service_level,
            "holdout_service_level": self.holdout_service_level,
            "holdout_min_interval_service_level": self.holdout_min_interval_service_level,
            "target": self.scenario.contact_center.service_level.target,
            "margin": self.margin,
            "feasible": self.feasible,
            "holdout_feasible": self.holdout_feasible,
            "holdout_added": self.holdout_added,
            "pruned_fully": self.pruned_fully,
            "locally_minimal": self.locally_minimal,
            "agent_intervals": int(self.agents.sum()),
            "replications": self.replications,
            "holdout_replications": self.holdout,
            "prune_trials": self.prune_trials,
            "simulations": self.simulations,
        }


def _jsonable(value: object) -> object:
    """numpy scalars as plain numbers for run.json."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


class _Problem:
    def __init__(
        self,
        scenario: Scenario,
        replications: int,
        min_calls: float,
        options: dict[str, Any],
        *,
        holdout: int = 0,
        first_replication: int = 0,
        workers: int | None = 1,
    ) -> None:
        self.sc = scenario
        self.clock = Clock(scenario)
        self.load = forecast_load(scenario, self.clock)
        r0 = first_replication
        self.train = [replication_seed(scenario.seed, r) for r in range(r0, r0 + replications)]
        self.hold = [
            replication_seed(scenario.seed, r)
            for r in range(r0 + replications, r0 + replications + holdout)
        ]
        self.min_calls = min_calls
        cc = scenario.contact_center
        self.target = cc.service_level.target
        self.threshold = cc.service_level.threshold_s
        self.edges = self.load.edges_s
        primary = np.array(
            [next(i for i, g in enumerate(cc.groups) if r in g.skills) for r in REASONS]
        )
        self.shrink = np.array([g.shrinkage for g in cc.groups])
        self.rate = np.array(
            [
                g.cost_per_hour
                if g.cost_per_hour is not None
                else scenario.economics.agent_cost_per_hour
                for g in cc.groups
            ]
        )
        self.open_h = self.load.open_share * np.diff(self.edges) / 3600.0
        shape = self.load.calls.shape
        self.runner = _Runner(scenario, options, self.edges, primary, self.threshold, shape)
        self.workers = worker_count(workers)
        self._pool: ProcessPoolExecutor | None = None
        self.simulations = 0
        self._cache: dict[tuple[bytes, int], np.ndarray] = {}

    def scheduled(self, agents: np.ndarray) -> np.ndarray:
        return np.ceil(agents / (1 - self.shrink[:, None]) - 1e-9).astype(np.int64)

    def cost(self, agents: np.ndarray) -> float:
        return float((self.scheduled(agents) * self.open_h[None, :] * self.rate[:, None]).sum())

    def evaluate(self, agents: np.ndarray, seeds: Sequence[int] | None = None) -> Evaluation:
        return self.evaluate_many([agents], seeds)[0]

    def evaluate_many(
        self, staffings: Sequence[np.ndarray], seeds: Sequence[int] | None = None
    ) -> list[Evaluation]:
        """Evaluate several staffings on ``seeds`` (the training runs by default), all
        their runs side by side in the pool; cached per (staffing, seed)."""
        seeds = list(self.train if seeds is None else seeds)
        keys = [np.asarray(a, dtype=np.int64).tobytes() for a in staffings]
        todo = list(dict.fromkeys((k, s) for k in keys for s in seeds if (k, s) not in self._cache))
        for task, counts in zip(todo, self._run(todo), strict=True):
            self._cache[task] = counts
        out = [self._pooled([self._cache[(k, s)] for s in seeds]) for k in keys]
        if len(self._cache) * 8 * math.prod(self.runner.shape) > _CACHE_BYTES:  # oldest half
            for old in list(self._cache)[: len(self._cache) // 2]:
                del self._cache[old]
        return out

    def _pooled(self, runs: list[np.ndarray]) -> Evaluation:
        total = np.zeros(runs[0].shape, dtype=np.int64)
        for counts in runs:  # integer sums in seed order: serial == parallel, bit for bit
            total += counts
        offered = total[0] / len(runs)
        within = total[1] / len(runs)
        sl = np.where(offered > 0, within / np.maximum(offered, 1e-300), 1.0)
        return Evaluation(offered, within, offered >= self.min_calls, sl)

    def _run(self, tasks: list[tuple[bytes, int]]) -> list[np.ndarray]:
        self.simulations += len(tasks)
        if self.workers <= 1 or len(tasks) <= 1:
            return [self.runner.counts(k, s) for k, s in tasks]
        if self._pool is None:
            # the shared pool: fork, and workers that die with this process
            self._pool = process_pool(self.workers, _init_worker, (self.runner,))
        return list(self._pool.map(_work, tasks))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class _Meter:
    """Monotone progress: the callback never moves backwards."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if self.progress is None:
            return
        self.last = max(self.last, min(0.99, fraction))
        self.progress(self.last, message)


def _check(name: str, value: float | None, low: float, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value < low:
        raise ValueError(f"{name} must be >= {low:g} (got {value})")


def optimise_staffing(
    scenario: Scenario,
    *,
    replications: int = 3,
    holdout: int | None = None,
    margin: float = 0.02,
    min_calls: float = 10.0,
    min_agents: int = 1,
    max_iterations: int = 30,
    prune: bool = True,
    max_prune_passes: int = 10,
    max_trials: int | None = None,
    workers: int | None = None,
    shift_hours: Sequence[float] = (4.0, 6.0, 8.0),
    discount_policy: Any = None,
    priority_policy: Any = None,
    progress: ProgressFn | None = None,
) -> StaffingResult:
    """Cheapest interval staffing of ``scenario`` meeting its SL target in simulation.

    See the module docstring for the algorithm and the exact target. ``replications``
    training runs drive the search, ``holdout`` fresh runs (default: as many) check it;
    ``margin`` is added to the target while searching (against over-fitting the training
    runs). ``min_agents`` agents stay on duty whenever the center is open;
    ``max_trials`` caps the trial staffings of the pruning (default: rounds until one
    removes nothing, then single-removal passes when at most 48 cells are removable;
    ``pruned_fully`` tells whether those passes completed); ``workers`` processes
    simulate side by side (default: all cores; 1 = serial, same answer).
    ``shift_hours`` are the allowed shift lengths of the shift plan. Policy objects are
    passed on to ``simulate``.
    """
    _check("replications", replications, 1)
    _check("holdout", holdout, 0, allow_none=True)
    _check("margin", margin, 0)
    _check("min_calls", min_calls, 0)
    _check("min_agents", min_agents, 0)
    _check("max_iterations", max_iterations, 0)
    _check("max_prune_passes", max_prune_passes, 0)
    _check("max_trials", max_trials, 0, allow_none=True)
    _check("workers", workers, 1, allow_none=True)
    if margin >= 1:
        raise ValueError(f"margin must be < 1 (got {margin})")
    options = {
        k: v
        for k, v in (("discount_policy", discount_policy), ("priority_policy", priority_policy))
        if v is not None
    }
    n_hold = replications if holdout is None else holdout
    pb = _Problem(scenario, replications, min_calls, options, holdout=n_hold, workers=workers)
    try:
        return _optimise(
            pb,
            margin=margin,
            min_agents=min_agents,
            max_iterations=max_iterations,
            prune=prune,
            max_prune_passes=max_prune_passes,
            max_trials=max_trials,
            shift_hours=shift_hours,
            meter=_Meter(progress),
        )
    finally:
        pb.close()


def _optimise(
    pb: _Problem,
    *,
    margin: float,
    min_agents: int,
    max_iterations: int,
    prune: bool,
    max_prune_passes: int,
    max_trials: int | None,
    shift_hours: Sequence[float],
    meter: _Meter,
) -> StaffingResult:
    scenario, load, target = pb.sc, pb.load, pb.target
    goal = min(target + margin, 1.0)
    is_open = load.open_share[None, :] > 0
    floor = np.broadcast_to(np.where(is_open, min_agents, 0), load.calls.shape).astype(np.int64)
    history: list[dict[str, Any]] = []

    def note(
        phase: str, agents: np.ndarray, ev: Evaluation, fraction: float, level: float = goal
    ) -> None:
        """One history row; ``meets`` is against ``level`` (the goal while searching,
        the target itself for the hold-out rows)."""
        history.append(
            {
                "phase": phase,
                "cost": pb.cost(agents),
                "agent_intervals": int(agents.sum()),
                "meets": ev.meets(level),
                "service_level": ev.overall(),
                "min_interval_sl": ev.min_measured(),
                "simulations": pb.simulations,
            }
        )
        meter(fraction, f"{phase}: cost {pb.cost(agents):.0f}")

    def early(step: int) -> float:  # ISA and correction: up to 15 %
        return 0.15 * (1 - 0.85**step)

    start = np.maximum(np.asarray(ErlangAStaffing(min_agents=min_agents).agents(load)), floor)
    start = np.where(is_open, start, 0).astype(np.int64)
    agents = start.copy()

    # ---- 2. ISA: re-staff for the load the simulation offered ----
    ev = pb.evaluate(agents)
    note("erlang_a", agents, ev, early(1))
    interval_s = load.interval_s
    seen = {agents.tobytes()}
    change = math.inf  # agent-intervals moved by the last iteration
    for _ in range(max_iterations):
        lam = ev.offered / interval_s
        new = np.zeros_like(agents)
        for g in range(agents.shape[0]):
            new[g] = staff_intervals(
                np.round(lam[g], 9),
                float(load.aht_s[g]),
                target,
                pb.threshold,
                "erlang_a",
                float(load.patience_s[g]),
            )
        new = np.where(is_open, np.maximum(new, floor), 0)
        if np.array_equal(new, agents):
            break
        if new.tobytes() in seen:  # oscillating: keep the larger of the two and stop
            agents = np.maximum(new, agents)
            ev = pb.evaluate(agents)
            note("isa", agents, ev, early(len(history) + 1))
            break
        moved = int(np.abs(new - agents).sum())
        if moved >= change:  # no longer contracting: what moves now is sampling noise
            break
        settled = moved <= _ISA_SETTLED * agents.sum()
        change = moved
        seen.add(new.tobytes())
        agents = new
        ev = pb.evaluate(agents)
        note("isa", agents, ev, early(len(history) + 1))
        if settled:  # this step was already within the noise of the offered load
            break

    # ---- 3. correct to the search goal on the training runs ----
    for _ in range(max_iterations):
        if ev.meets(goal):
            break
        miss = ev.misses(goal) & is_open
        if not miss.any():
            break
        agents = agents + miss.astype(np.int64)
        ev = pb.evaluate(agents)
        note("correct", agents, ev, early(len(history) + 1))

    # ---- 4. prune against the goal on the training runs ----
    pruned_fully = False
    trials = 0
    if prune and ev.meets(goal):
        agents, ev, trials, pruned_fully = _prune(
            pb, agents, ev, floor, goal, max_prune_passes, max_trials, note, meter
        )

    # ---- 5. hold-out check and robust correction ----
    ev_h: Evaluation | None = None
    added = 0
    if pb.hold:
        both = pb.train + pb.hold
        pooled = pb.evaluate(agents, both)
        ev_h = pb.evaluate(agents, pb.hold)
        note("holdout", agents, ev_h, 0.92, target)
        for step in range(max_iterations):
            if ev.meets(target) and ev_h.meets(target):
                break
            # where the pooled runs miss, and where either half misses on its own: one
            # step repairs both halves (pooled first, then the halves, took 16 steps of
            # 6 runs each on the baseline month)
            miss = pooled.misses(target) | ev.misses(target) | ev_h.misses(target)
            miss &= is_open
            if not miss.any():
                break
            agents = agents + miss.astype(np.int64)
            added += int(miss.sum())
            pooled = pb.evaluate(agents, both)
            ev, ev_h = pb.evaluate(agents, pb.train), pb.evaluate(agents, pb.hold)
            fraction = 0.92 + 0.07 * (1 - 0.8 ** (step + 1))
            note("holdout_correct", agents, ev_h, fraction, target)

    shifts = shift_plan(scenario, pb.scheduled(agents), load.edges_s, shift_hours, pb.clock)
    group_rate = dict(zip(load.group_names, pb.rate, strict=True))
    shift_cost = float((shifts["hours"] * shifts["agents"] * shifts["group"].map(group_rate)).sum())
    names = load.group_names
    n_g, n_i = agents.shape
    start_ts = pd.Timestamp(scenario.calendar.start)
    columns: dict[str, Any] = {
        "interval": np.tile(np.arange(n_i), n_g),
        "interval_start": np.tile(start_ts + pd.to_timedelta(load.edges_s[:-1], unit="s"), n_g),
        "t_s": np.tile(load.edges_s[:-1], n_g),
        "group": pd.Categorical(np.repeat(names, n_i), categories=list(names)),
        "agents": agents.ravel(),
        "scheduled": pb.scheduled(agents).ravel(),
        "erlang_agents": start.ravel(),
        "forecast_calls": load.calls.ravel(),
        "offered": ev.offered.ravel(),
        "service_level": np.where(ev.offered > 0, ev.service_level, np.nan).ravel(),
        "measured": ev.measured.ravel(),
    }
    if ev_h is not None:
        columns["holdout_service_level"] = np.where(
            ev_h.offered > 0, ev_h.service_level, np.nan
        ).ravel()
    table = pd.DataFrame(columns)
    table = table[np.tile(load.open_share > 0, n_g)].reset_index(drop=True)
    if meter.progress is not None:
        meter.progress(1.0, "done")
    return StaffingResult(
        scenario=scenario,
        agents=agents,
        start_agents=start,
        staffing=table,
        shifts=shifts,
        cost=pb.cost(agents),
        start_cost=pb.cost(start),
        shift_cost=shift_cost,
        service_level=ev.overall(),
        min_interval_service_level=ev.min_measured(),
        feasible=ev.meets(target),
        pruned_fully=pruned_fully,
        simulations=pb.simulations,
        history=history,
        holdout_service_level=ev_h.overall() if ev_h is not None else float("nan"),
        holdout_min_interval_service_level=(
            ev_h.min_measured() if ev_h is not None else float("nan")
        ),
        holdout_feasible=ev_h.meets(target) if ev_h is not None else None,
        holdout_added=added,
        margin=margin,
        replications=len(pb.train),
        holdout=len(pb.hold),
        prune_trials=trials,
    )


def _prune(
    pb: _Problem,
    agents: np.ndarray,
    ev: Evaluation,
    floor: np.ndarray,
    goal: float,
    max_passes: int,
    max_trials: int | None,
    note: Callable[..., None],
    meter: _Meter,
) -> tuple[np.ndarray, Evaluation, int, bool]:
    """Steps 4a (rounds of per-cell trials) and 4b (single-removal passes) of the module
    doc. Returns the staffing, its evaluation, the trials spent and whether a final pass
    found nothing to remove."""
    trials = 0
    work = pb.load.aht_s[:, None] / pb.load.interval_s  # busy agents per offered call

    def order(cells: np.ndarray, ev: Evaluation, agents: np.ndarray) -> np.ndarray:
        """Flat cell indices, safest removal first: lowest utilisation with one agent
        fewer (offered work / (agents - 1)), then most SL slack."""
        grp = np.broadcast_to((ev.group_service_level - goal)[:, None], agents.shape)
        slack = np.where(ev.measured, ev.service_level - goal, grp)
        left = agents - 1
        util = np.where(left > 0, ev.offered * work / np.maximum(left, 1), np.inf)
        idx = np.flatnonzero(cells)
        return idx[np.lexsort((-slack.ravel()[idx], util.ravel()[idx]))]

    def tick(phase: str, estimate: int) -> None:
        meter(0.15 + 0.75 * trials / max(estimate, trials + 1), f"{phase}: {trials} trials")

    # 4a: rounds over the interval classes; a class loses one agent in each of its cells
    # at once, each cell judged on its own interval and the next
    parity = np.arange(agents.shape[1])[None, :] % _STRIDE
    stuck = np.zeros(agents.shape, dtype=bool)
    limit = max_trials if max_trials is not None else math.inf
    while trials < limit:
        removed = 0
        for p in range(_STRIDE):
            cand = (agents > floor) & ~stuck & (parity == p)
            if not cand.any() or trials >= limit:
                continue
            trial = agents - cand.astype(np.int64)
            ev_t = pb.evaluate(trial)
            trials += 1
            ok, bad = _local_verdict(ev_t, cand, goal)
            stuck |= bad
            keep = order(ok, ev, agents)
            halvings = _HALVINGS
            while keep.size and trials < limit:
                new = agents.copy()
                new.flat[keep] -= 1
                ev_n = pb.evaluate(new)
                trials += 1
                if ev_n.meets(goal):
                    agents, ev = new, ev_n
                    removed += keep.size
                    break
                if keep.size == 1:  # removing it alone misses the goal
                    stuck.flat[keep[0]] = True
                halvings -= 1
                # the safer half; the rest waits for the next round (dropping the cells
                # whose neighbourhood missed in the joint run instead cost 3x the runs
                # for the same saving on the baseline month)
                keep = keep[: keep.size // 2] if halvings > 0 else keep[:0]
            tick("prune (rounds)", trials + 4 * _STRIDE)
        note("prune_rounds", agents, ev, 0.15 + 0.75 * trials / (trials + 4 * _STRIDE))
        if removed == 0:
            break

    # 4b: passes of single removals, to certify (or reach) local minimality. Several
    # trials are simulated side by side and the first success in order is kept, exactly
    # as one at a time would: ``trials`` counts those decisions only, so the answer does
    # not depend on ``workers`` (the discarded speculative runs show in
    # ``simulations``). After a success, one trial at a time (successes come in runs);
    # after a part without one, ``workers`` at a time.
    removable = int((agents > floor).sum())
    if max_trials is None:
        cap = trials + (removable if removable <= _CERTIFY_CELLS else 0) * max(1, max_passes)
    else:
        cap = max_trials
    width = 1
    for _ in range(max_passes):
        removed = 0
        cells = order(agents > floor, ev, agents)
        pos = last_hit = 0
        while pos < cells.size and trials < cap:
            part = cells[pos : pos + min(width, cap - trials)]
            tries = []
            for flat in part:
                trial = agents.copy()
                trial.flat[flat] -= 1
                tries.append(trial)
            evs = pb.evaluate_many(tries)
            hit = next((j for j, e in enumerate(evs) if e.meets(goal)), None)
            if hit is None:
                trials += part.size
                pos += part.size
                width = pb.workers
            else:  # later trials of this part were judged against the old staffing
                trials += hit + 1
                agents, ev = tries[hit], evs[hit]
                removed += 1
                pos += hit + 1
                last_hit = pos
                width = 1
            # the rest of this pass, and the cells before the last removal once more
            tick("prune (singles)", trials + int(cells.size - pos + last_hit))
        note("prune", agents, ev, 0.15 + 0.75 * trials / max(cap, trials, 1))
        if pos < cells.size:  # capped
            return agents, ev, trials, False
        if removed == 0:
            return agents, ev, trials, True
    return agents, ev, trials, False


def _local_verdict(
    ev_t: Evaluation, cand: np.ndarray, goal: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which removals of a class trial look safe (``ok``) and which failed on their own
    measured cell (``bad``: marked stuck).

    A cell's removal is judged where it acts: its own interval and the next one (the
    backlog it leaves), in every group (overflow and transfers cross groups). A measured
    cell must reach the goal there; an unmeasured one is judged by its group's overall
    level, and is only deferred, not stuck, when that misses."""
    miss = ev_t.measured & (ev_t.service_level < goal - _TOL)
    here = miss.any(axis=0)  # any group misses in interval i
    near = here.copy()
    near[:-1] |= here[1:]  # ... or in interval i + 1
    own = cand & miss
    group_ok = (ev_t.group_service_level >= goal - _TOL)[:, None]
    ok = cand & ~near[None, :] & (ev_t.measured | group_ok)
    return ok, own


def meets_target(
    scenario: Scenario,
    agents: np.ndarray,
    *,
    replications: int = 3,
    min_calls: float = 10.0,
    margin: float = 0.0,
    first_replication: int = 0,
    workers: int | None = 1,
) -> tuple[bool, Evaluation]:
    """Whether ``agents`` (groups × intervals) reaches the target + ``margin`` on runs
    ``first_replication .. first_replication + replications - 1`` (module doc)."""
    _check("replications", replications, 1)
    _check("first_replication", first_replication, 0)
    pb = _Problem(
        scenario,
        replications,
        min_calls,
        {},
        first_replication=first_replication,
        workers=workers,
    )
    try:
        ev = pb.evaluate(np.asarray(agents, dtype=np.int64))
    finally:
        pb.close()
    return ev.meets(min(pb.target + margin, 1.0)), ev


# ---- shifts ------------------------------------------------------------------------------


def shift_plan(
    scenario: Scenario,
    scheduled: np.ndarray,
    edges_s: np.ndarray,
    shift_hours: Sequence[float] = (4.0, 6.0, 8.0),
    clock: Clock | None = None,
) -> pd.DataFrame:
    """Dated shifts covering ``scheduled`` (groups × intervals) head counts.

    Greedy set cover per group and day: at the first interval still short of agents,
    start as many shifts as are missing, with the allowed length that covers the most
    missing agent-intervals per paid interval (longer on ties). A shift that would run
    past closing starts earlier so that it ends at closing (shorter only when the whole
    day is shorter than the shift).
    Returns one row per (date, group, start, hours) with the number of agents.
    """
    clock = clock or Clock(scenario)
    width = float(edges_s[1] - edges_s[0])
    per_day = round(DAY_S / width)
    lengths = sorted({max(1, round(h * 3600 / width)) for h in shift_hours})
    if not lengths:
        raise ValueError("shift_hours needs at least one length")
    names = [g.name for g in scenario.contact_center.groups]
    rows = []
    n_i = scheduled.shape[1]
    for g, name in enumerate(names):
        for d in range(n_i // per_day):
            lo_i, hi_i = d * per_day, (d + 1) * per_day
            need = scheduled[g, lo_i:hi_i].astype(np.int64).copy()
            open_lo, open_hi = clock.open_lo[d], clock.open_hi[d]
            if np.isnan(open_lo):
                continue
            first = int(open_lo // width)  # first open interval
            last = min(math.ceil(open_hi / width), per_day)  # first interval after closing
            while (need > 0).any():
                i = int(np.argmax(need > 0))
                k = int(need[i])
                best, best_score, best_start = lengths[0], -1.0, i
                for L in lengths:
                    # a shift that would run past closing starts earlier instead of being
                    # cut short: people are hired for whole shifts
                    span = min(L, last - first)
                    a = max(first, min(i, last - span))
                    covered = float(np.minimum(np.maximum(need[a : a + span], 0), k).sum())
                    score = covered / (k * span)
                    if score > best_score + 1e-12 or (
                        abs(score - best_score) <= 1e-12 and best < span
                    ):
                        best, best_score, best_start = span, score, a
                i, j = best_start, best_start + best
                need[i:j] -= k
                start_s = i * width
                rows.append(
                    {
                        "date": clock.dates[d],
                        "group": name,
                        "start": f"{int(start_s // 3600):02d}:{int(start_s % 3600 // 60):02d}",
                        "hours": (j - i) * width / 3600,
                        "agents": k,
                    }
                )
    return pd.DataFrame(rows, columns=["date", "group", "start", "hours", "agents"])


def shift_coverage(shifts: pd.DataFrame, scenario: Scenario, edges_s: np.ndarray) -> np.ndarray:
    """Scheduled agents per (group, interval) that ``shifts`` put in place."""
    names = [g.name for g in scenario.contact_center.groups]
    out = np.zeros((len(names), edges_s.size - 1), dtype=np.int64)
    start = scenario.calendar.start
    for row in shifts.itertuples(index=False):
        h, m = (int(x) for x in row.start.split(":"))
        t0 = (row.date - start).days * DAY_S + h * 3600 + m * 60
        t1 = t0 + row.hours * 3600
        idx = np.flatnonzero((edges_s[:-1] >= t0 - 1e-6) & (edges_s[:-1] < t1 - 1e-6))
        out[names.index(row.group), idx] += row.agents
    return out


__all__ = [
    "Evaluation",
    "StaffingResult",
    "meets_target",
    "optimise_staffing",
    "shift_coverage",
    "shift_plan",
]
