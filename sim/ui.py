"""Small, testable helpers behind the Streamlit page (``app.py``).

The page stays thin: it turns widgets into scenario changes and shows what these
helpers return. Every number still comes from ``sim.metrics``; this module only maps
levers onto scenario paths, reshapes result tables for charts and formats KPI values.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.metrics import KPI_DEFINITIONS
from sim.policies import DISCOUNTS

if TYPE_CHECKING:
    from sim.metrics import Results
    from sim.scenario import Scenario

DISCOUNT_PCT_PARAM: dict[str, str | None] = {
    "none": None,
    "flat": "pct",
    "tenure_based": "max_pct",
    "value_based": "pct",
    "churn_risk_targeted": "pct",
    "error_credit": "goodwill_pct",
}
"""The main percentage parameter of each built-in discount policy (None: no percentage)."""

HEADLINE_KPIS: tuple[str, ...] = (
    "service_level",
    "asa_s",
    "abandonment_rate",
    "occupancy",
    "monthly_churn",
    "retention",
    "revenue",
    "discount_cost",
    "agent_cost",
    "net",
)
"""The KPI cards the page shows, in order."""


def discount_pct_param(name: str) -> str | None:
    """Name of the percentage parameter of discount policy ``name`` (None if it has none)."""
    if name not in DISCOUNTS:
        raise KeyError(f"unknown discount policy '{name}' (valid: {', '.join(DISCOUNTS)})")
    return DISCOUNT_PCT_PARAM.get(name)


def default_discount_pct(scenario: Scenario, name: str) -> float | None:
    """The percentage to preset for ``name``: the scenario's value when it already uses
    that policy with the parameter set, else the policy's own default."""
    param = discount_pct_param(name)
    if param is None:
        return None
    choice = scenario.policies.discount
    if choice.name == name and param in choice.params:
        return float(choice.params[param])
    for f in dataclasses.fields(DISCOUNTS[name]):
        if f.name == param and f.default is not dataclasses.MISSING:
            return float(f.default)
    return 0.0


def discount_changes(scenario: Scenario, name: str, pct: float | None) -> dict[str, Any]:
    """Scenario changes that select discount policy ``name`` with percentage ``pct``.

    Parameters the scenario already gives for the same policy are kept; switching to
    another policy starts from that policy's defaults (other policies' parameters would
    be rejected).
    """
    param = discount_pct_param(name)
    choice = scenario.policies.discount
    params = dict(choice.params) if choice.name == name else {}
    if param is not None and pct is not None:
        params[param] = pct
    return {"policies.discount.name": name, "policies.discount.params": params}


def staffing_levers(scenario: Scenario) -> list[tuple[str, str, str, int]]:
    """One lever per staffing figure: (group name, label, scenario path, current agents).

    A group staffed by shifts yields one lever per shift; a group with a constant head
    count yields one lever for that count.
    """
    levers = []
    for gi, g in enumerate(scenario.contact_center.groups):
        if g.shifts is None:
            path = f"contact_center.groups[{gi}].agents"
            levers.append((g.name, "Agents (all open hours)", path, int(g.agents or 0)))
            continue
        for si, sh in enumerate(g.shifts):
            label = f"Agents {sh.days} {sh.start} +{sh.hours:g} h"
            path = f"contact_center.groups[{gi}].shifts[{si}].agents"
            levers.append((g.name, label, path, sh.agents))
    return levers


def format_kpi(name: str, value: float, currency: str) -> str:
    """A KPI value as a manager reads it: shares in %, seconds in s, money with currency."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    unit = KPI_DEFINITIONS[name].unit
    if unit == "share":
        return f"{value:.1%}"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "money":
        return f"{currency} {value:,.0f}"
    return f"{value:,.0f}"


def wait_histogram(results: Results, bins: int = 30) -> pd.DataFrame:
    """Answered calls by wait: columns ``wait_from_s`` (bin start) and ``calls``.

    Bins are of equal width up to the 99th percentile of the waits; longer waits are
    counted in the last bin so that no call is left out.
    """
    calls = results.calls
    wait = calls.loc[calls["outcome"] == "answered", "wait_s"].to_numpy(dtype=float)
    wait = wait[np.isfinite(wait)]
    if wait.size == 0:
        return pd.DataFrame({"wait_from_s": pd.Series(dtype=float), "calls": pd.Series(dtype=int)})
    top = float(np.quantile(wait, 0.99))
    width = max(top / bins, 1.0)
    edges = np.arange(bins + 1) * width
    counts, _ = np.histogram(np.minimum(wait, edges[-1]), bins=edges)
    return pd.DataFrame({"wait_from_s": edges[:-1], "calls": counts.astype(np.int64)})


def service_level_by_hour(results: Results) -> pd.DataFrame:
    """Service level per hour of day over the whole horizon, with the target.

    Pools the intervals of each hour (answered within threshold / answered + abandoned),
    the same definition as the KPI; hours without answered or abandoned calls are left out.
    """
    iv = results.intervals()
    hour = iv["interval_start"].dt.hour
    g = iv.groupby(hour)[["answered_within_threshold", "answered", "abandoned"]].sum()
    handled = g["answered"] + g["abandoned"]
    g = g[handled > 0]
    out = pd.DataFrame(
        {
            "hour": g.index.astype(int),
            "service_level": g["answered_within_threshold"] / (g["answered"] + g["abandoned"]),
            "target": results.scenario.contact_center.service_level.target,
        }
    )
    return out.reset_index(drop=True)
