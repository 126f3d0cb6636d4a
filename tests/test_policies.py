"""Policies: staffing rules against queueing theory, discount rules and their limits.

Staffing: each rule's per-interval agents equal the analytic calculator's answer for
the forecast load, become the on-duty step function the center uses (open hours only,
paid head count = ceil(on duty / (1 − shrinkage))), and Erlang C / Erlang A staffing
gives the theoretical service level in a stationary Markovian queue. Discounts: every
built-in rule, authority caps, escalation, the monthly budget, the handling time of an
offer, and a researcher's own policy objects handed to ``simulate``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import Scenario, ScenarioError, simulate
from sim.core.codes import REASONS
from sim.core.erlang import (
    erlang_a_metrics,
    erlang_c_service_level,
    sqrt_staffing,
    staff_erlang_a,
    staff_erlang_c,
)
from sim.policies.catalogue import STAFFING, build_staffing
from sim.policies.context import CallContext
from sim.policies.discount import (
    ChurnRiskDiscount,
    DiscountBook,
    ErrorCredit,
    FlatDiscount,
    NoDiscount,
    TenureDiscount,
    ValueDiscount,
    grant_discounts,
)
from sim.policies.staffing import (
    ErlangAStaffing,
    ErlangCStaffing,
    IntervalStaffing,
    SqrtStaffing,
    StaffingPolicy,
)
from sim.scenario.calendar import Clock
from sim.world.forecast import forecast_load
from sim.world.staffing import staffing_plan

SEED = 777
ALL_SKILLS = list(REASONS)


def stationary(
    base: Scenario, calls_per_interval: float = 40.0, days: int = 4, patience_s: float = 1e7
) -> Scenario:
    """One group, exponential handling (mean 240 s), Poisson arrivals at a constant rate
    during 08:00-20:00 of the first ``days`` weekdays, no retrials, repeats or IVR."""
    rows = []
    for d in range(days):
        for i in range(24):
            h, m = 8 + i // 2, 30 * (i % 2)
            rows.append(
                {"start": f"2027-01-{4 + d:02d}T{h:02d}:{m:02d}:00", "calls": calls_per_interval}
            )
    zero = {"dist": "constant", "mean": 0}
    work = {"dist": "exponential", "mean": 240}
    return base.with_changes(
        {
            "calendar.months": 1,
            "calendar.open_hours": {"mon-fri": "08:00-20:00", "sat-sun": "closed"},
            "calendar.holidays": [],
            "customers.accounts": 400,
            "customers.acquisition_per_month": 0,
            "customers.segments": [
                {
                    "name": "all",
                    "share": 1.0,
                    "patience_s": {"dist": "exponential", "mean": patience_s},
                }
            ],
            "billing.contact.probability": {"error": 0, "shock": 0, "routine": 0},
            "contact_center.groups": [
                {"name": "tier1", "skills": ALL_SKILLS, "agents": 1, "shrinkage": 0.25}
            ],
            "contact_center.routing.overflow_after_s": None,
            "contact_center.handling": {
                "verification_s": zero,
                "verification_fail_rate": 0.0,
                "review_s": zero,
                "work_s": {r: work for r in REASONS},
                "after_call_s": zero,
            },
            "contact_center.callers.retrial.probability": 0.0,
            "contact_center.callers.ivr_self_service": {},
            "contact_center.resolution.repeat_probability": 0.0,
            "contact_center.forecast": {"reasons": {"question": 1.0}, "intervals": rows},
            "policies.discount.authority_pct": {},
        }
    )


@pytest.fixture(scope="module")
def flat_load(baseline: Scenario) -> Scenario:
    return stationary(baseline)


def loaded_intervals(sc: Scenario) -> tuple[np.ndarray, float, float]:
    """(mask of intervals with forecast calls, rate per second there, AHT)."""
    load = forecast_load(sc)
    mask = load.calls[0] > 0
    lam = float(np.median(load.rate_per_s[0][mask]))
    return mask, lam, float(load.aht_s[0])


# ---- forecast ------------------------------------------------------------------------------


def test_forecast_matches_the_explicit_intervals_and_the_handling_means(
    flat_load: Scenario,
) -> None:
    load = forecast_load(flat_load)
    assert load.calls.shape == (1, Clock(flat_load).n_days * 48)
    assert load.calls.sum() == pytest.approx(4 * 24 * 40.0)
    assert load.aht_s[0] == pytest.approx(240.0)
    assert load.patience_s[0] == pytest.approx(1e7)


def test_forecast_of_the_baseline_is_close_to_the_simulated_first_attempts(
    small_scenario: Scenario,
) -> None:
    """A planner's expectation, not the realised draws, but within a few percent."""
    load = forecast_load(small_scenario)
    res = simulate(small_scenario, seed=SEED)
    calls = res.calls()
    reached = calls[calls["outcome"].isin(["answered", "abandoned", "waiting", "in_service"])]
    sim_first = int((reached["attempt"] == 0).sum())
    assert load.calls.sum() == pytest.approx(sim_first, rel=0.12)


