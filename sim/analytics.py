"""Which discounts keep customers, at what price — and what hiring buys instead.

Policies are compared with common random numbers: every variant of an experiment runs
the same replications (same customers, bills and call draws), so the difference of two
policies in one replication is the policy's effect plus little noise, and paired
t-intervals over replications are tight.

Per segment, for each policy against a baseline (normally no discount):

- ``retention_uplift``: Δ share of the initial base still active at the end.
- ``retained_accounts``: Δ number of those accounts.
- ``discount_cost``: Δ committed discount value (``Results.segments()``'
  ``discount_committed``: monthly value × duration of every discount granted,
  including the months after the horizon, as lost lifetime value counts beyond it).
  Not the KPI / monthly ``discount_cost`` of sim.metrics, which is only what bills
  dated within the horizon were reduced by (normally less for the same run).
- ``cost_per_retained``: discount_cost / retained_accounts, a ratio of paired means
  with a delta-method interval; NaN when the policy retains nobody extra on average.
- ``retained_revenue``: Δ(revenue in the horizon before discounts + monthly charge of
  the accounts active at the end × ``economics.lifetime_months``).
- ``net_value``: retained_revenue − discount_cost.

Intervals are paired 95 % t-intervals over replications (``level`` to change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.scenario import Scenario

MEASURES: tuple[str, ...] = (
    "retention_uplift",
    "retained_accounts",
    "discount_cost",
    "cost_per_retained",
    "retained_revenue",
    "net_value",
)
ALL = "all"
"""Segment label of the whole base (sums over segments)."""

_COLUMNS = [
    "variant",
    "baseline",
    "segment",
    "measure",
    "n",
    "mean_base",
    "estimate",
    "ci_low",
    "ci_high",
]


def _t_interval(d: np.ndarray, level: float) -> tuple[int, float, float, float]:
    """(n, mean, ci_low, ci_high): the experiment runner's t-interval, one formula."""
    from sim.experiment import t_interval

    n, mean, _sd, lo, hi = t_interval(d, level)
    return n, mean, lo, hi


def _ratio_interval(num: np.ndarray, den: np.ndarray, level: float) -> tuple[float, float, float]:
    """mean(num)/mean(den) with a delta-method interval (NaN unless mean(den) > 0)."""
    n = num.size
    mn, md = float(num.mean()), float(den.mean())
    if n == 0 or md <= 0:
        return np.nan, np.nan, np.nan
    r = mn / md
    if n < 2:
        return r, np.nan, np.nan
    var = np.var(num - r * den, ddof=1) / (md * md) / n
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(np.sqrt(var))
    return r, r - half, r + half


def _with_all(seg: pd.DataFrame) -> pd.DataFrame:
    """Add a row per (variant, replication) summing every segment."""
    sums = [
        "accounts_start",
        "retained_end",
        "discount_cost",
        "discount_committed",
        "revenue",
        "value_active_end",
    ]
    df = seg[["variant", "replication", "segment", *sums]].copy()
    df["variant"] = df["variant"].astype(str)
    df["segment"] = df["segment"].astype(str)
    tot = df.groupby(["variant", "replication"], as_index=False)[sums].sum()
    tot["segment"] = ALL
    out = pd.concat([df, tot], ignore_index=True)
    out["retention"] = out["retained_end"] / out["accounts_start"]
    out["gross"] = out["revenue"] + out["discount_cost"] + out["value_active_end"]
    return out


