"""Retention analytics: paired estimates recover known effects; the joint grid runs.

A constructed table with a known uplift per segment checks the arithmetic and the
intervals; a simulated case where a discount reaches only one segment (and waits are
impossible) checks that the uplift shows there and exactly nowhere else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import Scenario, simulate
from sim.core.codes import REASONS
from sim.experiments.retention import retention_table
from sim.experiments.studies import compare_discounts, staffing_discount_grid


def constructed(uplift: dict[str, float], reps: int = 40, seed: int = 3) -> pd.DataFrame:
    """Per-run segment tables for 'none' and 'offer' with a known retention uplift and a
    discount costing 50 per run per segment; runs share noise (common random numbers)."""
    rng = np.random.default_rng(seed)  # test data only, not the model's randomness
    rows = []
    for r in range(reps):
        for seg, up in uplift.items():
            start = 1000
            ret_base = 900 + rng.integers(-20, 21)
            extra = round(up * start) + rng.integers(-3, 4)
            for variant, retained, cost in (
                ("none", ret_base, 0.0),
                ("offer", ret_base + extra, 50.0),
            ):
                rows.append(
                    {
                        "variant": variant,
                        "replication": r,
                        "seed": r,
                        "segment": seg,
                        "accounts_start": start,
                        "retained_end": retained,
                        "retention": retained / start,
                        "discount_cost": cost / 2,
                        "discount_committed": cost,
                        "revenue": 10.0 * retained - cost / 2,
                        "margin": 10.0 * retained - cost / 2,
                        "value_active_end": 100.0 * retained,
                    }
                )
    return pd.DataFrame(rows)


def test_known_uplift_is_recovered_with_honest_intervals() -> None:
    truth = {"a": 0.02, "b": 0.0}
    tab = retention_table(constructed(truth), baseline="none").set_index(["segment", "measure"])
    for seg, up in truth.items():
        row = tab.loc[(seg, "retention_uplift")]
        assert row["ci_low"] <= up <= row["ci_high"]
        assert row["estimate"] == pytest.approx(up, abs=0.002)
        assert tab.loc[(seg, "discount_cost"), "estimate"] == pytest.approx(50.0)
    # a: 20 extra accounts for 50 → 2.5 per retained account; value 110 each, and the
    # discount's 25 on bills in the horizon is in the margin, 25 after it in the value
    assert tab.loc[("a", "cost_per_retained"), "estimate"] == pytest.approx(2.5, rel=0.05)
    net = tab.loc[("a", "net_value")]
    assert net["estimate"] == pytest.approx(20 * 110 - 25, rel=0.05)
    assert net["ci_low"] <= 20 * 110 - 25 <= net["ci_high"]
    assert (
        np.isnan(tab.loc[("b", "cost_per_retained"), "estimate"])
        or abs(tab.loc[("b", "retained_accounts"), "estimate"]) < 2
    )
    total = tab.loc[("all", "discount_cost"), "estimate"]
    assert total == pytest.approx(100.0)


def test_retention_table_rejects_an_unknown_baseline() -> None:
    with pytest.raises(ValueError, match="baseline 'nope'"):
        retention_table(constructed({"a": 0.0}, reps=3), baseline="nope")


class PremiumOnly:
    """25 % to every premium caller, whatever the reason; nobody else."""

    def discount_pct(self, ctx):
        premium = ctx.segment_names.index("premium")
        return np.where(ctx.segment == premium, 25.0, 0.0)


@pytest.fixture(scope="module")
def no_waits(small_scenario: Scenario) -> Scenario:
    """Plenty of agents (no queueing), a strong discount effect, no budget, authority
    limit or handling time: a discount changes nothing but the churn of who gets it."""
    groups = [{"name": "all", "skills": list(REASONS), "agents": 60}]
    return small_scenario.with_changes(
        {
            "customers.accounts": 6000,
            "contact_center.groups": groups,
            "contact_center.routing.overflow_after_s": None,
            "contact_center.resolution.escalation": None,
            "policies.discount.authority_pct": {},
            "policies.discount.budget_per_month": None,
            "policies.discount.accept_probability": 1.0,
            "policies.discount.handling_s": 0.0,
            "retention.effects.discount": -3.0,
            "retention.discount_half_pct": 1.0,  # 25 % for 3 months: the full effect
            "retention.discount_half_months": 0.3,
            "billing.contact.probability.routine": 0.3,
            # no repeat calls: their draws would couple segments through the call count
            "contact_center.resolution.repeat_probability": 0.0,
        }
    )


def test_a_discount_for_one_segment_retains_there_and_nowhere_else(no_waits: Scenario) -> None:
    tab = compare_discounts(no_waits, {"premium": PremiumOnly()}, 4, executor="serial")
    t = tab.set_index(["segment", "measure"])
    for seg in ("residential", "small_business"):
        assert t.loc[(seg, "retention_uplift"), "estimate"] == 0.0
        assert t.loc[(seg, "discount_cost"), "estimate"] == 0.0
    up = t.loc[("premium", "retained_accounts")]
    assert up["estimate"] > 0
    assert t.loc[("premium", "discount_cost"), "estimate"] > 0
    assert t.loc[("all", "retained_accounts"), "estimate"] == up["estimate"]


def test_segments_table_adds_up_to_the_monthly_money(no_waits: Scenario) -> None:
    res = simulate(no_waits, discount_policy=PremiumOnly())
    seg, m = res.segments(), res.monthly()
    assert seg["discount_cost"].sum() == pytest.approx(m["discount_cost"].sum())
    assert seg["revenue"].sum() == pytest.approx(m["revenue"].sum())
    assert seg["churned"].sum() == m["churned"].sum()
    assert seg["accounts_start"].sum() == no_waits.customers.accounts
    assert seg.set_index("segment").loc["residential", "discounts_granted"] == 0
    assert res.kpis()["retention"] == pytest.approx(
        seg["retained_end"].sum() / seg["accounts_start"].sum()
    )


def test_staffing_discount_grid_pairs_every_cell_with_the_baseline(
    small_scenario: Scenario,
) -> None:
    grid = staffing_discount_grid(
        small_scenario,
        {"fixed": "fixed", "sqrt": {"name": "sqrt", "params": {"beta": 0.5}}},
        {"none": "none", "flat": {"name": "flat", "params": {"pct": 10}}},
        replications=2,
        executor="serial",
        kpis=("net", "retention", "agent_cost"),
    )
    assert len(grid) == 2 * 2 * 3
    base = grid[(grid["staffing"] == "fixed") & (grid["discount"] == "none")]
    assert (base["diff"] == 0).all()
    cost = grid[grid["kpi"] == "agent_cost"].set_index(["staffing", "discount"])["mean"]
    assert cost[("sqrt", "none")] != cost[("fixed", "none")]
    assert cost[("fixed", "flat")] == cost[("fixed", "none")]
