"""Back-test: fit on some months, replay held-out months, compare with the log.

Why: a fit can match its own data and still mislead. Held-out months are simulated with
the staffing inferred from their own log (what was actually on duty) and arrivals from
the fitted profile (``contact_center.forecast``; bill-driven contacts off), with
replications; offered calls, abandonment, ASA and service level are then compared per
day and per hour of the day, and bias and error are reported per metric.

Two modes separate forecast error from queueing-model error: ``forecast`` (the fitted
day-type profile, as a planner would forecast) and ``known`` (the same intraday shape
scaled to each held-out day's logged total, as a planner who knows the day's level).
Days whose volume or inferred agent-hours are far outside their fitted day type
(holidays, half days) are flagged special, and every error is also reported without them.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.agents import infer_agents, infer_agents_fine
from sim.calibrate.api import CalibrationFit, fit_logs
from sim.calibrate.readers import as_call_log
from sim.core.rng import replication_seed
from sim.model.replication import simulate
from sim.scenario import Scenario

METRICS = ("offered", "abandon_pct", "asa_s", "service_level_pct")
MODES = ("forecast", "known")
"""``forecast``: fitted day-type profile; ``known``: profile scaled to each day's total."""
SPECIAL_K = 4.0
"""A day is special when its log volume or log agent-hours is more than SPECIAL_K robust
standard deviations (1.4826 MAD of the fitted days of its type) from the type's median."""
SPECIAL_MIN_LOG = float(np.log(1.4))
"""... and at least this far (a factor 1.4) and SPECIAL_K times the day-to-day noise the
fit expects (busyness CV and Poisson: sqrt(cv² + 1/typical) on the log scale), so a
very regular or a near-empty day type (four Saturdays of 100 calls) flags no ordinary day."""


def agent_hours(agents: pd.DataFrame, minutes: int) -> pd.Series:
    """Inferred agent-hours per day (distinct agents serving, summed over intervals)."""
    a = agents.set_index("interval_start")["agents"]
    return a.groupby(a.index.normalize()).sum() * minutes / 60.0


