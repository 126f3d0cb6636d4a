"""The Streamlit page (app.py) driven headless with AppTest, and its helpers.

Helpers in sim.faces.ui, sim.presentation.formatting and sim.presentation.i18n are tested
directly; the page is tested through every path a manager takes: load, edit, upload,
run, compare, past runs, language, and the error paths (bad upload, impossible levers),
always asserting that no traceback reaches the page. Scenarios are kept small (a few
thousand accounts, one or two months) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

import sim.experiments.jobs
from sim import KPI_DEFINITIONS, load_scenario
from sim.calibrate import DataError
from sim.faces import ui
from sim.policies.catalogue import DISCOUNTS
from sim.presentation import i18n
from sim.presentation.formatting import MoneyFormat, format_diff, format_interval, format_value
from sim.scenario import ScenarioError, scenario_from_yaml

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BASE = "baseline.yaml"
ACCOUNTS = f"{BASE}|accounts"
MONTHS = f"{BASE}|months"
SEED = f"{BASE}|seed"
REPS = f"{BASE}|replications"
TIER1_EARLY = f"{BASE}|contact_center.groups[1].shifts[0].agents"
POLICY = f"{BASE}|discount_policy"
AUTO = "Months 1 · Accounts 3,000 · New accounts per month 50"
SMALL = {"customers.accounts": 3000, "customers.acquisition_per_month": 50, "calendar.months": 1}


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def sims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every replication the page simulates (the experiment runner calls ``simulate``)."""
    made: list[tuple[str, int]] = []
    real = sim.experiments.jobs.simulate

    def counting(scenario, seed=None, **kw):
        made.append((scenario.fingerprint(), seed))
        return real(scenario, seed, **kw)

    monkeypatch.setattr(sim.experiments.jobs, "simulate", counting)
    return made


@pytest.fixture(autouse=True)
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Past runs go to a fresh store per test, never the user's own."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("BILLSIM_STORE", str(path))
    return path


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def small(at: AppTest, months: int = 1) -> AppTest:
    """Shrink the levers to a scenario that runs in a fraction of a second."""
    at.number_input(key=ACCOUNTS).set_value(3000)
    at.number_input(key=f"{BASE}|acquisition").set_value(50.0)
    at.number_input(key=MONTHS).set_value(months)
    return at


def run(at: AppTest, name: str = "") -> AppTest:
    at.text_input(key="strategy_name").set_value(name)
    at.button(key="run").click().run()
    assert not at.exception
    return at


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# ---- the page ---------------------------------------------------------------------------------


def test_page_loads_with_levers_and_simulates_nothing(sims):
    at = fresh()
    assert at.selectbox(key="scenario_file").value == BASE
    base = load_scenario(ROOT / "scenarios" / BASE)
    n_shifts = sum(len(g.shifts or [None]) for g in base.contact_center.groups)
    keys = [n.key for n in at.number_input]
    assert sum("].agents" in k for k in keys) == n_shifts
    assert at.number_input(key=TIER1_EARLY).value == 20
    assert at.number_input(key=ACCOUNTS).value == base.customers.accounts
    assert at.number_input(key=SEED).value == base.seed
    assert at.number_input(key=REPS).value == 1
    assert at.selectbox(key=POLICY).options == [i18n.policy_label(n) for n in DISCOUNTS]
    assert at.selectbox(key=POLICY).value == "none"
    assert not any("discount_pct" in k for k in keys)  # 'none' has no percentage
    for seg in base.customers.segments:
        assert at.number_input(key=f"{BASE}|share|{seg.name}").value == pytest.approx(
            seg.share * 100
        )
    assert not at.button(key="run").disabled
    assert [t.label for t in at.tabs] == [
        "Dashboard",
        "Compare strategies",
        "Best plan",
        "Calibrate",
        "Past runs",
        "Scenario file",
    ]
    assert not at.metric and not at.error
    assert sims == []


def test_run_shows_results_and_reruns_do_not_simulate(sims):
    at = run(small(fresh()))
    assert not at.error
    assert len(sims) == 1
    labels = [m.label for m in at.metric]
    assert labels == [KPI_DEFINITIONS[k].label for k in ui.HEADLINE_KPIS]
    values = {m.label: m.value for m in at.metric}
    # money and numbers in the scenario's convention: baseline is German, in €
    assert values["Revenue"].endswith(" €") and "." in values["Revenue"]
    assert values["Service level"].endswith(" %") and "," in values["Service level"]
    net = next(m for m in at.metric if m.label == "Net result")
    assert i18n.value_definition("en") in net.help  # the one definition, next to the money
    assert any(e.label == "What is the net value?" for e in at.expander)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 6  # heatmap, waits, abandonment, queue/agents, retention, waterfall
    monthly = at.dataframe[0].value
    assert len(monthly) == 1 and "Net result" in monthly.columns
    assert list(at.session_state["strategies"]) == [AUTO]

    at.run()  # a rerun without pressing Run
    assert not at.exception and len(sims) == 1
    assert [m.value for m in at.metric] == list(values.values())
    run(at)  # same settings: served from the cache, kept under the same name
    assert len(sims) == 1
    assert list(at.session_state["strategies"]) == [AUTO]

    at.number_input(key=SEED).set_value(7).run()  # changed, not yet run
    assert len(sims) == 1
    assert any("last run" in i.value for i in at.info)
    run(at)
    assert len(sims) == 2 and sims[-1][1] == 7
    assert not any("last run" in i.value for i in at.info)
    assert len(at.session_state["strategies"]) == 2  # the first strategy is not lost


def test_run_draws_its_results_in_the_same_script_run(sims, monkeypatch):
    at = small(fresh())
    drawn = []  # the levers are drawn once a script run
    real = ui.staffing_modes
    monkeypatch.setattr(ui, "staffing_modes", lambda: drawn.append(1) or real())
    run(at, "first")
    # the run happens before the tabs are drawn, so the page that ran it shows it: one
    # script run, no progress bar left, the name box empty for the next name
    assert len(drawn) == 1
    assert list(at.session_state["strategies"]) == ["first"] and len(at.metric) == 10
    assert at.text_input(key="strategy_name").value == ""
    assert not at.get("progress")
    assert len(sims) == 1


