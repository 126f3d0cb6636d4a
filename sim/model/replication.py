"""One replication: wire population, billing, contact center and retention; return Results.

The run advances day by day. At each midnight the contact center's state is settled,
the calls that ended since the last midnight are turned into experiences, discounts,
error refunds, plan changes and repeat calls (all vectorised), and the cycle groups
whose bill date it is churn and are billed, which adds the next wave of calls.

A discount is *offered* when a call is created (its handling time enters the call's
talk time, so offering discounts costs agent capacity in the queue) and *granted* at
the next midnight if the call was answered: within the answering group's authority (or
the escalation group's, see ``policies.discount.escalate_to``), the customer's
acceptance (stream "discounts") and the monthly budget.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import simpy

from sim.center.engine import CallBatch, CenterConfig, ContactCenter, DrawBuffer
from sim.core.codes import ABANDONED, ANSWERED, EXPERIENCES, IVR, ORIGINS, PENDING, REASONS
from sim.core.progress import ProgressFn
from sim.core.rng import Streams
from sim.core.version import __version__
from sim.policies.catalogue import build_discount, build_priority
from sim.policies.context import CallContext, DiscountPolicy, PriorityPolicy
from sim.policies.discount import DiscountBook, acceptance_probability, grant_discounts
from sim.policies.staffing import StaffingPolicy
from sim.results import Ledger, RawRun, Results
from sim.scenario import Calendar, Scenario
from sim.scenario.calendar import DAY_S, Clock
from sim.world.billing import bill_run, contacts_from_bills, error_rate_on
from sim.world.population import Population
from sim.world.retention import churn_at_bill, churn_risk, effect_weights
from sim.world.staffing import staffing_plan


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    *,
    discount_policy: DiscountPolicy | None = None,
    priority_policy: PriorityPolicy | None = None,
    staffing_policy: StaffingPolicy | None = None,
    progress: ProgressFn | None = None,
    keep_bills: bool = False,
) -> Results:
    """Run one replication of ``scenario``; ``seed`` defaults to the scenario's seed.

    ``discount_policy``, ``priority_policy`` and ``staffing_policy`` replace the
    scenario's named policies with a researcher's own objects (see sim.policies for
    the protocols). ``keep_bills`` keeps every bill in ``raw.ledger.bill_rows`` for a
    per-bill extract (sim.calibrate.export); off by default, it costs memory.
    """
    raw = run(
        scenario, seed, discount_policy, priority_policy, progress, staffing_policy, keep_bills
    )
    return Results(raw)


def _month_starts(calendar: Calendar) -> list[dt.date]:
    """First day of each month of the horizon and the day after it (months + 1 dates).

    Month m spans [start + m months, start + (m+1) months), anchored on the start date
    (``Calendar.month_start``), so each month's row, ledger entries and discount budget
    cover one whole month (calendar-month rows gave a horizon starting on the 4th a
    last row that also held the 1st to the 3rd of the month after: +25 % bills).
    """
    return [calendar.month_start(m) for m in range(calendar.months + 1)]


def _picker(center: ContactCenter, ids: np.ndarray):
    """Gather per-call columns for call ids ``ids`` (numpy views, no Python loop)."""

    def pick(name: str, dtype: type) -> np.ndarray:
        return center.column(name)[ids].astype(dtype)

    return pick


class _Run:
    """State of one replication while it runs (not part of the public API)."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        discount_policy: DiscountPolicy | None,
        priority_policy: PriorityPolicy | None,
        staffing_policy: StaffingPolicy | None = None,
        keep_bills: bool = False,
    ) -> None:
        self.sc = scenario
        self.keep_bills = keep_bills
        self.seed = seed
        self.streams = Streams(seed)
        self.clock = Clock(scenario)
        self.pop = Population(scenario, self.streams["population"])
        cc = scenario.contact_center
        self.groups = [g.name for g in cc.groups]
        self.discount = discount_policy or build_discount(
            scenario.policies.discount.name, scenario.policies.discount.params
        )
        self.priority = priority_policy or build_priority(
            scenario.policies.priority.name, scenario.policies.priority.params
        )
        auth = scenario.policies.discount.authority_pct
        self.authority = np.array([auth.get(g, 100.0) for g in self.groups], dtype=float)
        esc = scenario.policies.discount.escalate_to
        self.escalated_authority = None if esc is None else self.authority[self.groups.index(esc)]
        self.book = DiscountBook(scenario.policies.discount.budget_per_month)
        self.beta = effect_weights(scenario)
        self.ledger = Ledger()
        self.env = simpy.Environment()
        routes = []
        for r in REASONS:
            eligible = [i for i, g in enumerate(cc.groups) if r in g.skills]
            routes.append(eligible)
        self.primary = np.array([r[0] for r in routes], dtype=np.int64)
        # Offer per call id, made when the call is created (NaN: a retrial or transfer
        # copy made by the contact center, which inherits its account's latest offer).
        self.call_offer = np.full(1024, np.nan)
        self.acct_offer = np.zeros(self.pop.capacity)
        callers = cc.callers
        s = self.streams
        self.center = ContactCenter(
            self.env,
            CenterConfig(
                n_groups=len(cc.groups),
                routes=routes,
                n_classes=max(1, int(getattr(self.priority, "n_classes", 1))),
                overflow_after_s=cc.routing.overflow_after_s,
                callback_wait_s=callers.callback.offer_when_wait_s,
                callback_accept=callers.callback.accept,
                closed_calls=scenario.calendar.closed_calls,
                fcr=[
                    [g.first_contact.get(r, cc.resolution.first_contact[r]) for r in REASONS]
                    for g in cc.groups
                ],
                escalate_to=(
                    self.groups.index(cc.resolution.escalation.to_group)
                    if cc.resolution.escalation
                    else -1
                ),
                escalate_p=cc.resolution.escalation.probability if cc.resolution.escalation else 0,
            ),
            retrial_delay=DrawBuffer(lambda n: callers.retrial.delay_s.sample(s["retrials"], n)),
            retrial_patience=self._retrial_patience,
            retrial_intent=DrawBuffer(lambda n: s["retrials"].random(n)),
            retrial_probability=callers.retrial.probability,
            callback_uniform=DrawBuffer(lambda n: s["callbacks"].random(n)),
            next_open=self.clock.next_open,
        )
        self._patience_buffers = [
            DrawBuffer(lambda n, d=seg.patience_s: d.sample(s["retrials"], n))
            for seg in scenario.customers.segments
        ]
        self.staffing = staffing_plan(scenario, self.clock, staffing_policy)
        for g in range(len(self.groups)):
            times, agents = self.staffing.on_duty[g]
            self.center.schedule_staffing(g, times, agents)
        self.month_dates = _month_starts(scenario.calendar)
        self.month_starts_s = np.array(
            [self.clock.day_start_s(d) for d in self.month_dates], dtype=float
        )
        # the last edge is the end of the horizon (Calendar.end, the Clock's day grid)
        assert self.month_starts_s[-1] == self.clock.horizon_s
        self.discount_granted: dict[int, float] = {}
        self._seen = 0
        self._bill_runs = 0
        self._cycle_members: list[np.ndarray] | None = None

    # ---- helpers ------------------------------------------------------------------

    def month_of(self, t: float) -> int:
        return int(np.searchsorted(self.month_starts_s, t, side="right") - 1)

    def _retrial_patience(self, account: int) -> float:
        return self._patience_buffers[int(self.pop.segment[account])].next()

    def _context(self, acct: np.ndarray, reason: np.ndarray, t: float, **extra) -> CallContext:
        pop = self.pop
        n = acct.size
        return CallContext(
            reason=reason,
            segment=pop.segment[acct],
            charge=pop.charge[acct],
            tenure_months=pop.tenure_months(acct, t),
            churn_risk=churn_risk(pop, acct, self.beta),
            error_amount=pop.pending_error[acct],
            resolved=extra.get("resolved", np.zeros(n, dtype=bool)),
            group=extra.get("group", np.full(n, -1)),
            segment_names=tuple(pop.segment_names),
            group_names=tuple(self.groups),
        )

    def new_calls(
        self,
        acct: np.ndarray,
        reason: np.ndarray,
        t: np.ndarray,
        origin: int,
        rng: np.random.Generator,
        now: float,
    ) -> None:
        """Turn contacts into calls: handling time, patience, IVR, resolution, class."""
        n = acct.size
        if n == 0:
            return
        cc = self.sc.contact_center
        h = cc.handling
        talk = h.verification_s.sample(rng, n) + h.review_s.sample(rng, n)
        failed = rng.random(n) < h.verification_fail_rate
        talk += np.where(failed, h.verification_fail_extra_s.sample(rng, n), 0.0)
        work = np.zeros(n)
        for code, name in enumerate(REASONS):
            rows = np.flatnonzero(reason == code)
            work[rows] = h.work_s[name].sample(rng, rows.size)
        talk += work
        # A transferred leg: the specialist reviews the account and does the work again.
        talk2 = h.review_s.sample(rng, n)
        for code, name in enumerate(REASONS):
            rows = np.flatnonzero(reason == code)
            talk2[rows] += h.work_s[name].sample(rng, rows.size)
        acw = h.after_call_s.sample(rng, n)
        patience = np.empty(n)
        seg = self.pop.segment[acct]
        for i, s in enumerate(self.sc.customers.segments):
            rows = np.flatnonzero(seg == i)
            patience[rows] = s.patience_s.sample(rng, rows.size)
        resolve_u = rng.random(n)
        escalate_u = rng.random(n)
        retry_intent = rng.random(n) < cc.callers.retrial.probability
        ivr_share = np.array([cc.callers.ivr_self_service.get(r, 0.0) for r in REASONS])
        ivr = rng.random(n) < ivr_share[reason]
        ctx = self._context(acct, reason, now, group=self.primary[reason])
        offered = self._offer(ctx)
        talk += self._offer_handling(offered, self.primary[reason])
        klass = np.asarray(self.priority.priority_class(ctx))
        klass = np.clip(klass, 0, self.center.cfg.n_classes - 1).astype(np.int64)
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
        )
        status = np.where(ivr[order], IVR, PENDING)
        np.add.at(self.pop.calls, acct, 1)
        self._record_offers(acct[order], offered[order])
        self.center.add_calls(batch, status)

    # ---- discount offers -----------------------------------------------------------------

    def _offer(self, ctx: CallContext) -> np.ndarray:
        """The policy's offer for each call, decided when the call is created (so the
        time it takes can enter the call's talk time)."""
        offered = np.asarray(self.discount.discount_pct(ctx), dtype=float)
        if offered.shape != (len(ctx),):
            raise ValueError(
                f"discount policy returned shape {offered.shape}, expected ({len(ctx)},)"
            )
        return np.clip(np.nan_to_num(offered), 0.0, 100.0)

    def _offer_handling(self, offered: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Extra talk time: offering a discount, plus an escalation when the offer is
        above the (primary) group's authority and ``escalate_to`` is set."""
        d = self.sc.policies.discount
        extra = np.where(offered > 0, d.handling_s, 0.0)
        if self.escalated_authority is not None:
            extra += np.where(offered > self.authority[group], d.escalation_s, 0.0)
        return extra

    def _record_offers(self, acct: np.ndarray, offered: np.ndarray) -> None:
        first = self.center.n_calls
        need = first + offered.size
        if need > self.call_offer.size:
            grown = np.full(max(need, 2 * self.call_offer.size), np.nan)
            grown[: self.call_offer.size] = self.call_offer
            self.call_offer = grown
        self.call_offer[first:need] = offered
        if self.pop.capacity > self.acct_offer.size:
            grown = np.zeros(self.pop.capacity)
            grown[: self.acct_offer.size] = self.acct_offer
            self.acct_offer = grown
        self.acct_offer[acct] = offered

    def _offers_for(self, ids: np.ndarray, acct: np.ndarray) -> np.ndarray:
        offered = np.full(ids.size, np.nan)
        known = ids < self.call_offer.size
        offered[known] = self.call_offer[ids[known]]
        copy = np.isnan(offered)
        offered[copy] = self.acct_offer[acct[copy]]
        return offered

    # ---- the daily cycle ---------------------------------------------------------------

    def after_calls(self, day: int) -> None:
        """Consequences of every call whose outcome became known since the last look."""
        c = self.center
        ids = c.column("finished")[self._seen :].astype(np.int64)
        self._seen = len(c.finished)
        if ids.size == 0:
            return
        now = self.env.now
        month = min(self.month_of(now - 1), self.sc.calendar.months - 1)
        pick = _picker(c, ids)
        status = pick("status", np.int64)
        acct = pick("account", np.int64)
        reason = pick("reason", np.int64)
        resolved = pick("resolved", bool)
        t_answer = pick("t_answer", float)
        pop, exp = self.pop, self.pop.experience
        E = {k: i for i, k in enumerate(EXPERIENCES)}
        answered = status == ANSWERED
        ivr = status == IVR
        wait = t_answer - pick("t_arrive", float)
        long_wait = answered & (wait > self.sc.retention.long_wait_s)
        np.add.at(exp[:, E["long_wait"]], acct[long_wait], 1)
        retry = pick("retry_intent", bool)
        final_abandon = (status == ABANDONED) & ~retry
        np.add.at(exp[:, E["abandoned"]], acct[final_abandon], 1)
        done = answered | ivr
        ok = done & resolved
        np.add.at(exp[:, E["resolved"]], acct[ok], 1)
        open_issue = (done & ~resolved) | final_abandon
        np.add.at(exp[:, E["unresolved"]], acct[answered & ~resolved], 1)

        # A resolved billing error is refunded; a resolved plan change lowers the charge.
        fix = ok & (reason == REASONS.index("billing_error"))
        fixed_accts = np.unique(acct[fix])
        refund = pop.pending_error[fixed_accts]
        has = refund > 0
        if has.any():
            self.ledger.credits.append((month, float(refund.sum()), int(has.sum())))
        pop.revenue[fixed_accts] -= refund
        pop.pending_error[fixed_accts] = 0.0
        plan = np.unique(acct[ok & (reason == REASONS.index("plan_change"))])
        pop.charge[plan] *= 1 - self.sc.billing.plan_change_reduction
        pop.plan_changes[plan] += 1

        # Discounts decided by the agent who answered, within authority and budget.
        if answered.any():
            a_ids = ids[answered]
            a_acct = acct[answered]
            groups = pick("group", np.int64)[answered]
            offered = self._offers_for(a_ids, a_acct)
            if offered.any():
                order = np.argsort(t_answer[answered], kind="stable")
                rng = self.streams["discounts"]
                d = self.sc.policies.discount
                accept_u = rng.random(order.size)

                def accepted(pct: np.ndarray, u: np.ndarray = accept_u) -> np.ndarray:
                    return u < acceptance_probability(pct, d)

                pct = grant_discounts(
                    offered[order],
                    groups[order],
                    self.authority,
                    accepted,
                    pop.charge[a_acct[order]],
                    d.duration_months,
                    month,
                    self.book,
                    escalated_authority=self.escalated_authority,
                )
                got = pct > 0
                if got.any():
                    g_acct = a_acct[order][got]
                    pop.discount_pct[g_acct] = pct[got]
                    pop.discount_bills_left[g_acct] = d.duration_months
                    np.add.at(exp[:, E["discount"]], g_acct, 1)
                    for cid, p in zip(a_ids[order][got].tolist(), pct[got].tolist(), strict=True):
                        self.discount_granted[cid] = p
                    committed = pop.charge[g_acct] * pct[got] / 100 * d.duration_months
                    np.add.at(pop.discount_committed, g_acct, committed)
                    value = float((pop.charge[g_acct] * pct[got] / 100).sum())
                    self.ledger.discounts.append((month, int(got.sum()), value * d.duration_months))

        # Issues left open bring the customer back some days later.
        res = self.sc.contact_center.resolution
        rng = self.streams["repeats"]
        again = open_issue & (rng.random(ids.size) < res.repeat_probability)
        if again.any():
            r_acct, r_reason = acct[again], reason[again].astype(np.int16)
            u_day, u_time = rng.random(r_acct.size), rng.random(r_acct.size)
            t = self.clock.contact_times(day, res.repeat_after_days, u_day, u_time)
            keep = ~np.isnan(t) & pop.active[r_acct]
            self.new_calls(r_acct[keep], r_reason[keep], t[keep], 1, rng, now)

    def bill_day(self, day: int) -> None:
        date = self.clock.dates[day]
        cycles = self.sc.billing.cycle_days
        if date.day not in cycles:
            return
        cyc = cycles.index(date.day)
        now = day * DAY_S
        month = self.month_of(now)
        pop = self.pop
        members = np.flatnonzero(pop.cycle[: pop.n] == cyc)
        # One uniform per cycle member, active or not, from a stream of this bill run
        # alone: an account's churn draw never depends on how many others left.
        u = self.streams.child("churn", self._bill_runs + 1).random(members.size)
        live = pop.active[members]
        gone = churn_at_bill(pop, members[live], now, self.sc, u[live])
        lifetime = self.sc.economics.lifetime_months
        lost = float(pop.charge[gone].sum())
        self.ledger.churn.append((month, int(gone.size), lost, lost * lifetime))
        self._bill_runs += 1
        rate = error_rate_on(self.sc, date.day, date.toordinal())
        rng = self.streams.child("billing", self._bill_runs)
        bills, draws = bill_run(pop, members, month, rate, self.sc, rng)
        if self.keep_bills:
            self.ledger.bill_rows.append((day, bills.account, bills.amount, bills.flag))
        pop.discount_cost[bills.account] += bills.discount
        pop.revenue[bills.account] += bills.amount
        self.ledger.bills.append(
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
        con = contacts_from_bills(bills, draws, pop, day, self.clock, self.sc)
        handling = self.streams.child("handling", self._bill_runs)
        self.new_calls(con.account, con.reason, con.t, 0, handling, now)

    def forecast_day(self, day: int) -> None:
        """Arrivals of the scenario's explicit volume forecast for this day."""
        fc = self.sc.contact_center.forecast
        if fc is None or not fc.intervals:
            return
        start = dt.datetime.combine(self.sc.calendar.start, dt.time())
        fc_t = np.array([(r.start - start).total_seconds() for r in fc.intervals])
        fc_n = np.array([r.calls for r in fc.intervals])
        lo, hi = day * DAY_S, (day + 1) * DAY_S
        rows = np.flatnonzero((fc_t >= lo) & (fc_t < hi))
        if rows.size == 0:
            return
        rng = self.streams.child("forecast", day)
        width = self.sc.contact_center.interval_minutes * 60.0
        cv = fc.busyness_cv  # a separate stream, drawn only when cv > 0: others never shift
        busy = self.streams.child("busyness", day).gamma(cv**-2, cv**2) if cv > 0 else 1.0
        counts = rng.poisson(fc_n[rows] * busy)
        t = np.repeat(fc_t[rows], counts) + rng.random(counts.sum()) * width
        t = np.minimum(t, self.clock.horizon_s - 1e-6)
        active = np.flatnonzero(self.pop.active[: self.pop.n])
        if active.size == 0 or t.size == 0:
            return
        acct = active[rng.integers(0, active.size, t.size)]
        codes = np.array([REASONS.index(r) for r in fc.reasons])
        probs = np.array(list(fc.reasons.values()), dtype=float)
        reason = codes[rng.choice(codes.size, size=t.size, p=probs / probs.sum())].astype(np.int16)
        self.new_calls(acct, reason, t, ORIGINS.index("forecast"), rng, self.env.now)

    def acquire(self, day: int) -> None:
        date = self.clock.dates[day]
        if day == 0 or date.day != 1:
            return
        rng = self.streams["acquisition"]
        n = int(rng.poisson(self.sc.customers.acquisition_per_month))
        self.pop.add(n, day * DAY_S, rng)
        self.ledger.acquired.append((self.month_of(day * DAY_S), n))

    def run(self, progress: ProgressFn | None) -> RawRun:
        initial = self.pop.n
        n_days = self.clock.n_days
        for day in range(n_days):
            t = day * DAY_S
            if t > self.env.now:
                self.env.run(until=t)
            self.center.settle()
            self.after_calls(day)
            self.acquire(day)
            self.bill_day(day)
            self.forecast_day(day)
            if progress is not None and (day % 7 == 0 or day == n_days - 1):
                progress(day / n_days, f"day {day + 1} of {n_days}")
        self.env.run(until=self.clock.horizon_s)
        self.center.settle()
        self.after_calls(n_days)
        if progress is not None:
            progress(1.0, "done")
        calls = self.center.columns()
        granted = np.zeros(calls["t_arrive"].size)
        if self.discount_granted:
            keys = np.fromiter(self.discount_granted.keys(), dtype=np.int64)
            granted[keys] = np.fromiter(self.discount_granted.values(), dtype=float)
        return RawRun(
            scenario=self.sc,
            seed=self.seed,
            version=__version__,
            clock=self.clock,
            calls=calls,
            customers=self.pop.table(),
            staffing=self.staffing,
            ledger=self.ledger,
            month_starts_s=self.month_starts_s,
            initial_accounts=initial,
            group_names=tuple(self.groups),
            segment_names=tuple(self.pop.segment_names),
            discount_granted=granted,
        )


def run(
    scenario: Scenario,
    seed: int | None = None,
    discount_policy: DiscountPolicy | None = None,
    priority_policy: PriorityPolicy | None = None,
    progress: ProgressFn | None = None,
    staffing_policy: StaffingPolicy | None = None,
    keep_bills: bool = False,
) -> RawRun:
    """The replication itself, returning raw arrays (``simulate`` wraps them as Results)."""
    if discount_policy is not None and not isinstance(discount_policy, DiscountPolicy):
        raise TypeError("discount_policy needs a method discount_pct(ctx) -> array")
    if priority_policy is not None and not isinstance(priority_policy, PriorityPolicy):
        raise TypeError("priority_policy needs n_classes and priority_class(ctx) -> array")
    if staffing_policy is not None and not isinstance(staffing_policy, StaffingPolicy):
        raise TypeError("staffing_policy needs a method agents(load) -> array or None")
    s = scenario.seed if seed is None else int(seed)
    return _Run(scenario, s, discount_policy, priority_policy, staffing_policy, keep_bills).run(
        progress
    )
