"""Patience (time to abandon) from waits censored by service.

Why: a caller who was served tells us only that their patience exceeded their wait
(right censoring); averaging the waits of abandoning callers would understate patience.
Kaplan-Meier comes from ``statsmodels.duration.survfunc.SurvfuncRight`` (Greenwood
intervals) and the parametric fits are censored maximum likelihood with scipy: lifelines
cannot be used here, as it requires pandas < 3 and the project pins pandas 3.1.1.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import gamma as gamma_fn

from sim.core.distributions import Dist
from sim.core.optional import require

MIN_T = 0.5
"""Waits are logged in whole seconds: an abandonment at 0 s is taken at 0.5 s."""


@dataclass
class PatienceFit:
    n: int
    events: int
    km: pd.DataFrame
    """time, survival, lo, hi (Kaplan-Meier with Greenwood 95 % CI)."""
    hazard: pd.DataFrame
    """bin_start, bin_end, events, exposure_s, hazard_per_s."""
    models: pd.DataFrame
    """family, params, loglik, aic, mean, mean_lo, mean_hi."""
    rate: float
    rate_ci: tuple[float, float]
    best: str
    by_hour: pd.DataFrame
    """hour, calls, abandon_pct, mean_wait_s: the check against mean wait."""
    spearman: float
    """Rank correlation of abandonment % with mean wait over hours."""
    _dists: dict[str, Dist]

    def dist(self, family: str | None = None) -> Dist:
        return self._dists[family or self.best]


def _hazard(t: np.ndarray, d: np.ndarray, width: float, upto: float) -> pd.DataFrame:
    edges = np.arange(0.0, upto + width, width)
    rows = []
    for a, b in itertools.pairwise(edges):
        expo = float(np.clip(t - a, 0, b - a).sum())
        ev = int(np.sum(d & (t >= a) & (t < b)))
        rows.append(
            {
                "bin_start": a,
                "bin_end": b,
                "events": ev,
                "exposure_s": expo,
                "hazard_per_s": ev / expo if expo > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _censored_mle(
    t: np.ndarray, d: np.ndarray, family: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Parameters (log-scale) , their covariance and the log-likelihood."""
    approx_hess3 = require("statsmodels.tools.numdiff").approx_hess3

    if family == "weibull":

        def nll(p: np.ndarray) -> float:
            k, lam = math.exp(p[0]), math.exp(p[1])
            z = (t / lam) ** k
            return -float(
                np.sum(d * (math.log(k) - math.log(lam) + (k - 1) * np.log(t / lam))) - np.sum(z)
            )

        start = np.array([0.0, math.log(t.mean() * (d.size / max(d.sum(), 1)))])
    else:  # lognormal

        def nll(p: np.ndarray) -> float:
            m, s = p[0], math.exp(p[1])
            z = (np.log(t) - m) / s
            return -float(
                np.sum(d * (stats.norm.logpdf(z) - math.log(s) - np.log(t)))
                + np.sum(~d * stats.norm.logsf(z))
            )

        start = np.array([math.log(np.median(t)) + 1.0, 0.0])
    res = optimize.minimize(
        nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000}
    )
    hess = approx_hess3(res.x, nll)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:  # pragma: no cover
        cov = np.full((2, 2), np.nan)
    return res.x, cov, -float(res.fun)


