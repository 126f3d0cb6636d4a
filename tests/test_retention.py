"""Billing, churn and money, through ``sim.simulate`` on variants of scenarios/baseline.yaml.

Churn is held to the base hazard when nothing else moves it, then shown to rise with
waiting and with billing errors; a billing incident is traced to the calls of its own
cycle; the money columns are checked to add up exactly and the agent cost against
hours counted from the calendar; plan changes lower charges; and staffing changes are
shown to leave bills and first calls untouched (common random numbers).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import REASONS, Results, Scenario, simulate
from sim.scenario.calendar import parse_days

SEED = 20270104
DAY_S = 86_400.0
NO_CALLS = {"billing.contact.probability": {"error": 0.0, "shock": 0.0, "routine": 0.0}}
NO_EFFECTS = {
    "retention.effects": {
        "long_wait": 0.0,
        "abandoned": 0.0,
        "unresolved": 0.0,
        "error_uncorrected": 0.0,
        "discount": 0.0,
        "resolved": 0.0,
        "bill_shock": 0.0,
    },
    "retention.new_account": 0.0,
}


def scale_shifts(sc: Scenario, agents: Callable[[int], int]) -> Scenario:
    """Every shift of every group staffed with ``agents(old head count)``."""
    changes = {}
    for gi, g in enumerate(sc.contact_center.groups):
        for si, sh in enumerate(g.shifts or []):
            changes[f"contact_center.groups[{gi}].shifts[{si}].agents"] = agents(sh.agents)
    return sc.with_changes(changes)


def bill_times(sc: Scenario) -> dict[int, list[float]]:
    """Seconds from the start of every bill date of each cycle day inside the horizon."""
    cal = sc.calendar
    out: dict[int, list[float]] = {c: [] for c in sc.billing.cycle_days}
    day = cal.start
    while day < cal.end:
        if day.day in out:
            out[day.day].append((day - cal.start).days * DAY_S)
        day += dt.timedelta(days=1)
    return out


def month_of(r: Results, t: np.ndarray | pd.Series) -> np.ndarray:
    edges = r.raw.month_starts_s
    return np.searchsorted(edges, np.asarray(t, dtype=float), side="right") - 1


def first_bill_calls(r: Results) -> pd.DataFrame:
    """First attempts of bill-driven calls, with the caller's cycle day and month."""
    c = r.calls()
    f = c[(c["attempt"] == 0) & (c["origin"] == "bill")].copy()
    f["cycle_day"] = r.customers()["cycle_day"].to_numpy()[f["account"].to_numpy()]
    f["month"] = month_of(r, f["t_arrive_s"])
    return f


# --------------------------------------------------------------------------- base hazard


def test_churn_without_calls_or_effects_matches_the_base_hazard(baseline: Scenario) -> None:
    sc = baseline.with_changes(
        {
            "customers.accounts": 100_000,
            "customers.acquisition_per_month": 0,
            "calendar.months": 2,
            **NO_CALLS,
            **NO_EFFECTS,
        }
    )
    r = simulate(sc, seed=SEED)
    assert len(r.calls()) == 0
    cust = r.customers()
    assert len(cust) == 100_000
    churned_s = cust["churned_s"].to_numpy()
    gone = ~np.isnan(churned_s)
    # Accounts facing each bill date: active up to it (a churner leaves *at* a bill).
    facing = np.zeros(len(cust))
    cycle = cust["cycle_day"].to_numpy()
    for day, times in bill_times(sc).items():
        assert len(times) == 2  # two months: every cycle bills twice
        mine = cycle == day
        for t in times:
            facing[mine] += ~(churned_s[mine] < t)
        # Churn only ever happens at the account's own bill dates.
        assert np.isin(churned_s[mine & gone], times).all()
    m = r.monthly()
    assert facing.sum() == m["bills"].sum() + m["churned"].sum()
    assert gone.sum() == m["churned"].sum() > 1000

    for seg in sc.customers.segments:
        mine = (cust["segment"] == seg.name).to_numpy()
        n, k = int(facing[mine].sum()), int(gone[mine].sum())
        lo, hi = stats.binom.interval(0.999, n, seg.churn_base_monthly)
        assert lo <= k <= hi, (seg.name, k, n, k / n, seg.churn_base_monthly)
    # The monthly table reports the same hazard overall.
    facing_m = m["bills"] + m["churned"]
    assert (m["churn_rate"] == m["churned"] / facing_m).all()