def test_a_taken_name_asks_before_replacing(sims):
    at = small(fresh())
    run(at, "today")
    at.number_input(key=SEED).set_value(7)
    run(at, "today")
    assert len(sims) == 2 - 1  # asked, nothing run yet
    assert any("exists" in w.value for w in at.warning)
    at.button(key="keep_both").click().run()
    assert not at.exception
    assert list(at.session_state["strategies"]) == ["today", "today (2)"]
    at.number_input(key=SEED).set_value(8)
    run(at, "today")
    at.button(key="replace").click().run()
    assert list(at.session_state["strategies"]) == ["today", "today (2)"]
    assert at.session_state["strategies"]["today"].variants[0].scenario.seed == 8


def test_forget_asks_first(sims):
    at = small(fresh())
    run(at, "a")
    at.button(key="forget").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="forget_no").click().run()
    assert list(at.session_state["strategies"]) == ["a"]
    at.button(key="forget").click().run()
    at.button(key="forget_yes").click().run()
    assert not at.session_state["strategies"] if "strategies" in at.session_state else True


def test_a_broken_store_is_explained_not_raised(sims, store_path, monkeypatch):
    store_path.mkdir()  # a folder where the database should be
    at = fresh()
    assert not at.exception
    assert any("results store cannot be used" in e.value for e in at.error)
    assert at.text_area  # the Scenario-file tab still renders
    store_path.rmdir()
    store_path.write_bytes(b"not a database at all" * 100)
    at = run(small(fresh()))
    assert not at.exception
    at.button(key="save_run").click().run()
    assert not at.exception
    assert any("results store cannot be used" in e.value for e in at.error)


def test_language_round_trip_with_a_discount_policy(sims):
    at = fresh()
    at.selectbox(key=POLICY).set_value("flat").run()
    at.selectbox(key="lang").set_value("de").run()
    assert not at.exception
    assert at.selectbox(key=POLICY).value == "flat"
    at.selectbox(key="lang").set_value("en").run()
    assert not at.exception and at.selectbox(key=POLICY).value == "flat"


def test_the_browser_label_after_a_language_switch_maps_back():
    # what Streamlit's select box returns when its old label is no longer an option
    names = list(DISCOUNTS)
    assert i18n.option_from_label("No discounts", names, i18n.policy_label) == "none"
    assert i18n.option_from_label("Pauschal", names, i18n.policy_label) == "flat"
    assert i18n.option_from_label("flat", names, i18n.policy_label) == "flat"
    assert i18n.option_from_label("garbage", names, i18n.policy_label) == names[0]


def test_oversized_and_non_yaml_uploads_are_refused_at_once(sims, monkeypatch):
    upload(monkeypatch, "huge.yaml", b"#" * (ui.MAX_SCENARIO_BYTES + 1))
    started = time.monotonic()
    at = fresh()
    assert time.monotonic() - started < 5
    assert "may be at most 256 kB" in errors(at)
    assert at.number_input(key=ACCOUNTS).value == 200000
    assert ui.upload_problem("data.csv", 10) == "not_yaml"
    assert ui.upload_problem("ok.YML", 10) is None
    assert (ROOT / ".streamlit" / "config.toml").read_text().count("maxUploadSize = 1") == 1


def test_replications_give_intervals_on_the_cards(sims):
    at = small(fresh())
    at.number_input(key=REPS).set_value(2)
    run(at)
    assert len(sims) == 2 and len({s for _, s in sims}) == 2  # two replication seeds
    cis = [c.value for c in at.caption if c.value.startswith("95-%-KI") or "95 % CI" in c.value]
    assert len(cis) >= 8  # every KPI that varies between replications


def test_auto_staffing_hides_the_shift_levers_and_runs(sims):
    at = small(fresh())
    at.selectbox(key=f"{BASE}|staffing_mode").set_value("erlang_c").run()
    assert not at.exception and not at.error
    assert not any("].agents" in (n.key or "") for n in at.number_input)
    at.number_input(key=f"{BASE}|sl_target").set_value(90.0)
    run(at, "auto")
    assert len(sims) == 1 and not at.error
    sc = at.session_state["strategies"]["auto"].variants[0].scenario
    assert sc.policies.staffing.name == "erlang_c"
    assert sc.contact_center.service_level.target == pytest.approx(0.9)


def test_discount_and_incident_levers_reach_the_scenario(sims):
    at = small(fresh(), months=2)
    at.selectbox(key=POLICY).set_value("flat").run()
    at.number_input(key=f"{BASE}|discount_pct|flat").set_value(12.0)
    at.number_input(key=f"{BASE}|error_rate").set_value(4.0)
    at.checkbox(key=f"{BASE}|incident").check().run()
    assert not at.error
    run(at, "flat 12")
    sc = at.session_state["strategies"]["flat 12"].variants[0].scenario
    assert sc.policies.discount.name == "flat"
    assert sc.policies.discount.params["pct"] == 12.0
    assert sc.billing.error.rate == pytest.approx(0.04)
    assert sc.billing.incident is not None and sc.billing.incident.error_rate == 0.2


def test_negative_agents_are_explained_beside_staffing(sims):
    at = fresh()
    at.number_input(key=TIER1_EARLY).set_value(-2).run()
    assert not at.exception
    assert "shifts[0].agents" in errors(at)
    assert at.button(key="run").disabled  # nothing to run until the settings are valid
    assert sims == [] and not at.metric


@pytest.mark.parametrize(("policy", "param"), [("flat", "pct"), ("error_credit", "goodwill_pct")])
def test_impossible_discount_is_explained(sims, policy, param):
    at = fresh()
    at.selectbox(key=POLICY).set_value(policy).run()
    pct = at.number_input(key=f"{BASE}|discount_pct|{policy}")
    assert pct.label == "Discount (%)"  # the lever's words, not the parameter name
    assert pct.value == ui.default_discount_pct(load_scenario(ROOT / "scenarios" / BASE), policy)
    pct.set_value(150).run()
    assert not at.exception
    assert "a percentage 0–100 (you entered 150)" in errors(at)
    assert "policies.discount.params" in errors(at)  # the field path as detail
    assert at.button(key="run").disabled
    assert sims == []


