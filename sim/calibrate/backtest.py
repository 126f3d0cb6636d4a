"""Back-test: fit on some months, replay held-out months, compare with the log.

Why: a fit can match its own data and still mislead. Held-out months are simulated with
the staffing inferred from their own log (what was actually on duty) and arrivals from
the fitted profile (``contact_center.forecast``; bill-driven contacts off), with
replications; offered calls, abandonment, ASA and service level are then compared per
day and per hour of the day, and bias and error are reported per metric.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.agents import infer_agents
from sim.calibrate.api import CalibrationFit, fit_logs
from sim.calibrate.readers import as_call_log
from sim.core.rng import replication_seed
from sim.model.replication import simulate
from sim.scenario import Scenario

METRICS = ("offered", "abandon_pct", "asa_s", "service_level_pct")


def _metrics(df: pd.DataFrame, key: str, threshold_s: float) -> pd.DataFrame:
    """Per ``key`` value: offered, abandonment %, ASA and service level % of a frame with
    outcome, wait_s."""
    ans = df["outcome"] == "answered"
    g = pd.DataFrame(
        {
            key: df[key],
            "ans": ans,
            "ab": ~ans,
            "w": df["wait_s"].where(ans),
            "ok": ans & (df["wait_s"] <= threshold_s),
        }
    ).groupby(key)
    return pd.DataFrame(
        {
            "offered": g.size(),
            "abandon_pct": 100 * g["ab"].mean(),
            "asa_s": g["w"].mean(),
            "service_level_pct": 100 * g["ok"].mean(),
        }
    )


@dataclass
class BacktestResult:
    fit: CalibrationFit = field(repr=False)
    fit_months: list[str]
    test_months: list[str]
    replications: int
    daily: pd.DataFrame
    """month, day, metric, observed, sim_mean, sim_lo, sim_hi."""
    hourly: pd.DataFrame
    """month, hour, metric, observed, sim_mean, sim_lo, sim_hi (whole month by hour)."""
    seconds_per_month: float
    notes: list[str]

    def errors(self) -> pd.DataFrame:
        """Bias (sim - observed), mean absolute error, relative bias and the share of
        observations inside the simulation's 95 % interval, per level and metric."""
        rows = []
        for level, df in (("day", self.daily), ("hour", self.hourly)):
            for m, sub in df.groupby("metric", sort=False):
                sub = sub.dropna(subset=["observed", "sim_mean"])
                d = sub["sim_mean"] - sub["observed"]
                rows.append(
                    {
                        "level": level,
                        "metric": m,
                        "n": len(sub),
                        "observed_mean": sub["observed"].mean(),
                        "sim_mean": sub["sim_mean"].mean(),
                        "bias": d.mean(),
                        "mae": d.abs().mean(),
                        "rel_bias_pct": 100 * d.sum() / sub["observed"].sum()
                        if sub["observed"].sum()
                        else np.nan,
                        "inside_ci_pct": 100
                        * (
                            (sub["observed"] >= sub["sim_lo"]) & (sub["observed"] <= sub["sim_hi"])
                        ).mean(),
                    }
                )
        return pd.DataFrame(rows)


NOTES = [
    "Priority: high-priority callers (2) get a 1.5-minute head start in the bank's queue; the "
    "fitted scenario serves everyone first-come first-served, so waits of regular callers are "
    "understated and those of priority callers overstated.",
    "VRU: the log starts at the agent stage (arrival = vru_exit); callers who hung up in the "
    "VRU are not offered to agents, as in the bank.",
    "Staffing: agents on duty are counted as distinct agents serving in each 30-minute "
    "interval; an agent on a break for most of it still counts, so capacity is overstated in "
    "intervals with breaks or shift changes, and idle agents who answered nothing are missed.",
    "Arrivals: the held-out month's volume comes from the fitted day-type profile; a month "
    "busier or quieter than the fitted ones (holidays, the bank's March peak) shows as bias in "
    "offered calls that the busyness factor only spreads, not shifts.",
    "Service: services under 10 s (agents' quick hang-ups) and over 1 h are left out of the "
    "lognormal fit, so the simulated mean service is a little longer than the logged one.",
    "Retrials and callbacks are off: a caller who abandons and calls again is a new arrival in "
    "the log and in the forecast alike.",
]


