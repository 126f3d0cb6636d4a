"""The staffing optimiser meets its target in simulation, on training and hold-out runs,
and cannot be pruned further on its training runs.

A tiny operation: one group, one busy Monday morning (explicit forecast, 8 half-hour
intervals), open 09:00-13:00 on weekdays; the other days carry no calls and keep the
floor of one agent.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import Scenario, simulate
from sim.core.codes import REASONS
from sim.experiments.optimise import (
    Evaluation,
    _local_verdict,
    _Problem,
    meets_target,
    optimise_staffing,
    shift_coverage,
)

CALLS = [20, 30, 40, 40, 30, 30, 20, 10]
REPS, MIN_CALLS = 3, 5.0


@pytest.fixture(scope="module")
def tiny(baseline: Scenario) -> Scenario:
    rows = [
        {"start": f"2027-01-04T{9 + i // 2:02d}:{30 * (i % 2):02d}:00", "calls": c}
        for i, c in enumerate(CALLS)
    ]
    return baseline.with_changes(
        {
            "calendar.months": 1,
            "calendar.open_hours": {"mon-fri": "09:00-13:00", "sat-sun": "closed"},
            "calendar.holidays": [],
            "customers.accounts": 300,
            "customers.acquisition_per_month": 0,
            "billing.contact.probability": {"error": 0, "shock": 0, "routine": 0},
            "contact_center.groups": [
                {"name": "tier1", "skills": list(REASONS), "agents": 5, "shrinkage": 0.3}
            ],
            "contact_center.routing.overflow_after_s": None,
            "contact_center.callers.ivr_self_service": {},
            "contact_center.resolution.repeat_probability": 0.0,
            "contact_center.forecast": {"reasons": {"question": 1.0}, "intervals": rows},
            "policies.discount.authority_pct": {},
        }
    )


@pytest.fixture(scope="module")
def result(tiny: Scenario):
    """Default settings: all cores, a hold-out as large as the training set."""
    return optimise_staffing(tiny, replications=REPS, min_calls=MIN_CALLS)


@pytest.fixture(scope="module")
def trained(tiny: Scenario):
    """Without hold-out runs, serial: the pruned staffing exactly as the search left it."""
    return optimise_staffing(tiny, replications=REPS, min_calls=MIN_CALLS, holdout=0, workers=1)


def test_optimiser_meets_its_target_in_simulation(tiny: Scenario, result) -> None:
    assert result.feasible and result.pruned_fully
    ok, ev = meets_target(tiny, result.agents, replications=REPS, min_calls=MIN_CALLS)
    assert ok
    assert ev.measured.sum() >= 6
    assert result.min_interval_service_level >= tiny.contact_center.service_level.target
    df = result.staffing
    assert {"interval", "group", "agents", "service_level"} <= set(df.columns)
    assert (df["agents"] >= 1).all()  # open intervals keep the floor
    assert result.cost == pytest.approx(
        float((np.ceil(result.agents / 0.7 - 1e-9) * 0.5 * (result.agents > 0)).sum() * 32)
    )


def test_no_single_agent_interval_can_be_removed(tiny: Scenario, trained) -> None:
    """Local minimality holds on the training runs against target + margin."""
    assert trained.locally_minimal and trained.holdout_feasible is None
    agents = trained.agents
    ok, _ = meets_target(
        tiny, agents, replications=REPS, min_calls=MIN_CALLS, margin=trained.margin
    )
    assert ok
    tried = 0
    for g, i in zip(*np.nonzero(agents > 1), strict=True):
        trial = agents.copy()
        trial[g, i] -= 1
        ok, _ = meets_target(
            tiny, trial, replications=REPS, min_calls=MIN_CALLS, margin=trained.margin
        )
        assert not ok, f"interval {i} still meets the target with one agent fewer"
        tried += 1
    assert tried >= 6


def test_target_met_on_holdout_runs(tiny: Scenario, result) -> None:
    """Replications REPS..2*REPS-1 were never used by the search, and meet the target."""
    target = tiny.contact_center.service_level.target
    s = result.summary()
    assert s["holdout_replications"] == REPS and s["holdout_feasible"] is True
    assert s["holdout_service_level"] >= target
    assert s["holdout_min_interval_service_level"] >= target - 1e-12
    assert s["locally_minimal"] == (result.pruned_fully and result.holdout_added == 0)
    ok, ev = meets_target(
        tiny, result.agents, replications=REPS, first_replication=REPS, min_calls=MIN_CALLS
    )
    assert ok and ev.overall() == pytest.approx(result.holdout_service_level)
    assert "holdout_service_level" in result.staffing.columns
    assert result.history[-1]["phase"].startswith("holdout") and result.history[-1]["meets"]


def test_parallel_evaluation_equals_serial(tiny: Scenario, trained) -> None:
    serial = _Problem(tiny, REPS, MIN_CALLS, {}, workers=1)
    parallel = _Problem(tiny, REPS, MIN_CALLS, {}, workers=2)
    try:
        staffings = [trained.agents, trained.agents + 1, trained.start_agents]
        for a, b in zip(
            serial.evaluate_many(staffings), parallel.evaluate_many(staffings), strict=True
        ):
            assert np.array_equal(a.offered, b.offered)
            assert np.array_equal(a.within, b.within)
            assert np.array_equal(a.service_level, b.service_level)
        assert parallel._pool is not None  # the pool really ran
    finally:
        parallel.close()
    par = optimise_staffing(tiny, replications=REPS, min_calls=MIN_CALLS, holdout=0, workers=2)
    assert np.array_equal(par.agents, trained.agents)
    assert par.prune_trials == trained.prune_trials and par.cost == trained.cost

    def decisions(history: list[dict]) -> list[dict]:  # speculative runs may differ
        return [{k: v for k, v in h.items() if k != "simulations"} for h in history]

    assert decisions(par.history) == decisions(trained.history)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_trials", -1),
        ("replications", 0),
        ("holdout", -1),
        ("margin", -0.01),
        ("workers", 0),
        ("min_calls", -1.0),
        ("min_agents", -1),
    ],
)
def test_arguments_are_validated(tiny: Scenario, name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        optimise_staffing(tiny, **{name: value})


def test_trial_cap_and_progress(tiny: Scenario) -> None:
    seen: list[float] = []
    res = optimise_staffing(
        tiny,
        replications=REPS,
        min_calls=MIN_CALLS,
        holdout=0,
        max_trials=0,
        progress=lambda f, _msg: seen.append(f),
    )
    assert res.prune_trials == 0 and not res.pruned_fully and res.feasible
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_result_becomes_a_policy_and_a_scenario(tiny: Scenario, result) -> None:
    via_policy = simulate(tiny, staffing_policy=result.policy())
    via_scenario = simulate(result.to_scenario())
    assert via_policy.kpis() == via_scenario.kpis()
    on_duty = via_policy.intervals()["agents_on_duty"].to_numpy()
    assert np.allclose(on_duty, result.agents[0])


def test_shift_plan_covers_the_scheduled_head_count(tiny: Scenario, result) -> None:
    edges = np.arange(result.agents.shape[1] + 1) * 1800.0
    need = np.ceil(result.agents / 0.7 - 1e-9)
    cover = shift_coverage(result.shifts, tiny, edges)
    assert (cover >= need).all()
    assert set(result.shifts["group"]) == {"tier1"}
    assert (result.shifts["hours"] <= 8).all()


def test_shifts_are_whole_and_end_by_closing(tiny: Scenario) -> None:
    """A need late in the day is met by a whole shift ending at closing, not a stub."""
    from sim.experiments.optimise import shift_plan
    from sim.scenario.calendar import Clock

    clock = Clock(tiny)
    n = len(clock.dates) * 48
    edges = np.arange(n + 1) * 1800.0
    need = np.zeros((1, n), dtype=np.int64)
    monday = 0  # 2027-01-04, open 09:00-13:00 (intervals 18..25)
    need[0, monday * 48 + 24 : monday * 48 + 26] = 2  # 12:00-13:00 only
    shifts = shift_plan(tiny, need, edges, shift_hours=(4.0, 6.0, 8.0), clock=clock)
    assert len(shifts) == 1
    row = shifts.iloc[0]
    # the open day is 4 h: the 4-hour shift starts at 09:00 and ends at closing
    assert (row["start"], row["hours"], row["agents"]) == ("09:00", 4.0, 2)
    assert (shift_coverage(shifts, tiny, edges) >= need).all()


def test_shift_plan_costs_at_least_the_interval_staffing(result) -> None:
    assert result.shift_cost >= result.cost - 1e-9
    assert result.summary()["shift_plan_cost"] == result.shift_cost


def test_a_class_trial_judges_each_removal_where_it_acts() -> None:
    """A miss blames the removals of its own interval and the one before (backlog), in
    every group; an unmeasured removal waits while its group's level misses."""
    offered = np.full((2, 6), 20.0)
    offered[1, 5] = 1.0  # quiet: unmeasured
    within = offered * 0.9
    within[1, 3] = 0.0  # group 1 misses in interval 3, and overall
    measured = offered >= 10
    ev = Evaluation(offered, within, measured, within / offered)
    cand = np.zeros((2, 6), dtype=bool)
    cand[:, [1, 3, 5]] = True  # one interval class, both groups
    ok, bad = _local_verdict(ev, cand, 0.8)
    assert bad.tolist() == [[False] * 6, [False, False, False, True, False, False]]
    # interval 3 misses: its removals and those of interval 2 (none here) are not safe
    assert ok[:, 3].sum() == 0 and ok[0, 1] and ok[1, 1]
    # group 1 misses overall (0.72): its quiet cell waits, not stuck
    assert ev.group_service_level[1] < 0.8 and not ok[1, 5] and not bad[1, 5]
    assert ok[0, 5]


def test_pruning_rounds_run_before_the_certificate(trained) -> None:
    phases = [h["phase"] for h in trained.history]
    assert "prune_rounds" in phases and phases.index("prune_rounds") < phases.index("prune")