# --------------------------------------------------------------------------- drivers of churn


@pytest.fixture(scope="module")
def mid(baseline: Scenario) -> Scenario:
    """30 000 accounts, three months, no acquisition (about 9 000 calls)."""
    return baseline.with_changes(
        {"customers.accounts": 30_000, "customers.acquisition_per_month": 0, "calendar.months": 3}
    )


def test_more_waiting_means_more_churn(mid: Scenario) -> None:
    short = simulate(scale_shifts(mid, lambda a: 1), seed=SEED)
    ample = simulate(scale_shifts(mid, lambda a: 3 * a), seed=SEED)
    ks, ka = short.kpis(), ample.kpis()
    assert ks["asa_s"] > 10 * ka["asa_s"]
    assert ks["abandonment_rate"] > 0.3 > 0.05 > ka["abandonment_rate"]
    # The same bills went out in the first month (staffing moves no bill).
    assert short.monthly()["bills"][0] == ample.monthly()["bills"][0]
    assert ks["churned"] > ka["churned"] + 40
    assert ks["monthly_churn"] > ka["monthly_churn"]
    # Waiting is what moved it: remembered long waits and abandoned calls.
    exp_s = short.customers()[["exp_long_wait", "exp_abandoned"]].sum()
    exp_a = ample.customers()[["exp_long_wait", "exp_abandoned"]].sum()
    assert (exp_s > 10 * exp_a + 100).all(), (exp_s, exp_a)


def test_more_billing_errors_mean_more_calls_and_churn(mid: Scenario) -> None:
    low = simulate(mid.with_changes({"billing.error.rate": 0.01}), seed=SEED)
    high = simulate(mid.with_changes({"billing.error.rate": 0.10}), seed=SEED)
    ml, mh = low.monthly(), high.monthly()
    assert mh["bill_errors"].sum() > 7 * ml["bill_errors"].sum()
    assert mh["calls_offered"].sum() > 1.4 * ml["calls_offered"].sum()
    errors = [(r.calls()["reason"] == "billing_error").sum() for r in (low, high)]
    assert errors[1] > 5 * errors[0]
    assert high.kpis()["churned"] > low.kpis()["churned"] + 40
    assert mh["error_credits"].sum() > 5 * ml["error_credits"].sum()


# --------------------------------------------------------------------------- incident


