"""Which discounts keep customers, at what price: per-segment paired estimates with CIs.

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
  Not the KPI / monthly ``discount_cost`` of sim.results.tables, which is only what bills
  dated within the horizon were reduced by (normally less for the same run).
- ``cost_per_retained``: discount_cost / retained_accounts, a ratio of paired means
  with a delta-method interval; NaN when the policy retains nobody extra on average.
- ``net_value``: Δ(margin in the horizon + customer value of the accounts active at
  the end), the value definition of sim.results.tables (retention-adjusted CLV from
  margin, discounted monthly; discounts are deducted on bills in the horizon and, for
  bills after it, in the customer value). The start value is common to both variants.
- ``retained_value``: net_value + discount_cost, the value kept before paying for it.

Intervals are paired 95 % t-intervals over replications (``level`` to change).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.statistics import t_interval, t_quantile

MEASURES: tuple[str, ...] = (
    "retention_uplift",
    "retained_accounts",
    "discount_cost",
    "cost_per_retained",
    "retained_value",
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
    half = t_quantile(level, n - 1) * float(np.sqrt(var))
    return r, r - half, r + half


def _with_all(seg: pd.DataFrame) -> pd.DataFrame:
    """Add a row per (variant, replication) summing every segment."""
    sums = [
        "accounts_start",
        "retained_end",
        "discount_cost",
        "discount_committed",
        "revenue",
        "margin",
        "value_active_end",
    ]
    df = seg[["variant", "replication", "segment", *sums]].copy()
    df["variant"] = df["variant"].astype(str)
    df["segment"] = df["segment"].astype(str)
    tot = df.groupby(["variant", "replication"], as_index=False)[sums].sum()
    tot["segment"] = ALL
    out = pd.concat([df, tot], ignore_index=True)
    out["retention"] = out["retained_end"] / out["accounts_start"]
    out["value"] = out["margin"] + out["value_active_end"]
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
            d_val = (o["value"] - b["value"]).to_numpy(float)
            values = {
                "retention_uplift": (d_ret, b["retention"]),
                "retained_accounts": (d_acc, b["retained_end"]),
                "discount_cost": (d_cost, b["discount_committed"]),
                "retained_value": (d_val + d_cost, b["value"] + b["discount_committed"]),
                "net_value": (d_val, b["value"]),
            }
            for measure in MEASURES:
                if measure == "cost_per_retained":
                    est, lo, hi = _ratio_interval(d_cost, d_acc, level)
                    n, mean_base = len(keys), np.nan
                else:
                    diff, ref = values[measure]
                    n, est, _sd, lo, hi = t_interval(diff, level)
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