# ---- staffing rules --------------------------------------------------------------------------


def test_each_rule_staffs_loaded_intervals_like_its_calculator(flat_load: Scenario) -> None:
    load = forecast_load(flat_load)
    mask, lam, aht = loaded_intervals(flat_load)
    sl = flat_load.contact_center.service_level
    open_ = load.open_share > 0
    c = ErlangCStaffing().agents(load)[0]
    assert set(c[mask]) == {staff_erlang_c(lam, aht, sl.target, sl.threshold_s)}
    a = ErlangAStaffing().agents(load)[0]
    assert set(a[mask]) == {staff_erlang_a(lam, aht, 1e7, sl.target, sl.threshold_s)}
    for beta in (0.0, 0.5, 1.5):
        s = SqrtStaffing(beta=beta, min_agents=0).agents(load)[0]
        expect = [sqrt_staffing(x, aht, beta) for x in load.rate_per_s[0]]
        assert s.tolist() == expect
    # the floor: one agent whenever open, none while closed
    floor = SqrtStaffing(beta=1.0).agents(load)[0]
    assert (floor[open_ & ~mask] == 1).all() and (floor[~open_] == 0).all()


def test_interval_agents_become_the_on_duty_steps_and_paid_head_count(flat_load: Scenario) -> None:
    sc = flat_load.with_changes({"policies.staffing": {"name": "erlang_c", "params": {}}})
    want = ErlangCStaffing().agents(forecast_load(sc))[0]
    res = simulate(sc, seed=SEED)
    iv = res.intervals()
    assert np.allclose(iv["agents_on_duty"], want)
    assert np.allclose(iv["agents_scheduled"], np.ceil(want / 0.75 - 1e-9))
    plan = staffing_plan(sc, Clock(sc))
    assert plan.on_duty[0][1].min() == 0  # off duty while closed


def test_erlang_c_staffing_meets_the_theoretical_service_level(flat_load: Scenario) -> None:
    sc = flat_load.with_changes({"policies.staffing": {"name": "erlang_c", "params": {}}})
    _mask, lam, aht = loaded_intervals(sc)
    sl = sc.contact_center.service_level
    c = staff_erlang_c(lam, aht, sl.target, sl.threshold_s)
    theory = erlang_c_service_level(c, lam * aht, aht, sl.threshold_s)
    assert theory >= sl.target
    k = simulate(sc, seed=SEED).kpis()
    assert k["calls_offered"] == pytest.approx(4 * 24 * 40, rel=0.06)
    assert k["service_level"] == pytest.approx(theory, abs=0.04)
    assert k["service_level"] >= sl.target - 0.03


def test_erlang_a_staffing_meets_the_theoretical_service_level(baseline: Scenario) -> None:
    sc = stationary(baseline, patience_s=150).with_changes(
        {"policies.staffing": {"name": "erlang_a", "params": {}}}
    )
    _mask, lam, aht = loaded_intervals(sc)
    sl = sc.contact_center.service_level
    c = staff_erlang_a(lam, aht, 150, sl.target, sl.threshold_s)
    m = erlang_a_metrics(lam, aht, 150, c, sl.threshold_s)
    k = simulate(sc, seed=SEED).kpis()
    assert k["service_level"] == pytest.approx(m.service_level, abs=0.04)
    assert k["abandonment_rate"] == pytest.approx(m.p_abandon, abs=0.03)


