"""What calls leave behind: experiences, refunds, plan changes, grants, repeat calls.

Why its own phase: outcomes are known only once the contact center settled; this
phase turns every call finished since the last look into account state at once
(vectorised) and owns the ledger's ``credits`` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.codes import ABANDONED, ANSWERED, EXPERIENCES, IVR, REASONS
from sim.core.rng import KeyedDraws, call_keys
from sim.model.calls import new_calls
from sim.world.population import add_ones

if TYPE_CHECKING:
    from sim.center.engine import ContactCenter
    from sim.model.replication import _Run


def _picker(center: ContactCenter, ids: np.ndarray):
    """Gather per-call columns for call ids ``ids`` (numpy views, no Python loop)."""

    def pick(name: str, dtype: type) -> np.ndarray:
        return center.column(name)[ids].astype(dtype)

    return pick


def after_calls(run: _Run, day: int) -> None:
    """Consequences of every call whose outcome became known since the last look."""
    c = run.center
    ids = c.column("finished")[run.seen :].astype(np.int64)
    run.seen = len(c.finished)
    if ids.size == 0:
        return
    now = run.env.now
    month = min(run.month_of(now - 1), run.sc.calendar.months - 1)
    pick = _picker(c, ids)
    status = pick("status", np.int64)
    acct = pick("account", np.int64)
    reason = pick("reason", np.int64)
    resolved = pick("resolved", bool)
    t_answer = pick("t_answer", float)
    pop, exp = run.pop, run.pop.experience
    row = pop.row(acct)  # the population's arrays are read by row, the rest by account
    E = {k: i for i, k in enumerate(EXPERIENCES)}
    answered = status == ANSWERED
    ivr = status == IVR
    t_arrive = pick("t_arrive", float)
    wait = t_answer - t_arrive
    long_wait = answered & (wait > run.sc.retention.long_wait_s)
    add_ones(exp[:, E["long_wait"]], row[long_wait])
    retry = pick("retry_intent", bool)
    final_abandon = (status == ABANDONED) & ~retry
    add_ones(exp[:, E["abandoned"]], row[final_abandon])
    done = answered | ivr
    ok = done & resolved
    add_ones(exp[:, E["resolved"]], row[ok])
    open_issue = (done & ~resolved) | final_abandon
    add_ones(exp[:, E["unresolved"]], row[answered & ~resolved])

    # A resolved billing error is refunded; a resolved plan change lowers the charge.
    fix = ok & (reason == REASONS.index("billing_error"))
    fixed = pop.row(np.unique(acct[fix]))  # in account order, as the refunds are summed
    refund = pop.pending_error[fixed]
    has = refund > 0
    if has.any():
        run.ledger.credits.append((month, float(refund.sum()), int(has.sum())))
    pop.revenue[fixed] -= refund
    pop.pending_error[fixed] = 0.0
    plan = pop.row(np.unique(acct[ok & (reason == REASONS.index("plan_change"))]))
    pop.charge[plan] *= 1 - run.sc.billing.plan_change_reduction
    pop.plan_changes[plan] += 1

    if answered.any():
        groups = pick("group", np.int64)[answered]
        run.offers.grant(
            ids[answered],
            acct[answered],
            groups,
            resolved[answered],
            t_answer[answered],
            month,
            reason[answered],
        )

    # Issues left open bring the customer back some days later.
    res = run.sc.contact_center.resolution
    # Whether an open issue brings the caller back, when, and that call's own draws
    # are keyed by the call it comes from (KeyedDraws): which issues stay open depends
    # on the staffing, and drawn from one stream in order, one more agent re-dealt every
    # later repeat call of the horizon; keyed, two staffings of a seed deal them alike.
    rows = np.flatnonzero(open_issue)
    keys = call_keys(run.seed, acct[rows], t_arrive[rows], pick("attempt", np.int64)[rows])
    comes_back = KeyedDraws(keys).random() < res.repeat_probability
    again = rows[comes_back]
    if again.size:
        r_acct, r_reason = acct[again], reason[again].astype(np.int16)
        draws = KeyedDraws(keys[comes_back], [1])
        u_day, u_time = draws.random(), draws.random()
        t = run.clock.contact_times(day, res.repeat_after_days, u_day, u_time)
        r_row = pop.row(r_acct)
        keep = ~np.isnan(t) & pop.active[r_row]
        new_calls(
            run, r_acct[keep], r_reason[keep], t[keep], 1, draws.subset(keep), now, r_row[keep]
        )