def backtest(
    data: Any,
    fit_months: list[str],
    test_months: list[str],
    replications: int = 5,
    seed: int = 1999,
    fit: CalibrationFit | None = None,
    threshold_s: float = 20.0,
    scenario: Scenario | None = None,
) -> BacktestResult:
    """Fit on ``fit_months`` (or use ``fit``), simulate each of ``test_months`` with its
    inferred staffing ``replications`` times and compare with its log.

    With ``scenario`` (e.g. a fitted YAML someone edited), its handling times, callers'
    patience, busyness CV and service-level threshold replace the fitted ones; the
    arrival profile still comes from the log's ``fit_months``.
    """
    log = as_call_log(data)
    if scenario is not None:
        threshold_s = scenario.contact_center.service_level.threshold_s
    fit = fit or fit_logs(log, months=fit_months)
    daily, hourly = [], []
    t0 = time.perf_counter()
    for month in test_months:
        obs = log.subset([month]).calls
        if obs.empty:
            raise ValueError(f"no calls in held-out month {month}")
        agents = infer_agents(obs, fit.interval_minutes)
        start = dt.date.fromisoformat(month + "-01")
        sc = fit.scenario(start, 1, agents).with_changes(
            {"contact_center.service_level.threshold_s": threshold_s, "seed": seed}
        )
        if scenario is not None:
            sc = sc.with_changes(
                {
                    "contact_center.handling": scenario.contact_center.handling,
                    "customers.segments[0].patience_s": scenario.customers.segments[0].patience_s,
                    "contact_center.forecast.busyness_cv": (
                        scenario.contact_center.forecast.busyness_cv
                        if scenario.contact_center.forecast
                        else 0.0
                    ),
                }
            )
        days_seen = set(obs["day"].dt.date)
        sims_d, sims_h = [], []
        for r in range(replications):
            res = simulate(sc, replication_seed(sc.seed, r))
            c = res.calls()
            c = c[c["outcome"].isin(["answered", "abandoned"])]
            c = pd.DataFrame(
                {
                    "arrival": c["arrival"],
                    "outcome": c["outcome"].astype(str),
                    "wait_s": c["wait_s"],
                }
            )
            c["day"] = c["arrival"].dt.normalize()
            c = c[c["day"].dt.date.isin(days_seen)]
            c["hour"] = c["arrival"].dt.hour
            sims_d.append(_metrics(c, "day", threshold_s))
            sims_h.append(_metrics(c, "hour", threshold_s))
        o = obs.assign(hour=obs["arrival"].dt.hour)
        daily.append(_compare(_metrics(o, "day", threshold_s), sims_d, month))
        hourly.append(_compare(_metrics(o, "hour", threshold_s), sims_h, month))
    secs = (time.perf_counter() - t0) / max(len(test_months), 1)
    return BacktestResult(
        fit,
        list(fit_months),
        list(test_months),
        replications,
        pd.concat(daily, ignore_index=True),
        pd.concat(hourly, ignore_index=True),
        secs,
        NOTES,
    )


def _compare(obs: pd.DataFrame, sims: list[pd.DataFrame], month: str) -> pd.DataFrame:
    rows = []
    key = obs.index.name
    idx = obs.index.union(pd.Index(sorted(set().union(*[s.index for s in sims]))))
    for m in METRICS:
        mat = np.column_stack([s[m].reindex(idx).to_numpy(dtype=float) for s in sims])
        if m == "offered":
            mat = np.nan_to_num(mat)
        n = np.sum(np.isfinite(mat), axis=1)
        with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            mean = np.nanmean(mat, axis=1)
            sd = np.nanstd(mat, axis=1, ddof=1) if mat.shape[1] > 1 else np.zeros(len(idx))
        q = stats.t.ppf(0.975, np.maximum(n - 1, 1))
        # a 95 % prediction interval for one month's value (spread of replications)
        half = q * sd * np.sqrt(1 + 1 / np.maximum(n, 1))
        rows.append(
            pd.DataFrame(
                {
                    "month": month,
                    key: idx,
                    "metric": m,
                    "observed": obs[m].reindex(idx).to_numpy(dtype=float),
                    "sim_mean": mean,
                    "sim_lo": mean - half,
                    "sim_hi": mean + half,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