def test_segment_mix_not_adding_up_is_explained(sims):
    at = fresh()
    at.number_input(key=f"{BASE}|share|premium").set_value(25.0).run()
    assert not at.exception
    assert "add up to 120 %" in errors(at)
    assert at.button(key="run").disabled
    at.number_input(key=f"{BASE}|share|residential").set_value(60.0).run()
    assert not at.error and not at.button(key="run").disabled


def test_incident_outside_the_horizon_is_explained(sims):
    at = fresh()
    at.checkbox(key=f"{BASE}|incident").check().run()
    at.date_input(key=f"{BASE}|incident_from").set_value(dt.date(2027, 6, 1))
    at.date_input(key=f"{BASE}|incident_to").set_value(dt.date(2027, 6, 10)).run()
    assert not at.exception
    assert "billing.incident" in errors(at)
    assert at.button(key="run").disabled


class FakeUpload:
    """What st.file_uploader returns (AppTest cannot drive the real widget)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.size = len(data)
        self._data = data

    def getvalue(self) -> bytes:
        return self._data


def upload(monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, key: str = "upload") -> None:
    """The uploader ``key`` (the sidebar's scenario upload by default) hands back ``data``;
    every other uploader stays empty."""
    original = DeltaGenerator.file_uploader

    def fake(self, label, *args, **kwargs):
        got = original(self, label, *args, **kwargs)
        return FakeUpload(name, data) if kwargs.get("key") == key else got

    monkeypatch.setattr(DeltaGenerator, "file_uploader", fake)
    # st.file_uploader is bound to the main area when streamlit is imported
    monkeypatch.setattr(st, "file_uploader", lambda *a, **kw: fake(st._main, *a, **kw))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"name: [unclosed", "not valid YAML"),
        (b"customers:\n  accounts: -5\n", "customers.accounts"),
        (b"\xff\xfe\x00binary", "UTF-8"),
        (b"colour: blue\n", "colour: unknown field"),
    ],
)
def test_bad_upload_is_explained_and_the_file_kept(sims, monkeypatch, data, says):
    upload(monkeypatch, "mine.yaml", data)
    at = fresh()
    text = errors(at)
    assert "mine.yaml" in text or says in text
    assert says in text
    assert "showing baseline.yaml instead" in text
    assert at.number_input(key=ACCOUNTS).value == 200000  # still the baseline's levers


def test_good_upload_is_used(sims, monkeypatch):
    base = load_scenario(ROOT / "scenarios" / BASE)
    text = base.with_changes(SMALL, name="uploaded").to_yaml()
    upload(monkeypatch, "mine.yaml", text.encode())
    at = fresh()
    assert not at.error
    key = next(n.key for n in at.number_input if n.key.endswith("|accounts"))
    assert key.startswith("upload:mine.yaml:")
    assert at.number_input(key=key).value == 3000
    at.button(key="run").click().run()
    assert not at.exception and len(sims) == 1
    assert "uploaded" in " ".join(c.value for c in at.caption)


def test_edit_in_the_app_applies_and_bad_edits_are_explained(sims):
    at = fresh()
    editor = at.text_area(key=f"editor|{BASE}|0")
    original = editor.value
    assert original.startswith("# Baseline")
    assert len(at.get("download_button")) == 2
    editor.set_value("customers:\n  accounts: [").run()
    at.button(key="apply_yaml").click().run()
    assert not at.exception
    assert "not valid YAML" in errors(at)
    assert at.number_input(key=ACCOUNTS).value == 200000  # nothing applied

    edited = original.replace("accounts: 200000", "accounts: 2500")
    at.text_area(key=f"editor|{BASE}|0").set_value(edited).run()
    at.button(key="apply_yaml").click().run()
    assert not at.exception and not at.error
    assert at.number_input(key=f"{BASE}#1|accounts").value == 2500  # levers start anew
    assert any("Edited" in c.value for c in at.caption)
    at.button(key="reset_yaml").click().run()
    assert at.number_input(key=f"{BASE}#2|accounts").value == 200000
    assert sims == []


def test_compare_strategies_side_by_side(sims):
    at = small(fresh())
    at.number_input(key=REPS).set_value(2)
    run(at, "as is")
    at.number_input(key=TIER1_EARLY).set_value(2)
    run(at, "fewer agents")
    assert list(at.session_state["strategies"]) == ["as is", "fewer agents"]
    assert len(sims) == 4
    ranking = at.dataframe[1].value  # tab 2: ranking first
    assert set(ranking["strategy"]) == {"as is", "fewer agents"}
    assert any("on net value by" in m.value for m in at.markdown)  # the verdict
    table = at.dataframe[2].value  # every KPI, styled
    assert list(table.columns[:3]) == ["KPI", "as is", "fewer agents"]
    diff = "fewer agents: Δ vs as is"
    assert diff in table.columns
    row = table.set_index("KPI").loc["Agent cost", diff]
    assert row.startswith("-")  # fewer agents cost less
    assert at.selectbox(key="compare_base").value == "as is"
    n_charts = len(at.get("vega_lite_chart"))
    assert n_charts >= 6 + 4  # dashboard + three overlays + frontier
    explained = [e for e in at.expander if e.label == "What is the net value?"]
    assert len(explained) == 2  # next to the net card and to the ranking in Compare

    at.multiselect(key="compare_pick|as is|fewer agents").set_value(["as is"]).run()
    assert not at.exception
    assert len(at.dataframe) == 1  # no comparison of one strategy


def test_discount_sweep_adds_frontier_points(sims):
    at = small(fresh())
    run(at, "no discount")
    at.selectbox(key="sweep_policy").set_value("flat")
    at.text_input(key="sweep_pcts").set_value("5, 20")
    at.button(key="sweep_run").click().run()
    assert not at.exception and not at.error
    assert list(at.session_state["strategies"]) == ["no discount", "flat 5 %", "flat 20 %"]
    assert len(sims) == 3
    at.text_input(key="sweep_pcts").set_value("five")
    at.button(key="sweep_run").click().run()
    assert "numbers like" in errors(at)


def test_save_and_reopen_a_past_run_without_simulating(sims, store_path):
    at = run(small(fresh()), "kept")
    at.button(key="save_run").click().run()
    assert not at.exception
    assert store_path.exists()
    assert any("Saved as run" in c.value for c in at.caption)

    again = fresh()  # a new session: nothing in memory
    before = len(sims)
    assert again.selectbox(key="past_pick").options
    listed = again.dataframe[0].value  # the past-runs list shows net and service level
    kept = at.session_state["strategies"]["kept"]
    money = MoneyFormat.from_scenario(kept.variants[0].scenario)
    means = kept.summary().set_index("kpi")["mean"]
    assert listed.loc[0, "Net result"] == format_value(
        means["net"], "money", money, money_decimals=0
    )
    assert listed.loc[0, "Service level"] == format_value(means["service_level"], "share", money)
    again.button(key="past_open").click().run()
    assert not again.exception
    assert "kept" in again.session_state["strategies"]
    assert len(sims) == before
    assert any("Opened kept" in s.value for s in again.success)
    assert again.metric[0].label == "Service level"


def test_a_stored_sweep_without_some_tables_opens_without_traceback(sims, store_path, base):
    """Runs stored by the CLI keep only monthly (and segment) tables, and many variants."""
    from sim.experiments.jobs import Variant
    from sim.experiments.runner import run_experiment
    from sim.experiments.store import Store

    sc = base.with_changes(SMALL)
    variants = [
        Variant("as is", sc),
        Variant("flat", sc.with_changes(ui.discount_changes(sc, "flat", 10.0))),
    ]
    run_experiment(variants, 1, executor="serial", store=Store(store_path), name="cli sweep")
    before = len(sims)
    at = fresh()
    at.button(key="past_open").click().run()
    assert not at.exception and not at.error
    assert list(at.session_state["strategies"]) == ["cli sweep: as is", "cli sweep: flat"]
    assert len(sims) == before
    assert any("did not keep its intervals table" in i.value for i in at.info)
    assert at.dataframe[0].value.shape[0] == 1  # the monthly table is there
    assert "cli sweep: flat: Δ vs cli sweep: as is" in at.dataframe[2].value.columns


def test_past_run_kpis_come_from_the_store_in_the_scenarios_format(store_path, base):
    from sim.experiments.jobs import Variant
    from sim.experiments.runner import run_experiment
    from sim.experiments.store import Store

    sc = base.with_changes(SMALL)
    flat = sc.with_changes(ui.discount_changes(sc, "flat", 10.0))
    dollars = sc.with_changes(
        {
            "economics.currency": "USD",
            "economics.currency_symbol": "$",
            "economics.number_format": "en",
        }
    )
    store = Store(store_path)
    two = run_experiment(
        [Variant("as is", sc), Variant("flat", flat)], 2, executor="serial", store=store, name="two"
    )
    one = run_experiment([Variant("usd", dollars)], 1, executor="serial", store=store, name="usd")
    runs = store.list_runs()
    kpis = ui.past_run_kpis(store.kpi_means(ui.PAST_RUN_KPIS), [*runs["run_id"], "none"])
    by_id = dict(zip([*runs["run_id"], "none"], kpis["net"], strict=True))
    mean = two.summary().set_index(["variant", "kpi"])["mean"]
    de = MoneyFormat.from_scenario(sc)
    assert by_id[two.experiment_id] == " | ".join(
        format_value(mean[(v, "net")], "money", de, money_decimals=0) for v in ("as is", "flat")
    )
    usd = one.summary().set_index("kpi")["mean"]["net"]
    assert by_id[one.experiment_id] == format_value(
        usd, "money", MoneyFormat("USD", "$", "en"), money_decimals=0
    )
    assert by_id[one.experiment_id].lstrip("-−").startswith("$")  # the scenario's symbol
    assert by_id["none"] == "—"
    table = ui.past_runs_table(runs, "de", store.kpi_means(ui.PAST_RUN_KPIS))
    assert {"Ergebnis", "Servicelevel"} <= set(table.columns)


def test_german_labels_and_back(sims):
    at = fresh()
    at.selectbox(key="lang").set_value("de").run()
    assert not at.exception
    assert at.title[0].value == "Simulator Rechnungs-Hotline"
    assert at.tabs[0].label == "Übersicht"
    assert at.button(key="run").label == "Starten"
    assert at.selectbox(key=POLICY).value == "none"
    assert any("Dezimalpunkt" in c.value for c in at.sidebar.caption)
    run(small(at))
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Servicelevel", "Mittlere Wartezeit", "Abbruchquote"]
    monthly = at.dataframe[0].value
    assert "Ergebnis" in monthly.columns and "Monat" in monthly.columns
    at.selectbox(key="lang").set_value("en").run()
    assert at.title[0].value == "Billing-support simulator"
    assert at.metric[0].label == "Service level"


# ---- helpers: formatting ------------------------------------------------------------------


def test_format_value_keeps_the_cli_convention():
    assert format_value(0.87, "share") == "87.0 %"
    assert format_value(5.8, "s") == "5.8 s"
    assert format_value(1234.56, "money") == "1,234.56 EUR"
    assert format_value(1234.56, "money", "USD") == "1,234.56 USD"
    assert format_value(math.nan, "share") == "n/a"
    assert format_value(None, "s") == "n/a"
    assert format_value(math.inf, "s") == "inf"
    assert format_value(-math.inf, "money") == "-inf"
    assert format_value(1234.0, "calls") == "1,234"
    assert format_value(12.5, "accounts") == "12.5"


def test_format_value_in_german_and_with_symbols():
    de = MoneyFormat("EUR", "€", "de")
    assert format_value(1234567.891, "money", de) == "1.234.567,89 €"
    assert format_value(-1234.5, "money", de, money_decimals=0) == "-1.234 €"
    assert format_value(0.8123, "share", de) == "81,2 %"
    assert format_value(12345.67, "s", de) == "12.345,7 s"
    en = MoneyFormat("USD", "$", "en")
    assert format_value(-1234.5, "money", en) == "-$1,234.50"
    assert format_interval(0.8, 0.9, "share", de) == "[80,0 %; 90,0 %]"
    assert format_interval(0.8, 0.9, "share") == "[80.0 %, 90.0 %]"
    assert format_interval(math.nan, 1, "share") == ""
    assert format_diff(0.012, "share") == "+1.2 pp"
    assert format_diff(-250, "money", de) == "-250 €"


def test_money_format_comes_from_the_scenario(baseline):
    fmt = MoneyFormat.from_scenario(baseline)
    assert (fmt.currency, fmt.symbol, fmt.style, fmt.unit) == ("EUR", "€", "de", "€")
    plain = baseline.with_changes(
        {"economics.currency_symbol": None, "economics.number_format": "en"}
    )
    assert MoneyFormat.from_scenario(plain).unit == "EUR"
    with pytest.raises(ScenarioError, match="number_format"):
        baseline.with_changes({"economics.number_format": "fr"})


# ---- helpers: labels -------------------------------------------------------------------------


def test_every_label_has_both_languages_with_the_same_placeholders():
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, (en, de) in i18n.STRINGS.items():
        assert en and de, key
        assert fields(en) == fields(de), key
    assert set(i18n.KPI_STRINGS) == set(KPI_DEFINITIONS)
    for kpi, d in KPI_DEFINITIONS.items():
        assert i18n.kpi_label(kpi, "en") == d.label
        assert i18n.kpi_definition(kpi, "en") == d.definition
        assert i18n.kpi_label(kpi, "de") != d.label or kpi == "service_level"
    for name in DISCOUNTS:
        assert i18n.policy_label(name, "de") != name
    for mode in ui.staffing_modes():
        assert i18n.staffing_label(mode, "de") != mode
    assert i18n.t("no such key") == "no such key"


# ---- helpers: levers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / BASE)


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
    shifts = [sh.agents for g in base.contact_center.groups for sh in g.shifts or []]
    assert [lv[3] for lv in levers] == shifts and shifts[:6] == [5, 3, 4, 3, 3, 20]
    changed = base.with_changes({levers[5][2]: 9})
    assert changed.contact_center.groups[1].shifts[0].agents == 9
    flat = base.with_changes(
        {"contact_center.groups[0].shifts": None, "contact_center.groups[0].agents": 5}
    )
    assert ui.staffing_levers(flat)[0][2:] == ("contact_center.groups[0].agents", 5)


@pytest.mark.parametrize("mode", ["fixed", "erlang_c", "erlang_a", "sqrt"])
def test_every_staffing_mode_maps_to_a_valid_scenario(base, mode):
    assert mode in ui.staffing_modes()
    sc = base.with_changes(ui.staffing_changes(base, mode, 0.85, 30, 0.5))
    assert sc.policies.staffing.name == mode
    assert sc.contact_center.service_level.target == 0.85
    assert sc.contact_center.service_level.threshold_s == 30
    if mode in ("erlang_c", "erlang_a"):
        assert sc.policies.staffing.params["target"] == 0.85
    if mode == "sqrt":
        assert sc.policies.staffing.params == {"beta": 0.5}
    back = sc.with_changes(ui.staffing_changes(sc, "fixed"))
    assert back.policies.staffing.name == "fixed"


def test_segment_mix_must_add_up(base):
    ch = ui.segment_mix_changes(base, {"residential": 70, "small_business": 20, "premium": 10})
    sc = base.with_changes(ch)
    assert [s.share for s in sc.customers.segments] == pytest.approx([0.7, 0.2, 0.1])
    with pytest.raises(ValueError, match="add up to 90 %"):
        ui.segment_mix_changes(base, {"residential": 70, "small_business": 10, "premium": 10})


def test_incident_levers(base):
    rate, start, end, cycles = ui.default_incident(base)
    sc = base.with_changes(ui.incident_changes(True, rate, start, end, cycles))
    inc = sc.billing.incident
    assert inc is not None and inc.error_rate == 0.2 and inc.cycles == [1]
    assert base.calendar.start < inc.start <= inc.end < sc.calendar.end
    assert ui.default_incident(sc) == (0.2, inc.start, inc.end, [1])
    assert sc.with_changes(ui.incident_changes(False)).billing.incident is None
    with pytest.raises(ScenarioError, match=r"billing\.incident\.cycles"):
        base.with_changes(ui.incident_changes(True, 0.2, start, end, [29]))


def test_problems_are_shown_beside_their_levers(base):
    assert ui.lever_group("contact_center.groups[1].shifts[0].agents: must be >= 0") == "staffing"
    assert ui.lever_group("policies.staffing.params: unknown parameter") == "staffing"
    assert ui.lever_group("policies.discount.params: pct must be 0..100") == "discounts"
    assert ui.lever_group("billing.incident: lies outside the horizon") == "billing"
    assert ui.lever_group("customers.segments: shares must sum to 1") == "customers"
    assert ui.lever_group("calendar.months: must be >= 1") == "horizon"
    assert set(ui.LEVER_GROUPS) == {"staffing", "discounts", "billing", "customers", "horizon"}


def test_read_upload(base):
    sc, text = ui.read_upload("x.yaml", base.to_yaml().encode())
    assert sc == base and text.startswith("name:")
    with pytest.raises(ScenarioError, match="UTF-8"):
        ui.read_upload("x.yaml", b"\xff\xfe")
    with pytest.raises(ScenarioError, match=r"x\.yaml: the file is empty"):
        ui.read_upload("x.yaml", b"")


# ---- helpers: results ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def strategies(base):
    """Two strategies of a small scenario, two replications each (common seed)."""
    small_sc = base.with_changes({**SMALL, "calendar.months": 2})  # discounts show on bills
    rich = small_sc.with_changes(ui.discount_changes(small_sc, "flat", 20.0))
    return {
        "none": ui.run_strategy("none", small_sc, 2),
        "flat 20": ui.run_strategy("flat 20", rich, 2),
    }


def test_cards_have_means_and_intervals(strategies):
    res = strategies["none"]
    money = MoneyFormat.from_scenario(res.variants[0].scenario)
    cards = ui.kpi_cards(res, money)
    assert [c.kpi for c in cards] == list(ui.HEADLINE_KPIS)
    mean = res.summary().set_index("kpi").loc["net", "mean"]
    net = next(c for c in cards if c.kpi == "net")
    assert net.value == format_value(mean, "money", money, money_decimals=0)
    assert net.interval.startswith("[") and net.interval.endswith("€]")
    de = ui.kpi_cards(res, money, "de")
    assert de[0].label == "Servicelevel"


def test_combine_pairs_strategies_by_replication(strategies):
    combined = ui.combine(strategies)
    assert combined.variant_names == ["none", "flat 20"]
    assert ui.same_seed(strategies)
    paired = combined.paired("none").set_index("kpi")
    assert paired.loc["discount_cost", "mean_diff"] > 0
    assert paired.loc["discount_cost", "n"] == 2
    money = MoneyFormat("EUR", "€", "de")
    table = ui.compare_table(combined, "none", money)
    assert list(table.columns) == ["KPI", "none", "flat 20", "flat 20: Δ vs none"]
    assert len(table) == len(KPI_DEFINITIONS)
    cost = table.set_index("KPI").loc["Discount cost", "flat 20: Δ vs none"]
    assert cost.startswith("+") and "[" in cost


def test_combine_gives_the_same_result_for_the_same_strategies_only(strategies):
    """The app compares the kept strategies at every click: the same strategy objects
    under the same names give the same combined result (and its built tables); another
    order, another name or another result object under the same name gives a new one."""
    combined = ui.combine(strategies)
    assert ui.combine(dict(strategies)) is combined
    swapped = ui.combine(dict(reversed(list(strategies.items()))))
    assert swapped is not combined and swapped.variant_names == ["flat 20", "none"]
    again = {**strategies, "none": ui.rename(strategies["none"], "none")}  # a new object
    assert ui.combine(again) is not combined
    assert ui.combine(again).paired("none").equals(combined.paired("none"))


def test_frontier_is_paired_against_the_baseline(strategies):
    combined = ui.combine(strategies)
    fr = ui.frontier(combined, "none")
    assert list(fr["strategy"]) == ["none", "flat 20"]
    assert fr.loc[0, ["discount_cost", "kept"]].tolist() == [0.0, 0.0]
    p = combined.paired("none").set_index("kpi")
    assert fr.loc[1, "discount_cost"] == pytest.approx(p.loc["discount_cost", "mean_diff"])
    assert fr.loc[1, "kept"] == pytest.approx(-p.loc["churned", "mean_diff"])
    assert fr.loc[1, "kept_low"] <= fr.loc[1, "kept"] <= fr.loc[1, "kept_high"]


def test_chart_data_agrees_with_the_kpis(strategies):
    res = strategies["none"]
    kpi = res.summary().set_index("kpi")["mean"]
    iv, waits, monthly = res.table("intervals"), res.table("waits"), res.table("monthly")

    heat = ui.weekday_hour(iv, "service_level")
    assert set(heat["weekday"]) <= set(range(7)) and set(heat["hour"]) <= set(range(24))
    assert heat["value"].between(0, 1).all()
    assert not ui.weekday_hour(iv, "asa_s").empty

    dist = ui.wait_distribution(waits)
    assert dist["share"].sum() == pytest.approx(1.0)
    assert np.isfinite(dist["wait_to_s"]).all()
    assert set(dist["outcome"]) == {"answered", "abandoned"}

    ab = ui.abandonment_by_hour(iv)
    sl = ui.service_level_by_hour(iv)
    assert ab["value"].between(0, 1).all() and sl["value"].between(0, 1).all()
    handled = iv.groupby(pd.to_datetime(iv["interval_start"]).dt.hour)[
        ["answered", "abandoned"]
    ].sum()
    weights = handled.sum(axis=1).loc[sl["hour"]].to_numpy()
    pooled = float((sl["value"].to_numpy() * weights).sum() / weights.sum())
    per_rep = res.table("kpis").query("kpi == 'service_level'")["value"]
    assert min(per_rep) - 1e-9 <= pooled <= max(per_rep) + 1e-9

    qa = ui.queue_and_agents(iv)
    assert set(qa["series"]) == {"agents_on_duty", "agents_needed", "mean_queue"}
    span = pd.to_datetime(qa["interval_start"])
    assert span.max() - span.min() < pd.Timedelta(days=7)
    assert not ui.queue_and_agents(iv, None, "D").empty

    wf = ui.money_waterfall(monthly)
    assert wf["step"].iloc[-1] == "net"
    assert wf["end"].iloc[-1] == pytest.approx(kpi["net"])
    assert wf["amount"].iloc[:-1].sum() == pytest.approx(kpi["net"])

    ret = ui.retention_by_month(monthly)
    assert len(ret) == 2 and {"active_end", "churned", "churn_rate"} <= set(ret.columns)

    shown = ui.monthly_display(monthly, MoneyFormat("EUR", "€", "de"), "de")
    assert shown["Ergebnis"].iloc[0].endswith(" €")


def test_overlays_have_one_line_per_strategy(strategies):
    for frame in (
        ui.overlay_monthly(strategies, "active_end"),
        ui.overlay_service_level(strategies),
        ui.overlay_waits(strategies),
    ):
        assert set(frame["strategy"]) == {"none", "flat 20"}
    cdf = ui.overlay_waits(strategies)
    for _, g in cdf.groupby("strategy"):
        assert g["share"].is_monotonic_increasing and g["share"].iloc[-1] <= 1


def test_rename_and_single_variant(strategies):
    res = ui.rename(strategies["none"], "other")
    assert res.variant_names == ["other"] and set(res.runs) == {("other", 0), ("other", 1)}
    assert res.summary()["variant"].eq("other").all()
    both = ui.combine(strategies)
    one = ui.single_variant(both, "flat 20")
    assert one.variant_names == ["flat 20"] and len(one.runs) == 2


def test_discount_sweep(base):
    points = ui.discount_sweep(base.with_changes(SMALL), "tenure_based", [5, 12.5])
    assert [n for n, _ in points] == ["tenure_based 5 %", "tenure_based 12.5 %"]
    assert points[1][1].policies.discount.params["max_pct"] == 12.5
    with pytest.raises(ValueError, match="no percentage"):
        ui.discount_sweep(base, "none", [5])


def test_baseline_with_one_replication_runs_whole(base):
    """The app's own run path on the full baseline (its time is measured by the browser
    test and benchmarks/, not asserted here: a timed unit test fails on a busy machine)."""
    res = ui.run_strategy("baseline", base, 1)
    assert len(res.runs) == 1 and not res.failures
    assert res.kpis()["calls_offered"].iloc[0] > 50_000


def test_number_inputs_show_no_needless_decimals():
    assert ui.input_format(600.0, 100.0) == "%.0f"  # not "600.00" (German: 600 thousand?)
    assert ui.input_format(80.0, 5.0, 1) == "%.1f"
    assert ui.input_format(2.35, 0.5, 1) == "%.2f"
    assert ui.input_format(1.0, 0.25) == "%.2f"
    assert ui.input_format(1 / 3, 1.0) == "%.4f"
    assert ui.input_format(None, 1.0) == "%.0f"


# ---- bounded uploads, the best plan, calibration, the value definition -----------------------

ALIAS_BOMB = (
    b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    b"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    b"g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
)


def test_an_alias_bomb_upload_is_refused_quickly_by_the_librarys_check(sims, monkeypatch):
    assert len(ALIAS_BOMB) <= 300  # expands to 9**7 ≈ 4.8 million strings
    upload(monkeypatch, "bomb.yaml", ALIAS_BOMB)
    started = time.monotonic()
    at = fresh()
    assert time.monotonic() - started < 5
    text = errors(at)
    assert "showing baseline.yaml instead" in text
    assert "once aliases (*name) are expanded" in text
    assert at.number_input(key=ACCOUNTS).value == 200000
    with pytest.raises(ScenarioError, match="more than the limit"):
        ui.read_upload("big.yaml", b"#" * (5 * 1024 * 1024))


@pytest.fixture
def few_plans(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The optimiser's default space cut to three plans, so the page test runs in seconds."""
    from sim.experiments import netopt

    def small_space(scenario):
        return netopt.SearchSpace(
            (netopt.StaffingOption(scale=0.85),),
            (netopt.DiscountOption(), netopt.DiscountOption("flat", 10.0)),
        )

    monkeypatch.setattr(netopt.SearchSpace, "default", staticmethod(small_space))
    st.cache_data.clear()  # the page caches plan counts per scenario: these are new
    yield
    st.cache_data.clear()


