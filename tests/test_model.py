"""Whole replications of a small scenario: reproducibility, conservation, edge cases,
direction of effects, common random numbers and discount policies."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim import simulate
from sim.results.tables import Results
from sim.scenario import Scenario
from tests.conftest import simple_staffing

SETTLED = {"answered", "abandoned", "ivr", "dropped"}
STILL_IN_SYSTEM = {"waiting", "in_service"}


def shift_changes(sc: Scenario, agents: Any, shrinkage: float | None = None) -> dict[str, Any]:
    """with_changes keys that set every shift's head count (``agents(old)`` or a number)."""
    changes: dict[str, Any] = {}
    for gi, g in enumerate(sc.contact_center.groups):
        if shrinkage is not None:
            changes[f"contact_center.groups[{gi}].shrinkage"] = shrinkage
        assert g.shifts is not None, "the small scenario staffs every group by shifts"
        for si, sh in enumerate(g.shifts):
            n = agents(sh.agents) if callable(agents) else agents
            changes[f"contact_center.groups[{gi}].shifts[{si}].agents"] = n
    return changes


@pytest.fixture(scope="module")
def lean(small_scenario: Scenario) -> Scenario:
    """One agent per group from opening to closing, no shrinkage: queues form."""
    sc = simple_staffing(small_scenario, 1, 1)
    return sc.with_changes(shift_changes(sc, 1, shrinkage=0.0))


@pytest.fixture(scope="module")
def doubled(small_scenario: Scenario) -> Scenario:
    sc = simple_staffing(small_scenario, 2, 2)
    return sc.with_changes(shift_changes(sc, 2, shrinkage=0.0))


@pytest.fixture(scope="module")
def run(small_scenario: Scenario) -> Results:
    return simulate(small_scenario)


@pytest.fixture(scope="module")
def lean_run(lean: Scenario) -> Results:
    return simulate(lean)


@pytest.fixture(scope="module")
def doubled_run(doubled: Scenario) -> Results:
    return simulate(doubled)


# --------------------------------------------------------------------------- reproducibility


