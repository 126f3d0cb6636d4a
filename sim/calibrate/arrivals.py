"""Arrival rates per day type and hour, with day-to-day over-dispersion.

Why: a planner's forecast is a rate per interval, but real days are busier or quieter
as a whole (Brown et al. 2005); a Poisson process with the mean rate understates the
spread of daily volumes. The daily multiplier B (mean 1, CV c) makes the daily total
negative binomial with ``Var = μ + c² μ²`` (NB2, α = c²), which statsmodels fits.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.optional import require

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TYPES_MON_FRI = {
    0: "mon-fri",
    1: "mon-fri",
    2: "mon-fri",
    3: "mon-fri",
    4: "mon-fri",
    5: "sat",
    6: "sun",
}
DAY_TYPES_SUN_THU = {
    6: "sun-thu",
    0: "sun-thu",
    1: "sun-thu",
    2: "sun-thu",
    3: "sun-thu",
    4: "fri",
    5: "sat",
}
"""Israel 1999 (the Anonymous Bank): weekdays Sunday-Thursday."""
MIN_DAILY_CALLS = 100


@dataclass
class ArrivalFit:
    """Mean calls per hour by day type (with 95 % CIs) and the busyness CV."""

    day_types: dict[int, str]
    rates: pd.DataFrame
    """day_type, hour, rate (calls per hour), lo, hi, days (rows used)."""
    daily: pd.DataFrame
    """day, day_type, calls: the daily totals the over-dispersion was fitted on."""
    busyness_cv: float
    busyness_lo: float
    busyness_hi: float
    busyness_mom: float
    """Method-of-moments estimate of the same CV, as a check on the NB fit."""
    n_calls: int
    n_days_busyness: int = 0

    def day_type(self, day: dt.date) -> str:
        return self.day_types[day.weekday()]

    def hourly(self, day: dt.date) -> np.ndarray:
        """Expected calls in each hour of ``day`` (24 values; 0 for an unseen day type)."""
        r = self.rates[self.rates["day_type"] == self.day_type(day)]
        out = np.zeros(24)
        out[r["hour"].to_numpy()] = r["rate"].to_numpy()
        return out


def fit_arrivals(calls: pd.DataFrame, day_types: dict[int, str] | None = None) -> ArrivalFit:
    """Fit rates per (day type, hour) from ``calls`` (arrival column) and the daily
    busyness factor by a negative-binomial GLM on daily totals (statsmodels).

    Days with no call at all are taken as days without data (a missing file day), not
    as zero-call days.
    """
    sm = require("statsmodels.api")

    day_types = day_types or DAY_TYPES_MON_FRI
    arr = calls["arrival"]
    day = arr.dt.normalize()
    hour = arr.dt.hour
    counts = pd.crosstab(day, hour).reindex(columns=range(24), fill_value=0)
    days = counts.index
    dtype = pd.Series([day_types[d.weekday()] for d in days], index=days)
    rows = []
    for t, grp in counts.groupby(dtype):
        n = len(grp)
        m = grp.mean(axis=0).to_numpy()
        v = grp.var(axis=0, ddof=1).to_numpy() if n > 1 else m.copy()
        se = np.sqrt(np.maximum(v, m) / n)
        q = stats.t.ppf(0.975, max(n - 1, 1))
        for h in range(24):
            rows.append(
                {
                    "day_type": t,
                    "hour": h,
                    "rate": m[h],
                    "lo": max(0.0, m[h] - q * se[h]),
                    "hi": m[h] + q * se[h],
                    "days": n,
                }
            )
    rates = pd.DataFrame(rows)
    total = counts.sum(axis=1)
    daily = pd.DataFrame({"day": days, "day_type": dtype.to_numpy(), "calls": total.to_numpy()})
    cv, lo, hi, mom = 0.0, 0.0, 0.0, 0.0
    # near-empty day types (the bank's Saturday evenings) would dominate a relative
    # spread with Poisson noise: the busyness factor is fitted on day types averaging
    # at least MIN_DAILY_CALLS calls
    big = daily.groupby("day_type")["calls"].transform("mean") >= MIN_DAILY_CALLS
    used = daily[big] if big.sum() >= 5 else daily
    if len(used) >= 5:
        mu = used.groupby("day_type")["calls"].transform("mean").to_numpy(dtype=float)
        y = used["calls"].to_numpy(dtype=float)
        mom = float(np.sqrt(max(0.0, np.sum((y - mu) ** 2 - y) / np.sum(mu**2))))
        X = pd.get_dummies(used["day_type"], dtype=float)
        try:
            means = used.groupby("day_type")["calls"].mean().reindex(X.columns).to_numpy()
            start = np.r_[np.log(np.maximum(means, 0.5)), max(mom**2, 1e-3)]
            model = sm.NegativeBinomial(y, X.to_numpy(), loglike_method="nb2")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = model.fit(start_params=start, method="bfgs", disp=0, maxiter=500)
            alpha = float(res.params[-1])
            se = float(res.bse[-1])
            if alpha > 0 and np.isfinite(se):
                z = 1.959964 * se / alpha  # CI on log(alpha), delta method
                cv, lo, hi = np.sqrt(alpha), np.sqrt(alpha * np.exp(-z)), np.sqrt(alpha * np.exp(z))
        except (np.linalg.LinAlgError, ValueError):  # pragma: no cover - degenerate data
            cv, lo, hi = mom, 0.0, float("nan")
        if cv < 1e-3:
            cv, lo, hi = mom, 0.0, max(hi, mom)
    return ArrivalFit(
        day_types,
        rates,
        daily,
        float(cv),
        float(lo),
        float(hi),
        mom,
        len(calls),
        len(used),
    )