def test_best_plan_ranks_marks_checks_and_keeps_the_choice(sims, few_plans):
    at = small(fresh()).run()
    at.number_input(key="plan_reps").set_value(2)
    at.number_input(key="plan_holdout").set_value(2)
    assert at.number_input(key="plan_months|1").value == 1  # capped by the horizon
    assert "Tries 3 plans" in " ".join(c.value for c in at.caption)
    at.button(key="plan_run").click().run()
    assert not at.exception and not at.error
    result = at.session_state["netopt"]["result"]
    ranking = result.ranking()
    shown = at.dataframe[0].value
    assert len(shown) == len(ranking) == 3
    names = ui.plan_names(result, MoneyFormat.from_scenario(result.scenario))
    assert list(shown["plan"]) == [names[c] for c in ranking["candidate"]]
    assert "Flat 10 %" in " ".join(shown["plan"])
    marks = list(shown["against the best"])
    assert marks[0] == "★ best"
    assert marks.count("≈ not significantly worse") == len(result.not_worse) - 1
    assert shown["net value [95 % CI]"].str.contains("€").all()
    check = at.dataframe[1].value
    assert list(check["holds"]) == ["yes" if h else "no" for h in result.holdout()["holds"]]
    said = " ".join(m.value for m in at.markdown)
    best = names[result.best.name]
    assert f"Best plan: {best}" in said
    assert any(x.value.startswith("On fresh seeds") for x in [*at.success, *at.warning])
    assert any(e.label == "What is the net value?" for e in at.expander)
    assert len(at.get("download_button")) == 3  # the plan, and the scenario file's two
    before = len(sims)
    at.button(key="plan_keep").click().run()
    assert not at.exception
    name = f"Best plan: {best}"
    kept = at.session_state["strategies"][name].variants[0].scenario
    assert kept == ui.chosen_plan(result, at.session_state["netopt"]["scenario"])
    assert len(sims) == before + 1  # one replication (the sidebar's) on the full horizon