def assert_kpis_equal(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k


def test_same_seed_same_tables(small_scenario: Scenario, run: Results) -> None:
    again = simulate(small_scenario)
    assert run.seed == again.seed == small_scenario.seed
    pd.testing.assert_frame_equal(run.calls(), again.calls())
    pd.testing.assert_frame_equal(run.monthly(), again.monthly())
    pd.testing.assert_frame_equal(run.customers(), again.customers())
    pd.testing.assert_frame_equal(run.intervals(), again.intervals())
    assert_kpis_equal(run.kpis(), again.kpis())


def test_explicit_seed_equals_scenario_seed(small_scenario: Scenario, run: Results) -> None:
    same = simulate(small_scenario, seed=small_scenario.seed)
    pd.testing.assert_frame_equal(run.calls(), same.calls())


def test_different_seed_different_calls(small_scenario: Scenario, run: Results) -> None:
    other = simulate(small_scenario, seed=small_scenario.seed + 1)
    assert other.seed == small_scenario.seed + 1
    assert len(run.calls()) > 100 and len(other.calls()) > 100
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(run.calls(), other.calls())
    # not just a reordering: the arrival times themselves differ
    assert set(run.calls()["t_arrive_s"]).isdisjoint(set(other.calls()["t_arrive_s"]))


# --------------------------------------------------------------------------- conservation


def check_conservation(res: Results) -> None:
    """Invariants every replication must satisfy, whatever the scenario."""
    calls = res.calls()
    horizon = res.raw.clock.horizon_s
    outcomes = set(calls["outcome"].astype(str))
    assert outcomes <= SETTLED | STILL_IN_SYSTEM, outcomes

    # lazy abandonment is settled: a waiting caller's deadline lies beyond the horizon
    waiting = calls[calls["outcome"] == "waiting"]
    deadline = waiting["t_arrive_s"] + waiting["patience_s"]
    assert ((deadline >= horizon) | waiting["callback"]).all()
    assert np.allclose(waiting["wait_s"], horizon - waiting["t_arrive_s"])

    # answered: after arrival, before patience ran out (a callback waits as long as needed)
    ans = calls[calls["outcome"] == "answered"]
    assert (ans["t_answer_s"] >= ans["t_arrive_s"]).all()
    assert np.array_equal(ans["wait_s"], ans["t_answer_s"] - ans["t_arrive_s"])
    ok = (ans["wait_s"] <= ans["patience_s"]) | ans["callback"]
    assert ok.all(), ans[~ok]
    assert ans["talk_s"].notna().all() and (ans["talk_s"] > 0).all()
    assert ans["group"].notna().all()

    # abandoned callers waited exactly their patience and were never answered
    ab = calls[calls["outcome"] == "abandoned"]
    assert ab["t_answer_s"].isna().all()
    assert np.allclose(ab["wait_s"], ab["patience_s"])
    assert (ab["t_arrive_s"] + ab["patience_s"] <= horizon).all()
    assert not ab["callback"].any()

    # nothing arrives outside the horizon; IVR and dropped calls never queued
    assert (calls["t_arrive_s"] >= 0).all() and (calls["t_arrive_s"] < horizon).all()
    never_queued = calls[calls["outcome"].isin(["ivr", "dropped"])]
    assert never_queued["t_answer_s"].isna().all()

    # interval and monthly tables count the same calls as the calls table
    iv = res.intervals()
    queued = ~calls["outcome"].isin(["ivr", "dropped", "pending"])
    n_ans = int((calls["outcome"] == "answered").sum())
    n_ab = int((calls["outcome"] == "abandoned").sum())
    assert iv["offered"].sum() == queued.sum()
    assert iv["answered"].sum() == n_ans
    assert iv["abandoned"].sum() == n_ab
    m = res.monthly()
    assert m["calls_offered"].sum() == queued.sum()
    assert m["calls_answered"].sum() == n_ans
    assert m["calls_abandoned"].sum() == n_ab
    T = res.scenario.contact_center.service_level.threshold_s
    within = int((ans["wait_s"] <= T).sum())
    assert iv["answered_within_threshold"].sum() == within
    k = res.kpis()
    assert k["calls_offered"] == queued.sum()
    assert k["calls_answered"] == n_ans
    if n_ans + n_ab:
        assert k["service_level"] == pytest.approx(within / (n_ans + n_ab), rel=1e-12)
        assert k["abandonment_rate"] == pytest.approx(n_ab / (n_ans + n_ab), rel=1e-12)
    else:
        assert math.isnan(k["service_level"]) and math.isnan(k["abandonment_rate"])

    # every account is active or churned, never both or neither
    cust = res.customers()
    assert cust["active"].dtype == bool
    assert np.array_equal(cust["churned_s"].notna().to_numpy(), ~cust["active"].to_numpy())
    assert len(cust) == res.scenario.customers.accounts + m["acquired"].sum()
    assert (~cust["active"]).sum() == m["churned"].sum() == k["churned"]
    assert m["active_end"].iloc[-1] == cust["active"].sum()
    churned_at = cust.loc[~cust["active"], "churned_s"]
    assert ((churned_at >= 0) & (churned_at < horizon)).all()

    # money adds up exactly: margin − agent − telephony + change in the value of the base
    assert np.isclose(
        m["net"].sum(),
        m["billed"].sum()
        - m["discount_cost"].sum()
        - m["error_credits"].sum()
        - m["service_cost"].sum()
        - m["agent_cost"].sum()
        - m["telephony_cost"].sum()
        + m["base_value_change"].sum(),
        rtol=1e-12,
    )
    assert (m["base_value_change"].iloc[:-1] == 0).all()
    np.testing.assert_allclose(m["margin"], m["revenue"] - m["service_cost"], rtol=1e-12)
    seg = res.segments()
    assert m["base_value_change"].iloc[-1] == pytest.approx(
        seg["value_active_end"].sum() - seg["value_start"].sum(), rel=1e-9
    )
    assert seg["margin"].sum() == pytest.approx(m["margin"].sum(), rel=1e-9)
    # what granted discounts still give after the horizon is booked in the last month
    assert (m["discount_owed"].iloc[:-1] == 0).all()
    assert m["discount_owed"].iloc[-1] == pytest.approx(
        (cust["charge"] * cust["discount_pct"] / 100 * cust["discount_bills_left"])[
            cust["active"]
        ].sum()
    )
    np.testing.assert_allclose(
        m["revenue"], m["billed"] - m["discount_cost"] - m["error_credits"], rtol=1e-12
    )
    assert k["revenue"] == pytest.approx(m["revenue"].sum(), rel=1e-12)
    assert k["net"] == pytest.approx(m["net"].sum(), rel=1e-12)
    assert (m[["billed", "discount_cost", "error_credits", "agent_cost"]] >= 0).all().all()
    assert (m[["telephony_cost", "lost_value", "discount_owed"]] >= 0).all().all()


def test_conservation_in_the_small_scenario(run: Results) -> None:
    calls = run.calls()
    assert len(calls) > 500
    counts = calls["outcome"].value_counts()
    assert counts["answered"] > 0.8 * len(calls)
    assert counts["ivr"] > 0  # abandonment is exercised by test_conservation_under_load
    check_conservation(run)


def test_conservation_under_load(lean_run: Results) -> None:
    assert (lean_run.calls()["outcome"] == "abandoned").sum() > 20
    assert (lean_run.calls()["attempt"] > 0).sum() > 0  # retrials happen
    check_conservation(lean_run)


def test_conservation_with_callbacks(lean: Scenario) -> None:
    res = simulate(
        lean.with_changes(
            {
                "contact_center.callers.callback.offer_when_wait_s": 30,
                "contact_center.callers.callback.accept": 1.0,
            }
        )
    )
    cb = res.calls()[res.calls()["callback"]]
    assert len(cb) > 0
    # a caller who accepted a callback never abandons
    assert set(cb["outcome"].astype(str)) <= {"answered", "waiting", "in_service"}
    check_conservation(res)


def test_first_attempts_are_counted_per_account(run: Results) -> None:
    calls = run.calls()
    first = calls[calls["attempt"] == 0]
    per_acct = first.groupby("account").size()
    cust = run.customers().set_index("account")
    assert cust["calls"].sum() == len(first)
    assert (cust.loc[per_acct.index, "calls"] == per_acct).all()


# --------------------------------------------------------------------------- edge cases


def test_zero_agents(small_scenario: Scenario) -> None:
    """Nobody to answer: every queued caller abandons or is still waiting at the end."""
    sc = small_scenario.with_changes(
        {
            **shift_changes(small_scenario, 0),
            # patience of days, so that some callers are still waiting when the horizon ends
            **{
                f"customers.segments[{i}].patience_s": {"dist": "exponential", "mean": 3 * 86400}
                for i in range(len(small_scenario.customers.segments))
            },
        }
    )
    res = simulate(sc)
    calls = res.calls()
    outcomes = calls["outcome"].value_counts()
    assert outcomes["answered"] == 0 and outcomes["in_service"] == 0
    assert outcomes["abandoned"] > 100 and outcomes["waiting"] > 10
    queued = calls[~calls["outcome"].isin(["ivr", "dropped"])]
    assert set(queued["outcome"].astype(str)) == {"abandoned", "waiting"}
    check_conservation(res)
    k = res.kpis()
    assert k["service_level"] == 0.0
    assert k["abandonment_rate"] == 1.0
    assert k["calls_answered"] == 0
    assert math.isnan(k["asa_s"]) and math.isnan(k["aht_s"]) and math.isnan(k["fcr"])
    assert k["agent_cost"] == 0.0
    iv = res.intervals()
    assert iv["answered"].sum() == 0
    assert (iv["agents_on_duty"] == 0).all()


def test_zero_agents_default_patience(small_scenario: Scenario) -> None:
    res = simulate(small_scenario.with_changes(shift_changes(small_scenario, 0)))
    outcomes = set(res.calls()["outcome"].astype(str))
    assert "answered" not in outcomes and "abandoned" in outcomes
    check_conservation(res)
    assert res.kpis()["service_level"] == 0.0


def test_zero_calls(small_scenario: Scenario) -> None:
    sc = small_scenario.with_changes(
        {
            "billing.contact.probability": {"error": 0.0, "shock": 0.0, "routine": 0.0},
            "contact_center.callers.ivr_self_service": {},
        }
    )
    res = simulate(sc)
    assert len(res.calls()) == 0
    assert list(res.calls().columns) == list(simulate(small_scenario).calls().columns)
    k = res.kpis()
    for name in ("service_level", "asa_s", "abandonment_rate", "aht_s", "fcr"):
        assert math.isnan(k[name]), name
    assert k["calls_offered"] == 0 and k["calls_answered"] == 0
    assert k["occupancy"] == 0.0
    assert k["revenue"] > 0 and k["agent_cost"] > 0
    assert k["telephony_cost"] == 0.0
    assert res.monthly()["calls_offered"].sum() == 0
    assert res.intervals()["offered"].sum() == 0
    check_conservation(res)


def test_zero_accounts(small_scenario: Scenario) -> None:
    res = simulate(small_scenario.with_changes({"customers.accounts": 0}))
    k = res.kpis()
    assert math.isnan(k["retention"])  # no initial base to retain
    m = res.monthly()
    # the only customers are those acquired on the 1st of February and March, one
    # acquisition in each month of the horizon (Jan 4 - Feb 3, Feb 4 - Mar 3)
    assert m["acquired"].sum() == len(res.customers()) > 0
    assert (m["acquired"] > 0).all()
    # nobody is billed before joining: a month bills at most the accounts that exist
    assert (m["bills"] <= m["acquired"].cumsum()).all()
    joined = res.customers()["joined_s"]
    first_joined = (dt.date(2027, 2, 1) - small_scenario.calendar.start).days * 86_400.0
    assert (joined >= first_joined).all()
    check_conservation(res)


def test_no_accounts_at_all(small_scenario: Scenario) -> None:
    res = simulate(
        small_scenario.with_changes({"customers.accounts": 0, "customers.acquisition_per_month": 0})
    )
    assert len(res.customers()) == 0 and len(res.calls()) == 0
    k = res.kpis()
    assert k["revenue"] == 0.0 and k["churned"] == 0.0
    assert k["net"] == pytest.approx(-k["agent_cost"])
    assert math.isnan(k["monthly_churn"]) and math.isnan(k["retention"])
    check_conservation(res)


# --------------------------------------------------------------------------- direction


def test_more_agents_better_queue_kpis(lean_run: Results, doubled_run: Results) -> None:
    lean_k, more_k = lean_run.kpis(), doubled_run.kpis()
    assert more_k["service_level"] >= lean_k["service_level"]
    assert more_k["asa_s"] <= lean_k["asa_s"]
    assert more_k["abandonment_rate"] <= lean_k["abandonment_rate"]
    assert more_k["occupancy"] < lean_k["occupancy"]
    assert more_k["agent_cost"] == pytest.approx(2 * lean_k["agent_cost"], rel=1e-12)
    # and by a margin this load makes clear, not a tie
    assert more_k["service_level"] - lean_k["service_level"] > 0.05
    assert more_k["asa_s"] < 0.5 * lean_k["asa_s"]


@pytest.mark.parametrize("seed", [1, 2])
def test_more_agents_better_queue_kpis_other_seeds(
    lean: Scenario, doubled: Scenario, seed: int
) -> None:
    lean_k, more_k = simulate(lean, seed=seed).kpis(), simulate(doubled, seed=seed).kpis()
    assert more_k["service_level"] >= lean_k["service_level"]
    assert more_k["asa_s"] <= lean_k["asa_s"]


def _first_bill_calls(res: Results, until_s: float) -> set[tuple[int, float]]:
    c = res.calls()
    sel = c[(c["attempt"] == 0) & (c["origin"] == "bill") & (c["t_arrive_s"] < until_s)]
    return set(zip(sel["account"].tolist(), sel["t_arrive_s"].tolist(), strict=True))


def test_common_random_numbers_across_staffing(lean_run: Results, doubled_run: Results) -> None:
    """Staffing changes the queue, not who calls after a bill or when (first month)."""
    first_month_end = lean_run.raw.month_starts_s[1]
    assert doubled_run.raw.month_starts_s[1] == first_month_end
    a = _first_bill_calls(lean_run, first_month_end)
    b = _first_bill_calls(doubled_run, first_month_end)
    assert len(a) > 200
    assert a == b
    # the runs really differ in what happened to those callers
    assert lean_run.kpis()["service_level"] != doubled_run.kpis()["service_level"]
    # the customer base starts out identical too
    n0 = lean_run.scenario.customers.accounts
    for col in ("segment", "cycle_day", "tenure_at_start"):
        pd.testing.assert_series_equal(
            lean_run.customers()[col].iloc[:n0], doubled_run.customers()[col].iloc[:n0]
        )


# --------------------------------------------------------------------------- discounts


@pytest.fixture(scope="module")
def flat_run(small_scenario: Scenario) -> Results:
    return simulate(
        small_scenario.with_changes(
            {"policies.discount.name": "flat", "policies.discount.params": {"pct": 10}}
        )
    )


def test_no_discount_policy_grants_nothing(run: Results) -> None:
    assert run.scenario.policies.discount.name == "none"
    assert (run.calls()["discount_pct"] == 0).all()
    assert (run.monthly()["discount_cost"] == 0).all()
    assert (run.monthly()["discounts_granted"] == 0).all()
    assert run.kpis()["discount_cost"] == 0.0


def test_flat_discount_is_granted_and_billed(flat_run: Results) -> None:
    calls = flat_run.calls()
    got = calls[calls["discount_pct"] > 0]
    assert len(got) > 10
    # 10 % is within both groups' authority (10 and 15), to answered high-bill/plan callers
    assert (got["discount_pct"] == 10).all()
    assert (got["outcome"] == "answered").all()
    assert set(got["reason"].astype(str)) <= {"high_bill", "plan_change"}
    m = flat_run.monthly()
    assert m["discounts_granted"].sum() == len(got)
    # granted after January calls, deducted from the next bills
    assert m["discount_cost"].iloc[-1] > 0
    assert m["discount_cost"].sum() > 0
    assert flat_run.kpis()["discount_cost"] == pytest.approx(m["discount_cost"].sum())
    check_conservation(flat_run)


def test_discount_budget_caps_the_grants(small_scenario: Scenario, flat_run: Results) -> None:
    budget = 60.0
    capped = simulate(
        small_scenario.with_changes(
            {
                "policies.discount.name": "flat",
                "policies.discount.params": {"pct": 10},
                "policies.discount.budget_per_month": budget,
            }
        )
    )
    n_free = int((flat_run.calls()["discount_pct"] > 0).sum())
    n_capped = int((capped.calls()["discount_pct"] > 0).sum())
    assert 0 < n_capped < n_free
    # committed value (monthly charge x pct x duration) per month never exceeds the budget
    committed: dict[int, float] = {}
    for month, _, value in capped.raw.ledger.discounts:
        committed[month] = committed.get(month, 0.0) + value
    assert committed and all(v <= budget + 1e-9 for v in committed.values())
    assert capped.monthly()["discounts_granted"].sum() == n_capped


def test_authority_caps_the_discount(small_scenario: Scenario) -> None:
    res = simulate(
        small_scenario.with_changes(
            {
                "policies.discount.name": "flat",
                "policies.discount.params": {"pct": 50},
                "policies.discount.budget_per_month": None,
            }
        )
    )
    got = res.calls()[res.calls()["discount_pct"] > 0]
    assert len(got) > 0
    authority = small_scenario.policies.discount.authority_pct
    for group, pct in got.groupby("group", observed=True)["discount_pct"]:
        assert (pct == authority[group]).all(), group


def test_churn_of_accounts_that_never_called_is_unaffected_by_staffing(
    lean: Scenario, doubled: Scenario
) -> None:
    """Same experiences (none), same segment, same seed: the churn decision must match."""
    changes = {"calendar.months": 3}
    a, b = simulate(lean.with_changes(changes)), simulate(doubled.with_changes(changes))
    callers = np.union1d(a.calls()["account"], b.calls()["account"])
    quiet = np.setdiff1d(a.customers()["account"], callers)
    assert len(quiet) > 2000
    pd.testing.assert_series_equal(
        a.customers()["active"].iloc[quiet], b.customers()["active"].iloc[quiet]
    )


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(("start", "months"), [("2027-01-04", 3), ("2027-01-31", 4)])
def test_every_month_row_spans_a_whole_month(
    small_scenario: Scenario, start: str, months: int
) -> None:
    """Month m is [start + m months, start + m+1 months): with a start on the 4th, the
    last row used to run from March 1st to the horizon's end on April 4th. Weekly cycles:
    with a start on the 31st, month 1 starts on February 28th, so a cycle on the 28th
    falls twice into that row and never into the one before (calendar, not a fault)."""
    sc = small_scenario.with_changes(
        {"calendar.start": start, "calendar.months": months, "billing.cycle_days": [1, 8, 15, 22]}
    )
    res = simulate(sc)
    cal = sc.calendar
    expected = [cal.month_start(m) for m in range(months + 1)]
    edges = res.raw.month_starts_s
    assert edges.tolist() == [(d - cal.start).days * 86_400.0 for d in expected]
    assert edges[-1] == res.raw.clock.horizon_s
    m = res.monthly()
    assert m["month"].tolist() == list(range(months))
    assert [d.date() for d in m["month_start"]] == expected[:-1]
    # every row holds one bill run of each cycle day, none holds two
    runs = pd.Series([r[0] for r in res.raw.ledger.bills]).value_counts().sort_index()
    assert runs.tolist() == [len(sc.billing.cycle_days)] * months


def test_bills_per_month_are_steady_in_a_stationary_scenario(small_scenario: Scenario) -> None:
    """No acquisition, every account billed once a month: each month's bills equal the
    accounts facing a bill (no +25 % last row from the days after the last month start)."""
    sc = small_scenario.with_changes({"calendar.months": 3, "customers.acquisition_per_month": 0})
    m = simulate(sc).monthly()
    facing = m["bills"] + m["churned"]
    assert facing.iloc[0] == sc.customers.accounts
    # the base only shrinks by churn, so facing a bill = active at the previous month's end
    assert facing.iloc[1:].tolist() == m["active_end"].iloc[:-1].tolist()
    ratio = m["bills"] / m["bills"].iloc[0]
    assert ratio.between(0.9, 1.0).all(), ratio.tolist()
    assert ratio.iloc[-1] <= ratio.iloc[-2]
    assert (m["billed"] / m["billed"].iloc[0]).between(0.85, 1.1).all()
