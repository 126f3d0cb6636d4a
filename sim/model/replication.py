"""One replication: wire population, billing, contact center and retention; return Results.

The run advances day by day. At each midnight the contact center's state is settled,
the calls that ended since the last midnight are turned into experiences, discounts,
error refunds, plan changes and repeat calls (``after_calls``), and the cycle groups
whose bill date it is churn and are billed, which adds the next wave of calls
(``billing_phase``). Contacts become calls in ``calls``; offers and grants live in
``offers``. This module only wires the phases and runs the day loop; each phase owns
its ledger rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import simpy

from sim.center.engine import CenterConfig, ContactCenter, DrawBuffer
from sim.core.blas import one_blas_thread
from sim.core.codes import REASONS
from sim.core.memory import give_back_free_memory
from sim.core.progress import ProgressFn
from sim.core.rng import Streams
from sim.core.version import __version__
from sim.model.after_calls import after_calls
from sim.model.billing_phase import acquire, bill_day, forecast_day
from sim.model.offers import Offers
from sim.model.sink import CallSink, stream_results
from sim.policies.catalogue import build_discount, build_priority
from sim.policies.context import DiscountPolicy, PriorityPolicy
from sim.policies.staffing import StaffingPolicy
from sim.results import Ledger, RawRun, Results
from sim.scenario import Calendar, Scenario
from sim.scenario.calendar import DAY_S, Clock
from sim.world.billing import ContactMix
from sim.world.population import Population
from sim.world.retention import effect_weights
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
    stream_to: str | Path | None = None,
) -> Results:
    """Run one replication of ``scenario``; ``seed`` defaults to the scenario's seed.

    ``discount_policy``, ``priority_policy`` and ``staffing_policy`` replace the
    scenario's named policies with a researcher's own objects (see sim.policies for
    the protocols). ``keep_bills`` keeps every bill in ``raw.ledger.bill_rows`` for a
    per-bill extract (sim.calibrate.export); off by default, it costs memory.

    ``stream_to`` (a new folder) streams the calls to ``calls.parquet`` as the run goes
    and writes ``customers.parquet`` and the small tables beside it, so memory holds the
    live calls, not the history (sim/model/sink.py). The numbers are those of the run
    in memory; ``calls()`` and ``customers()`` read the files.
    """
    args = (scenario, seed, discount_policy, priority_policy, progress, staffing_policy)
    if stream_to is None:
        return Results(run(*args, keep_bills))
    return stream_results(stream_to, lambda sink: run(*args, keep_bills, sink=sink))


def _month_starts(calendar: Calendar) -> list[dt.date]:
    """First day of each month of the horizon and the day after it (months + 1 dates).

    Month m spans [start + m months, start + (m+1) months), anchored on the start date
    (``Calendar.month_start``), so each month's row, ledger entries and discount budget
    cover one whole month (calendar-month rows gave a horizon starting on the 4th a
    last row that also held the 1st to the 3rd of the month after: +25 % bills).
    """
    return [calendar.month_start(m) for m in range(calendar.months + 1)]


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
        sink: CallSink | None = None,
    ) -> None:
        self.sc = scenario
        self.sink = sink
        self.keep_bills = keep_bills
        self.seed = seed
        self.streams = Streams(seed)
        self.clock = Clock(scenario)
        self.pop = Population(scenario, self.streams["population"])
        cc = scenario.contact_center
        self.groups = [g.name for g in cc.groups]
        discount = discount_policy or build_discount(
            scenario.policies.discount.name, scenario.policies.discount.params
        )
        self.priority = priority_policy or build_priority(
            scenario.policies.priority.name, scenario.policies.priority.params
        )
        self.beta = effect_weights(scenario)
        # share of each reason's calls that the IVR settles (per call in calls.new_calls)
        self.ivr_share = np.array([cc.callers.ivr_self_service.get(r, 0.0) for r in REASONS])
        self.contact_mix = ContactMix.of(scenario)  # bill flag → call chance, reasons
        self.ledger = Ledger()
        self.env = simpy.Environment()
        self.offers = Offers(self, discount)
        routes = []
        for r in REASONS:
            eligible = [i for i, g in enumerate(cc.groups) if r in g.skills]
            routes.append(eligible)
        self.primary = np.array([r[0] for r in routes], dtype=np.int64)
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
            on_answer=self.offers.on_answer,
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
        self.seen = 0
        self.bill_runs = 0

    # ---- helpers ------------------------------------------------------------------

    def month_of(self, t: float) -> int:
        return int(np.searchsorted(self.month_starts_s, t, side="right") - 1)

    def _retrial_patience(self, account: int) -> float:
        return self._patience_buffers[int(self.pop.segment[self.pop.row(account)])].next()

    # ---- the day loop ----------------------------------------------------------------

    def run(self, progress: ProgressFn | None) -> RawRun:
        initial = self.pop.n
        n_days = self.clock.n_days
        for day in range(n_days):
            t = day * DAY_S
            if t > self.env.now:
                self.env.run(until=t)
            self.center.settle()
            after_calls(self, day)
            if self.sink is not None:
                self.sink.day_end(self)
            acquire(self, day)
            bill_day(self, day)
            forecast_day(self, day)
            if progress is not None and (day % 7 == 0 or day == n_days - 1):
                progress(day / n_days, f"day {day + 1} of {n_days}")
            if day % 30 == 29:
                give_back_free_memory()  # see sim/core/memory.py
        self.env.run(until=self.clock.horizon_s)
        self.center.settle()
        after_calls(self, n_days)
        if progress is not None:
            progress(1.0, "done")
        if self.sink is None:
            calls = self.center.columns()
            calls["discount_granted"] = self.offers.granted_column(calls["t_arrive"].size)
            customers = self.pop.table()
        else:
            calls, customers = self.sink.finish(self)
        give_back_free_memory()  # the results' tables are built on top of what is left
        return RawRun(
            scenario=self.sc,
            seed=self.seed,
            version=__version__,
            clock=self.clock,
            calls=calls,
            customers=customers,
            staffing=self.staffing,
            ledger=self.ledger,
            month_starts_s=self.month_starts_s,
            initial_accounts=initial,
            group_names=tuple(self.groups),
            segment_names=tuple(self.pop.segment_names),
            stream=None if self.sink is None else self.sink.folder,
        )


def run(
    scenario: Scenario,
    seed: int | None = None,
    discount_policy: DiscountPolicy | None = None,
    priority_policy: PriorityPolicy | None = None,
    progress: ProgressFn | None = None,
    staffing_policy: StaffingPolicy | None = None,
    keep_bills: bool = False,
    sink: CallSink | None = None,
) -> RawRun:
    """The replication itself, returning raw arrays (``simulate`` wraps them as Results).

    With a ``sink`` calls and customers are written to its folder as the run goes and
    the caller closes it (sim/model/sink.py; ``simulate(stream_to=...)`` does all that).
    """
    if discount_policy is not None and not isinstance(discount_policy, DiscountPolicy):
        raise TypeError("discount_policy needs a method discount_pct(ctx) -> array")
    if priority_policy is not None and not isinstance(priority_policy, PriorityPolicy):
        raise TypeError("priority_policy needs n_classes and priority_class(ctx) -> array")
    if staffing_policy is not None and not isinstance(staffing_policy, StaffingPolicy):
        raise TypeError("staffing_policy needs a method agents(load) -> array or None")
    s = scenario.seed if seed is None else int(seed)
    with one_blas_thread():
        return _Run(
            scenario, s, discount_policy, priority_policy, staffing_policy, keep_bills, sink
        ).run(progress)