def test_more_safety_staff_more_service(flat_load: Scenario) -> None:
    out = []
    for beta in (0.0, 1.0, 2.0):
        sc = flat_load.with_changes(
            {"policies.staffing": {"name": "sqrt", "params": {"beta": beta}}}
        )
        k = simulate(sc, seed=SEED).kpis()
        out.append((k["agent_cost"], k["service_level"]))
    assert out[0][0] < out[1][0] < out[2][0]
    assert out[0][1] < out[1][1] < out[2][1]


def test_staffing_names_and_params_are_validated(flat_load: Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"policies.staffing.name.*valid: fixed, erlang_c"):
        flat_load.with_changes({"policies.staffing.name": "magic"})
    with pytest.raises(ScenarioError, match=r"policies.staffing.params.*unknown parameter"):
        flat_load.with_changes({"policies.staffing": {"name": "sqrt", "params": {"gamma": 1}}})
    with pytest.raises(ScenarioError, match=r"policies.staffing.params.*beta"):
        flat_load.with_changes({"policies.staffing": {"name": "sqrt", "params": {"beta": "inf"}}})
    with pytest.raises(ScenarioError, match=r"policies.staffing.params.*target"):
        flat_load.with_changes(
            {"policies.staffing": {"name": "erlang_c", "params": {"target": 1.5}}}
        )
    assert set(STAFFING) == {"fixed", "erlang_c", "erlang_a", "sqrt", "table"}
    assert isinstance(build_staffing("erlang_a", {"max_abandon": 0.1}), StaffingPolicy)


def test_a_staffing_table_in_the_scenario_runs_like_the_rule_it_came_from(
    flat_load: Scenario,
) -> None:
    """A 'table' with one entry per interval of the horizon reproduces the rule's staffing."""
    sc = flat_load.with_changes({"policies.staffing": {"name": "erlang_c", "params": {}}})
    want = ErlangCStaffing().agents(forecast_load(sc))
    table = {"tier1": want[0].tolist()}
    assert len(table["tier1"]) == 31 * 48  # 2027-01-04 + 1 month, half hours
    tabled = flat_load.with_changes(
        {"policies.staffing": {"name": "table", "params": {"agents_by_group": table}}}
    )
    assert simulate(tabled, seed=SEED).kpis() == simulate(sc, seed=SEED).kpis()
    # the same table no longer fits once the horizon changes: validation says so
    with pytest.raises(ScenarioError, match=r"'tier1' has 1488 intervals, the horizon has 4320"):
        tabled.with_changes({"calendar.months": 3})


def test_a_staffing_table_object_must_fit_the_scenario(flat_load: Scenario) -> None:
    """A researcher's table handed to simulate() is checked like the scenario's."""
    n = 31 * 48
    with pytest.raises(ValueError, match=r"'tier1' has 10 intervals, the horizon has 1488"):
        simulate(flat_load, seed=SEED, staffing_policy=IntervalStaffing({"tier1": [1] * 10}))
    with pytest.raises(ValueError, match=r"no agents for group \['tier1'\]"):
        simulate(flat_load, seed=SEED, staffing_policy=IntervalStaffing({}))
    with pytest.raises(ValueError, match=r"unknown group \['tier2'\]"):
        simulate(
            flat_load,
            seed=SEED,
            staffing_policy=IntervalStaffing({"tier1": [1] * n, "tier2": [1] * n}),
        )


def test_a_staffing_policy_object_of_the_wrong_shape_is_refused(flat_load: Scenario) -> None:
    class Bad:
        def agents(self, load):
            return np.ones(3)

    with pytest.raises(ValueError, match="expected"):
        simulate(flat_load, seed=SEED, staffing_policy=Bad())
    with pytest.raises(TypeError, match="agents"):
        simulate(flat_load, seed=SEED, staffing_policy=object())


