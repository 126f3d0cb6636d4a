"""Contacts become calls: handling time, patience, IVR, resolution draws, offer, class.

Why its own phase: every origin of a contact (bill runs, forecast arrivals, repeat
calls) goes through the same draws in the same order, so one function owns them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.center.engine import CallBatch
from sim.core.codes import EXPERIENCES, IVR, PENDING, REASONS
from sim.core.rng import KeyedDraws, draws_for
from sim.policies.context import RECENT, CallContext
from sim.world.population import add_ones
from sim.world.retention import churn_risk

if TYPE_CHECKING:
    from sim.model.replication import _Run

_RECENT_COLS = [EXPERIENCES.index(k) for k in RECENT]


def context(
    run: _Run, acct: np.ndarray, reason: np.ndarray, t: float, row: np.ndarray, **extra
) -> CallContext:
    """The account screen for calls of accounts ``acct`` (population rows ``row``) at
    time ``t``."""
    pop = run.pop
    n = acct.size
    rows = pop.experience_rows(row)
    recent = rows[:, _RECENT_COLS].astype(float)
    risk = churn_risk(pop, row, run.beta, t, rows)
    return CallContext(
        reason=reason,
        segment=pop.segment[row],
        charge=pop.charge[row],
        tenure_months=pop.tenure_months(row, t),
        # an account that called to cancel leaves at its next bill unless it is saved
        churn_risk=np.where(pop.cancel_pending[row], 1.0, risk),
        error_amount=pop.pending_error[row],
        resolved=extra.get("resolved", np.zeros(n, dtype=bool)),
        group=extra.get("group", np.full(n, -1)),
        segment_names=tuple(pop.segment_names),
        group_names=tuple(run.groups),
        account=acct,
        time_s=np.full(n, float(t)),
        last_bill=pop.last_bill[row].astype(float),
        last_bill_problem=pop.last_problem[row].copy(),
        shock_bills=pop.shock_bills[row].astype(float),
        error_bills=pop.error_bills[row].astype(float),
        calls_before=pop.calls[row].astype(float),
        discount_active=pop.discount_bills_left[row] > 0,
        recent=recent,
    )


def new_calls(
    run: _Run,
    acct: np.ndarray,
    reason: np.ndarray,
    t: np.ndarray,
    origin: int,
    rng: np.random.Generator | KeyedDraws,
    now: float,
    row: np.ndarray | None = None,
) -> None:
    """Turn contacts into calls: handling time, patience, IVR, resolution, class.

    ``rng`` is the batch's stream, or ``KeyedDraws`` when each call's values must
    depend on that call alone (repeat calls, see ``after_calls``). ``row``: the
    accounts' population rows, when the caller has them already."""
    n = acct.size
    if n == 0:
        return
    cc = run.sc.contact_center
    h = cc.handling
    talk = h.verification_s.sample(rng, n) + h.review_s.sample(rng, n)
    failed = rng.random(n) < h.verification_fail_rate
    talk += np.where(failed, h.verification_fail_extra_s.sample(rng, n), 0.0)
    # Rows of each reason (and below, each segment) found once, in ascending order as
    # ``flatnonzero`` gives them; a group without calls draws nothing (a draw of size
    # 0 leaves the generator as it was), so the draws are those of the loop over all.
    work = np.zeros(n)
    # KeyedDraws give each draw call a column of its own: every group draws (an empty
    # one nothing), so a call's columns do not depend on which reasons its batch holds.
    keyed = isinstance(rng, KeyedDraws)
    by_reason = _groups(reason, len(REASONS), every=keyed)
    for code, rows in by_reason:
        work[rows] = h.work_s[REASONS[code]].sample(draws_for(rng, rows), rows.size)
    talk += work
    # A transferred leg: the specialist reviews the account and does the work again.
    talk2 = h.review_s.sample(rng, n)
    for code, rows in by_reason:
        talk2[rows] += h.work_s[REASONS[code]].sample(draws_for(rng, rows), rows.size)
    acw = h.after_call_s.sample(rng, n)
    patience = np.empty(n)
    segments = run.sc.customers.segments
    row = run.pop.row(acct) if row is None else row  # the population's arrays: by row
    by_segment = _groups(run.pop.segment.take(row), len(segments), every=keyed)
    for i, rows in by_segment:
        patience[rows] = segments[i].patience_s.sample(draws_for(rng, rows), rows.size)
    resolve_u = rng.random(n)
    escalate_u = rng.random(n)
    retry_intent = rng.random(n) < cc.callers.retrial.probability
    ivr = rng.random(n) < run.ivr_share[reason]
    # Drawn now, used only if the caller hangs up and tries again or leaves an issue
    # open: the same for every staffing of this seed (engine.CallBatch, "next_*").
    retrial = cc.callers.retrial
    next_delay = retrial.delay_s.sample(rng, n)
    next_patience = np.empty(n)
    for i, rows in by_segment:
        next_patience[rows] = segments[i].patience_s.sample(draws_for(rng, rows), rows.size)
    next_intent = rng.random(n) < retrial.probability
    ctx = context(run, acct, reason, now, row)
    plans = run.offers.plan(ctx)
    klass = np.asarray(run.priority.priority_class(ctx))
    klass = np.clip(klass, 0, run.center.cfg.n_classes - 1).astype(np.int64)
    order = np.argsort(t, kind="stable")
    batch = CallBatch(
        t_arrive=t[order],
        account=acct[order],
        reason=reason[order],
        klass=klass[order],
        talk=talk[order],
        acw=acw[order],
        patience=patience[order],
        retry_intent=retry_intent[order],
        resolved=ivr[order],
        resolve_u=resolve_u[order],
        escalate_u=escalate_u[order],
        talk2=talk2[order],
        target=np.full(n, -1, dtype=np.int64),
        attempt=np.zeros(n, dtype=np.int64),
        origin=np.full(n, origin, dtype=np.int64),
        next_delay=next_delay[order],
        next_patience=next_patience[order],
        next_intent=next_intent[order],
    )
    status = np.where(ivr[order], IVR, PENDING)
    add_ones(run.pop.calls, row)
    run.offers.record(acct[order], plans[order])
    run.center.add_calls(batch, status)


def _groups(codes: np.ndarray, n_codes: int, every: bool = False) -> list[tuple[int, np.ndarray]]:
    """``(code, np.flatnonzero(codes == code))`` for every code that occurs (``every``:
    for every code), one stable sort instead of a scan per code."""
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=n_codes)).tolist()
    out, start = [], 0
    for code, end in enumerate(ends):
        if end > start or every:
            out.append((code, order[start:end]))
        start = end
    return out
