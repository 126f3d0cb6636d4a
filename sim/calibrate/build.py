"""A fitted scenario and its commented YAML.

Why: a planner should be able to read, next to every fitted number, how sure the fit is
and how many rows it came from, and the file must still load with ``sim.load_scenario``.
Everything the log cannot tell (retrials, IVR, resolution, billing) is switched off and
said so; arrivals come from the ``contact_center.forecast`` table.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd

from sim.core.codes import REASONS
from sim.core.distributions import Dist
from sim.scenario import Scenario, scenario_from_dict

GROUP = "agents"
REASON_ORDER = ("question", "payment", "plan_change", "high_bill", "billing_error")
"""Call types are mapped onto the simulator's reasons by volume, largest first."""


def type_to_reason(volumes: dict[str, int]) -> dict[str, str]:
    """Map call types to reasons: a type named like a reason keeps it; the others take the
    free reasons by volume (the 5th and later share the last free reason)."""
    out = {t: t for t in volumes if t in REASONS}
    free = [r for r in REASON_ORDER if r not in out.values()]
    rest = sorted((t for t in volumes if t not in out), key=lambda t: -volumes[t])
    for i, t in enumerate(rest):
        out[t] = free[min(i, len(free) - 1)] if free else "question"
    return out


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def build_scenario(
    fit: Any,
    start: dt.date,
    months: int = 1,
    agents: pd.DataFrame | None = None,
    interval_minutes: int = 30,
    threshold_s: float = 20.0,
    name: str = "fitted",
    day_totals: dict[dt.date, float] | None = None,
) -> tuple[Scenario, dict[str, str]]:
    """The scenario for ``months`` from ``start`` and a comment per fitted field path.

    ``agents``: inferred agents per interval (``infer_agents``) for the days replayed;
    without it (or on days it does not cover) the median profile by day type is used.
    ``day_totals``: a known total of calls per day (the back-test's known-volume mode);
    each listed day's fitted intraday profile is scaled to it and the busyness CV is set
    to 0, because the day's level is then known, not forecast.
    """
    arr, svc, pat = fit.arrivals, fit.services, fit.patience
    comments: dict[str, str] = {}
    probe = scenario_from_dict({"calendar": {"start": start.isoformat(), "months": months}})
    n_days = probe.calendar.n_days
    per_day = 1440 // interval_minutes
    t = pd.date_range(pd.Timestamp(start), periods=n_days * per_day, freq=f"{interval_minutes}min")
    share = interval_minutes / 60.0
    rate_tab = arr.rates.set_index(["day_type", "hour"])["rate"]
    dtypes = [arr.day_types[d.weekday()] for d in t]
    calls = (
        np.array([rate_tab.get((d, h), 0.0) for d, h in zip(dtypes, t.hour, strict=True)]) * share
    )
    if day_totals:
        calls = _scale_to_totals(calls, t, day_totals, per_day)
    # staffing: actual inferred agents where known, else the median profile
    prof = fit.staffing_profile.set_index(["day_type", "slot"])["median"]
    slot = t.hour * 60 + t.minute
    staff = np.array([prof.get((d, s), 0.0) for d, s in zip(dtypes, slot, strict=True)])
    staff = np.round(staff).astype(int)
    source = "median profile by day type"
    if agents is not None and len(agents):
        a = agents.set_index("interval_start")["agents"]
        known = t.isin(a.index)
        staff[known] = a.reindex(t[known]).to_numpy().astype(int)
        source = (
            f"inferred from the log ({int(known.sum())} of {t.size} intervals), else median profile"
        )
    volumes = fit.type_volumes
    mapping = type_to_reason(volumes)
    mix = {r: 0.0 for r in REASONS}
    for typ, v in volumes.items():
        mix[mapping[typ]] += v
    tot = sum(mix.values())
    mix = {r: round(v / tot, 6) for r, v in mix.items() if v > 0}
    mix[max(mix, key=mix.get)] += round(1 - sum(mix.values()), 6)
    work: dict[str, Any] = {}
    for r in REASONS:
        types = [typ for typ, rr in mapping.items() if rr == r and typ in svc]
        f = svc[max(types, key=lambda x: volumes[x])] if types else svc["all"]
        d = f.dist("lognormal")
        work[r] = d.model_dump(exclude_none=True)
        comments[f"contact_center.handling.work_s.{r}"] = (
            f"type {f.call_type}: lognormal mean {_fmt(f.mean)} s [95% {_fmt(f.mean_ci[0])}, "
            f"{_fmt(f.mean_ci[1])}], mu {_fmt(f.mu)} [{_fmt(f.mu_ci[0])}, {_fmt(f.mu_ci[1])}], "
            f"sigma {_fmt(f.sigma)} [{_fmt(f.sigma_ci[0])}, {_fmt(f.sigma_ci[1])}]; "
            f"KS {_fmt(f.families.ks[0])} "
            f"(best by KS: {f.best}); {f.n} rows"
        )
    zero = Dist(dist="constant", mean=0).model_dump(exclude_none=True)
    pd_ = pat.dist()
    prow = pat.models.set_index("family").loc[pat.best]
    comments["customers.segments[0].patience_s"] = (
        f"censored MLE, {pat.best} ({prow['params']}): mean {_fmt(prow['mean'])} s [95% "
        f"{_fmt(prow['mean_lo'])}, {_fmt(prow['mean_hi'])}]; exponential rate {pat.rate:.5g}/s "
        f"[{pat.rate_ci[0]:.5g}, {pat.rate_ci[1]:.5g}]; {pat.events} abandonments of {pat.n} rows"
    )
    comments["contact_center.forecast.busyness_cv"] = (
        f"NB2 GLM on daily totals: {_fmt(arr.busyness_cv)} [95% {_fmt(arr.busyness_lo)}, "
        f"{_fmt(arr.busyness_hi)}], method of moments {_fmt(arr.busyness_mom)}; "
        f"{arr.n_days_busyness} days"
    )
    comments["contact_center.forecast.intervals"] = (
        f"expected calls per {interval_minutes} min = fitted hourly rate by day type "
        f"({', '.join(sorted(set(arr.day_types.values())))}) × {share:g}; {arr.n_calls} calls, "
        f"{len(arr.daily)} days; rates and 95% CIs in the fit report"
    )
    if day_totals:
        comments["contact_center.forecast.intervals"] += (
            f"; scaled to the known daily totals of {len(day_totals)} days"
        )
        comments["contact_center.forecast.busyness_cv"] = "0: daily totals known"
    comments["contact_center.forecast.reasons"] = "call types → reasons: " + ", ".join(
        f"{k}→{v} ({volumes[k]} calls)" for k, v in mapping.items()
    )
    comments["policies.staffing.params"] = f"agents on duty per {interval_minutes} min: {source}"
    data = {
        "name": name,
        "description": f"Fitted by sim.calibrate from {', '.join(fit.sources)[:300]}",
        "calendar": {
            "start": start.isoformat(),
            "months": months,
            "open_hours": {"daily": "00:00-24:00"},
        },
        "customers": {
            "accounts": 2000,
            "acquisition_per_month": 0,
            "segments": [
                {
                    "name": "callers",
                    "share": 1.0,
                    "patience_s": pd_.model_dump(exclude_none=True),
                    "churn_base_monthly": 0.0,
                }
            ],
        },
        "billing": {"contact": {"probability": {"error": 0.0, "shock": 0.0, "routine": 0.0}}},
        "contact_center": {
            "interval_minutes": interval_minutes,
            "service_level": {"target": 0.8, "threshold_s": threshold_s},
            "groups": [
                {
                    "name": GROUP,
                    "skills": list(REASONS),
                    "agents": int(np.median(staff[staff > 0])) if (staff > 0).any() else 0,
                }
            ],
            "handling": {
                "verification_s": zero,
                "verification_fail_rate": 0.0,
                "verification_fail_extra_s": zero,
                "review_s": zero,
                "work_s": work,
                "after_call_s": zero,
            },
            "callers": {"retrial": {"probability": 0.0}, "ivr_self_service": {}},
            "resolution": {"first_contact": dict.fromkeys(REASONS, 1.0), "repeat_probability": 0.0},
            "forecast": {
                "reasons": mix,
                "busyness_cv": 0.0 if day_totals else round(float(arr.busyness_cv), 6),
                "intervals": [
                    {"start": ts.isoformat(), "calls": round(float(c), 4)}
                    for ts, c in zip(t, calls, strict=True)
                    if c > 0
                ],
            },
        },
        "policies": {
            "staffing": {"name": "table", "params": {"agents_by_group": {GROUP: staff.tolist()}}}
        },
    }
    if getattr(fit, "billing", None) is not None:
        data, more = fit.billing.apply(data)
        comments.update(more)
    return scenario_from_dict(data, "fitted scenario"), comments