def test_chosen_plan_keeps_the_horizon_and_names_the_plan(base):
    from sim.experiments.netopt import Candidate, DiscountOption, StaffingOption

    class Fake:
        best = Candidate(
            "flat",
            StaffingOption(),
            DiscountOption("flat", 10.0),
            base,
            DiscountOption("flat", 10.0).changes(base),
        )

    plan = ui.chosen_plan(Fake(), base)  # type: ignore[arg-type]
    assert plan.calendar.months == base.calendar.months
    assert plan.policies.discount.name == "flat" and plan.name == f"{base.name}-optimised"
    short, space, n = ui.plan_search(base, 1, 2, 2)
    assert short.calendar.months == 1 and n == len(space.candidates(short)) >= 2


@pytest.fixture(scope="module")
def call_log_csv() -> bytes:
    """A call log in the generic schema from a small, understaffed simulated month (so
    that callers abandon and patience can be fitted)."""
    from sim import simulate
    from sim.calibrate import export_call_log
    from tests.conftest import simple_staffing

    sc = load_scenario(ROOT / "scenarios" / BASE).with_changes(
        {**SMALL, "customers.accounts": 6000}
    )
    sc = simple_staffing(sc, 1, 1)  # one agent per group: a fifth of callers abandon
    return export_call_log(simulate(sc)).to_csv(index=False).encode()