def test_incident_raises_calls_of_its_cycle_only(baseline: Scenario) -> None:
    base = baseline.with_changes(
        {
            "customers.accounts": 8000,
            "customers.acquisition_per_month": 0,
            "calendar.months": 3,
            "billing.cycle_days": [1, 8, 15, 22],  # a quarter of the accounts per cycle
        }
    )
    feb = (dt.date(2027, 2, 1), dt.date(2027, 2, 28))
    incident = base.with_changes(
        {
            "billing.incident": {
                "cycles": [8],
                "start": feb[0].isoformat(),
                "end": feb[1].isoformat(),
                "error_rate": 0.3,
            }
        }
    )
    r0, r1 = simulate(base, seed=SEED), simulate(incident, seed=SEED)
    # cycle 8's bill of 8 February falls in the second month of the horizon (4 Feb - 3 Mar)
    assert month_of(r0, [(dt.date(2027, 2, 8) - base.calendar.start).days * DAY_S])[0] == 1
    # Compare accounts whose churn history is the same in both runs (extra waiting
    # in the incident can tip a few churn decisions, which moves later bills).
    c0, c1 = r0.customers(), r1.customers()
    pd.testing.assert_series_equal(c0["cycle_day"], c1["cycle_day"])
    same = (c0["churned_s"] == c1["churned_s"]) | (c0["churned_s"].isna() & c1["churned_s"].isna())
    assert same.mean() > 0.99

    def counts(r: Results, reason: str | None = None) -> pd.DataFrame:
        f = first_bill_calls(r)
        f = f[same.to_numpy()[f["account"].to_numpy()] & (f["month"] <= 1)]
        if reason is not None:
            f = f[f["reason"] == reason]
        return pd.crosstab(f["cycle_day"], f["month"])

    n0, n1 = counts(r0), counts(r1)
    e0, e1 = counts(r0, "billing_error"), counts(r1, "billing_error")
    others = [1, 15, 22]
    # The month before: nothing differs anywhere.
    pd.testing.assert_series_equal(n0[0], n1[0])
    # The incident month: other cycles call exactly as before, cycle 8 much more.
    pd.testing.assert_series_equal(n0.loc[others, 1], n1.loc[others, 1])
    pd.testing.assert_series_equal(e0.loc[others, 1], e1.loc[others, 1])
    assert n1.loc[8, 1] > n0.loc[8, 1] + 150
    assert e1.loc[8, 1] > 8 * e0.loc[8, 1]

    # Bill errors: with common random numbers the incident adds exactly the cycle-8
    # bills whose error draw fell in [0.02, 0.3): Binomial(bills, 0.28) of them.
    m0, m1 = r0.monthly(), r1.monthly()
    assert m0["bill_errors"][0] == m1["bill_errors"][0]
    t8 = bill_times(base)[8][1]  # 2027-02-08
    cyc8 = (c0["cycle_day"] == 8).to_numpy()
    n8 = int((cyc8 & ~(c0["churned_s"].to_numpy() < t8)).sum())
    extra = int(m1["bill_errors"][1] - m0["bill_errors"][1])
    p = 0.3 - base.billing.error.rate
    sd = math.sqrt(n8 * p * (1 - p))
    assert abs(extra - n8 * p) < 4 * sd, (extra, n8 * p, sd)
    assert m0["bills"][1] == m1["bills"][1]


# --------------------------------------------------------------------------- money


MONEY = [
    "billed",
    "discount_cost",
    "error_credits",
    "revenue",
    "service_cost",
    "margin",
    "agent_cost",
    "telephony_cost",
    "lost_value",
]