def special_days(
    fit: CalibrationFit, obs: pd.DataFrame, agents: pd.DataFrame, k: float = SPECIAL_K
) -> pd.DataFrame:
    """Per held-out day: calls and agent-hours, the fitted day type's medians, and whether
    the day is special (holiday-like) with the reason.

    Why: a holiday with a tenth of the usual staff is not a normal day the profile can
    forecast; judging the queueing model on it mixes a calendar error into the model error.
    """
    ref = fit.arrivals.daily.set_index("day")
    ref_ah = agent_hours(fit.agents, fit.interval_minutes).reindex(ref.index).fillna(0.0)
    ref = ref.assign(agent_h=ref_ah)
    calls = obs.groupby("day").size()
    ah = agent_hours(agents, fit.interval_minutes).reindex(calls.index).fillna(0.0)
    rows = []
    for d, n in calls.items():
        dtype = fit.arrivals.day_types[d.weekday()]
        same = ref[ref["day_type"] == dtype]
        row = {"day": d, "day_type": dtype, "calls": int(n), "agent_h": float(ah[d])}
        reasons = []
        for col, x in (("calls", float(n)), ("agent_h", float(ah[d]))):
            lg = np.log(np.maximum(same[col].to_numpy(dtype=float), 0.5))
            med = float(np.median(lg)) if lg.size else np.nan
            mad = float(np.median(np.abs(lg - med))) * 1.4826 if lg.size else np.nan
            # the fitted busyness and Poisson noise move a day's log by about
            # sqrt(cv^2 + 1/count) even when nothing special happens
            noise = np.sqrt(fit.arrivals.busyness_cv**2 + 1.0 / max(np.exp(med), 1.0))
            floor = max(SPECIAL_MIN_LOG / k, noise)
            z = (np.log(max(x, 0.5)) - med) / max(mad, floor)
            row[f"{col}_typical"] = float(np.exp(med)) if lg.size else np.nan
            row[f"{col}_z"] = z
            if np.isfinite(z) and abs(z) > k:
                reasons.append(
                    f"{'volume' if col == 'calls' else 'agent-hours'} "
                    f"{x:.0f} vs typical {np.exp(med):.0f}"
                )
        row["special"] = bool(reasons)
        row["reason"] = "; ".join(reasons)
        rows.append(row)
    return pd.DataFrame(rows)


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
    """month, day, metric, observed, sim_mean, sim_lo, sim_hi, special."""
    hourly: pd.DataFrame
    """month, hour, metric, observed, sim_mean, sim_lo, sim_hi (whole month by hour)."""
    seconds_per_month: float
    notes: list[str]
    mode: str = "forecast"
    agent_minutes: int | None = None
    special: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per held-out day: calls, agent_h, typical values, z-scores, special, reason."""
    hourly_regular: pd.DataFrame = field(default_factory=pd.DataFrame)
    """As ``hourly``, over the days that are not special."""

    def errors(self, include_special: bool = True) -> pd.DataFrame:
        """Bias (sim - observed), mean absolute error, relative bias and the share of
        observations inside the simulation's 95 % interval, per level and metric;
        without special days when ``include_special`` is False."""
        daily, hourly = self.daily, self.hourly
        if not include_special:
            daily, hourly = daily[~daily["special"]], self.hourly_regular
        rows = []
        for level, df in (("day", daily), ("hour", hourly)):
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

    def pooled(self, include_special: bool = True) -> pd.DataFrame:
        """Month-level figures pooled over the compared days (calls-weighted, as a KPI
        is): metric, observed, simulated, difference."""
        d = self.daily if include_special else self.daily[~self.daily["special"]]
        wide_o = d.pivot_table(index=["month", "day"], columns="metric", values="observed")
        wide_s = d.pivot_table(index=["month", "day"], columns="metric", values="sim_mean")
        rows = []
        for name, w in (("observed", wide_o), ("simulated", wide_s)):
            n = w["offered"]
            ab = (w["abandon_pct"] * n).sum() / n.sum()
            ans = n * (100 - w["abandon_pct"]) / 100
            rows.append(
                {
                    "source": name,
                    "days": len(w),
                    "offered_per_day": n.mean(),
                    "abandon_pct": ab,
                    "asa_s": (w["asa_s"] * ans).sum() / ans[w["asa_s"].notna()].sum(),
                    "service_level_pct": (w["service_level_pct"] * n).sum() / n.sum(),
                }
            )
        return pd.DataFrame(rows).set_index("source")


NOTES = [
    "Priority: high-priority callers (2) get a 1.5-minute head start in the bank's queue; the "
    "fitted scenario serves everyone first-come first-served, so waits of regular callers are "
    "understated and those of priority callers overstated.",
    "VRU: the log starts at the agent stage (arrival = vru_exit); callers who hung up in the "
    "VRU are not offered to agents, as in the bank.",
    "Staffing: agents on duty are counted as distinct agents serving in each 30-minute "
    "interval; an agent on a break for most of it still counts, so capacity is overstated in "
    "intervals with breaks or shift changes, and idle agents who answered nothing are missed.",
    "Arrivals: in forecast mode the held-out month's volume comes from the fitted day-type "
    "profile, so a month busier or quieter than the fitted ones shows as bias in offered calls; "
    "in known mode each day's logged total scales the same profile, which leaves only the "
    "queueing model (staffing, service, patience) to explain the waits.",
    "Special days: days whose volume or inferred agent-hours is far outside their fitted day "
    "type (holidays such as Yom Kippur) are flagged and every error is also shown without them.",
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
    mode: str = "forecast",
    agent_minutes: int | None = None,
) -> BacktestResult:
    """Fit on ``fit_months`` (or use ``fit``), simulate each of ``test_months`` with its
    inferred staffing ``replications`` times and compare with its log.

    ``mode``: ``forecast`` (the fitted profile) or ``known`` (the profile scaled to each
    held-out day's logged total). With ``scenario`` (e.g. a fitted YAML someone edited),
    its handling times, callers' patience, busyness CV and service-level threshold replace
    the fitted ones; the arrival profile still comes from the log's ``fit_months``.
    ``agent_minutes``: count agents on duty in slices this long, averaged per interval
    (``infer_agents_fine``), instead of distinct agents per whole interval.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)} (got {mode!r})")
    log = as_call_log(data)
    if scenario is not None:
        threshold_s = scenario.contact_center.service_level.threshold_s
    fit = fit or fit_logs(log, months=fit_months)
    daily, hourly, hourly_reg, specials = [], [], [], []
    t0 = time.perf_counter()
    for month in test_months:
        obs = log.subset([month]).calls
        if obs.empty:
            raise ValueError(f"no calls in held-out month {month}")
        agents = infer_agents(obs, fit.interval_minutes)
        spec = special_days(fit, obs, agents)
        if agent_minutes:
            agents = infer_agents_fine(obs, fit.interval_minutes, agent_minutes)
        specials.append(spec.assign(month=month))
        regular = set(spec.loc[~spec["special"], "day"].dt.date)
        totals = None
        if mode == "known":
            totals = {d.date(): float(n) for d, n in obs.groupby("day").size().items()}
        start = dt.date.fromisoformat(month + "-01")
        sc = fit.scenario(start, 1, agents, day_totals=totals).with_changes(
            {"contact_center.service_level.threshold_s": threshold_s, "seed": seed}
        )
        if scenario is not None:
            cv = (
                scenario.contact_center.forecast.busyness_cv
                if scenario.contact_center.forecast
                else 0.0
            )
            sc = sc.with_changes(
                {
                    "contact_center.handling": scenario.contact_center.handling,
                    "customers.segments[0].patience_s": scenario.customers.segments[0].patience_s,
                    "contact_center.forecast.busyness_cv": 0.0 if totals else cv,
                }
            )
        days_seen = set(obs["day"].dt.date)
        sims_d, sims_h, sims_r = [], [], []
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
            sims_r.append(_metrics(c[c["day"].dt.date.isin(regular)], "hour", threshold_s))
        o = obs.assign(hour=obs["arrival"].dt.hour)
        d = _compare(_metrics(o, "day", threshold_s), sims_d, month)
        d["special"] = ~d["day"].dt.date.isin(regular)
        daily.append(d)
        hourly.append(_compare(_metrics(o, "hour", threshold_s), sims_h, month))
        o_reg = o[o["day"].dt.date.isin(regular)]
        hourly_reg.append(_compare(_metrics(o_reg, "hour", threshold_s), sims_r, month))
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
        mode,
        agent_minutes,
        pd.concat(specials, ignore_index=True),
        pd.concat(hourly_reg, ignore_index=True),
    )


def summary(results: list[BacktestResult]) -> pd.DataFrame:
    """Day-level bias and error per metric for each result (mode) with and without
    special days: mode, days, metric, n, observed_mean, sim_mean, bias, mae, rel_bias_pct,
    inside_ci_pct."""
    rows = []
    for r in results:
        for inc, label in ((True, "all"), (False, "regular")):
            e = r.errors(include_special=inc)
            mode = r.mode + (f" agents/{r.agent_minutes}min" if r.agent_minutes else "")
            rows.append(e[e["level"] == "day"].drop(columns="level").assign(mode=mode, days=label))
    out = pd.concat(rows, ignore_index=True)
    return out[["mode", "days"] + [c for c in out.columns if c not in ("mode", "days")]]


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