def test_fixed_staffing_keeps_todays_shifts(small_scenario: Scenario) -> None:
    a = simulate(small_scenario, seed=SEED)
    b = simulate(small_scenario, seed=SEED, staffing_policy=build_staffing("fixed", {}))
    assert a.kpis() == b.kpis()


# ---- discount rules -------------------------------------------------------------------------


def ctx_of(**cols) -> CallContext:
    n = len(next(iter(cols.values())))
    base = {
        "reason": np.full(n, REASONS.index("high_bill")),
        "segment": np.zeros(n, dtype=int),
        "charge": np.full(n, 50.0),
        "tenure_months": np.full(n, 36.0),
        "churn_risk": np.full(n, 0.01),
        "error_amount": np.zeros(n),
        "resolved": np.zeros(n, dtype=bool),
        "group": np.zeros(n, dtype=int),
    }
    base.update({k: np.asarray(v) for k, v in cols.items()})
    return CallContext(**base)


def test_each_discount_rule_decides_as_documented() -> None:
    q, hb, err = (REASONS.index(r) for r in ("question", "high_bill", "billing_error"))
    ctx = ctx_of(
        reason=[q, hb, hb, err],
        tenure_months=[60, 6, 60, 60],
        charge=[200, 50, 150, 50],
        churn_risk=[0.1, 0.01, 0.05, 0.0],
        error_amount=[0, 0, 0, 12.0],
    )
    assert NoDiscount().discount_pct(ctx).tolist() == [0, 0, 0, 0]
    assert FlatDiscount(pct=10).discount_pct(ctx).tolist() == [0, 10, 10, 0]
    assert TenureDiscount(pct_per_year=2, max_pct=8).discount_pct(ctx).tolist() == [0, 0, 8, 0]
    assert ValueDiscount(pct=15, min_charge=100).discount_pct(ctx).tolist() == [0, 0, 15, 0]
    assert ChurnRiskDiscount(pct=20, min_risk=0.03).discount_pct(ctx).tolist() == [20, 0, 20, 0]
    assert ErrorCredit(goodwill_pct=5).discount_pct(ctx).tolist() == [0, 0, 0, 5]


def test_authority_caps_and_escalation_lifts_the_cap() -> None:
    offered = np.array([5.0, 20.0, 30.0])
    group = np.array([0, 0, 1])
    auth = np.array([10.0, 25.0])
    yes = np.ones(3, dtype=bool)
    cost = np.full(3, 100.0)
    capped = grant_discounts(offered, group, auth, yes, cost, 3, 0, DiscountBook(None))
    assert capped.tolist() == [5, 10, 25]
    lifted = grant_discounts(
        offered, group, auth, yes, cost, 3, 0, DiscountBook(None), escalated_authority=25.0
    )
    assert lifted.tolist() == [5, 20, 25]


def test_budget_cap_stops_granting_for_the_rest_of_the_month() -> None:
    book = DiscountBook(budget_per_month=70.0)
    offered = np.full(5, 10.0)
    args = (np.zeros(5, dtype=int), np.array([100.0]), np.ones(5, dtype=bool), np.full(5, 100.0), 3)
    first = grant_discounts(offered, *args, 0, book)  # each commits 100 × 10 % × 3 = 30
    assert first.tolist() == [10, 10, 0, 0, 0]
    assert grant_discounts(offered, *args, 0, book).tolist() == [0] * 5
    assert grant_discounts(offered, *args, 1, book).tolist() == [10, 10, 0, 0, 0]


@pytest.fixture(scope="module")
def discount_base(small_scenario: Scenario) -> Scenario:
    return small_scenario.with_changes(
        {
            "policies.discount.name": "flat",
            "policies.discount.params": {"pct": 20.0, "reasons": ["high_bill", "plan_change"]},
            "policies.discount.authority_pct": {"tier1": 10, "billing_specialists": 25},
            "policies.discount.budget_per_month": None,
            "policies.discount.accept_probability": 1.0,
            "policies.discount.handling_s": 0.0,
        }
    )