def fit_patience(calls: pd.DataFrame, seed: int = 0) -> PatienceFit:
    """Kaplan-Meier, hazard and censored exponential / Weibull / lognormal patience."""
    SurvfuncRight = require("statsmodels.duration.survfunc").SurvfuncRight

    ab = (calls["outcome"] == "abandoned").to_numpy()
    w = calls["wait_s"].to_numpy(dtype=float)
    # served at once (wait 0) say nothing about patience: leave them out of the fits
    keep = ab | (w > 0)
    t = np.maximum(w[keep], MIN_T)
    d = ab[keep]
    n, ev = int(t.size), int(d.sum())
    if ev < 5:
        raise ValueError(f"only {ev} abandonments: patience cannot be fitted")
    sf = SurvfuncRight(t, d.astype(int))
    lo, hi = sf.simultaneous_cb() if False else _greenwood(sf)
    km = pd.DataFrame({"time": sf.surv_times, "survival": sf.surv_prob, "lo": lo, "hi": hi})
    upto = float(np.quantile(t, 0.99))
    hazard = _hazard(t, d, max(5.0, round(upto / 40)), upto)
    expo = float(t.sum())
    rate = ev / expo
    z = 1.959964 / math.sqrt(ev)
    rate_ci = (rate * math.exp(-z), rate * math.exp(z))
    models = [
        {
            "family": "exponential",
            "params": f"rate={rate:.6g}/s",
            "loglik": ev * math.log(rate) - rate * expo,
            "k": 1,
            "mean": 1 / rate,
            "mean_lo": 1 / rate_ci[1],
            "mean_hi": 1 / rate_ci[0],
        }
    ]
    dists = {"exponential": Dist(dist="exponential", mean=1 / rate)}
    p, cov, ll = _censored_mle(t, d, "weibull")
    k, lam = math.exp(p[0]), math.exp(p[1])
    mean = lam * gamma_fn(1 + 1 / k)
    se = _se_mean(lambda q: math.exp(q[1]) * gamma_fn(1 + 1 / math.exp(q[0])), p, cov)
    models.append(
        {
            "family": "weibull",
            "params": f"shape={k:.4g}, scale={lam:.5g}s",
            "loglik": ll,
            "k": 2,
            "mean": mean,
            "mean_lo": mean * math.exp(-1.96 * se),
            "mean_hi": mean * math.exp(1.96 * se),
        }
    )
    dists["weibull"] = Dist(dist="weibull", mean=mean, shape=k)
    p, cov, ll = _censored_mle(t, d, "lognormal")
    m, s = p[0], math.exp(p[1])
    mean = math.exp(m + s * s / 2)
    se = _se_mean(lambda q: math.exp(q[0] + math.exp(2 * q[1]) / 2), p, cov)
    models.append(
        {
            "family": "lognormal",
            "params": f"mu={m:.4g}, sigma={s:.4g}",
            "loglik": ll,
            "k": 2,
            "mean": mean,
            "mean_lo": mean * math.exp(-1.96 * se),
            "mean_hi": mean * math.exp(1.96 * se),
        }
    )
    dists["lognormal"] = Dist(dist="lognormal", mean=mean, sd=mean * math.sqrt(math.expm1(s * s)))
    mdf = pd.DataFrame(models)
    mdf["aic"] = 2 * mdf["k"] - 2 * mdf["loglik"]
    best = str(mdf.loc[mdf["aic"].idxmin(), "family"])
    hour = calls["arrival"].dt.hour
    g = pd.DataFrame({"hour": hour, "ab": ab, "w": w}).groupby("hour")
    by_hour = pd.DataFrame(
        {"calls": g.size(), "abandon_pct": 100 * g["ab"].mean(), "mean_wait_s": g["w"].mean()}
    ).reset_index()
    big = by_hour[by_hour["calls"] >= 50]
    rho = (
        float(stats.spearmanr(big["mean_wait_s"], big["abandon_pct"]).statistic)
        if len(big) >= 3
        else float("nan")
    )
    return PatienceFit(n, ev, km, hazard, mdf, rate, rate_ci, best, by_hour, rho, dists)


def _greenwood(sf) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise 95 % band from statsmodels' Greenwood standard errors (log-log scale)."""
    s = np.asarray(sf.surv_prob)
    se = np.asarray(sf.surv_prob_se)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = se / (s * np.log(s))
        ll = np.log(-np.log(s))
        lo = np.exp(-np.exp(ll - 1.96 * v))
        hi = np.exp(-np.exp(ll + 1.96 * v))
    lo = np.where(np.isfinite(lo), lo, s)
    hi = np.where(np.isfinite(hi), hi, s)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def _se_mean(f, p: np.ndarray, cov: np.ndarray) -> float:
    """Delta-method standard error of log f(p)."""
    eps = 1e-5
    g = np.array(
        [(math.log(f(p + eps * e)) - math.log(f(p - eps * e))) / (2 * eps) for e in np.eye(p.size)]
    )
    return float(math.sqrt(max(g @ cov @ g, 0.0)))