def test_calibrate_fits_an_uploaded_log_and_offers_both_downloads(monkeypatch, call_log_csv):
    upload(monkeypatch, "calls.csv", call_log_csv, key="cal_upload")
    at = fresh()
    assert not at.error
    fit = at.session_state["fit"]["fit"]
    assert fit.log.calls.shape[0] == call_log_csv.count(b"\n") - 1
    assert len(at.get("download_button")) == 4  # scenario YAML + report, and the editor's two
    fitted = scenario_from_yaml(at.session_state["fit"]["yaml"], "fitted")
    assert fitted.contact_center.forecast is not None
    said = " ".join(m.value for m in at.markdown)
    assert f"{fit.log.calls.shape[0]:,} calls" in said and "mean patience" in said
    services = at.dataframe[0].value
    assert list(services["call type"]) == list(fit.services)
    assert services["KS distance"].between(0, 1).all()
    assert len(at.get("vega_lite_chart")) == 2  # arrivals, inferred staffing


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("calls.csv", b"arrival,end\n2027-01-04 08:00:00,2027-01-04 08:05:00\n", "outcome"),
        ("calls.csv", b"arrival,end,outcome\nyesterday,2027-01-04,answered\n", "row 2"),
        ("calls.txt.gz", b"not gzip at all", "not a gzip file"),
        ("calls.xlsx", b"PK", "not a call log"),
    ],
)
def test_a_bad_log_is_one_clear_line(monkeypatch, name, data, says):
    upload(monkeypatch, name, data, key="cal_upload")
    at = fresh()
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value.strip()
    assert says in at.error[0].value and name in at.error[0].value
    assert "fit" not in at.session_state