def granted(res) -> np.ndarray:
    c = res.calls()
    return c[c["discount_pct"] > 0]


def test_simulated_grants_respect_authority_budget_and_acceptance(discount_base: Scenario) -> None:
    res = simulate(discount_base, seed=SEED)
    g = granted(res)
    assert len(g) > 20
    assert (g["discount_pct"] == 10).all()  # tier1 answers high bills: capped at 10 %
    capped = simulate(
        discount_base.with_changes({"policies.discount.budget_per_month": 300.0}), seed=SEED
    )
    led = capped.raw.ledger.discounts
    per_month: dict[int, float] = {}
    for month, _, value in led:
        per_month[month] = per_month.get(month, 0.0) + value
    assert per_month and max(per_month.values()) <= 300.0 + 1e-6
    assert len(granted(capped)) < len(g)
    half = simulate(
        discount_base.with_changes({"policies.discount.accept_probability": 0.5}), seed=SEED
    )
    assert 0.3 * len(g) < len(granted(half)) < 0.7 * len(g)


def test_escalation_grants_at_the_escalated_authority_and_costs_time(
    discount_base: Scenario,
) -> None:
    esc = discount_base.with_changes(
        {
            "policies.discount.escalate_to": "billing_specialists",
            "policies.discount.escalation_s": 90.0,
        }
    )
    plain = simulate(discount_base, seed=SEED)
    res = simulate(esc, seed=SEED)
    assert set(granted(res)["discount_pct"]) == {20.0}  # min(offer 20, specialists' 25)
    # Same calls (common random numbers), longer talk for the offers above tier1's 10 %.
    a, b = _first_month_bill_calls(plain), _first_month_bill_calls(esc_res := res)
    offered = b["reason"].isin(["high_bill", "plan_change"]) & a["answered"] & b["answered"]
    offered = offered.to_numpy()
    diff = b["talk"].to_numpy() - a["talk"].to_numpy()
    reason = b["reason"].isin(["high_bill", "plan_change"]).to_numpy()
    neither = ~reason | ~(a["answered"] | b["answered"]).to_numpy()  # no offer in either run
    assert offered.sum() > 10
    assert np.allclose(diff[offered], 90.0) and np.allclose(diff[neither], 0.0)
    assert esc_res.kpis()["aht_s"] > plain.kpis()["aht_s"]
    with pytest.raises(ScenarioError, match="escalate_to: unknown group"):
        discount_base.with_changes({"policies.discount.escalate_to": "nobody"})


def _first_month_bill_calls(res):
    """First attempts of bill calls created in the first month (identical under CRN);
    an offer is made during the call, so only answered calls carry its talk time."""
    c = res.raw.calls
    keep = (c["origin"] == 0) & (c["attempt"] == 0) & (c["t_arrive"] < res.raw.month_starts_s[1])
    import pandas as pd

    df = pd.DataFrame(
        {
            "account": c["account"][keep],
            "t": c["t_arrive"][keep],
            "reason": np.array(REASONS)[c["reason"][keep]],
            "talk": c["talk"][keep],
            "answered": np.isfinite(c["t_answer"][keep]),
        }
    )
    return df.sort_values(["t", "account"]).reset_index(drop=True)


def test_offering_a_discount_lengthens_talk_time_by_handling_s(discount_base: Scenario) -> None:
    plain = simulate(discount_base, seed=SEED)
    slow = simulate(discount_base.with_changes({"policies.discount.handling_s": 75.0}), seed=SEED)
    a, b = _first_month_bill_calls(plain), _first_month_bill_calls(slow)
    assert a[["account", "reason"]].equals(b[["account", "reason"]])
    offered = b["reason"].isin(["high_bill", "plan_change"]).to_numpy()
    both = (a["answered"] & b["answered"]).to_numpy()
    assert (offered & both).sum() > 10
    extra = b["talk"].to_numpy() - a["talk"].to_numpy()
    assert np.allclose(extra[both], np.where(offered, 75.0, 0.0)[both])
    assert np.allclose(extra[~(a["answered"] | b["answered"]).to_numpy()], 0.0)  # no offer
    ka, kb = plain.kpis(), slow.kpis()
    assert kb["aht_s"] > ka["aht_s"] and kb["occupancy"] > ka["occupancy"]