def test_money_adds_up_each_month_and_in_total(mid: Scenario) -> None:
    sc = mid.with_changes(
        {
            "customers.accounts": 10_000,
            "customers.acquisition_per_month": 200,
            "policies.discount.name": "flat",
            "policies.discount.params": {"pct": 10.0},
            "retention.new_account": 0.0,
        }
    )
    r = simulate(sc, seed=SEED)
    m = r.monthly()
    for col in MONEY:  # every term is really exercised
        assert (m[col][1:] > 0).all(), col
    # No account is billed twice in the first month, so no discount is deducted yet.
    assert m["discount_cost"][0] == 0 < m["error_credits"][0]
    revenue = m["billed"] - m["discount_cost"] - m["error_credits"]
    net = m["margin"] - m["agent_cost"] - m["telephony_cost"] + m["base_value_change"]
    assert m["discount_owed"].iloc[-1] > 0  # 10 % flat for 3 months: some bills are to come
    np.testing.assert_allclose(m["revenue"], revenue, rtol=1e-12)
    np.testing.assert_allclose(m["net"], net, rtol=1e-12)
    k = r.kpis()
    for col in ("revenue", "margin", "agent_cost", "telephony_cost", "base_value_change", "net"):
        assert np.isclose(k[col], m[col].sum(), rtol=1e-12), col
    total = m["billed"].sum() - m["discount_cost"].sum() - m["error_credits"].sum()
    assert np.isclose(k["revenue"], total, rtol=1e-12)
    total -= m["service_cost"].sum() + m["agent_cost"].sum() + m["telephony_cost"].sum()
    total += m["base_value_change"].sum()
    assert np.isclose(k["net"], total, rtol=1e-12)
    # Cost of service: the correct part of every bill × (1 − the segment's gross margin).
    cust = r.customers()
    gm = np.array([s.gross_margin for s in sc.customers.segments])
    assert (cust["service_cost"] > 0).any()
    # Lost value: with no tenure effect the hazard of an account without experience is
    # its segment's base rate h, and the CLV is m·(1−h)/(1 − (1−h)/(1+d)) in closed form.
    assert sc.retention.new_account == 0
    gone = cust[cust["churned_s"].notna()]
    codes = gone["segment"].cat.codes.to_numpy()
    h = np.array([s.churn_base_monthly for s in sc.customers.segments])[codes]
    margin = gone["charge"].to_numpy() * gm[codes]
    keep = (1 - h) / (1 + sc.economics.discount_rate_monthly)
    lost = float(np.sum(margin * (1 - h) / (1 - keep)))
    assert np.isclose(m["lost_value"].sum(), lost, rtol=1e-9)
    # Telephony: every minute on the line (waiting or talking) at the per-minute rate.
    c = r.calls()
    line_s = c.loc[c["outcome"].isin(["answered", "abandoned"]), ["wait_s", "talk_s"]]
    minutes = line_s.fillna(0.0).to_numpy().sum() / 60
    assert np.isclose(
        m["telephony_cost"].sum(), minutes * sc.economics.telephony_per_minute, rtol=1e-9
    )


def open_hours_in(sc: Scenario) -> float:
    """Open hours of the horizon counted day by day (holidays closed)."""
    hours = {0: 12.0, 1: 12.0, 2: 12.0, 3: 12.0, 4: 12.0, 5: 5.0, 6: 0.0}  # baseline.yaml
    cal, total, day = sc.calendar, 0.0, sc.calendar.start
    while day < cal.end:
        if day not in cal.holidays:
            total += hours[day.weekday()]
        day += dt.timedelta(days=1)
    return total


def test_agent_cost_is_agents_times_open_hours_times_rate(baseline: Scenario) -> None:
    n_agents = 9
    sc = baseline.with_changes(
        {
            "customers.accounts": 2000,
            "calendar.months": 1,
            "contact_center.groups": [
                {"name": "everyone", "skills": list(REASONS), "agents": n_agents, "shrinkage": 0.3}
            ],
            "policies.discount.authority_pct": {},
        }
    )
    assert sc.calendar.end == dt.date(2027, 2, 4)
    hours = open_hours_in(sc)
    # 4 Jan - 3 Feb 2027: 23 weekdays less the Epiphany holiday, 4 Saturdays.
    assert hours == 22 * 12 + 4 * 5
    r = simulate(sc, seed=SEED)
    rate_h = sc.economics.agent_cost_per_hour
    assert r.monthly()["agent_cost"].tolist() == pytest.approx(
        [n_agents * hours * rate_h], rel=1e-12
    )
    # Shrinkage takes agents off the phones, not off the payroll.
    iv = r.intervals()
    assert iv["agents_scheduled"].max() == n_agents
    assert iv["agents_on_duty"].max() == round(n_agents * 0.7)
    # A group's own hourly cost replaces the default.
    own = sc.with_changes({"contact_center.groups[0].cost_per_hour": 50.0})
    cost = simulate(own, seed=SEED).monthly()["agent_cost"].sum()
    assert cost == pytest.approx(n_agents * hours * 50.0, rel=1e-12)