def test_log_uploads_are_bounded_before_and_after_unpacking():
    import gzip

    assert ui.log_upload_problem("a.csv", ui.MAX_LOG_BYTES + 1) == "too_big"
    assert ui.log_upload_problem("a.txt.gz", 10) is None
    assert ui.log_upload_problem("a.yaml", 10) == "wrong_type"
    bomb = gzip.compress(b"0" * (2 * 1024 * 1024))
    with pytest.raises(DataError, match="unpacks to more than"):
        ui.read_log_upload("bank.txt.gz", bomb, expanded=1024 * 1024)
    with pytest.raises(DataError, match="more than the limit"):
        ui.read_log_upload("a.csv", b"x" * 11, limit=10)


def test_the_value_definition_is_one_text_in_both_languages():
    for lang in ("en", "de"):
        assert i18n.value_definition(lang) == i18n.t("value_definition", lang)
    assert "margin − agent cost − telephony cost + change in the value of the base" in (
        i18n.value_definition("en")
    )
    assert "Marge − Personalkosten − Telefoniekosten" in i18n.value_definition("de")


# ---- plan names, plan-search cancel, targeted discounts ----------------------------------------


def test_plan_names_come_from_the_options_in_both_languages(base):
    from sim.experiments.netopt import AS_GIVEN, Candidate, DiscountOption, StaffingOption

    money = MoneyFormat.from_scenario(base)

    def label(st_opt: StaffingOption, di_opt: DiscountOption, lang: str) -> str:
        return i18n.plan_label(Candidate("x", st_opt, di_opt, base), money, lang)

    erlang = StaffingOption(rule="erlang_a", target=0.8)
    assert label(erlang, DiscountOption("flat", 5.0), "de") == "Erlang A 80 % + Pauschal 5 %"
    assert label(erlang, DiscountOption("flat", 5.0), "en") == "Erlang A 80 % + Flat 5 %"
    scaled = StaffingOption(scale=0.85)
    assert label(scaled, DiscountOption(), "de") == "Personal × 0,85 + Rabatte wie eingestellt"
    assert label(scaled, DiscountOption("none"), "en") == "staffing × 0.85 + No discounts"
    capped = DiscountOption("flat", 10.0, authority=10.0, budget=20000.0)
    de = label(StaffingOption(), capped, "de")
    assert de.startswith("Personal wie eingestellt + Pauschal 10 % (Befugnis 10 %; Budget 20.000")
    assert "no budget cap" in label(StaffingOption(), DiscountOption(budget="unlimited"), "en")
    as_given = Candidate(AS_GIVEN, StaffingOption(), DiscountOption(), base)
    assert i18n.plan_label(as_given, money, "de") == "wie eingestellt"


