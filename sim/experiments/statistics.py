"""Summary statistics of replications, defined once for experiments, analytics and reports.

- **mean, sd** over replications (sd with ``ddof=1``);
- **95 % confidence interval** = mean ± t(0.975, n−1) · sd / √n (Student t; needs n ≥ 2),
  cut at the natural bounds of the KPI (shares in [0, 1]; times and counts ≥ 0);
- **paired difference** of a KPI between a variant and the baseline = mean over
  replications of (variant − baseline) in the *same* replication, with the same t-interval
  on the differences. Replications where either value is undefined (NaN) are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.results import KPI_DEFINITIONS

KEYS: tuple[str, ...] = ("variant", "replication", "seed")
"""Columns that identify a run in per-run tables."""


def t_quantile(level: float, dof: int) -> float:
    """Two-sided Student-t quantile for a ``level`` interval with ``dof`` degrees of freedom."""
    return float(stats.t.ppf(0.5 + level / 2, dof))


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, ci_low, ci_high) of the finite values; the interval needs n >= 2."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    mean = float(v.mean())
    if n == 1:
        return 1, mean, np.nan, np.nan, np.nan
    sd = float(v.std(ddof=1))
    half = t_quantile(level, n - 1) * sd / np.sqrt(n)
    return n, mean, sd, mean - half, mean + half


SUMMARY_COLUMNS = ["variant", "kpi", "label", "unit", "n", "mean", "sd", "ci_low", "ci_high"]
PAIRED_COLUMNS = [
    "variant",
    "baseline",
    "kpi",
    "label",
    "unit",
    "n",
    "mean_base",
    "mean_diff",
    "sd_diff",
    "ci_low",
    "ci_high",
    "significant",
]


def summarise_kpis(long: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per (variant and) KPI of a long per-run table (columns [variant,] kpi, value): n,
    mean, sd and the t-interval, in the order the variants and KPIs first appear."""
    if long.empty or "kpi" not in long.columns:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    by = ["variant", "kpi"] if "variant" in long.columns else ["kpi"]
    rows = []
    for key, grp in long.groupby(by, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n, mean, sd, lo, hi = t_interval(grp["value"].to_numpy(dtype=float), level)
        rows.append(kpi_row(str(key[0]) if len(by) == 2 else "", str(key[-1]), n, mean, sd, lo, hi))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    # a share cannot leave [0, 1], a time or a count cannot be negative: the t-interval
    # is cut at those bounds (it is symmetric and knows nothing of them)
    share = out["unit"] == "share"
    nonneg = share | out["unit"].isin(["s", "calls", "accounts"])
    out.loc[nonneg, "ci_low"] = out.loc[nonneg, "ci_low"].clip(lower=0.0)
    out.loc[share, "ci_high"] = out.loc[share, "ci_high"].clip(upper=1.0)
    return out if len(by) == 2 else out.drop(columns="variant")


def kpi_row(variant: str, kpi: str, n: int, mean: float, sd: float, lo: float, hi: float):
    d = KPI_DEFINITIONS.get(kpi)
    return {
        "variant": variant,
        "kpi": kpi,
        "label": d.label if d else kpi,
        "unit": d.unit if d else "",
        "n": n,
        "mean": mean,
        "sd": sd,
        "ci_low": lo,
        "ci_high": hi,
    }


def paired_differences(
    wide: pd.DataFrame, base: str, variants: list[str], level: float = 0.95
) -> pd.DataFrame:
    """Variant − ``base`` per KPI, paired by replication (common random numbers).

    ``wide`` has one row per run: columns variant, replication, seed and one per KPI.
    """
    if wide.empty:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    kpi_cols = [c for c in wide.columns if c not in KEYS]
    ref = wide[wide["variant"] == base].set_index("replication")[kpi_cols]
    rows = []
    for variant in variants:
        if variant == base:
            continue
        other = wide[wide["variant"] == variant].set_index("replication")[kpi_cols]
        common = ref.index.intersection(other.index)
        diff = other.loc[common] - ref.loc[common]
        for kpi in kpi_cols:
            n, mean, sd, lo, hi = t_interval(diff[kpi].to_numpy(), level)
            row = kpi_row(variant, kpi, n, mean, sd, lo, hi)
            row["baseline"] = base
            row["mean_base"] = float(ref.loc[common, kpi].mean()) if n else np.nan
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    out = out.rename(columns={"mean": "mean_diff", "sd": "sd_diff"})
    out["significant"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out[PAIRED_COLUMNS]


MULTIPLICITY: tuple[str, ...] = ("bonferroni", "sidak")
"""Corrections for many one-sided comparisons made at once (``corrected_t_quantile``)."""


def corrected_t_quantile(
    alpha: float, comparisons: int, dof: int, method: str = "bonferroni"
) -> float:
    """One-sided Student-t quantile keeping the chance of *any* false statement among
    ``comparisons`` one-sided tests at most ``alpha``.

    Bonferroni tests each at ``alpha / comparisons`` (valid whatever the dependence);
    Šidák at ``1 − (1 − alpha)^(1/comparisons)`` (exact for independent tests, slightly
    narrower). More comparisons give a larger quantile, hence wider intervals.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1) (got {alpha})")
    if comparisons < 1:
        raise ValueError(f"comparisons must be >= 1 (got {comparisons})")
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1 (got {dof})")
    if method == "bonferroni":
        level = 1 - alpha / comparisons
    elif method == "sidak":
        level = (1 - alpha) ** (1 / comparisons)
    else:
        raise ValueError(f"unknown multiplicity correction '{method}' (valid: {MULTIPLICITY})")
    return float(stats.t.ppf(level, dof))