def test_agent_cost_of_baseline_shifts(baseline: Scenario) -> None:
    sc = baseline.with_changes({"customers.accounts": 2000, "calendar.months": 1})
    cal = sc.calendar
    shifts = [sh for g in sc.contact_center.groups for sh in g.shifts or []]
    paid = [
        sum(sh.agents * sh.hours for sh in shifts if wd in parse_days(sh.days)) for wd in range(7)
    ]
    # Monday by hand: specialists 5·8 + 3·4, tier 1 20·8 + 11·4 + 3·8 + 2·4 + 3·6 + 17·4
    assert paid[0] == 52 + 322 and paid[6] == 0
    agent_hours, day = 0.0, cal.start
    while day < cal.end:
        if day not in cal.holidays:
            agent_hours += paid[day.weekday()]
        day += dt.timedelta(days=1)
    r = simulate(sc, seed=SEED)
    expected = agent_hours * sc.economics.agent_cost_per_hour
    assert r.monthly()["agent_cost"].sum() == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- plan changes


def test_plan_changes_lower_charges_and_billing(mid: Scenario) -> None:
    fcr = dict(mid.contact_center.resolution.first_contact, plan_change=1.0)
    changes = {
        "customers.accounts": 10_000,
        "billing.contact.reasons.routine": {"plan_change": 1.0},
        "contact_center.resolution.first_contact": fcr,
    }
    for gi, g in enumerate(mid.contact_center.groups):  # groups' own rates, if any
        if "plan_change" in g.first_contact:
            own = dict(g.first_contact, plan_change=1.0)
            changes[f"contact_center.groups[{gi}].first_contact"] = own
    sc = mid.with_changes(changes)
    cut = sc.billing.plan_change_reduction
    assert cut == 0.15
    r1 = simulate(sc, seed=SEED)
    r0 = simulate(sc.with_changes({"billing.plan_change_reduction": 0.0}), seed=SEED)
    c1, c0 = r1.customers(), r0.customers()
    assert len(c1) == len(c0)
    changed = c1["plan_changes"] > 0
    assert changed.sum() > 500
    # With no reduction the charge never moves, so r0 holds every initial charge:
    # each resolved plan change took 15 % off.
    ratio = c1["charge"] / c0["charge"]
    np.testing.assert_allclose(ratio, (1 - cut) ** c1["plan_changes"], rtol=1e-12)
    assert (c1.loc[changed, "charge"] < c0.loc[changed, "charge"]).all()
    # Every answered plan-change call resolved the issue.
    pc = r1.calls()[(r1.calls()["reason"] == "plan_change") & (r1.calls()["outcome"] == "answered")]
    assert pc["resolved"].all()
    assert c1["plan_changes"].sum() <= len(pc)
    # Lower charges show up on the bills of the last month.
    last = sc.calendar.months - 1
    assert r1.monthly()["billed"][last] < 0.99 * r0.monthly()["billed"][last]
    assert r1.monthly()["billed"][0] == r0.monthly()["billed"][0]


# --------------------------------------------------------------------------- CRN


def test_staffing_leaves_bills_and_first_calls_identical(mid: Scenario) -> None:
    # one agent a shift, then two: the baseline's shifts never let 10 000 accounts wait
    sc = scale_shifts(mid.with_changes({"customers.accounts": 10_000}), lambda a: 1)
    r1 = simulate(sc, seed=SEED)
    r2 = simulate(scale_shifts(sc, lambda a: 2 * a), seed=SEED)
    m1, m2 = r1.monthly(), r2.monthly()
    for col in ("bills", "bill_errors", "bill_shocks", "billed"):
        assert m1[col][0] == m2[col][0], col
    f1, f2 = first_bill_calls(r1), first_bill_calls(r2)
    key = ["account", "t_arrive_s", "reason"]
    s1 = set(map(tuple, f1.loc[f1["month"] == 0, key].to_numpy().tolist()))
    s2 = set(map(tuple, f2.loc[f2["month"] == 0, key].to_numpy().tolist()))
    assert len(s1) > 500
    assert s1 == s2
    # ...while the queue itself did change.
    assert r2.kpis()["asa_s"] < r1.kpis()["asa_s"]
    assert r2.kpis()["agent_cost"] == pytest.approx(2 * r1.kpis()["agent_cost"])
