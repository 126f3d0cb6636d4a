"""Head count over time: shifts and shrinkage turned into agents on duty per group.

Two step functions per group: *scheduled* agents (paid, before shrinkage) for the cost,
and agents *on duty* (after shrinkage) for the contact center. Changes happen at shift
starts and ends; an agent whose shift ends finishes the call in hand (callcenter.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.clock import DAY_S, Clock
from sim.scenario import Scenario, parse_clock, parse_days


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


def staffing_plan(scenario: Scenario, clock: Clock) -> StaffingPlan:
    """Scheduled and on-duty step functions of every group over the horizon."""
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