# ---- a researcher's own policies (the README snippet) -----------------------------------------

README_SNIPPET = '''
import numpy as np
from sim import load_scenario, simulate
from sim.policies.staffing import ErlangAStaffing

class LoyalHighBill:
    """15 % to high-bill callers with two years' tenure or more, 5 % to the others."""

    def discount_pct(self, ctx):
        loyal = ctx.tenure_months >= 24
        return np.where(ctx.reason_is("high_bill"), np.where(loyal, 15.0, 5.0), 0.0)

class PeakCover:
    """Erlang A for the forecast, plus one agent in the busiest quarter of intervals."""

    def agents(self, load):
        base = ErlangAStaffing().agents(load)
        busy = load.calls >= np.quantile(load.calls[load.calls > 0], 0.75)
        return base + busy

scenario = load_scenario("scenarios/baseline.yaml")
results = simulate(scenario, discount_policy=LoyalHighBill(), staffing_policy=PeakCover())
print(results.kpis()["retention"])
print(results.segments()[["segment", "retention", "discounts_granted", "discount_cost"]])
'''


def test_readme_snippet_runs(small_scenario: Scenario, monkeypatch, capsys) -> None:
    import sim

    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[1])
    monkeypatch.setattr(sim, "load_scenario", lambda path: small_scenario)
    ns: dict = {}
    exec(compile(README_SNIPPET, "README", "exec"), ns)
    res = ns["results"]
    g = granted(res)
    assert len(g) > 0 and set(g["discount_pct"]) <= {5.0, 10.0}  # tier1 authority caps 15
    assert set(g["reason"].astype(str)) == {"high_bill"}
    iv = res.intervals()
    assert iv["agents_on_duty"].max() > 0
    assert "residential" in capsys.readouterr().out
    assert math.isfinite(res.kpis()["retention"])


def test_acceptance_grows_with_the_offer_when_a_half_point_is_set():
    from types import SimpleNamespace

    from sim.policies.discount import acceptance_probability

    flat = SimpleNamespace(accept_probability=0.8, accept_half_pct=None)
    assert acceptance_probability(np.array([0.0, 5.0, 50.0]), flat) == pytest.approx([0.8] * 3)
    curve = SimpleNamespace(accept_probability=0.8, accept_half_pct=5.0)
    p = acceptance_probability(np.array([0.0, 5.0, 10.0, 100.0]), curve)
    assert p == pytest.approx([0.0, 0.4, 0.6, 0.8 * (1 - 0.5**20)])


def test_acceptance_is_judged_on_the_offer_after_the_authority_cap():
    from sim.policies.discount import DiscountBook, grant_discounts

    seen = []

    def accepted(pct):
        seen.append(pct.copy())
        return pct < 12

    pct = grant_discounts(
        np.array([30.0, 5.0]),
        np.array([0, 0]),
        np.array([10.0]),
        accepted,
        np.array([50.0, 50.0]),
        3,
        0,
        DiscountBook(None),
    )
    assert seen[0] == pytest.approx([10.0, 5.0])  # the customer hears the capped offer
    assert pct == pytest.approx([10.0, 5.0])


def test_acceptance_curve_lowers_small_discounts_in_a_run(small_scenario):
    from sim import simulate

    base = small_scenario.with_changes(
        {"policies.discount.name": "flat", "policies.discount.params": {"pct": 5}}
    )
    curved = base.with_changes({"policies.discount.accept_half_pct": 10})
    n_flat = (simulate(base).calls()["discount_pct"] > 0).sum()
    n_curved = (simulate(curved).calls()["discount_pct"] > 0).sum()
    # P(accept) falls from 0.9 to 0.9 · (1 − 2^−0.5) ≈ 0.26: about 29 % of the grants
    assert n_flat > 50
    assert 0.15 < n_curved / n_flat < 0.45
