"""Escalation to a specialist group, resolution by group and the explicit volume forecast."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.scenario import Scenario


@pytest.fixture(scope="module")
def escalating(baseline: Scenario) -> sim.Results:
    # Tier 1 listed first takes billing errors first; the specialists, on duty whenever
    # the center is open, get what tier 1 cannot resolve.
    tier1, spec = (g.model_dump(mode="json") for g in reversed(baseline.contact_center.groups))
    tier1["first_contact"] = {"billing_error": 0.30}
    spec.update(shifts=None, agents=3, first_contact={"billing_error": 0.95})
    sc = baseline.with_changes(
        {
            "customers.accounts": 8000,
            "customers.acquisition_per_month": 0,
            "calendar.months": 2,
            "contact_center.groups": [tier1, spec],
            "contact_center.routing.overflow_after_s": None,
            "contact_center.resolution.escalation": {
                "to_group": "billing_specialists",
                "probability": 1.0,
            },
        }
    )
    return sim.simulate(sc, seed=3)


def test_unresolved_calls_escalate_only_to_the_specialists(escalating: sim.Results) -> None:
    c = escalating.calls()
    t = c[c["origin"] == "transfer"]
    assert len(t) > 20
    # Only billing errors (the specialists' only skill) are escalated, only to them.
    assert (t["reason"] == "billing_error").all()
    # Every transfer follows an unresolved tier-1 call of the same account.
    first = c[(c["group"] == "tier1") & (c["reason"] == "billing_error") & ~c["resolved"]]
    first = first[first["outcome"] == "answered"]
    assert set(t["account"]) <= set(first["account"])
    # Probability 1: every unresolved one is put through at the end of its talk (the
    # first agent's after-call work follows while the caller already waits).
    ends = first["t_answer_s"] + first["talk_s"]
    arrivals = dict(t.groupby("account")["t_arrive_s"].apply(np.asarray))
    for acct, end in zip(first["account"], ends, strict=True):
        assert np.isclose(arrivals[acct], end, rtol=0, atol=1e-6).any()
    is_leg = np.array(
        [
            np.isclose(ends[first["account"] == a], x, rtol=0, atol=1e-6).any()
            for a, x in zip(t["account"], t["t_arrive_s"], strict=True)
        ]
    )
    # The legs go to the specialists; other transfer rows are retrials (routed by reason).
    reached = t[is_leg & (t["outcome"] == "answered").to_numpy()]
    assert len(reached) > 10 and (reached["group"] == "billing_specialists").all()
    assert (t[~is_leg]["attempt"] > 0).all()


def test_resolution_rate_depends_on_the_group(escalating: sim.Results) -> None:
    c = escalating.calls()
    ans = c[(c["outcome"] == "answered") & (c["reason"] == "billing_error")]
    spec = ans[ans["group"] == "billing_specialists"]
    tier1 = ans[ans["group"] == "tier1"]
    assert len(spec) > 30 and len(tier1) > 100
    for rows, p in ((spec, 0.95), (tier1, 0.30)):
        rate = rows["resolved"].mean()
        se = np.sqrt(p * (1 - p) / len(rows))
        assert abs(rate - p) < 4 * se, (rate, p, len(rows))
    # Only transferred legs reach the specialists, with a fresh resolution draw.
    assert (spec["origin"] == "transfer").all()


def test_forecast_adds_poisson_arrivals_in_its_intervals(baseline: Scenario) -> None:
    rows = [
        {"start": dt.datetime(2027, 1, 5, h, m), "calls": 20.0}
        for h in range(9, 17)
        for m in (0, 30)
    ]
    sc = baseline.with_changes(
        {
            "customers.accounts": 3000,
            "calendar.months": 1,
            "billing.contact.probability": {"error": 0.0, "shock": 0.0, "routine": 0.0},
            "contact_center.callers.ivr_self_service": {},
            "contact_center.forecast": {
                "reasons": {"question": 0.5, "payment": 0.5},
                "intervals": rows,
            },
        }
    )
    c = sim.simulate(sc, seed=11).calls()
    fc = c[c["origin"] == "forecast"]
    expected = 20.0 * len(rows)
    assert abs(len(fc) - expected) < 4 * np.sqrt(expected)
    assert set(fc["reason"].astype(str)) == {"question", "payment"}
    start = dt.datetime(2027, 1, 5, 9)
    assert fc["arrival"].min() >= start
    assert fc["arrival"].max() < dt.datetime(2027, 1, 5, 17)
    # No bill-driven call exists; only the forecast and its consequences.
    assert set(c["origin"].astype(str)) <= {"forecast", "repeat"}


def test_forecast_outside_the_horizon_is_rejected(baseline: Scenario) -> None:
    with pytest.raises(sim.ScenarioError, match=r"forecast\.intervals\[0\]\.start"):
        baseline.with_changes(
            {"contact_center.forecast": {"intervals": [{"start": "2030-01-01T08:00", "calls": 1}]}}
        )


def test_escalation_to_an_unknown_group_is_rejected(baseline: Scenario) -> None:
    with pytest.raises(sim.ScenarioError, match=r"escalation\.to_group: unknown group 'x'"):
        baseline.with_changes({"contact_center.resolution.escalation": {"to_group": "x"}})