def _scale_to_totals(
    calls: np.ndarray, t: pd.DatetimeIndex, totals: dict[dt.date, float], per_day: int
) -> np.ndarray:
    """Scale each day's intervals to its known total; a day whose fitted profile is empty
    takes the mean shape of all fitted days."""
    out = calls.copy().reshape(-1, per_day)
    pooled = out.sum(axis=0)
    pooled = pooled / pooled.sum() if pooled.sum() > 0 else np.full(per_day, 1.0 / per_day)
    days = t[::per_day].date
    for i, d in enumerate(days):
        if d not in totals:
            continue
        s = out[i].sum()
        out[i] = out[i] * (totals[d] / s) if s > 0 else pooled * totals[d]
    return out.ravel()


def to_commented_yaml(scenario: Scenario, comments: dict[str, str], header: str = "") -> str:
    """YAML of ``scenario`` with ``# comment`` after each commented field path."""
    lines = [f"# {h}" for h in header.splitlines()] if header else []
    lines += _emit(scenario.to_dict(), comments, "", 0)
    return "\n".join(lines) + "\n"


def _flat(v: Any) -> bool:
    if isinstance(v, dict):
        return all(not isinstance(x, dict | list) for x in v.values()) and len(v) <= 8
    if isinstance(v, list):
        return all(not isinstance(x, dict | list) for x in v)
    return True


def _emit(obj: dict[str, Any], comments: dict[str, str], path: str, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for k, v in obj.items():
        p = f"{path}.{k}" if path else k
        c = comments.get(p)
        if c:
            out.append(f"{pad}# {c}")
        if _flat(v):
            out.append(f"{pad}{k}: {json.dumps(v, ensure_ascii=False)}")
        elif isinstance(v, dict):
            out.append(f"{pad}{k}:")
            out += _emit(v, comments, p, indent + 2)
        else:
            out.append(f"{pad}{k}:")
            for i, item in enumerate(v):
                ip = f"{p}[{i}]"
                if _flat(item):
                    out.append(f"{pad}  - {json.dumps(item, ensure_ascii=False)}")
                else:
                    sub = _emit(item, comments, ip, indent + 4)
                    out.append(f"{pad}  - {sub[0].strip()}")
                    out += sub[1:]
    return out
