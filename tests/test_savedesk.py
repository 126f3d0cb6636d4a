"""The save desk (issue #12): accounts set to leave call to cancel, offers save some."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Scenario, simulate
from sim.experiments.statistics import t_interval
from sim.world.retention import save_probability

DESK = {
    "customers.accounts": 8000,
    "customers.acquisition_per_month": 100,
    "calendar.months": 2,
    "retention.save_desk.cancel_call_probability": 1.0,
    "policies.discount.budget_per_month": None,
    # no group has the 'cancel' skill in the baseline: the broadest (tier1) takes the calls
    "policies.discount.authority_pct.tier1": 30,
}


def _desk(baseline: Scenario, save_pct: float) -> Scenario:
    return baseline.with_changes({**DESK, "policies.discount.params": {"save_pct": save_pct}})


def test_save_probability_is_the_documented_concave_form(baseline: Scenario) -> None:
    p = save_probability(np.array([0.0, 15.0, 30.0, 100.0]), baseline)
    assert p[0] == pytest.approx(0.15) and p[1] == pytest.approx(0.375)
    assert (np.diff(p) > 0).all() and p[-1] < 0.6


def test_a_larger_save_offer_saves_more(baseline: Scenario) -> None:
    diffs, rates = [], []
    for seed in range(4):
        small = simulate(_desk(baseline, 5.0), seed=seed).kpis()
        large = simulate(_desk(baseline, 30.0), seed=seed).kpis()
        diffs.append(large["save_rate"] - small["save_rate"])
        rates.append((small["save_rate"], large["save_rate"], large["cost_per_save"]))
    lo, hi = t_interval(np.array(diffs))[3:]
    # expected 0.49 - 0.24 = 0.25 (authority 30 %); ~100 callers a run
    assert lo > 0.1 and hi < 0.4
    assert all(c > 0 for _, _, c in rates)


def test_unsaved_callers_leave_at_their_next_bill(baseline: Scenario) -> None:
    res = simulate(_desk(baseline, 0.0), seed=3)
    cust = res.raw.customers
    called = cust["cancel_calls"] > 0
    unsaved = called & (cust["saved"] == 0)
    # every unsaved caller has left or is still set to leave (its next bill after the end)
    assert called.sum() > 50
    gone = ~cust["active"][unsaved]
    assert (gone | cust["cancel_pending"][unsaved]).all() and gone.mean() > 0.5
    saved = called & (cust["saved"] > 0)
    # saved on every cancel call: nothing pending (a saved account may decide to leave
    # again at a later bill and call again; then it is pending like any other)
    always_saved = called & (cust["saved"] == cust["cancel_calls"])
    assert saved.sum() > 5 and not cust["cancel_pending"][always_saved].any()
    m = res.monthly()
    assert m["cancel_calls"].sum() == res.kpis()["cancel_calls"] == cust["cancel_calls"].sum()


def test_without_the_desk_there_are_no_cancel_calls_and_churn_is_the_old_path(
    baseline: Scenario,
) -> None:
    off = baseline.with_changes({**DESK, "retention.save_desk.cancel_call_probability": 0.0})
    k = simulate(off, seed=2).kpis()
    assert k["cancel_calls"] == 0 and k["save_rate"] == 0
    # no draw of the desk is made when it is off: the churn draws are exactly the old ones
    tiny = off.with_changes({"retention.save_desk.save_base": 0.5})
    assert simulate(tiny, seed=2).kpis()["churned"] == k["churned"]


@pytest.mark.slow
def test_the_baseline_stays_in_its_stated_bands(baseline: Scenario) -> None:
    """README 'Scenarios': the measured occupancy, abandonment per weekday, FCR and
    contacts per account and year of the baseline (seed 20270104)."""
    res = simulate(baseline)
    k = res.kpis()
    c = res.calls()
    q = c[c.outcome.isin(["answered", "abandoned"])]
    by_day = (q.outcome == "abandoned").groupby(q.arrival.dt.day_of_week).mean()
    assert 0.70 < k["occupancy"] < 0.80
    assert by_day.max() < 0.10
    assert 0.72 < k["fcr"] < 0.80
    contacts = ((c.attempt == 0) & (c.origin != "transfer")).sum()
    per_year = contacts / res.monthly()["active_end"].mean() / (res.raw.clock.n_days / 365.25)
    assert 1.9 < per_year < 2.6
