"""Staffing rules: agents on duty per group and interval for a planner's forecast load."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sim.core.erlang import sqrt_staffing, staff_intervals
from sim.policies.load import ForecastLoad


@runtime_checkable
class StaffingPolicy(Protocol):
    """Agents on duty per group and interval for a forecast load.

    ``agents(load)`` returns whole agents *on the phones* (after shrinkage), shape
    ``load.calls.shape`` = (groups, intervals), or ``None`` to keep the shifts written
    in the scenario. ``sim.world.staffing`` turns the array into step functions (only during
    open hours) and pays ``ceil(on_duty / (1 - shrinkage))`` scheduled agents.
    """

    def agents(self, load: ForecastLoad) -> np.ndarray | None: ...


@dataclass(frozen=True)
class FixedStaffing:
    """The groups' head counts and shifts as written in the scenario (no forecast used)."""

    def agents(self, load: ForecastLoad) -> np.ndarray | None:
        return None


_CALL_GRAIN = 0.02
"""Expected calls per interval are rounded *up* to this grain before the Erlang search,
so the thousands of intervals of a quarter share a few hundred computations."""


def _per_group(load: ForecastLoad, staff) -> np.ndarray:
    out = np.zeros(load.calls.shape, dtype=np.int64)
    grain = _CALL_GRAIN / load.interval_s
    for g in range(load.calls.shape[0]):
        lam = np.ceil(load.rate_per_s[g] / grain - 1e-9) * grain
        out[g] = staff(g, np.maximum(lam, 0.0))
    return out


def _open_floor(load: ForecastLoad, agents: np.ndarray, min_agents: int) -> np.ndarray:
    """At least ``min_agents`` whenever open (somebody answers retrials and stragglers)."""
    if min_agents <= 0:
        return agents
    return np.where(load.open_share[None, :] > 0, np.maximum(agents, min_agents), agents)


def _check_target(target: float | None) -> None:
    if target is not None and (not isinstance(target, int | float) or not 0 < target < 1):
        raise ValueError(f"target must lie strictly between 0 and 1 (got {target})")


@dataclass(frozen=True)
class ErlangCStaffing:
    """Fewest agents per interval whose Erlang C (M/M/c) service level reaches the target.

    ``target``/``threshold_s`` default to ``contact_center.service_level``. Erlang C
    ignores abandonment, so it over-staffs a little where callers hang up.
    """

    target: float | None = None
    threshold_s: float | None = None
    min_agents: int = 1

    def __post_init__(self) -> None:
        _check_target(self.target)

    def agents(self, load: ForecastLoad) -> np.ndarray:
        t = self.target or load.sl_target
        thr = self.threshold_s or load.threshold_s

        def staff(g: int, lam: np.ndarray) -> np.ndarray:
            return staff_intervals(lam, float(load.aht_s[g]), t, thr, "erlang_c")

        return _open_floor(load, _per_group(load, staff), self.min_agents)


@dataclass(frozen=True)
class ErlangAStaffing:
    """Fewest agents per interval meeting the Erlang A (M/M/c+M) service level, with the
    callers' mean patience (segments weighted by their share of calls), and an optional
    cap on the abandonment probability."""

    target: float | None = None
    threshold_s: float | None = None
    max_abandon: float | None = None
    min_agents: int = 1

    def __post_init__(self) -> None:
        _check_target(self.target)
        if self.max_abandon is not None and not 0 < self.max_abandon <= 1:
            raise ValueError(f"max_abandon must lie in (0, 1] (got {self.max_abandon})")

    def agents(self, load: ForecastLoad) -> np.ndarray:
        t = self.target or load.sl_target
        thr = self.threshold_s or load.threshold_s

        def staff(g: int, lam: np.ndarray) -> np.ndarray:
            return staff_intervals(
                lam,
                float(load.aht_s[g]),
                t,
                thr,
                "erlang_a",
                float(load.patience_s[g]),
                max_abandon=self.max_abandon,
            )

        return _open_floor(load, _per_group(load, staff), self.min_agents)


@dataclass(frozen=True)
class SqrtStaffing:
    """Square-root safety staffing ``ceil(a + beta·sqrt(a))`` per interval (Halfin-Whitt):
    beta ≈ 0.5-1 for a quality-and-efficiency-driven operation, higher for quality."""

    beta: float = 1.0
    min_agents: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.beta, int | float) or not math.isfinite(self.beta):
            raise ValueError(f"beta must be a finite number (got {self.beta})")

    def agents(self, load: ForecastLoad) -> np.ndarray:
        out = np.zeros(load.calls.shape, dtype=np.int64)
        for g in range(out.shape[0]):
            aht = float(load.aht_s[g])
            out[g] = [sqrt_staffing(x, aht, self.beta) for x in load.rate_per_s[g].tolist()]
        return _open_floor(load, out, self.min_agents)


@dataclass(frozen=True)
class IntervalStaffing:
    """A given table: ``agents_by_group[group]`` = agents on duty per interval of the
    horizon (e.g. the optimiser's answer, ``sim.experiments.optimise.StaffingResult.policy()``).

    Every group needs a list with one whole number per interval of the horizon
    (``sim.scenario.calendar.n_intervals``): a group left out would silently get no agents at all,
    so it is an error rather than a default. Scenario validation checks this
    (``check``), so a bad table fails ``billsim validate``, not the run.
    """

    agents_by_group: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.agents_by_group, dict):
            raise ValueError(
                "agents_by_group must map each group name to its agents per interval "
                f"(got {type(self.agents_by_group).__name__})"
            )
        for g, row in self.agents_by_group.items():
            if isinstance(row, np.ndarray):
                row = row.tolist()
            if not isinstance(row, list | tuple):
                raise ValueError(
                    f"agents_by_group['{g}'] must be a list of agents per interval "
                    f"(got {type(row).__name__})"
                )
            for i, a in enumerate(row):
                whole = isinstance(a, int | float | np.integer | np.floating) and not isinstance(
                    a, bool
                )
                if not whole or not math.isfinite(a) or not float(a).is_integer() or a < 0:
                    raise ValueError(
                        f"agents for '{g}' must be whole numbers >= 0 (interval {i}: {a!r})"
                    )

    def check(
        self, group_names: tuple[str, ...] | list[str], n_intervals: int, why: str = ""
    ) -> None:
        """Raise ValueError naming ``policies.staffing.params`` unless the table names
        exactly the scenario's groups, each with ``n_intervals`` entries (``why``, if
        given, says how the horizon's count follows from the scenario)."""
        where = "policies.staffing.params"
        names = list(group_names)
        unknown = [g for g in self.agents_by_group if g not in names]
        if unknown:
            raise ValueError(f"{where}: unknown group {unknown} (groups are {names})")
        missing = [g for g in names if g not in self.agents_by_group]
        if missing:
            raise ValueError(
                f"{where}: agents_by_group has no agents for group {missing}; the 'table' "
                f"rule needs a list of agents on duty per interval for every group {names}"
            )
        for name in names:
            n = len(self.agents_by_group[name])
            if n != n_intervals:
                raise ValueError(
                    f"{where}: '{name}' has {n} intervals, the horizon has "
                    f"{n_intervals}{f' ({why})' if why else ''}"
                )

    def agents(self, load: ForecastLoad) -> np.ndarray:
        n_g, n_i = load.calls.shape
        self.check(load.group_names, n_i)
        out = np.zeros((n_g, n_i), dtype=np.int64)
        for g, name in enumerate(load.group_names):
            out[g] = np.asarray(self.agents_by_group[name], dtype=np.int64)
        return out