def test_an_unfinished_plan_search_is_reported_as_cancelled_or_interrupted():
    at = small(fresh()).run()
    at.session_state["plan_searching"] = True
    at.session_state["plan_cancel"] = True
    at.run()
    assert "The plan search was cancelled." in [w.value for w in at.warning]
    at.session_state["plan_searching"] = True
    at.run()
    assert any(w.value.startswith("The plan search was interrupted") for w in at.warning)
    at.run()
    assert not any("plan search" in w.value for w in at.warning)  # said once


def test_history_scenario_keeps_customers_only(base):
    changes = {**SMALL, "policies.discount.name": "flat", "billing.error.rate": 0.2}
    history = ui.history_scenario(base, changes)
    assert history.customers.accounts == 3000
    assert history.calendar.months == ui.HISTORY_MONTHS
    assert history.policies.discount.name == "none"
    assert history.billing.error.rate == base.billing.error.rate  # the past is the file's
    moved = {**changes, "calendar.months": 2, "billing.error.rate": 0.3}
    assert ui.history_scenario(base, moved).fingerprint() == history.fingerprint()
    with pytest.raises(ValueError, match="unknown targeting"):
        ui.fit_targeting(history, "oracle")


def test_targeted_discount_fits_once_runs_the_fitted_policy_and_compares(sims, monkeypatch):
    st.cache_resource.clear()  # the page's fits are cached across sessions
    fits: list[str] = []
    real = ui.fit_targeting

    def counting(history, kind, pct=0.0):
        fits.append(kind)
        return real(history, kind, pct)

    monkeypatch.setattr(ui, "fit_targeting", counting)
    at = small(fresh(), months=2).run()
    at.selectbox(key=f"{BASE}|targeting").set_value("uplift").run()
    assert not at.exception and not at.error
    said = " ".join(m.value for m in at.markdown)
    assert "Churn score AUC on held-out months 5–6" in said
    captions = " ".join(c.value for c in at.caption)
    assert "true churn hazard is never used" in captions
    assert "Uplift fitted on a pilot of" in captions
    assert fits == ["uplift"]
    at.number_input(key=f"{BASE}|target_share").set_value(20.0).run()
    at.number_input(key=TIER1_EARLY).set_value(6).run()  # another lever: no refit
    assert fits == ["uplift"]
    before = len(sims)
    run(at)
    strategies = at.session_state["strategies"]
    name = next(n for n in strategies if "most responsive" in n)
    assert "20 % to the 20 % most responsive" in name
    options = strategies[name].variants[0].options
    policy = options["discount_policy"]
    assert type(policy).__name__ == "UpliftTargetedDiscount" and policy.pct == 20.0
    assert len(sims) == before + 1
    at.selectbox(key=f"{BASE}|targeting").set_value("risk").run()
    assert fits == ["uplift", "risk"]
    at.selectbox(key="lang").set_value("de").run()
    assert not at.exception
    said = " ".join(m.value for m in at.markdown)
    assert "AUC des Abwanderungsscores in zurückgehaltenen Monaten 5–6" in said
    assert "wahre Abwanderungsrisiko des Modells wird nie verwendet" in " ".join(
        c.value for c in at.caption
    )
    assert fits == ["uplift", "risk"]  # the language does not refit either
