"""A planner's forecast: expected offered calls and handling time per interval and group.

Staffing rules need the load *before* the run, as a workforce planner would have it:
computed from the scenario's parameters, never from the calls a replication actually
drew (no perfect foresight). For every bill date of the horizon it takes

    active accounts of the cycle × P(contact | bill flag, segment) × reason mix

spreads the contacts over the following days with the contact delay and the weekday
weights, and over the day with the intraday profile (exactly the weights the arrival
process uses, see ``Clock.contact_times``); adds expected repeat calls of unresolved
issues and the scenario's explicit ``contact_center.forecast`` intervals; removes the
IVR self-service share; and routes each reason to its primary group (the first group
with the skill).

Approximations, all on the planner's side of the fence: the chance of a bill shock is
integrated numerically from the charge and usage distributions (one-off charges at
their mean); the active base drifts with acquisition and the segments' base churn;
retrials after abandonment and transfers are left out (they depend on the staffing
being planned, which is what the simulation-based optimiser in ``sim.experiments.optimise``
corrects for).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.special import ndtr, ndtri

from sim.core.codes import REASONS
from sim.core.distributions import Dist
from sim.policies.load import ForecastLoad
from sim.scenario import Scenario
from sim.scenario.calendar import Clock
from sim.world.billing import error_rate_on

_NODES = 24  # equiprobable quantile nodes per integrated distribution


def _quantile_nodes(d: Dist, n: int = _NODES) -> np.ndarray:
    """``n`` equiprobable points of ``d`` (midpoint quantiles found on the cdf)."""
    m = d.expected
    sd = math.sqrt(d.variance)
    if sd == 0 or m == 0:
        return np.full(n, m)
    hi = m + 12 * sd
    x = np.linspace(0.0, hi, 4001)
    f = d.cdf(x)
    p = (np.arange(n) + 0.5) / n
    return np.interp(p, f, x)


def _lognormal_sigma(sd: float) -> float:
    return math.sqrt(math.log1p(sd * sd)) if sd > 0 else 0.0


def shock_probability(scenario: Scenario, segment: int) -> float:
    """P(a correct bill is more than ``shock_threshold`` above the previous one).

    Bill = charge × usage (lognormal, mean 1) + a one-off charge with its probability
    (taken at its mean size); integrated over the charge and last month's usage.
    """
    b = scenario.billing
    sigma = _lognormal_sigma(b.usage_variation_sd)
    charge = _quantile_nodes(scenario.customers.segments[segment].charge)[:, None]
    z = (np.arange(_NODES) + 0.5) / _NODES
    u1 = np.exp(-sigma * sigma / 2 + sigma * ndtri(z))[None, :] if sigma else np.ones((1, 1))
    p1 = b.one_off.probability
    x = b.one_off.size.expected
    thr = 1 + b.shock_threshold
    total = 0.0
    for o1, w1 in ((0.0, 1 - p1), (x, p1)):
        for o2, w2 in ((0.0, 1 - p1), (x, p1)):
            if w1 * w2 == 0:
                continue
            # shock iff charge × u2 > thr × (charge × u1 + o1) − o2
            need = (thr * (charge * u1 + o1) - o2) / np.maximum(charge, 1e-9)
            if sigma:
                with np.errstate(divide="ignore", invalid="ignore"):
                    zz = (np.log(np.maximum(need, 1e-300)) + sigma * sigma / 2) / sigma
                p = np.where(need <= 0, 1.0, 1 - ndtr(zz))
            else:
                p = (need < 1).astype(float)
            total += w1 * w2 * float(p.mean())
    return total


def _delay_weights(clock: Clock, delay: Dist, base_day: int, min_days: int = 0) -> np.ndarray:
    """Share of contacts made after ``base_day`` that fall on each day of the horizon
    (the same day choice as ``Clock.contact_times``; the rest falls after the horizon)."""
    spread = delay.expected * 6 + 3 * delay.variance**0.5
    k_max = min(max(min_days + 1, int(np.ceil(spread))), 366)
    k = np.arange(k_max + 1)
    p = np.diff(delay.cdf(np.arange(k_max + 2, dtype=float)))
    p[-1] += max(0.0, 1 - p.sum())
    p[k < min_days] = 0.0
    day = base_day + k
    inside = day < clock.n_days
    g = np.ones(k.size)
    g[inside] = clock.day_weight[day[inside]]
    q = p * g
    out = np.zeros(clock.n_days)
    if q.sum() <= 0:
        return out
    q = q / q.sum()
    out[day[inside]] = q[inside]
    return out


def _intraday_cumulative(clock: Clock, daily: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Expected arrivals per interval from expected arrivals per day (rows: series).

    Within a day calls follow the clock's open-hour slot weights, uniformly inside a slot.
    """
    # The clock's slot weights are what ``contact_times`` samples from; reading them keeps
    # the forecast's intraday shape identical to the arrival process.
    slot_lo = clock._slot_lo
    slot_span = clock._slot_span
    slot_w = clock._slot_w.reshape(clock.n_days, 24)
    day_tot = slot_w.sum(axis=1)
    share = np.divide(
        slot_w, day_tot[:, None], out=np.zeros_like(slot_w), where=day_tot[:, None] > 0
    )
    per_slot = (daily[:, :, None] * share[None, :, :]).reshape(daily.shape[0], -1)
    used = slot_span > 0
    lo, hi = slot_lo[used], slot_lo[used] + slot_span[used]
    cum = np.cumsum(per_slot[:, used], axis=1)
    xs = np.concatenate([lo, hi])
    order = np.argsort(np.concatenate([np.arange(lo.size) * 2, np.arange(lo.size) * 2 + 1]))
    xs = xs[order]
    out = np.zeros((daily.shape[0], edges.size - 1))
    for r in range(daily.shape[0]):
        before = np.concatenate([[0.0], cum[r, :-1]])
        ys = np.concatenate([before, cum[r]])[order]
        out[r] = np.diff(np.interp(edges, xs, ys, left=0.0, right=ys[-1] if ys.size else 0.0))
    return out


