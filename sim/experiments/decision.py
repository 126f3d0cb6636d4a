"""Which strategy? The facts a manager's decision rests on, computed once and tested.

The app and reports only word and draw what this module returns:

- **ranking**: strategies by mean net value (KPI ``net``) with its 95 % interval, and
  each one's paired difference to a reference strategy;
- **KPI effects**: per KPI and strategy, the paired difference to the reference, whether
  it is better or worse (``BETTER`` gives the direction) and whether its 95 % interval
  excludes zero. Each mark is one test at 5 %: with many KPIs and strategies some marks
  are expected by chance, which is why the app states that caveat;
- **verdict facts**: the best strategy against the runner-up (or the reference), in money,
  agent cost, accounts kept and service level;
- **frontier**: net value against *total* cost (agents + discounts granted, including
  discounts still owed after the horizon), with coinciding points grouped;
- **what binds**: whether the discount authority or the monthly budget caps the offers;
- **scenario changes**: what a strategy changed against the baseline scenario (for names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.result import ExperimentResult
from sim.results import KPI_DEFINITIONS
from sim.scenario import Scenario

BETTER: dict[str, int] = {k: d.better for k, d in KPI_DEFINITIONS.items()}
"""Which way is better for each KPI (``sim.results.KPI.better``)."""

COST_KPIS: tuple[str, ...] = ("agent_cost", "discount_cost", "discount_owed")
"""Total cost of a strategy: agent hours plus every discount it granted (deducted within
the horizon and still owed after it)."""


def _paired(combined: ExperimentResult, reference: str) -> pd.DataFrame:
    if len(combined.variants) < 2:
        return pd.DataFrame(columns=["variant", "kpi", "mean_diff", "ci_low", "ci_high"])
    return combined.paired(reference)


def ranking(combined: ExperimentResult, reference: str) -> pd.DataFrame:
    """Strategies best first by mean net value.

    Columns: rank, strategy, net, net_low, net_high, diff, diff_low, diff_high,
    significant (the paired difference to ``reference`` excludes 0; False for the
    reference itself).
    """
    s = combined.summary()
    s = s[s["kpi"] == "net"].set_index("variant")
    p = _paired(combined, reference)
    p = p[p["kpi"] == "net"].set_index("variant")
    rows = []
    for name in combined.variant_names:
        row = s.loc[name] if name in s.index else None
        d = p.loc[name] if name in p.index else None
        rows.append(
            {
                "strategy": name,
                "net": float(row["mean"]) if row is not None else math.nan,
                "net_low": float(row["ci_low"]) if row is not None else math.nan,
                "net_high": float(row["ci_high"]) if row is not None else math.nan,
                "diff": float(d["mean_diff"]) if d is not None else 0.0,
                "diff_low": float(d["ci_low"]) if d is not None else math.nan,
                "diff_high": float(d["ci_high"]) if d is not None else math.nan,
                "significant": bool(d["significant"]) if d is not None else False,
            }
        )
    out = pd.DataFrame(rows).sort_values("net", ascending=False, kind="stable")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.reset_index(drop=True)


def kpi_effects(combined: ExperimentResult, reference: str) -> pd.DataFrame:
    """Per strategy (other than ``reference``) and KPI: the paired difference, its
    interval, ``effect`` (+1 better, -1 worse, 0 no change or no direction) and
    ``significant`` (the interval excludes 0)."""
    p = _paired(combined, reference)
    cols = ["strategy", "kpi", "diff", "ci_low", "ci_high", "effect", "significant"]
    if p.empty:
        return pd.DataFrame(columns=cols)
    effect = [
        int(np.sign(d) * BETTER.get(k, 0)) if np.isfinite(d) else 0
        for k, d in zip(p["kpi"], p["mean_diff"], strict=True)
    ]
    return pd.DataFrame(
        {
            "strategy": p["variant"].astype(str),
            "kpi": p["kpi"].astype(str),
            "diff": p["mean_diff"].astype(float),
            "ci_low": p["ci_low"].astype(float),
            "ci_high": p["ci_high"].astype(float),
            "effect": effect,
            "significant": p["significant"].astype(bool),
        },
        columns=cols,
    ).reset_index(drop=True)


@dataclass(frozen=True)
class Verdict:
    """The facts of the verdict sentence: ``best`` against ``other``.

    Differences are best − other, paired by replication; intervals are NaN with one
    replication. ``kept`` is the number of accounts fewer churned.
    """

    best: str
    other: str
    net_diff: float
    net_low: float
    net_high: float
    net_significant: bool
    agent_cost_diff: float
    discount_diff: float
    kept: float
    service_level_diff: float
    service_level_significant: bool
    replications: int


def verdict(combined: ExperimentResult, reference: str) -> Verdict | None:
    """The best strategy by net value against the reference (or, when the reference is
    best, against the runner-up); None with fewer than two strategies."""
    if len(combined.variants) < 2:
        return None
    ranked = ranking(combined, reference)
    best = str(ranked.iloc[0]["strategy"])
    other = reference if best != reference else str(ranked.iloc[1]["strategy"])
    p = combined.paired(other).set_index(["variant", "kpi"])

    def get(kpi: str, col: str = "mean_diff") -> float:
        key = (best, kpi)
        return float(p.loc[key, col]) if key in p.index else math.nan

    def sig(kpi: str) -> bool:
        key = (best, kpi)
        return bool(p.loc[key, "significant"]) if key in p.index else False

    return Verdict(
        best=best,
        other=other,
        net_diff=get("net"),
        net_low=get("net", "ci_low"),
        net_high=get("net", "ci_high"),
        net_significant=sig("net"),
        agent_cost_diff=get("agent_cost"),
        discount_diff=get("discount_cost") + _zero_nan(get("discount_owed")),
        kept=-get("churned"),
        service_level_diff=get("service_level"),
        service_level_significant=sig("service_level"),
        replications=combined.replications,
    )


def _zero_nan(x: float) -> float:
    return 0.0 if math.isnan(x) else x


def frontier_points(combined: ExperimentResult, rel_tol: float = 1e-9) -> pd.DataFrame:
    """One point per distinct outcome: total cost (agents + discounts) against net value.

    Strategies whose cost and net value coincide (e.g. discounts of 10 %, 20 % and 30 %
    all capped at the same authority) form one point: ``names`` lists them all, so a
    chart labels the point once. Columns: label, names, cost, agent_cost, discount_cost,
    net, net_low, net_high, retention.
    """
    s = combined.summary().set_index(["variant", "kpi"])

    def mean(name: str, kpi: str, col: str = "mean") -> float:
        return float(s.loc[(name, kpi), col]) if (name, kpi) in s.index else math.nan

    points: list[dict[str, Any]] = []
    for name in combined.variant_names:
        agents = mean(name, "agent_cost")
        discounts = _zero_nan(mean(name, "discount_cost")) + _zero_nan(mean(name, "discount_owed"))
        point = {
            "cost": agents + discounts,
            "agent_cost": agents,
            "discount_cost": discounts,
            "net": mean(name, "net"),
            "net_low": mean(name, "net", "ci_low"),
            "net_high": mean(name, "net", "ci_high"),
            "retention": mean(name, "retention"),
        }
        for other in points:
            if all(
                math.isclose(other[k], point[k], rel_tol=rel_tol, abs_tol=1e-6)
                for k in ("cost", "net")
            ):
                other["names"].append(name)
                break
        else:
            points.append({"names": [name], **point})
    cols = ["label", "names", "cost", "agent_cost", "discount_cost"]
    cols += ["net", "net_low", "net_high", "retention"]
    out = pd.DataFrame(points, columns=[c for c in cols if c != "label"])
    out.insert(0, "label", [" · ".join(n) for n in out["names"]])
    return out


@dataclass(frozen=True)
class Binding:
    """Whether the authority or the budget caps a strategy's discounts.

    ``capped_groups``: groups whose authority is below the offered percentage (their
    offers are cut to it); ``authority_share``: capped groups / groups with an
    authority; ``budget_used``: discounts committed over the horizon / (monthly budget
    × months), so ≥ 0.95 means the budget binds (NaN without a cap or ``segments``).
    """

    strategy: str
    offered_pct: float | None
    capped_groups: tuple[str, ...]
    authority_share: float
    budget_used: float

    @property
    def budget_binds(self) -> bool:
        """The budget was (nearly) used up: later offers in a month were refused."""
        return bool(self.budget_used >= 0.95)


def offered_pct(scenario: Scenario) -> float | None:
    """The percentage the discount policy offers (its main parameter), None if none."""
    params = scenario.policies.discount.params
    for key in ("pct", "max_pct", "goodwill_pct"):
        if key in params:
            return float(params[key])
    return None


def binding(result: ExperimentResult, strategy: str) -> Binding:
    """What caps ``strategy``'s discounts: groups whose authority is below the offer,
    and how much of the budget its committed discounts used."""
    sc = result.scenario(strategy)
    d = sc.policies.discount
    pct = offered_pct(sc) if d.name != "none" else None
    capped: tuple[str, ...] = ()
    share = math.nan
    if pct is not None and d.authority_pct:
        capped = tuple(g for g, a in d.authority_pct.items() if a < pct)
        share = len(capped) / len(d.authority_pct)
    budget = math.nan
    if d.budget_per_month is not None and pct is not None:
        budget = _budget_used(result, strategy, float(d.budget_per_month))
    return Binding(strategy, pct, capped, share, budget)


def _budget_used(result: ExperimentResult, strategy: str, budget: float) -> float:
    """Discounts committed over the horizon as a share of the budget over the horizon
    (mean over replications; from the ``segments`` table, NaN when the run lacks it)."""
    try:
        seg = result.table("segments")
    except (KeyError, ValueError):
        return math.nan
    col = "discount_committed"
    if seg.empty or col not in seg.columns or budget <= 0:
        return math.nan if budget > 0 else 1.0
    seg = seg[seg["variant"] == strategy] if "variant" in seg.columns else seg
    if seg.empty:
        return math.nan
    per_run = seg.groupby("replication")[col].sum() if "replication" in seg else seg[col]
    months = result.scenario(strategy).calendar.months
    return float(per_run.mean() / (budget * months))


def identical_outcomes(points: pd.DataFrame) -> list[list[str]]:
    """Groups of strategies with identical cost and net value (more than one name)."""
    return [list(n) for n in points["names"] if len(n) > 1]


@dataclass(frozen=True)
class Change:
    """One field a strategy's scenario sets differently from the baseline's."""

    path: str
    old: Any
    new: Any


def scenario_changes(base: Scenario, new: Scenario) -> list[Change]:
    """Every leaf field that differs between two scenarios, in document order (lists of
    equal length compared item by item); the name is left out."""
    out: list[Change] = []
    _diff(base.to_dict(), new.to_dict(), "", out)
    return [c for c in out if c.path != "name"]


def _diff(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in dict.fromkeys([*a, *b]):
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(Change(path, a, b))
