"""The Streamlit page (app.py) driven headless with AppTest, and its helpers in sim.ui."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim import KPI_DEFINITIONS, load_scenario, ui
from sim.policies import DISCOUNTS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASE = "baseline.yaml"
ACCOUNTS = f"{BASE}|accounts"
TIER1_EARLY = f"{BASE}|contact_center.groups[1].shifts[0].agents"
POLICY = f"{BASE}|discount_policy"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every simulate() the page makes (the page imports it from ``sim``)."""
    made: list[tuple[str, int]] = []
    real = sim.simulate

    def counting(scenario, seed=None, **kw):
        made.append((scenario.fingerprint(), seed))
        return real(scenario, seed=seed, **kw)

    monkeypatch.setattr(sim, "simulate", counting)
    return made


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def small_run(at: AppTest) -> AppTest:
    at.number_input(key=ACCOUNTS).set_value(3000)
    return at.button(key="run").click().run()


def test_page_loads_with_levers(calls):
    at = fresh()
    assert at.selectbox(key="scenario_file").value == BASE
    base = load_scenario(ROOT / "scenarios" / BASE)
    n_shifts = sum(len(g.shifts or [None]) for g in base.contact_center.groups)
    keys = [n.key for n in at.number_input]
    assert sum("agents" in k for k in keys) == n_shifts
    assert at.number_input(key=TIER1_EARLY).value == 7
    assert at.number_input(key=ACCOUNTS).value == base.customers.accounts
    assert at.number_input(key=f"{BASE}|seed").value == base.seed
    assert at.selectbox(key=POLICY).options == list(DISCOUNTS)
    assert at.selectbox(key=POLICY).value == "none"
    assert not any("discount_pct" in k for k in keys)  # 'none' has no percentage
    assert not at.button(key="run").disabled
    assert not at.metric and not at.error
    assert calls == []  # loading the page simulates nothing


def test_run_shows_results_and_reruns_do_not_simulate(calls):
    at = small_run(fresh())
    assert not at.exception and not at.error
    assert len(calls) == 1
    labels = [m.label for m in at.metric]
    assert labels == [KPI_DEFINITIONS[k].label for k in ui.HEADLINE_KPIS]
    values = {m.label: m.value for m in at.metric}
    assert values["Revenue"].startswith("EUR ")
    assert values["Service level"].endswith("%")
    assert len(at.get("vega_lite_chart")) == 2  # wait histogram, service level by hour
    monthly = at.dataframe[0].value
    assert len(monthly) == 3 and "net" in monthly.columns
    (key,) = at.session_state["runs"]
    assert key.endswith(":20270104")

    at.run()  # a rerun without pressing Run
    assert not at.exception
    assert [m.value for m in at.metric] == list(values.values())
    at.button(key="run").click().run()  # same settings: served from the cache
    assert len(calls) == 1
    assert [m.value for m in at.metric] == list(values.values())

    at.number_input(key=f"{BASE}|seed").set_value(7).run()  # changed, not yet run
    assert len(calls) == 1
    assert at.info and "last run" in at.info[0].value
    at.button(key="run").click().run()
    assert len(calls) == 2 and calls[-1][1] == 7
    assert not at.info


def test_negative_agents_show_an_error_not_a_traceback(calls):
    at = fresh()
    at.number_input(key=TIER1_EARLY).set_value(-2).run()
    assert not at.exception
    assert at.error and "shifts[0].agents" in at.error[0].value
    assert at.button(key="run").disabled  # nothing to run until the settings are valid
    assert calls == [] and not at.metric


@pytest.mark.parametrize(("policy", "param"), [("flat", "pct"), ("error_credit", "goodwill_pct")])
def test_impossible_discount_shows_an_error(calls, policy, param):
    at = fresh()
    at.selectbox(key=POLICY).set_value(policy).run()
    pct = at.number_input(key=f"{BASE}|discount_pct|{policy}")
    assert param in pct.label
    assert pct.value == ui.default_discount_pct(load_scenario(ROOT / "scenarios" / BASE), policy)
    pct.set_value(150).run()
    assert not at.exception
    assert at.error and "0..100" in at.error[0].value
    assert calls == []


# ---- helpers in sim.ui ----------------------------------------------------------------


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / BASE)


@pytest.fixture(scope="module")
def results(base):
    return sim.simulate(base.with_changes({"customers.accounts": 3000}), seed=3)


@pytest.mark.parametrize("name", list(DISCOUNTS))
def test_every_discount_policy_maps_to_a_valid_scenario(base, name):
    pct = ui.default_discount_pct(base, name)
    assert (pct is None) == (name == "none")
    sc = base.with_changes(ui.discount_changes(base, name, 12.5 if pct is not None else None))
    assert sc.policies.discount.name == name
    param = ui.discount_pct_param(name)
    if param is not None:
        assert sc.policies.discount.params[param] == 12.5


def test_discount_changes_keep_same_policy_params(base):
    sc = base.with_changes(
        {"policies.discount.name": "value_based", "policies.discount.params": {"min_charge": 80}}
    )
    assert ui.default_discount_pct(sc, "value_based") == 15.0
    ch = ui.discount_changes(sc, "value_based", 5)
    assert ch["policies.discount.params"] == {"min_charge": 80, "pct": 5}
    assert ui.discount_changes(sc, "flat", 5)["policies.discount.params"] == {"pct": 5}


def test_staffing_levers_cover_shifts_and_constant_groups(base):
    levers = ui.staffing_levers(base)
    assert [lv[3] for lv in levers] == [3, 7, 7, 4]
    changed = base.with_changes({levers[1][2]: 9})
    assert changed.contact_center.groups[1].shifts[0].agents == 9
    flat = base.with_changes(
        {"contact_center.groups[0].shifts": None, "contact_center.groups[0].agents": 5}
    )
    assert ui.staffing_levers(flat)[0][2:] == ("contact_center.groups[0].agents", 5)


def test_format_kpi():
    assert ui.format_kpi("service_level", 0.8123, "EUR") == "81.2%"
    assert ui.format_kpi("asa_s", 12.345, "EUR") == "12.3 s"
    assert ui.format_kpi("net", -1234567.8, "USD") == "USD -1,234,568"
    assert ui.format_kpi("churned", 12.0, "EUR") == "12"
    assert ui.format_kpi("asa_s", math.nan, "EUR") == "–"


def test_wait_histogram_counts_every_answered_call(results):
    hist = ui.wait_histogram(results)
    answered = int((results.calls["outcome"] == "answered").sum())
    assert hist["calls"].sum() == answered > 0
    assert hist["wait_from_s"].is_monotonic_increasing


def test_service_level_by_hour_pools_to_the_kpi(results):
    by_hour = ui.service_level_by_hour(results)
    iv = results.intervals()
    assert set(by_hour["hour"]) <= set(range(24))
    weights = iv.groupby(iv["interval_start"].dt.hour)[["answered", "abandoned"]].sum().sum(axis=1)
    pooled = (by_hour.set_index("hour")["service_level"] * weights).sum() / weights.sum()
    assert pooled == pytest.approx(results.kpis()["service_level"])
    assert (by_hour["target"] == 0.8).all()
