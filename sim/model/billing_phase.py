"""Bill dates, acquisition and forecast arrivals: the contacts the world sends.

Why its own phase: churn is decided at the bill date before the bill run (an account
that leaves is not billed again) and the bills then create the next wave of calls.
This phase owns the ledger's ``churn``, ``bills``, ``service_cost`` and ``acquired`` rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from sim.core.codes import CANCEL, ORIGINS, REASONS
from sim.model.calls import new_calls
from sim.scenario.calendar import DAY_S
from sim.world.billing import bill_run, contacts_from_bills, error_rate_on
from sim.world.retention import cancel_call_probability, churn_at_bill

if TYPE_CHECKING:
    from sim.model.replication import _Run


def bill_day(run: _Run, day: int) -> None:
    """Churn, then bill, the cycle whose bill date is ``day``; its bills bring calls."""
    date = run.clock.dates[day]
    cycles = run.sc.billing.cycle_days
    if date.day not in cycles:
        return
    cyc = cycles.index(date.day)
    now = day * DAY_S
    month = run.month_of(now)
    pop = run.pop
    members = pop.cycle_members(cyc)  # population rows; calls and ledgers take ids
    # One uniform per cycle member, active or not, from a stream of this bill run
    # alone: an account's churn draw never depends on how many others left.
    u = run.streams.child("churn", run.bill_runs + 1).random(members.size)
    live = pop.active[members]
    # The save desk's draws come from their own stream, only when it is on: without
    # it every other draw, and so the old path, is unchanged.
    cancel_u = None
    if cancel_call_probability(pop, run.sc).any():
        cancel_u = run.streams.child("cancel", run.bill_runs + 1).random(members.size)[live]
    gone, callers = churn_at_bill(pop, members[live], now, run.sc, u[live], cancel_u)
    lost = float(pop.charge[gone].sum())
    margin = float((pop.charge[gone] * pop.gross_margin[pop.segment[gone]]).sum())
    run.ledger.churn.append((month, int(gone.size), lost, margin))
    run.bill_runs += 1
    rate = error_rate_on(run.sc, date.day, date.toordinal())
    rng = run.streams.child("billing", run.bill_runs)
    bills, draws = bill_run(pop, members, month, rate, run.sc, rng)
    if run.keep_bills:
        run.ledger.bill_rows.append((day, pop.account_id(bills.account), bills.amount, bills.flag))
    cost = bills.correct * (1.0 - pop.gross_margin.take(pop.segment.take(bills.account)))
    run.ledger.service_cost.append((month, float(cost.sum())))
    pop.service_cost[bills.account] += cost
    if bills.discount.any():  # adding +0.0 changes no total (they start at +0.0)
        pop.discount_cost[bills.account] += bills.discount
    pop.revenue[bills.account] += bills.amount
    run.ledger.bills.append(
        (
            month,
            int(bills.account.size),
            float(bills.correct.sum()),
            float(bills.error.sum()),
            float(bills.discount.sum()),
            int((bills.error > 0).sum()),
            int((bills.flag == 1).sum()),
        )
    )
    con = contacts_from_bills(bills, draws, pop, day, run.clock, run.sc, run.contact_mix)
    handling = run.streams.child("handling", run.bill_runs)
    ids = pop.account_id(con.account)
    new_calls(run, ids, con.reason, con.t, 0, handling, now, row=con.account)
    if cancel_u is not None:
        cancel_calls(run, callers, day, month)


def cancel_calls(run: _Run, callers: np.ndarray, day: int, month: int) -> None:
    """Accounts (population rows ``callers``) that decided to leave call to cancel,
    timed like bill contacts (they read the bill, then call within days, by the intraday
    profile); one whose call would fall past the horizon simply leaves at its next bill."""
    rng = run.streams.child("cancel_calls", run.bill_runs)
    u_day, u_time = rng.random(callers.size), rng.random(callers.size)
    t = run.clock.contact_times(day, run.sc.billing.contact.delay_days, u_day, u_time)
    keep = ~np.isnan(t)
    rows = callers[keep]
    run.pop.cancel_calls[rows] += 1
    run.ledger.cancels.append((month, int(rows.size)))
    reason = np.full(rows.size, CANCEL, dtype=np.int16)
    ids = run.pop.account_id(rows)
    new_calls(run, ids, reason, t[keep], ORIGINS.index("bill"), rng, day * DAY_S, rows)


def forecast_day(run: _Run, day: int) -> None:
    """Arrivals of the scenario's explicit volume forecast for this day."""
    fc = run.sc.contact_center.forecast
    if fc is None or not fc.intervals:
        return
    start = dt.datetime.combine(run.sc.calendar.start, dt.time())
    fc_t = np.array([(r.start - start).total_seconds() for r in fc.intervals])
    fc_n = np.array([r.calls for r in fc.intervals])
    lo, hi = day * DAY_S, (day + 1) * DAY_S
    rows = np.flatnonzero((fc_t >= lo) & (fc_t < hi))
    if rows.size == 0:
        return
    rng = run.streams.child("forecast", day)
    width = run.sc.contact_center.interval_minutes * 60.0
    cv = fc.busyness_cv  # a separate stream, drawn only when cv > 0: others never shift
    busy = run.streams.child("busyness", day).gamma(cv**-2, cv**2) if cv > 0 else 1.0
    counts = rng.poisson(fc_n[rows] * busy)
    t = np.repeat(fc_t[rows], counts) + rng.random(counts.sum()) * width
    t = np.minimum(t, run.clock.horizon_s - 1e-6)
    pop = run.pop
    active = np.flatnonzero(pop.active[pop.row(np.arange(pop.n))])  # ids, ascending
    if active.size == 0 or t.size == 0:
        return
    acct = active[rng.integers(0, active.size, t.size)]
    codes = np.array([REASONS.index(r) for r in fc.reasons])
    probs = np.array(list(fc.reasons.values()), dtype=float)
    reason = codes[rng.choice(codes.size, size=t.size, p=probs / probs.sum())].astype(np.int16)
    new_calls(run, acct, reason, t, ORIGINS.index("forecast"), rng, run.env.now)


def acquire(run: _Run, day: int) -> None:
    """New accounts on the first of each month after the first day."""
    date = run.clock.dates[day]
    if day == 0 or date.day != 1:
        return
    rng = run.streams["acquisition"]
    n = int(rng.poisson(run.sc.customers.acquisition_per_month))
    run.pop.add(n, day * DAY_S, rng)
    run.ledger.acquired.append((run.month_of(day * DAY_S), n))
