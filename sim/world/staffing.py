"""Head count over time: shifts and shrinkage turned into agents on duty per group.

Two step functions per group: *scheduled* agents (paid, before shrinkage) for the cost,
and agents *on duty* (after shrinkage) for the contact center. Changes happen at shift
starts and ends; an agent whose shift ends finishes the call in hand (sim/center/engine.py).

With a staffing rule other than 'fixed' (``policies.staffing``, sim.policies), the rule
gives agents on duty per interval from the forecast load (sim.world.forecast); they are on
duty only while the center is open, and the paid head count is
``ceil(on_duty / (1 - shrinkage))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.policies.catalogue import build_staffing
from sim.policies.staffing import FixedStaffing, StaffingPolicy
from sim.scenario import Scenario
from sim.scenario.calendar import DAY_S, Clock
from sim.scenario.schema import parse_clock, parse_days
from sim.world.forecast import forecast_load


@dataclass(frozen=True)
class StaffingPlan:
    """Per group: (change times, agents from that time on), sorted, starting at 0."""

    scheduled: list[tuple[np.ndarray, np.ndarray]]
    on_duty: list[tuple[np.ndarray, np.ndarray]]


def _steps(starts: list[float], ends: list[float], counts: list[int], horizon: float):
    if not starts:
        return np.array([0.0]), np.array([0], dtype=np.int64)
    t = np.concatenate([starts, ends, [0.0]])
    d = np.concatenate([counts, -np.asarray(counts), [0]])
    order = np.argsort(t, kind="stable")
    t, d = t[order], d[order]
    level = np.cumsum(d)
    # keep the last level at each distinct time, and only times inside the horizon
    last = np.r_[t[1:] != t[:-1], True]
    t, level = t[last], level[last]
    inside = t < horizon
    t, level = t[inside], level[inside]
    change = np.r_[True, level[1:] != level[:-1]]
    return t[change], level[change].astype(np.int64)


def on_duty_count(scheduled: np.ndarray, shrinkage: float) -> np.ndarray:
    """Agents on the phones for a scheduled head count (rounded to whole agents)."""
    return np.floor(scheduled * (1.0 - shrinkage) + 0.5).astype(np.int64)


def staffing_plan(
    scenario: Scenario, clock: Clock, policy: StaffingPolicy | None = None
) -> StaffingPlan:
    """Scheduled and on-duty step functions of every group over the horizon.

    ``policy`` defaults to the scenario's ``policies.staffing`` rule; a rule that
    returns no interval table (``fixed``) keeps the shifts as written.
    """
    if policy is None:
        st = scenario.policies.staffing
        policy = build_staffing(st.name, st.params)
    if not isinstance(policy, FixedStaffing):
        load = forecast_load(scenario, clock)
        agents = policy.agents(load)
        if agents is not None:
            agents = np.asarray(agents)
            if agents.shape != load.calls.shape:
                raise ValueError(
                    f"staffing policy returned shape {agents.shape}, expected "
                    f"{load.calls.shape} (groups, intervals)"
                )
            return plan_from_intervals(scenario, clock, load.edges_s, agents)
    return shift_plan(scenario, clock)


def plan_from_intervals(
    scenario: Scenario, clock: Clock, edges_s: np.ndarray, agents: np.ndarray
) -> StaffingPlan:
    """Step functions from agents on duty per (group, interval), only during open hours;
    scheduled (paid) = ceil(on_duty / (1 - shrinkage))."""
    agents = np.asarray(agents)
    if np.any(agents < 0) or np.any(agents != np.round(agents)):
        raise ValueError("staffing: agents per interval must be whole numbers >= 0")
    agents = agents.astype(np.int64)
    lo, hi = clock.open_windows()
    horizon = clock.horizon_s
    t = np.unique(np.concatenate([edges_s[:-1], lo, hi, [0.0]]))
    t = t[t < horizon]
    k = np.clip(np.searchsorted(edges_s, t, side="right") - 1, 0, edges_s.size - 2)
    w = np.searchsorted(lo, t, side="right") - 1
    is_open = (w >= 0) & (t < np.where(w >= 0, hi[np.maximum(w, 0)], -1.0))
    scheduled, on_duty = [], []
    for g, grp in enumerate(scenario.contact_center.groups):
        level = np.where(is_open, agents[g, k], 0)
        change = np.r_[True, level[1:] != level[:-1]]
        tt, lv = t[change], level[change].astype(np.int64)
        paid = np.ceil(lv / (1.0 - grp.shrinkage) - 1e-9).astype(np.int64)
        on_duty.append((tt, lv))
        scheduled.append((tt, paid))
    return StaffingPlan(scheduled=scheduled, on_duty=on_duty)


def shift_plan(scenario: Scenario, clock: Clock) -> StaffingPlan:
    """The 'fixed' rule: head counts and shifts as written, minus shrinkage."""
    scheduled, on_duty = [], []
    open_lo, open_hi = clock.open_windows()
    for g in scenario.contact_center.groups:
        starts: list[float] = []
        ends: list[float] = []
        counts: list[int] = []
        if g.shifts is None:
            starts, ends = open_lo.tolist(), open_hi.tolist()
            counts = [int(g.agents or 0)] * len(starts)
        else:
            holidays = set(scenario.calendar.holidays)
            for sh in g.shifts:
                days = set(parse_days(sh.days))
                begin = parse_clock(sh.start)
                for d, date in enumerate(clock.dates):
                    if date.weekday() in days and date not in holidays and sh.agents > 0:
                        s = d * DAY_S + begin
                        starts.append(s)
                        ends.append(min(s + sh.hours * 3600, clock.horizon_s))
                        counts.append(sh.agents)
        t, level = _steps(starts, ends, counts, clock.horizon_s)
        scheduled.append((t, level))
        on_duty.append((t, on_duty_count(level, g.shrinkage)))
    return StaffingPlan(scheduled=scheduled, on_duty=on_duty)
