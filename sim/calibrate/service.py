"""Service (talk) time per call type: lognormal and alternatives, chosen by fit.

Why: the simulator draws handling time from a named family; the family matters for
waits (Brown et al. 2005 found service times lognormal, not exponential). Each family is
fitted by maximum likelihood, judged by the Kolmogorov-Smirnov distance, and the
lognormal parameters carry 95 % intervals (t and chi-square on log times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gamma as gamma_fn

from sim.core.distributions import Dist

MAX_ALT_ROWS = 20_000
"""Gamma/Weibull MLE and the KS distances use at most this many rows (a seeded random
subset): the fits are stable long before and the 9 bank months stay fast."""


@dataclass
class ServiceFit:
    call_type: str
    n: int
    mu: float
    sigma: float
    mu_ci: tuple[float, float]
    sigma_ci: tuple[float, float]
    mean: float
    mean_ci: tuple[float, float]
    families: pd.DataFrame
    """family, ks, aic, mean, sd, shape: one row per family fitted."""
    best: str
    qq: pd.DataFrame = field(repr=False)
    """Empirical against lognormal quantiles (log seconds)."""

    def dist(self, family: str | None = None) -> Dist:
        """The fitted family as a scenario distribution (mean/sd or mean/shape)."""
        row = self.families.set_index("family").loc[family or self.best]
        fam = family or self.best
        if fam == "exponential":
            return Dist(dist="exponential", mean=float(row["mean"]))
        if fam == "weibull":
            return Dist(dist="weibull", mean=float(row["mean"]), shape=float(row["shape"]))
        return Dist(dist=fam, mean=float(row["mean"]), sd=float(row["sd"]))  # type: ignore[arg-type]


def fit_service(x: np.ndarray, call_type: str = "all", seed: int = 0) -> ServiceFit:
    """Fit lognormal, gamma, Weibull and exponential to service times ``x`` (seconds > 0)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    n = x.size
    if n < 10:
        raise ValueError(f"call type {call_type!r}: {n} service times, at least 10 needed")
    lx = np.log(x)
    mu, sigma = float(lx.mean()), float(lx.std(ddof=1))
    t = stats.t.ppf(0.975, n - 1)
    mu_ci = (mu - t * sigma / math.sqrt(n), mu + t * sigma / math.sqrt(n))
    chi = stats.chi2.ppf([0.975, 0.025], n - 1)
    sigma_ci = (sigma * math.sqrt((n - 1) / chi[0]), sigma * math.sqrt((n - 1) / chi[1]))
    mean = math.exp(mu + sigma**2 / 2)
    se_log_mean = math.sqrt(sigma**2 / n + sigma**4 / (2 * (n - 1)))
    mean_ci = (mean * math.exp(-1.96 * se_log_mean), mean * math.exp(1.96 * se_log_mean))
    rng = np.random.default_rng(seed)
    sub = x if n <= MAX_ALT_ROWS else rng.choice(x, MAX_ALT_ROWS, replace=False)
    fams = []
    ln = stats.lognorm(sigma, scale=math.exp(mu))
    fams.append(("lognormal", ln, mean, mean * math.sqrt(math.expm1(sigma**2)), float("nan"), 2))
    a, _, scale = stats.gamma.fit(sub, floc=0)
    g = stats.gamma(a, scale=scale)
    fams.append(("gamma", g, a * scale, math.sqrt(a) * scale, a, 2))
    c, _, scale = stats.weibull_min.fit(sub, floc=0)
    w = stats.weibull_min(c, scale=scale)
    wm = scale * gamma_fn(1 + 1 / c)
    fams.append(("weibull", w, wm, float(w.std()), c, 2))
    e = stats.expon(scale=x.mean())
    fams.append(("exponential", e, float(x.mean()), float(x.mean()), 1.0, 1))
    rows = []
    for name, d, m, sd, shape, k in fams:
        ks = float(stats.kstest(sub, d.cdf).statistic)
        aic = float(2 * k - 2 * np.sum(d.logpdf(sub)))
        rows.append({"family": name, "ks": ks, "aic": aic, "mean": m, "sd": sd, "shape": shape})
    families = pd.DataFrame(rows)
    best = str(families.loc[families["ks"].idxmin(), "family"])
    p = (np.arange(1, 100) - 0.5) / 99
    qq = pd.DataFrame(
        {"p": p, "empirical": np.quantile(lx, p), "lognormal": mu + sigma * stats.norm.ppf(p)}
    )
    return ServiceFit(call_type, n, mu, sigma, mu_ci, sigma_ci, mean, mean_ci, families, best, qq)


def fit_services(calls: pd.DataFrame, min_rows: int = 30) -> dict[str, ServiceFit]:
    """One fit per call type with at least ``min_rows`` usable service times, and 'all'."""
    ok = calls[calls["fit_service"]]
    out = {"all": fit_service(ok["service_s"].to_numpy(), "all")}
    for t, grp in ok.groupby("call_type"):
        if len(grp) >= min_rows:
            out[str(t)] = fit_service(grp["service_s"].to_numpy(), str(t))
    return out
