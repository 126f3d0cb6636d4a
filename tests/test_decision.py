"""sim.experiments.decision: the facts behind the Compare tab, checked on small runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import load_scenario
from sim.experiments import decision
from sim.experiments.jobs import Variant
from sim.experiments.runner import run_experiment
from sim.faces import ui
from sim.presentation import i18n
from sim.presentation.formatting import MoneyFormat, format_compact

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base():
    """The baseline at 1.5 % (3 000 accounts, one agent per shift), one month."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scaled(0.015)
    return sc.with_changes({"calendar.months": 1})


@pytest.fixture(scope="module")
def combined(base):
    more = base.with_changes({"contact_center.groups[1].shifts[0].agents": 4})
    flat = {n: base.with_changes(ui.discount_changes(base, "flat", n)) for n in (20.0, 30.0)}
    variants = [Variant("today", base), Variant("more agents", more)]
    variants += [Variant(f"flat {n:g}", sc) for n, sc in flat.items()]
    return run_experiment(variants, 2, executor="serial", tables=ui.RUN_TABLES)


def test_ranking_orders_by_net_value_with_paired_differences(combined):
    r = decision.ranking(combined, "today")
    assert list(r["rank"]) == [1, 2, 3, 4]
    assert r["net"].is_monotonic_decreasing
    s = combined.summary().set_index(["variant", "kpi"])
    top = r.iloc[0]
    assert top["net"] == pytest.approx(s.loc[(top["strategy"], "net"), "mean"])
    today = r.set_index("strategy").loc["today"]
    assert today["diff"] == 0.0 and not today["significant"]
    p = combined.paired("today").set_index(["variant", "kpi"])
    more = r.set_index("strategy").loc["more agents"]
    assert more["diff"] == pytest.approx(p.loc[("more agents", "net"), "mean_diff"])


def test_kpi_effects_know_better_from_worse(combined):
    e = decision.kpi_effects(combined, "today").set_index(["strategy", "kpi"])
    # more agents cost more (worse) and answer faster (better)
    assert e.loc[("more agents", "agent_cost"), "effect"] == -1
    assert e.loc[("more agents", "agent_cost"), "diff"] > 0
    asa = e.loc[("more agents", "asa_s")]
    assert asa["effect"] == (0 if asa["diff"] == 0 else -int(math.copysign(1, asa["diff"])))
    assert e.loc[("more agents", "occupancy"), "effect"] == 0  # no direction
    assert set(decision.BETTER) >= set(e.index.get_level_values("kpi"))


def test_verdict_names_the_best_and_its_facts(combined):
    v = decision.verdict(combined, "today")
    best = decision.ranking(combined, "today").iloc[0]["strategy"]
    assert v.best == best and v.other != best
    p = combined.paired(v.other).set_index(["variant", "kpi"])
    assert v.net_diff == pytest.approx(p.loc[(best, "net"), "mean_diff"])
    assert v.kept == pytest.approx(-p.loc[(best, "churned"), "mean_diff"])
    text = i18n.verdict_text(v, MoneyFormat("EUR", "€", "de"), "en")
    assert f"**{best}**" in text and "service level" in text
    assert ("Fazit" not in text and "schlägt" in i18n.verdict_text(v, MoneyFormat(), "de")) or (
        "höchste" in i18n.verdict_text(v, MoneyFormat(), "de")
    )


def test_frontier_counts_every_cost_and_groups_identical_outcomes(combined, base):
    pts = decision.frontier_points(combined)
    s = combined.summary().set_index(["variant", "kpi"])
    row = pts[pts["names"].map(lambda n: "more agents" in n)].iloc[0]
    agents = s.loc[("more agents", "agent_cost"), "mean"]
    assert row["cost"] == pytest.approx(agents + row["discount_cost"])
    today = pts[pts["names"].map(lambda n: "today" in n)].iloc[0]
    assert row["cost"] > today["cost"]  # more agents are not free
    # flat 20 % and 30 % are both capped at the authority (10 %, 15 %): one point
    groups = decision.identical_outcomes(pts)
    assert ["flat 20", "flat 30"] in groups
    assert "flat 20 · flat 30" in list(pts["label"])


def test_binding_reports_authority_caps(combined):
    b = decision.binding(combined, "flat 20")
    assert b.offered_pct == 20.0
    assert set(b.capped_groups) == {"tier1", "billing_specialists"}
    assert b.authority_share == 1.0
    assert 0 <= b.budget_used < 10
    none = decision.binding(combined, "today")
    assert none.capped_groups == () and math.isnan(none.budget_used)


def test_scenario_changes_and_the_name_made_from_them(base):
    new = base.with_changes(
        {"contact_center.groups[1].shifts[0].agents": 9, **ui.discount_changes(base, "flat", 10)}
    )
    changes = decision.scenario_changes(base, new)
    paths = [c.path for c in changes]
    assert "contact_center.groups[1].shifts[0].agents" in paths
    assert "policies.discount.name" in paths
    name = i18n.strategy_name(changes, base, "en")
    assert name == "Tier 1 Mon 08:00–16:00: 1→9 agents · Flat · 10 %"
    assert i18n.strategy_name([], base, "de") == "Heute"


def test_compact_values_fit_a_card():
    de = MoneyFormat("EUR", "€", "de")
    assert format_compact(11_601_234.5, "money", de, lang="de") == "11,6 Mio. €"
    assert format_compact(11_601_234.5, "money", MoneyFormat("EUR", "€", "en")) == "€11.6 M"
    assert format_compact(236_123.0, "money", de) == "236.123 €"
    assert format_compact(0.87, "share", de) == "87,0 %"


def test_lever_problems_in_the_levers_units_and_language():
    msg, path = i18n.lever_problem("billing.error.rate: must be <= 1.0 (got 1.5)", "en")
    assert msg == "Bills with an error (%): must be at most 100 (you entered 150)"
    assert path == "billing.error.rate"
    msg, _ = i18n.lever_problem("billing.error.rate: must be <= 1.0 (got 1.5)", "de")
    assert msg == "Fehlerhafte Rechnungen (%): muss höchstens 100 (eingegeben: 150) sein"
    odd = "something.else: went wrong"
    assert i18n.lever_problem(odd) == (odd, "something.else")
    assert i18n.entity_label("billing_specialists") == "Billing specialists"
    assert i18n.entity_label("night_shift", "de") == "Night shift"
    assert i18n.shift_label("mon-fri", "08:00", 8.5, "de") == "Mo–Fr 08:00–16:30"


def test_verdict_words_lower_costs_without_a_minus_sign():
    v = decision.Verdict(
        best="a",
        other="b",
        net_diff=2032.0,
        net_low=math.nan,
        net_high=math.nan,
        net_significant=False,
        agent_cost_diff=-500.0,
        discount_diff=-2030.0,
        kept=3.0,
        service_level_diff=0.0,
        service_level_significant=False,
        replications=1,
    )
    money = MoneyFormat("EUR", "€", "de")
    text = i18n.verdict_text(v, money, "en")
    assert "500 € less in agents and 2.030 € less in discounts" in text
    assert "-2.030" not in text
    assert "2.030 € weniger an Rabatten" in i18n.verdict_text(v, money, "de")
