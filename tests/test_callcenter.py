"""The contact-center engine: exact event logs with fixed times, then statistics vs theory.

The first part drives ``ContactCenter`` by hand with constant talk times and patiences, so
every answer time and outcome is known in advance. The second part runs Poisson queues
through ``sim.center.stationary.stationary_queue`` (the same engine) and holds replication
means to Erlang C and Erlang A with a t-confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import simpy
from scipy import stats

from sim.center.engine import CallBatch, CenterConfig, ContactCenter, DrawBuffer
from sim.center.stationary import QueueStats, stationary_queue
from sim.core.codes import ABANDONED, ANSWERED, DROPPED, IN_SERVICE, PENDING, WAITING
from sim.core.erlang import erlang_a_metrics, erlang_c, erlang_c_asa

INF = math.inf

# --------------------------------------------------------------------------- exact event logs


def make_center(
    n_groups: int = 1,
    routes: Sequence[Sequence[int]] | None = None,
    *,
    n_classes: int = 1,
    overflow_after_s: float | None = None,
    callback_wait_s: float | None = None,
    callback_accept: float = 0.0,
    closed_calls: str = "wait",
    retrial_delay_s: float = 30.0,
    retrial_patience_s: float = 1000.0,
    retrial_probability: float = 0.0,
    next_open: Callable[[float], float] = lambda t: t,
) -> tuple[simpy.Environment, ContactCenter]:
    """An engine with deterministic retrial delays and patiences (all reasons -> ``routes``)."""
    env = simpy.Environment()
    center = ContactCenter(
        env,
        CenterConfig(
            n_groups=n_groups,
            routes=routes if routes is not None else [[0]] * 5,
            n_classes=n_classes,
            overflow_after_s=overflow_after_s,
            callback_wait_s=callback_wait_s,
            callback_accept=callback_accept,
            closed_calls=closed_calls,
        ),
        retrial_delay=DrawBuffer(lambda k: np.full(k, retrial_delay_s)),
        retrial_patience=lambda account: retrial_patience_s,
        # uniforms of 0 are below any positive probability: "yes, I will try again"
        retrial_intent=DrawBuffer(lambda k: np.zeros(k)),
        retrial_probability=retrial_probability,
        callback_uniform=DrawBuffer(lambda k: np.zeros(k)),
        next_open=next_open,
    )
    return env, center


def add_calls(
    center: ContactCenter,
    t: Sequence[float],
    talk: float | Sequence[float],
    patience: float | Sequence[float],
    *,
    retry: bool | Sequence[bool] = False,
    klass: int | Sequence[int] = 0,
    reason: int = 0,
) -> np.ndarray:
    n = len(t)

    def col(x, dtype=float):
        return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()

    return center.add_calls(
        CallBatch(
            t_arrive=col(t),
            account=np.arange(n, dtype=np.int64),
            reason=col(reason, np.int64),
            klass=col(klass, np.int64),
            talk=col(talk),
            acw=np.zeros(n),
            patience=col(patience),
            retry_intent=col(retry, bool),
            resolved=np.ones(n, dtype=bool),
            attempt=np.zeros(n, dtype=np.int64),
            origin=np.zeros(n, dtype=np.int64),
        )
    )


def test_one_agent_short_patience() -> None:
    """Calls at 0, 1, 2 with talk 10 and patience 5: the agent is busy until both gave up."""
    env, center = make_center()
    center.set_agents(0, 1)
    ids = add_calls(center, [0.0, 1.0, 2.0], talk=10.0, patience=5.0)
    assert ids.tolist() == [0, 1, 2]
    env.run(until=100)
    center.settle()
    c = center.columns()
    assert c["status"].tolist() == [ANSWERED, ABANDONED, ABANDONED]
    assert c["t_answer"][0] == 0.0
    assert np.isnan(c["t_answer"][1:]).all()
    assert c["group"].tolist() == [0, -1, -1]
    # deadlines 6 and 7 passed before the agent freed up at 10
    assert c["deadline"][1:].tolist() == [6.0, 7.0]
    assert center.free == [1]
    assert sorted(center.finished) == [0, 1, 2]


def test_one_agent_long_patience_serves_in_order() -> None:
    env, center = make_center()
    center.set_agents(0, 1)
    add_calls(center, [0.0, 1.0, 2.0], talk=10.0, patience=20.0)
    env.run(until=100)
    c = center.columns()
    assert c["status"].tolist() == [ANSWERED] * 3
    assert c["t_answer"].tolist() == [0.0, 10.0, 20.0]
    # waits 0, 9, 18 are all within the patience of 20
    assert (c["t_answer"] - c["t_arrive"]).tolist() == [0.0, 9.0, 18.0]
    assert list(center.finished) == [0, 1, 2]
    assert center.free == [1]


def test_caller_answered_exactly_at_its_deadline_is_served() -> None:
    """Abandonment needs deadline < now: a deadline equal to the answer time still waits."""
    env, center = make_center()
    center.set_agents(0, 1)
    add_calls(center, [0.0, 2.0], talk=10.0, patience=8.0)  # call 1 deadline 10 == answer
    env.run(until=100)
    c = center.columns()
    assert c["status"].tolist() == [ANSWERED, ANSWERED]
    assert c["t_answer"].tolist() == [0.0, 10.0]


def test_state_mid_run_then_settle() -> None:
    env, center = make_center()
    center.set_agents(0, 1)
    add_calls(center, [0.0, 1.0, 2.0], talk=10.0, patience=[INF, 5.0, 50.0])
    env.run(until=8)
    # lazy abandonment: call 1's deadline (6) passed but nobody looked yet
    assert list(center.status) == [IN_SERVICE, WAITING, WAITING]
    center.settle()
    assert list(center.status) == [IN_SERVICE, ABANDONED, WAITING]
    env.run(until=100)
    assert list(center.status) == [ANSWERED, ABANDONED, ANSWERED]
    assert center.t_answer[2] == 10.0


def test_calls_arrive_in_time_order_across_batches() -> None:
    env, center = make_center()
    center.set_agents(0, 1)
    add_calls(center, [5.0, 30.0], talk=1.0, patience=INF)
    add_calls(center, [1.0, 10.0], talk=1.0, patience=INF)  # merged into the pending feed
    env.run(until=100)
    assert list(center.t_answer) == [5.0, 30.0, 1.0, 10.0]
    assert list(center.finished) == [2, 0, 3, 1]


def test_calls_cannot_arrive_in_the_past() -> None:
    env, center = make_center()
    center.set_agents(0, 1)
    env.run(until=10)
    with pytest.raises(ValueError, match="past"):
        add_calls(center, [5.0], talk=1.0, patience=INF)


def test_agent_leaving_finishes_the_call_in_hand() -> None:
    """Head count 1 -> 0 at t=5 while busy: call 0 ends at 10, call 1 waits for t=20."""
    env, center = make_center()
    center.schedule_staffing(0, np.array([0.0, 5.0, 20.0]), np.array([1, 0, 1]))
    add_calls(center, [0.0, 1.0], talk=10.0, patience=INF)
    env.run(until=5.5)
    assert center.staffed == [0]
    assert center.owed == [1]  # busy agent leaves when the call ends
    assert list(center.status) == [IN_SERVICE, WAITING]
    env.run(until=15)
    assert list(center.status) == [ANSWERED, WAITING]  # nobody left to take call 1
    assert center.free == [0] and center.owed == [0]
    env.run(until=100)
    assert list(center.status) == [ANSWERED, ANSWERED]
    assert list(center.t_answer) == [0.0, 20.0]  # answered when the next shift starts
    assert center.free == [1]


def test_shrinking_a_busy_group_keeps_the_other_agent() -> None:
    """Two busy agents, head count 2 -> 1: the first to finish leaves, the second stays."""
    env, center = make_center()
    center.schedule_staffing(0, np.array([0.0, 5.0]), np.array([2, 1]))
    add_calls(center, [0.0, 0.0, 1.0], talk=[10.0, 20.0, 5.0], patience=INF)
    env.run(until=100)
    assert list(center.status) == [ANSWERED] * 3
    assert list(center.t_answer) == [0.0, 0.0, 20.0]
    assert center.free == [1] and center.owed == [0] and center.staffed == [1]


def test_adding_agents_cancels_pending_departures_first() -> None:
    env, center = make_center()
    center.set_agents(0, 2)
    add_calls(center, [0.0, 0.0, 1.0], talk=[10.0, 20.0, 5.0], patience=INF)
    env.run(until=2)
    center.set_agents(0, 0)  # both busy agents owe a departure
    assert center.owed == [2] and center.free == [0]
    center.set_agents(0, 1)  # one of them stays after all
    assert center.owed == [1] and center.free == [0]
    env.run(until=100)
    # the first to finish (call 0, at 10) leaves; the other takes call 2 when free at 20
    assert list(center.status) == [ANSWERED] * 3
    assert center.t_answer[2] == 20.0
    assert center.free == [1]


def test_raising_head_count_answers_queued_callers_at_once() -> None:
    env, center = make_center()
    add_calls(center, [0.0, 1.0, 2.0], talk=10.0, patience=INF)
    env.run(until=7)
    assert list(center.status) == [WAITING] * 3
    center.set_agents(0, 2)
    assert list(center.t_answer[:2]) == [7.0, 7.0]
    assert list(center.status) == [IN_SERVICE, IN_SERVICE, WAITING]
    env.run(until=100)
    assert center.t_answer[2] == 17.0


def test_abandoning_caller_retries_after_the_delay() -> None:
    """Patience 5 with retry intent: abandoned at 6 on time, back at 6 + 30 as attempt 1."""
    env, center = make_center(
        retrial_delay_s=30.0, retrial_patience_s=1000.0, retrial_probability=1
    )
    center.set_agents(0, 1)
    add_calls(center, [0.0, 1.0], talk=[100.0, 10.0], patience=[INF, 5.0], retry=[False, True])
    env.run(until=20)
    assert list(center.status[:2]) == [IN_SERVICE, ABANDONED]  # settled by its deadline event
    assert center.n_calls == 3
    assert center.status[2] == PENDING
    env.run(until=200)
    c = center.columns()
    assert c["attempt"].tolist() == [0, 0, 1]
    assert c["account"].tolist() == [0, 1, 1]
    assert c["t_arrive"][2] == 36.0
    assert c["patience"][2] == 1000.0
    assert c["status"].tolist() == [ANSWERED, ABANDONED, ANSWERED]
    assert c["t_answer"][2] == 100.0  # waits for call 0 to end
    assert list(center.finished) == [1, 0, 2]


def test_retrial_while_closed_waits_for_opening_or_is_dropped() -> None:
    opens_at_50: Callable[[float], float] = lambda t: max(t, 50.0)  # noqa: E731
    for closed_calls, status, t_arrive in (("wait", ANSWERED, 50.0), ("drop", DROPPED, 36.0)):
        env, center = make_center(
            closed_calls=closed_calls, retrial_probability=1, next_open=opens_at_50
        )
        center.set_agents(0, 1)
        add_calls(center, [0.0, 1.0], talk=[20.0, 10.0], patience=[INF, 5.0], retry=[False, True])
        env.run(until=200)
        c = center.columns()
        assert c["status"].tolist() == [ANSWERED, ABANDONED, status]
        assert c["t_arrive"][2] == t_arrive
        if status == ANSWERED:
            assert c["t_answer"][2] == 50.0


def test_no_retrial_when_no_opening_is_left() -> None:
    env, center = make_center(retrial_probability=1, next_open=lambda t: INF)
    center.set_agents(0, 1)
    add_calls(center, [0.0, 1.0], talk=20.0, patience=[INF, 5.0], retry=[False, True])
    env.run(until=200)
    assert center.n_calls == 2
    assert list(center.status) == [ANSWERED, ABANDONED]


def test_overflow_to_the_next_group_after_the_wait() -> None:
    env, center = make_center(n_groups=2, routes=[[0, 1]] * 5, overflow_after_s=5.0)
    center.set_agents(0, 1)
    center.set_agents(1, 1)
    add_calls(center, [0.0, 1.0, 2.0], talk=100.0, patience=INF)
    env.run(until=500)
    c = center.columns()
    # call 1 waits 5 s for group 0, then group 1's idle agent takes it
    assert c["group"].tolist() == [0, 1, 0]
    assert c["t_answer"].tolist() == [0.0, 6.0, 100.0]
    # call 2 overflowed at 7 into group 1's queue too, but group 0 freed first (100 < 106)


def test_no_overflow_without_the_setting() -> None:
    env, center = make_center(n_groups=2, routes=[[0, 1]] * 5)
    center.set_agents(0, 1)
    center.set_agents(1, 1)
    add_calls(center, [0.0, 1.0], talk=100.0, patience=INF)
    env.run(until=500)
    assert list(center.group) == [0, 0]
    assert list(center.t_answer) == [0.0, 100.0]


def test_priority_class_zero_goes_first() -> None:
    env, center = make_center(n_classes=2)
    center.set_agents(0, 1)
    add_calls(center, [0.0, 1.0, 2.0], talk=10.0, patience=INF, klass=[0, 1, 0])
    env.run(until=100)
    assert list(center.t_answer) == [0.0, 20.0, 10.0]


def test_callback_offered_after_a_long_predicted_wait() -> None:
    """Call 1 waits 9 s; call 2 then expects a long wait, takes a callback, never abandons."""
    for accept, status2, answer2 in ((1.0, ANSWERED, 20.0), (0.0, ABANDONED, None)):
        env, center = make_center(callback_wait_s=5.0, callback_accept=accept)
        center.set_agents(0, 1)
        add_calls(center, [0.0, 1.0, 12.0], talk=10.0, patience=[INF, 100.0, 1.0])
        env.run(until=100)
        center.settle()
        assert list(center.status) == [ANSWERED, ANSWERED, status2]
        assert list(center.callback) == [False, False, accept > 0]
        if answer2 is not None:
            assert center.t_answer[2] == answer2
            assert center.deadline[2] == INF


# --------------------------------------------------------------------------- statistics

R = 8
SEEDS = range(1, R + 1)
T_CRIT = float(stats.t.ppf(0.975, R - 1))


def replicate(**kw) -> list[QueueStats]:
    return [stationary_queue(seed=s, **kw) for s in SEEDS]


def assert_in_ci(
    name: str, values: Sequence[float], theory: float, bias: float, max_rel_hw: float
) -> None:
    """Mean within the 95 % t-interval widened by ``bias`` (relative to the theory);
    the interval itself must be narrow enough for the check to mean something."""
    x = np.asarray(values, dtype=float)
    assert np.isfinite(x).all(), f"{name}: {x}"
    mean = float(x.mean())
    hw = T_CRIT * float(x.std(ddof=1)) / math.sqrt(R)
    assert hw > 0, f"{name}: replications are identical"
    assert hw <= max_rel_hw * abs(theory), f"{name}: interval ±{hw:.4g} too wide vs {theory:.4g}"
    allowed = hw + bias * abs(theory)
    assert abs(mean - theory) <= allowed, (
        f"{name}: simulated {mean:.5g} vs theory {theory:.5g} (allowed ±{allowed:.3g})"
    )


@pytest.mark.slow
def test_mmc_matches_erlang_c() -> None:
    """M/M/10 at 87.5 % load, no abandonment: P(wait) and mean wait vs Erlang C."""
    aht, c, a = 300.0, 10, 8.75
    lam = a / aht
    runs = replicate(lam_per_s=lam, aht_s=aht, agents=c, hours=200)
    assert all(r.abandoned == 0 for r in runs)
    assert all(r.calls > 20_000 for r in runs)
    p_wait, wait = erlang_c(c, a), erlang_c_asa(c, a, aht)
    assert p_wait == pytest.approx(0.597, abs=1e-3) and wait == pytest.approx(143.3, abs=0.1)
    assert_in_ci("P(wait)", [r.p_wait for r in runs], p_wait, bias=0.01, max_rel_hw=0.08)
    # with nobody abandoning, both wait statistics are the mean over all calls
    assert_in_ci("E[W]", [r.asa_s for r in runs], wait, bias=0.03, max_rel_hw=0.25)
    assert [r.mean_wait_all_s for r in runs] == pytest.approx([r.asa_s for r in runs])
    assert_in_ci("occupancy", [r.occupancy for r in runs], a / c, bias=0.005, max_rel_hw=0.02)


def _erlang_a_check(lam: float, c: int, hours: float, warmup_s: float, rel_hw: dict) -> None:
    aht, patience, threshold = 300.0, 120.0, 20.0
    runs = replicate(
        lam_per_s=lam,
        aht_s=aht,
        agents=c,
        hours=hours,
        patience_s=patience,
        threshold_s=threshold,
        warmup_s=warmup_s,
    )
    th = erlang_a_metrics(lam, aht, patience, c, threshold)
    for r in runs:
        done = r.answered + r.abandoned
        assert r.p_abandon == pytest.approx(r.abandoned / done)
        # QueueStats.asa_s is answered waits / all: never above the mean over all arrivals
        assert r.asa_s <= r.mean_wait_all_s
    assert_in_ci("P(abandon)", [r.p_abandon for r in runs], th.p_abandon, 0.02, rel_hw["pab"])
    assert_in_ci("SL", [r.service_level for r in runs], th.service_level, 0.005, rel_hw["sl"])
    assert_in_ci("E[W]", [r.mean_wait_all_s for r in runs], th.asa_s, 0.02, rel_hw["w"])
    assert_in_ci("P(wait)", [r.p_wait for r in runs], th.p_wait, 0.01, rel_hw["pw"])
    assert_in_ci("occupancy", [r.occupancy for r in runs], th.occupancy, 0.005, 0.02)


@pytest.mark.slow
def test_mmc_plus_m_small_center_matches_erlang_a() -> None:
    """10 agents at 100 % offered load, mean patience 120 s: ~15 % abandon."""
    lam = 10.0 / 300.0
    th = erlang_a_metrics(lam, 300.0, 120.0, 10, 20.0)
    assert th.p_abandon == pytest.approx(0.1524, abs=1e-3)
    assert th.service_level == pytest.approx(0.650, abs=1e-3)
    _erlang_a_check(lam, 10, 100, 1800, {"pab": 0.06, "sl": 0.03, "w": 0.06, "pw": 0.05})


@pytest.mark.slow
def test_mmc_plus_m_large_center_matches_erlang_a() -> None:
    """520 agents, 100 calls a minute, AHT 300 s (500 Erlangs), mean patience 120 s."""
    lam = 100.0 / 60.0
    th = erlang_a_metrics(lam, 300.0, 120.0, 520, 20.0)
    assert th.p_abandon == pytest.approx(0.00666, abs=1e-4)
    assert th.service_level == pytest.approx(0.9924, abs=1e-3)
    # half a day after one hour of warm-up; the rare-event statistics vary a lot between runs
    _erlang_a_check(lam, 520, 8, 3600, {"pab": 0.6, "sl": 0.005, "w": 0.6, "pw": 0.45})