def retention_table(
    segments: pd.DataFrame, baseline: str = "none", level: float = 0.95
) -> pd.DataFrame:
    """Per variant, segment and measure: paired estimate against ``baseline`` with CI.

    ``segments`` holds one ``Results.segments()`` table per run with leading columns
    ``variant`` and ``replication`` (``ExperimentResult.table("segments")``); variants
    are paired by replication, so they must share the scenario seed (common random
    numbers). Returns a long table (columns: variant, baseline, segment, measure, n,
    mean_base, estimate, ci_low, ci_high); see the module docstring for the measures.
    """
    missing = {"variant", "replication", "segment"} - set(segments.columns)
    if missing:
        raise ValueError(f"segments table lacks columns {sorted(missing)}")
    df = _with_all(segments)
    variants = list(dict.fromkeys(df["variant"]))
    if baseline not in variants:
        raise ValueError(f"baseline '{baseline}' is not a variant (variants: {variants})")
    seg_order = list(dict.fromkeys(df["segment"]))
    base = df[df["variant"] == baseline].set_index(["segment", "replication"])
    rows: list[dict[str, Any]] = []
    for v in variants:
        if v == baseline:
            continue
        other = df[df["variant"] == v].set_index(["segment", "replication"])
        common = base.index.intersection(other.index)
        for s in seg_order:
            keys = [k for k in common if k[0] == s]
            if not keys:
                continue
            b, o = base.loc[keys], other.loc[keys]
            d_ret = (o["retention"] - b["retention"]).to_numpy(float)
            d_acc = (o["retained_end"] - b["retained_end"]).to_numpy(float)
            d_cost = (o["discount_committed"] - b["discount_committed"]).to_numpy(float)
            d_rev = (o["gross"] - b["gross"]).to_numpy(float)
            values = {
                "retention_uplift": (d_ret, b["retention"]),
                "retained_accounts": (d_acc, b["retained_end"]),
                "discount_cost": (d_cost, b["discount_committed"]),
                "retained_revenue": (d_rev, b["gross"]),
                "net_value": (d_rev - d_cost, b["gross"] - b["discount_committed"]),
            }
            for measure in MEASURES:
                if measure == "cost_per_retained":
                    est, lo, hi = _ratio_interval(d_cost, d_acc, level)
                    n, mean_base = len(keys), np.nan
                else:
                    diff, ref = values[measure]
                    n, est, lo, hi = _t_interval(diff, level)
                    mean_base = float(np.mean(ref.to_numpy(float)))
                rows.append(
                    {
                        "variant": v,
                        "baseline": baseline,
                        "segment": s,
                        "measure": measure,
                        "n": n,
                        "mean_base": mean_base,
                        "estimate": est,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    return pd.DataFrame(rows, columns=_COLUMNS)


# ---- running the comparisons ------------------------------------------------------------


PolicySpec = Any
"""A policy given by name (str), by {"name": ..., "params": {...}} or as an object."""


def _discount_variant(scenario: Scenario, spec: PolicySpec) -> tuple[Scenario, dict[str, Any]]:
    if isinstance(spec, str):
        return scenario.with_changes(
            {"policies.discount.name": spec, "policies.discount.params": {}}
        ), {}
    if isinstance(spec, Mapping):
        changes = {f"policies.discount.{k}": v for k, v in spec.items()}
        changes.setdefault("policies.discount.params", {})
        return scenario.with_changes(changes), {}
    return scenario, {"discount_policy": spec}


def _staffing_variant(scenario: Scenario, spec: PolicySpec) -> tuple[Scenario, dict[str, Any]]:
    if isinstance(spec, Scenario):
        return spec.with_changes({"seed": scenario.seed}), {}
    if isinstance(spec, str):
        return scenario.with_changes({"policies.staffing": {"name": spec, "params": {}}}), {}
    if isinstance(spec, Mapping):
        return scenario.with_changes(
            {"policies.staffing": {"name": spec["name"], "params": dict(spec.get("params", {}))}}
        ), {}
    return scenario, {"staffing_policy": spec}


def _run_all(
    variants: list[Any],
    replications: int,
    tables: tuple[str, ...],
    executor: str,
    workers: int | None,
    progress: Any,
) -> Any:
    """Every run of the variants, or an error: analytics on a partial set would mislead."""
    from sim.experiment import run_experiment

    res = run_experiment(
        variants,
        replications,
        executor=executor,
        workers=workers,
        progress=progress,
        tables=tables,
    )
    if res.failures:
        raise RuntimeError(f"{len(res.failures)} runs failed; first: {res.failures[0]}")
    return res


def compare_discounts(
    scenario: Scenario,
    policies: Mapping[str, PolicySpec],
    replications: int = 10,
    *,
    baseline: str = "none",
    executor: str = "process",
    workers: int | None = None,
    progress: Any = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Run every discount policy on ``scenario`` with common random numbers and return
    ``retention_table`` against ``baseline`` (a key of ``policies``; added as the
    scenario with discount 'none' when missing)."""
    from sim.experiment import Variant

    specs = dict(policies)
    if baseline not in specs:
        specs = {baseline: "none", **specs}
    variants = []
    for name, spec in specs.items():
        sc, opts = _discount_variant(scenario, spec)
        variants.append(Variant(name, sc, opts))
    res = _run_all(variants, replications, ("segments",), executor, workers, progress)
    return retention_table(res.table("segments"), baseline, level)


GRID_KPIS: tuple[str, ...] = (
    "net",
    "retention",
    "service_level",
    "agent_cost",
    "discount_cost",
    "lost_value",
)


def staffing_discount_grid(
    scenario: Scenario,
    staffing: Mapping[str, PolicySpec],
    discounts: Mapping[str, PolicySpec],
    replications: int = 10,
    *,
    baseline: tuple[str, str] | None = None,
    executor: str = "process",
    workers: int | None = None,
    progress: Any = None,
    level: float = 0.95,
    kpis: Sequence[str] = GRID_KPIS,
) -> pd.DataFrame:
    """Every staffing option × discount policy, with common random numbers.

    Returns one row per (staffing, discount, kpi): mean and CI over replications, and
    the paired difference against the ``baseline`` cell (default: the first staffing
    and first discount) with its CI. ``net`` (revenue − agent, telephony and lost
    lifetime value) and ``retention`` show the trade-off between hiring and discounting.
    Staffing options are names / {"name", "params"} of ``policies.staffing``, policy
    objects, or whole scenarios (their seed is set to ``scenario.seed``); discounts are
    names / dicts of ``policies.discount`` fields / policy objects.
    """
    from sim.experiment import Variant

    if not staffing or not discounts:
        raise ValueError("staffing and discounts need at least one option each")
    cells: dict[str, tuple[str, str]] = {}
    variants = []
    for s_name, s_spec in staffing.items():
        s_sc, s_opts = _staffing_variant(scenario, s_spec)
        for d_name, d_spec in discounts.items():
            sc, d_opts = _discount_variant(s_sc, d_spec)
            name = f"{s_name} | {d_name}"
            cells[name] = (s_name, d_name)
            variants.append(Variant(name, sc, {**s_opts, **d_opts}))
    base_cell = baseline or (next(iter(staffing)), next(iter(discounts)))
    base_name = f"{base_cell[0]} | {base_cell[1]}"
    if base_name not in cells:
        raise ValueError(f"baseline {base_cell} is not a cell of the grid")
    res = _run_all(variants, replications, (), executor, workers, progress)
    wide = res.kpis
    ref = wide[wide["variant"] == base_name].set_index("replication")
    rows = []
    for name, (s_name, d_name) in cells.items():
        sub = wide[wide["variant"] == name].set_index("replication")
        common = ref.index.intersection(sub.index)
        for k in kpis:
            n, mean, lo, hi = _t_interval(sub[k].to_numpy(float), level)
            _, dm, dlo, dhi = _t_interval(
                (sub.loc[common, k] - ref.loc[common, k]).to_numpy(float), level
            )
            rows.append(
                {
                    "staffing": s_name,
                    "discount": d_name,
                    "kpi": k,
                    "n": n,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "diff": dm,
                    "diff_ci_low": dlo,
                    "diff_ci_high": dhi,
                }
            )
    return pd.DataFrame(rows)


__all__ = [
    "ALL",
    "MEASURES",
    "compare_discounts",
    "retention_table",
    "staffing_discount_grid",
]
