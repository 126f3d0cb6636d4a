"""The cheapest interval staffing that meets the service-level target *in simulation*.

Erlang formulas staff each interval as if it were a stationary queue with the forecast
load; the simulated center has retrials, repeats, overflow, backlog carried across
interval edges and a load that itself depends on the staffing. Following the iterative
staffing algorithm of Feldman, Mandelbaum, Massey & Whitt (2008, Management Science
54(2)) — staff, simulate, re-estimate the load the simulation actually offered, staff
again, until the staffing stops changing — then correcting and pruning by simulation:

1. **Start**: Erlang A per interval and group from the planner's forecast
   (``sim.forecast``), the callers' mean patience and the scenario's SL target.
2. **Iterate (ISA)**: simulate ``replications`` runs with common random numbers,
   estimate each interval's offered rate (answered + abandoned attempts, retrials and
   repeats included) and re-staff it with Erlang A; stop when nothing changes.
3. **Correct**: while a measured interval misses the target, add one agent there
   (when only a group's overall level misses it, add one agent in the intervals
   with the most late calls).
4. **Prune**: try removing one agent from each agent-interval (largest SL slack
   first); keep the removal when the target still holds. Passes repeat until one
   removes nothing, so at the end removing any single agent-interval breaks the target
   (or the floor of ``min_agents`` while open).

**The target, precisely.** Each attempt that reached a queue belongs to the interval
of its arrival and to the group it was routed to (its primary group by reason, or a
transfer's target). Over the ``replications`` runs (seeds
``replication_seed(scenario.seed, r)``, identical for every staffing tried: common
random numbers), an interval-group cell is *measured* when it averages at least
``min_calls`` answered + abandoned attempts per run; its service level is
``Σ answered within T / Σ (answered + abandoned)`` pooled over the runs. The staffing
meets the target when every measured cell reaches ``contact_center.service_level
.target`` *and* so does each group's service level over the whole horizon (pooled over
all its cells, measured or not — this keeps quiet intervals from being starved).
Cost = scheduled agents (``ceil(on_duty / (1 − shrinkage))``) × open hours
× the group's hourly cost.

A **shift plan** then covers the scheduled head count per day with shifts of allowed
lengths starting on the interval grid inside open hours (a greedy set-cover heuristic:
at the first uncovered interval, start the missing shifts with the length that covers
most demand per paid hour).

Cost grows with ``intervals × groups × replications`` simulations in the pruning pass:
use it on a representative short horizon (a week or a day), not on a quarter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.callcenter import ABANDONED, ANSWERED
from sim.clock import DAY_S, Clock
from sim.erlang import staff_intervals
from sim.forecast import ForecastLoad, forecast_load
from sim.policies import ErlangAStaffing, IntervalStaffing
from sim.rng import replication_seed
from sim.scenario import REASONS, Scenario

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class _Fixed:
    """A staffing policy holding a ready (groups, intervals) table."""

    table: np.ndarray

    def agents(self, load: ForecastLoad) -> np.ndarray:
        return self.table


@dataclass
class Evaluation:
    """Simulated queue statistics of one staffing, pooled over the replications."""

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
        cells = bool(np.all(self.service_level[self.measured] >= target - 1e-12))
        return cells and bool(np.all(self.group_service_level >= target - 1e-12))

    def overall(self) -> float:
        total = self.offered.sum()
        return float(self.within.sum() / total) if total else float("nan")


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
    """Achieved over all measured and unmeasured attempts (pooled over runs)."""
    min_interval_service_level: float
    """Lowest SL over measured interval-group cells."""
    feasible: bool
    pruned_fully: bool
    simulations: int
    history: list[dict[str, Any]] = field(default_factory=list)

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

    def summary(self) -> dict[str, Any]:
        return {
            "cost": self.cost,
            "erlang_start_cost": self.start_cost,
            "shift_plan_cost": self.shift_cost,
            "service_level": self.service_level,
            "min_interval_service_level": self.min_interval_service_level,
            "target": self.scenario.contact_center.service_level.target,
            "feasible": self.feasible,
            "pruned_fully": self.pruned_fully,
            "agent_intervals": int(self.agents.sum()),
            "simulations": self.simulations,
        }


class _Problem:
    def __init__(
        self,
        scenario: Scenario,
        replications: int,
        min_calls: float,
        options: dict[str, Any],
    ) -> None:
        self.sc = scenario
        self.clock = Clock(scenario)
        self.load = forecast_load(scenario, self.clock)
        self.seeds = [replication_seed(scenario.seed, r) for r in range(replications)]
        self.min_calls = min_calls
        self.options = options
        cc = scenario.contact_center
        self.target = cc.service_level.target
        self.threshold = cc.service_level.threshold_s
        self.edges = self.load.edges_s
        self.primary = np.array(
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
        self.simulations = 0
        self._cache: dict[bytes, Evaluation] = {}

    def scheduled(self, agents: np.ndarray) -> np.ndarray:
        return np.ceil(agents / (1 - self.shrink[:, None]) - 1e-9).astype(np.int64)

    def cost(self, agents: np.ndarray) -> float:
        return float((self.scheduled(agents) * self.open_h[None, :] * self.rate[:, None]).sum())

    def evaluate(self, agents: np.ndarray) -> Evaluation:
        key = agents.astype(np.int64).tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from sim.model import simulate

        shape = self.load.calls.shape
        offered = np.zeros(shape)
        within = np.zeros(shape)
        nb = shape[1]
        for seed in self.seeds:
            res = simulate(self.sc, seed, staffing_policy=_Fixed(agents), **self.options)
            self.simulations += 1
            c = res.raw.calls
            status = c["status"]
            done = (status == ANSWERED) | (status == ABANDONED)
            grp = np.where(c["target"] >= 0, c["target"], self.primary[c["reason"]])
            b = np.clip(np.searchsorted(self.edges, c["t_arrive"], side="right") - 1, 0, nb - 1)
            wait = c["t_answer"] - c["t_arrive"]
            ok = (status == ANSWERED) & (wait <= self.threshold)
            np.add.at(offered, (grp[done], b[done]), 1.0)
            np.add.at(within, (grp[ok], b[ok]), 1.0)
        r = len(self.seeds)
        offered /= r
        within /= r
        with np.errstate(invalid="ignore", divide="ignore"):
            sl = np.where(offered > 0, within / np.maximum(offered, 1e-300), 1.0)
        ev = Evaluation(offered, within, offered >= self.min_calls, sl)
        self._cache[key] = ev
        return ev


def optimise_staffing(
    scenario: Scenario,
    *,
    replications: int = 3,
    min_calls: float = 10.0,
    min_agents: int = 1,
    max_iterations: int = 30,
    prune: bool = True,
    max_prune_passes: int = 10,
    max_trials: int | None = None,
    shift_hours: Sequence[float] = (4.0, 6.0, 8.0),
    discount_policy: Any = None,
    priority_policy: Any = None,
    progress: ProgressFn | None = None,
) -> StaffingResult:
    """Cheapest interval staffing of ``scenario`` meeting its SL target in simulation.

    See the module docstring for the algorithm and the exact target. ``min_agents``
    agents stay on duty whenever the center is open; ``shift_hours`` are the allowed
    shift lengths of the shift plan; ``max_trials`` caps the single-removal trials of
    the pruning pass (``pruned_fully`` then tells whether the pass completed). Policy
    objects are passed on to ``simulate``.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications})")
    if min_calls < 0:
        raise ValueError(f"min_calls must be >= 0 (got {min_calls})")
    options = {
        k: v
        for k, v in (("discount_policy", discount_policy), ("priority_policy", priority_policy))
        if v is not None
    }
    pb = _Problem(scenario, replications, min_calls, options)
    load = pb.load
    is_open = load.open_share[None, :] > 0
    floor = np.broadcast_to(np.where(is_open, min_agents, 0), load.calls.shape).astype(np.int64)
    history: list[dict[str, Any]] = []

    def note(phase: str, agents: np.ndarray, ev: Evaluation) -> None:
        sl = ev.service_level[ev.measured]
        history.append(
            {
                "phase": phase,
                "cost": pb.cost(agents),
                "agent_intervals": int(agents.sum()),
                "meets": ev.meets(pb.target),
                "min_interval_sl": float(sl.min()) if sl.size else float("nan"),
                "simulations": pb.simulations,
            }
        )
        if progress is not None:
            progress(
                min(0.99, len(history) / (max_iterations + 10)),
                f"{phase}: cost {pb.cost(agents):.0f}",
            )

    start = np.maximum(np.asarray(ErlangAStaffing(min_agents=min_agents).agents(load)), floor)
    start = np.where(is_open, start, 0)
    agents = start.copy()

    # ---- 2. ISA: re-staff for the load the simulation offered ----
    ev = pb.evaluate(agents)
    note("erlang_a", agents, ev)
    interval_s = load.interval_s
    seen = {agents.tobytes()}
    for _ in range(max_iterations):
        lam = ev.offered / interval_s
        new = np.zeros_like(agents)
        for g in range(agents.shape[0]):
            new[g] = staff_intervals(
                np.round(lam[g], 9),
                float(load.aht_s[g]),
                pb.target,
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
            note("isa", agents, ev)
            break
        seen.add(new.tobytes())
        agents = new
        ev = pb.evaluate(agents)
        note("isa", agents, ev)

    # ---- 3. correct: add an agent where a measured interval misses the target ----
    for _ in range(max_iterations):
        if ev.meets(pb.target):
            break
        miss = ev.measured & (ev.service_level < pb.target)
        if not miss.any():  # only a group's overall level misses: help its busiest misses
            late = ev.offered * (pb.target - ev.service_level)
            late[ev.group_service_level >= pb.target] = 0.0
            worst = late > 0
            if worst.any():
                miss = worst & (late >= np.quantile(late[worst], 0.75))
            else:
                break
        agents = agents + miss.astype(np.int64)
        ev = pb.evaluate(agents)
        note("correct", agents, ev)

    # ---- 4. prune: drop agent-intervals the target does not need ----
    pruned_fully = False
    trials = 0
    if prune and ev.meets(pb.target):
        for _ in range(max_prune_passes):
            removed = 0
            slack = np.where(ev.measured, ev.service_level - pb.target, 1.0)
            order = np.argsort(-(slack + 1e-6 * agents), axis=None, kind="stable")
            for flat in order.tolist():
                g, i = divmod(flat, agents.shape[1])
                if agents[g, i] <= floor[g, i]:
                    continue
                if max_trials is not None and trials >= max_trials:
                    removed = -1
                    break
                trials += 1
                trial = agents.copy()
                trial[g, i] -= 1
                ev_t = pb.evaluate(trial)
                if ev_t.meets(pb.target):
                    agents, ev = trial, ev_t
                    removed += 1
            note("prune", agents, ev)
            if removed <= 0:
                pruned_fully = removed == 0
                break

    shifts = shift_plan(scenario, pb.scheduled(agents), load.edges_s, shift_hours, pb.clock)
    group_rate = dict(zip(load.group_names, pb.rate, strict=True))
    shift_cost = float((shifts["hours"] * shifts["agents"] * shifts["group"].map(group_rate)).sum())
    sl_cells = ev.service_level[ev.measured]
    names = load.group_names
    n_g, n_i = agents.shape
    start_ts = pd.Timestamp(scenario.calendar.start)
    table = pd.DataFrame(
        {
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
    )
    table = table[np.tile(load.open_share > 0, n_g)].reset_index(drop=True)
    if progress is not None:
        progress(1.0, "done")
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
        min_interval_service_level=float(sl_cells.min()) if sl_cells.size else float("nan"),
        feasible=ev.meets(pb.target),
        pruned_fully=pruned_fully,
        simulations=pb.simulations,
        history=history,
    )


def meets_target(
    scenario: Scenario,
    agents: np.ndarray,
    *,
    replications: int = 3,
    min_calls: float = 10.0,
) -> tuple[bool, Evaluation]:
    """Whether ``agents`` (groups × intervals) meets the optimiser's target (module doc)."""
    pb = _Problem(scenario, replications, min_calls, {})
    ev = pb.evaluate(np.asarray(agents, dtype=np.int64))
    return ev.meets(pb.target), ev


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