def forecast_load(scenario: Scenario, clock: Clock | None = None) -> ForecastLoad:
    """The expected offered load of ``scenario`` per group and interval (see module doc)."""
    sc = scenario
    clock = clock or Clock(sc)
    cc = sc.contact_center
    b = sc.billing
    segs = sc.customers.segments
    n_r, n_days = len(REASONS), clock.n_days
    edges = clock.interval_edges(cc.interval_minutes)

    # ---- contacts per reason and day of the horizon ----
    shares = np.array([s.share for s in segs])
    prop = np.array([s.call_propensity for s in segs])
    base_churn = float(shares @ np.array([s.churn_base_monthly for s in segs]))
    p_shock = np.array([shock_probability(sc, i) for i in range(len(segs))])
    mix = {
        flag: np.array([b.contact.reasons[flag].get(r, 0.0) for r in REASONS])
        for flag in ("routine", "shock", "error")
    }
    pr = b.contact.probability
    seg_calls = np.zeros(len(segs))  # for the patience weights
    first = np.zeros((n_r, n_days))
    n0 = sc.customers.accounts
    acq = sc.customers.acquisition_per_month
    k = len(b.cycle_days)
    for day, date in enumerate(clock.dates):
        if date.day not in b.cycle_days:
            continue
        months = day / 30.4375
        active = n0 * (1 - base_churn) ** months + acq * int(months)
        per_cycle = active / k
        err = error_rate_on(sc, date.day, date.toordinal())
        # per segment: P(flag) × P(call | flag, segment), mixed into reasons
        contacts = np.zeros(n_r)
        for i in range(len(segs)):
            n_seg = per_cycle * shares[i]
            p_e = err
            p_s = (1 - err) * p_shock[i]
            p_r = 1 - p_e - p_s
            for pf, pc, flag in (
                (p_e, pr.error, "error"),
                (p_s, pr.shock, "shock"),
                (p_r, pr.routine, "routine"),
            ):
                c = n_seg * pf * min(pc * prop[i], 1.0)
                contacts += c * mix[flag]
                seg_calls[i] += c
        w = _delay_weights(clock, b.contact.delay_days, day)
        first += contacts[:, None] * w[None, :]

    # ---- repeats of unresolved issues (geometric: a repeat may stay unresolved too) ----
    ivr = np.array([cc.callers.ivr_self_service.get(r, 0.0) for r in REASONS])
    routes = [next(i for i, g in enumerate(cc.groups) if r in g.skills) for r in REASONS]
    fcr = np.array(
        [
            cc.groups[routes[j]].first_contact.get(r, cc.resolution.first_contact[r])
            for j, r in enumerate(REASONS)
        ]
    )
    res = cc.resolution
    again = (1 - ivr) * (1 - fcr) * res.repeat_probability
    # Contacts made on day d are processed at the next midnight (day d + 1).
    repeat_kernel = np.stack(
        [_delay_weights(clock, res.repeat_after_days, d + 1) for d in range(n_days)]
    )
    total = first.copy()
    wave = first
    for _ in range(6):
        wave = (wave * again[:, None]) @ repeat_kernel
        total += wave
        if wave.sum() < 1e-6:
            break

    # ---- intraday shape, IVR, explicit forecast intervals ----
    per_interval = _intraday_cumulative(clock, total, edges) * (1 - ivr)[:, None]
    fc = cc.forecast
    if fc is not None and fc.intervals:
        start = dt.datetime.combine(sc.calendar.start, dt.time())
        width = cc.interval_minutes * 60.0
        fc_mix = np.array([fc.reasons.get(r, 0.0) for r in REASONS]) * (1 - ivr)
        for row in fc.intervals:
            t0 = (row.start - start).total_seconds()
            t1 = min(t0 + width, clock.horizon_s)
            # spread uniformly over [t0, t1) into the interval grid
            cover = np.clip(np.minimum(edges[1:], t1) - np.maximum(edges[:-1], t0), 0, None)
            if t1 > t0:
                per_interval += fc_mix[:, None] * (row.calls * cover / (t1 - t0))[None, :]

    n_g = len(cc.groups)
    calls = np.zeros((n_g, edges.size - 1))
    by_reason = per_interval.sum(axis=1)
    for j in range(n_r):
        calls[routes[j]] += per_interval[j]

    # ---- handling time and patience ----
    aht_reason = np.array(cc.handling.expected_s())
    aht = np.zeros(n_g)
    for g in range(n_g):
        rows = [j for j in range(n_r) if routes[j] == g]
        vol = by_reason[rows]
        aht[g] = (
            float(vol @ aht_reason[rows] / vol.sum())
            if vol.sum() > 0
            else float(aht_reason[rows].mean())
            if rows
            else float(aht_reason.mean())  # a group no reason is routed to first (overflow)
        )
    seg_w = seg_calls if seg_calls.sum() > 0 else shares * prop
    patience = float(seg_w @ np.array([s.patience_s.expected for s in segs]) / seg_w.sum())

    lo, hi = clock.open_windows()
    open_s = np.zeros(edges.size - 1)
    for a, z in zip(lo.tolist(), hi.tolist(), strict=True):
        open_s += np.clip(np.minimum(edges[1:], z) - np.maximum(edges[:-1], a), 0, None)
    return ForecastLoad(
        group_names=tuple(g.name for g in cc.groups),
        edges_s=edges,
        calls=calls,
        aht_s=aht,
        patience_s=np.full(n_g, patience),
        open_share=open_s / np.diff(edges),
        sl_target=cc.service_level.target,
        threshold_s=cc.service_level.threshold_s,
    )


__all__ = ["ForecastLoad", "forecast_load", "shock_probability"]
