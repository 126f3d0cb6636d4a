"""Contact-center mechanisms judged by their effect on whole runs (``sim.simulate``).

Each test runs small variants of scenarios/baseline.yaml with a fixed seed and checks what
the mechanism must do: nobody on shift answers no call, callbacks cut abandonment,
retrials raise the offered load, overflow shortens the longest waits, verification
failures lengthen handling, IVR self-service keeps callers away from agents, the
interval table adds up to the calls table, and calls arrive only while the center is open.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sim import Results, Scenario, simulate
from tests.conftest import simple_staffing

SEED = 4242
QUEUED = ("waiting", "in_service", "answered", "abandoned")
"""Outcomes of attempts that reached the queue (not IVR, not dropped, not pending)."""


def scale_shifts(sc: Scenario, agents: Callable[[int], int]) -> Scenario:
    """Every shift of every group staffed with ``agents(old head count)``."""
    changes = {}
    for gi, g in enumerate(sc.contact_center.groups):
        for si, sh in enumerate(g.shifts or []):
            changes[f"contact_center.groups[{gi}].shifts[{si}].agents"] = agents(sh.agents)
    return sc.with_changes(changes)


@pytest.fixture(scope="module")
def base(baseline: Scenario) -> Scenario:
    """6 000 accounts, two months, no acquisition: about 1 500 calls; 3 specialists and
    6 tier-1 agents from opening to closing (2 and 4 on the phones)."""
    return simple_staffing(
        baseline.with_changes(
            {"customers.accounts": 6000, "customers.acquisition_per_month": 0, "calendar.months": 2}
        ),
        specialists=3,
        tier1=6,
    )


@pytest.fixture(scope="module")
def understaffed(base: Scenario) -> Scenario:
    """15 000 accounts and one agent per group (round(0.7 · 1) = 1 on the phones)."""
    return simple_staffing(base.with_changes({"customers.accounts": 15_000}), 1, 1)


@pytest.fixture(scope="module")
def small_run(small_scenario: Scenario) -> Results:
    return simulate(small_scenario, seed=SEED)


def abandonment(r: Results) -> float:
    out = r.calls()["outcome"]
    ab, ans = int((out == "abandoned").sum()), int((out == "answered").sum())
    return ab / (ab + ans)


# --------------------------------------------------------------------------- nobody on shift


@pytest.fixture(scope="module")
def no_specialists(base: Scenario) -> Scenario:
    """billing_specialists (skill: billing_error only) with 0 agents on every shift."""
    return simple_staffing(base, specialists=0, tier1=6)


def test_group_with_nobody_on_shift_answers_no_call_and_its_callers_abandon(
    no_specialists: Scenario,
) -> None:
    r = simulate(
        no_specialists.with_changes({"contact_center.routing.overflow_after_s": None}), seed=SEED
    )
    c = r.calls()
    assert not (c["group"] == "billing_specialists").any()
    errors = c[c["reason"] == "billing_error"]
    assert len(errors) > 50  # the mechanism is exercised
    # Without overflow nobody else may take them: every one abandons (or still waits
    # at the end of the horizon); none is answered or in service.
    assert set(errors["outcome"].unique()) <= {"abandoned", "waiting"}
    assert (errors["outcome"] == "abandoned").mean() > 0.9
    assert errors["t_answer_s"].isna().all()
    # Other reasons, served by tier1, are still answered.
    others = c[c["reason"] != "billing_error"]
    assert (others["outcome"] == "answered").mean() > 0.9
    kpi_ab = r.kpis()["abandonment_rate"]
    assert kpi_ab == pytest.approx(abandonment(r))


def test_group_with_nobody_on_shift_overflows_to_the_next_group(no_specialists: Scenario) -> None:
    r = simulate(
        no_specialists.with_changes({"contact_center.routing.overflow_after_s": 30}), seed=SEED
    )
    c = r.calls()
    assert not (c["group"] == "billing_specialists").any()
    errors = c[c["reason"] == "billing_error"]
    answered = errors[errors["outcome"] == "answered"]
    assert len(answered) > 0.8 * len(errors)
    assert (answered["group"] == "tier1").all()
    # With overflow routing on, a group with nobody on duty is skipped at once: the
    # callers queue at tier1 from the start instead of waiting out the overflow time.
    assert (answered["wait_s"] == 0).mean() > 0.5
    assert (errors["outcome"] == "abandoned").mean() < 0.1


# --------------------------------------------------------------------------- callbacks


def test_callbacks_cut_abandonment(understaffed: Scenario) -> None:
    without = simulate(understaffed, seed=SEED)
    with_cb = simulate(
        understaffed.with_changes(
            {
                "contact_center.callers.callback.offer_when_wait_s": 30,
                "contact_center.callers.callback.accept": 1.0,
            }
        ),
        seed=SEED,
    )
    assert not without.calls()["callback"].any()
    cb = with_cb.calls()[with_cb.calls()["callback"]]
    assert len(cb) > 500
    # A caller who took a callback keeps their place without hanging up.
    assert not (cb["outcome"] == "abandoned").any()
    assert (cb["outcome"].isin(["answered", "in_service", "waiting"])).all()
    a0, a1 = abandonment(without), abandonment(with_cb)
    assert a0 > 0.15  # the scenario is understaffed indeed
    assert a1 < 0.7 * a0
    assert with_cb.kpis()["abandonment_rate"] == pytest.approx(a1)


# --------------------------------------------------------------------------- retrials


def test_retrials_raise_offered_attempts(understaffed: Scenario) -> None:
    never = simulate(
        understaffed.with_changes({"contact_center.callers.retrial.probability": 0.0}), seed=SEED
    )
    always = simulate(
        understaffed.with_changes({"contact_center.callers.retrial.probability": 1.0}), seed=SEED
    )
    assert (never.calls()["attempt"] == 0).all()
    retrials = always.calls()[always.calls()["attempt"] > 0]
    assert len(retrials) > 100
    # Every retrial follows an abandoned attempt of the same account.
    abandoned_accounts = set(
        always.calls().loc[always.calls()["outcome"] == "abandoned", "account"]
    )
    assert set(retrials["account"]) <= abandoned_accounts
    k0, k1 = never.kpis(), always.kpis()
    assert k1["calls_offered"] > k0["calls_offered"] + 0.5 * len(retrials)
    # First attempts of the first month are the same customers at the same times
    # (common random numbers): the extra load is the retrials.
    first_month = pd.Timestamp(understaffed.calendar.start) + pd.Timedelta(days=27)

    def firsts(r: Results) -> set[tuple[int, float]]:
        c = r.calls()
        m = (c["attempt"] == 0) & (c["origin"] == "bill") & (c["arrival"] < first_month)
        return set(zip(c.loc[m, "account"], c.loc[m, "t_arrive_s"], strict=True))

    assert firsts(never) == firsts(always)


# --------------------------------------------------------------------------- overflow


def test_overflow_shortens_the_longest_waits(base: Scenario) -> None:
    thin = simple_staffing(base, specialists=1, tier1=6)

    def p99_error_wait(overflow: float | None) -> tuple[float, Results]:
        sc = thin.with_changes({"contact_center.routing.overflow_after_s": overflow})
        r = simulate(sc, seed=SEED)
        c = r.calls()
        e = c[(c["reason"] == "billing_error") & c["outcome"].isin(["answered", "abandoned"])]
        assert len(e) > 100
        return float(np.percentile(e["wait_s"], 99)), r

    p_none, r_none = p99_error_wait(None)
    p_over, r_over = p99_error_wait(30)
    assert p_over < 0.5 * p_none
    # Only overflow lets tier1 answer a billing error.
    c0, c1 = r_none.calls(), r_over.calls()
    assert not ((c0["reason"] == "billing_error") & (c0["group"] == "tier1")).any()
    assert ((c1["reason"] == "billing_error") & (c1["group"] == "tier1")).sum() >= 5


# --------------------------------------------------------------------------- verification


def test_verification_failures_lengthen_handling_by_the_extra_time(base: Scenario) -> None:
    roomy = scale_shifts(base, lambda a: 2 * a)  # few abandonments: little selection

    def run(rate: float) -> Results:
        return simulate(
            roomy.with_changes({"contact_center.handling.verification_fail_rate": rate}),
            seed=SEED,
        )

    ok, fail = run(0.0), run(1.0)
    extra = roomy.contact_center.handling.verification_fail_extra_s
    assert extra.expected == 90

    def handling(r: Results) -> pd.Series:
        c = r.calls()
        a = c[c["outcome"] == "answered"]
        return a["talk_s"] + a["acw_s"]

    h0, h1 = handling(ok), handling(fail)
    diff = fail.kpis()["aht_s"] - ok.kpis()["aht_s"]
    assert diff == pytest.approx(h1.mean() - h0.mean())
    se = math.sqrt(h0.var() / len(h0) + h1.var() / len(h1))
    assert len(h0) > 1000
    assert abs(diff - extra.expected) < 4 * se, (diff, se)
    assert diff > 0.5 * extra.expected

    # Common random numbers: the same first-attempt calls of the first bill month get
    # exactly one extra verification draw each, with the documented mean and spread.
    def first(r: Results) -> pd.DataFrame:
        c = r.calls()
        m = (c["attempt"] == 0) & (c["origin"] == "bill") & (c["outcome"] == "answered")
        m &= c["arrival"] < pd.Timestamp(base.calendar.start) + pd.Timedelta(days=27)
        return c.loc[m, ["account", "t_arrive_s", "talk_s"]]

    j = first(ok).merge(first(fail), on=["account", "t_arrive_s"], suffixes=("_ok", "_fail"))
    assert len(j) > 300
    added = j["talk_s_fail"] - j["talk_s_ok"]
    assert (added > 0).all()
    assert abs(added.mean() - extra.expected) < 4 * math.sqrt(extra.variance / len(added))


# --------------------------------------------------------------------------- IVR


def test_ivr_self_service_keeps_question_callers_away_from_agents(base: Scenario) -> None:
    r = simulate(
        base.with_changes({"contact_center.callers.ivr_self_service": {"question": 1.0}}),
        seed=SEED,
    )
    c = r.calls()
    q = c[c["reason"] == "question"]
    assert len(q) > 100
    assert (q["outcome"] == "ivr").all()
    assert q["group"].isna().all() and q["t_answer_s"].isna().all()
    assert q["resolved"].all()
    # Nothing else is settled in the IVR, and the KPIs do not count IVR calls as offered.
    assert not (c.loc[c["reason"] != "question", "outcome"] == "ivr").any()
    assert r.kpis()["calls_offered"] == c["outcome"].isin(QUEUED).sum()
    assert r.kpis()["calls_offered"] == len(c) - len(q)


# --------------------------------------------------------------------------- intervals


def test_interval_totals_equal_the_calls_table(small_scenario: Scenario) -> None:
    # one agent per group, so that some callers abandon
    small_run = simulate(simple_staffing(small_scenario, 1, 1), seed=SEED)
    iv = small_run.intervals()
    c = small_run.calls()
    out = c["outcome"]
    assert iv["offered"].sum() == out.isin(QUEUED).sum() > 500
    assert iv["answered"].sum() == (out == "answered").sum()
    assert iv["abandoned"].sum() == (out == "abandoned").sum() > 0
    # Interval by interval too, binned independently from the arrival time.
    step = small_run.scenario.contact_center.interval_minutes * 60
    assert iv["t_s"].diff().dropna().eq(step).all()
    bins = (c["t_arrive_s"] // step).astype(int)
    n = len(iv)
    for name, mask in [
        ("offered", out.isin(QUEUED)),
        ("answered", out == "answered"),
        ("abandoned", out == "abandoned"),
    ]:
        expected = np.bincount(bins[mask], minlength=n)
        np.testing.assert_array_equal(iv[name].to_numpy(), expected)


def test_agents_on_duty_follow_open_hours(small_scenario: Scenario) -> None:
    small_run = simulate(simple_staffing(small_scenario, 3, 9), seed=SEED)
    iv = small_run.intervals()
    sc = small_run.scenario
    start = iv["interval_start"]
    sunday = start.dt.day_of_week == 6
    holiday = start.dt.date.isin(sc.calendar.holidays)
    night = (start.dt.hour < 8) | (start.dt.hour >= 20)
    assert sunday.sum() > 0 and holiday.sum() == 48
    for closed in (sunday, holiday, night):
        assert (iv.loc[closed, "agents_on_duty"] == 0).all()
        assert (iv.loc[closed, "offered"] == 0).all()
    afternoon = (start.dt.day_of_week < 5) & (start.dt.hour >= 13) & (start.dt.hour < 16) & ~holiday
    assert afternoon.sum() > 100
    on = iv.loc[afternoon, "agents_on_duty"]
    # 9 tier-1 agents and 3 specialists: shrinkage 0.3 leaves round(0.7 · 9) = 6 and
    # round(0.7 · 3) = 2 on the phones.
    assert (on == 6 + 2).all(), on.unique()
    assert (iv.loc[afternoon, "agents_scheduled"] == 5 + 4 + 3).all()


# --------------------------------------------------------------------------- calendar


def test_first_attempts_arrive_only_while_open(baseline: Scenario, small_run: Results) -> None:
    c = small_run.calls()
    first = c[c["attempt"] == 0]
    assert len(first) > 500 and (first["origin"] == "repeat").any()
    ts = first["arrival"]
    weekday = ts.dt.day_of_week.to_numpy()
    clock_s = (ts - ts.dt.normalize()).dt.total_seconds().to_numpy()
    assert not (weekday == 6).any()
    assert not ts.dt.date.isin([dt.date(2027, 1, 6)]).any()
    assert baseline.calendar.holidays == [dt.date(2027, 1, 6)]
    # Baseline hours: Mon-Fri 08:00-20:00, Sat 09:00-14:00.
    lo = np.where(weekday == 5, 9 * 3600, 8 * 3600)
    hi = np.where(weekday == 5, 14 * 3600, 20 * 3600)
    assert ((clock_s >= lo) & (clock_s <= hi)).all()
    assert (weekday == 5).any()  # Saturdays do get calls
