"""Bill runs: what each account is charged, which bills are wrong or shocking, who calls.

A bill run touches every active account of one cycle group at once (index arrays), and
turns bills into contacts: the bill's flag (error ≫ shock ≫ routine) and the customer's
segment give the chance of a call, the flag gives the reason mix, and the clock places
the call some days after delivery inside open hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.codes import EXPERIENCES, REASONS
from sim.scenario import Scenario
from sim.scenario.calendar import Clock
from sim.world.population import Population, usage_multiplier

FLAGS: tuple[str, ...] = ("routine", "shock", "error")


@dataclass(frozen=True)
class Bills:
    """One bill run: row k is the bill of the account in population row ``account[k]``
    (``Population.account_id`` gives its id)."""

    account: np.ndarray
    correct: np.ndarray
    """What the account owes: charge × usage + one-off charges."""
    error: np.ndarray
    """Overcharge by a billing error (0 for a correct bill)."""
    discount: np.ndarray
    """Active discount deducted on this bill."""
    flag: np.ndarray
    """Index into FLAGS: 2 error, 1 shock (and no error), 0 routine."""

    @property
    def amount(self) -> np.ndarray:
        return self.correct + self.error - self.discount


def error_rate_on(scenario: Scenario, cycle_day: int, date_ordinal: int) -> float:
    """Error rate of a bill run, raised while a billing incident is active on the cycle."""
    inc = scenario.billing.incident
    if (
        inc is not None
        and cycle_day in inc.cycles
        and inc.start.toordinal() <= date_ordinal <= inc.end.toordinal()
    ):
        return inc.error_rate
    return scenario.billing.error.rate


def bill_run(
    pop: Population,
    cycle_accounts: np.ndarray,
    month: int,
    error_rate: float,
    scenario: Scenario,
    rng: np.random.Generator,
) -> tuple[Bills, dict[str, np.ndarray]]:
    """Bill the active accounts among ``cycle_accounts`` (population rows, as
    ``Population.cycle_members`` gives them) for calendar month ``month``.

    Random numbers are drawn for every account of the cycle, billed or not, and handed
    back in ``draws`` for the contact decision: a customer's bill and call then do not
    depend on how many others churned, which keeps common random numbers exact between
    scenarios that differ only in staffing or policy.
    """
    b = scenario.billing
    n_all = cycle_accounts.size
    usage = usage_multiplier(rng, n_all, b.usage_variation_sd)
    one_off_u = rng.random(n_all)
    one_off = np.where(one_off_u < b.one_off.probability, b.one_off.size.sample(rng, n_all), 0.0)
    error_u = rng.random(n_all)
    error = np.where(error_u < error_rate, b.error.size.sample(rng, n_all), 0.0)
    # call_u, reason_u, day_u, time_u: one call draws the same doubles as four in turn
    uniforms = rng.random(4 * n_all).reshape(4, n_all)
    live = np.flatnonzero(pop.active[cycle_accounts])  # take is ~3x a boolean mask here
    idx = cycle_accounts.take(live)
    uniforms = uniforms.take(live, axis=1)
    draws = dict(zip(("call_u", "reason_u", "day_u", "time_u"), uniforms, strict=True))
    error = error.take(live)
    charge = pop.charge.take(idx)
    correct = charge * usage.take(live) + one_off.take(live)
    left = pop.discount_bills_left.take(idx)
    if left.any():
        discount = np.where(left > 0, charge * pop.discount_pct.take(idx) / 100.0, 0.0)
        pop.discount_bills_left[idx] = np.maximum(left - 1, 0)
    else:  # no discount running in the cycle (the common case): nothing to count down
        discount = np.zeros(idx.size)
    discount = np.minimum(discount, correct + error)
    amount = correct + error - discount
    shock = amount > pop.last_bill.take(idx) * (1 + b.shock_threshold)
    flag = shock.view(np.int8).copy()
    flag[error > 0] = 2
    pop.last_bill[idx] = amount
    pop.pending_error[idx] = error
    # Every shocked customer remembers the shock, whether or not they call about it.
    shocked = idx[flag == 1]
    pop.experience[shocked, EXPERIENCES.index("bill_shock")] += 1
    pop.shock_bills[shocked] += 1
    pop.error_bills[idx[flag == 2]] += 1
    pop.last_problem[idx] = flag > 0
    bills = Bills(account=idx, correct=correct, error=error, discount=discount, flag=flag)
    return bills, draws


@dataclass(frozen=True)
class Contacts:
    account: np.ndarray
    """Population rows, as the bills'."""
    reason: np.ndarray
    flag: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class ContactMix:
    """A scenario's chance of a call and reason mix per bill flag, as arrays: built once
    per run instead of at every bill run."""

    p_flag: np.ndarray
    """Chance of a call by flag (index into FLAGS), before the segment's propensity."""
    codes: tuple[np.ndarray, ...]
    """Per flag: the reason codes of its mix."""
    cum: tuple[np.ndarray, ...]
    """Per flag: cumulative shares of those reasons, normalised to end at 1."""

    @classmethod
    def of(cls, scenario: Scenario) -> ContactMix:
        c = scenario.billing.contact
        p_flag = np.array([c.probability.routine, c.probability.shock, c.probability.error])
        codes, cums = [], []
        for name in FLAGS:
            mix = c.reasons[name]
            codes.append(np.array([REASONS.index(r) for r in mix]))
            cum = np.cumsum(np.array(list(mix.values()), dtype=float))
            cums.append(cum / cum[-1])
        return cls(p_flag=p_flag, codes=tuple(codes), cum=tuple(cums))


def contacts_from_bills(
    bills: Bills,
    draws: dict[str, np.ndarray],
    pop: Population,
    day: int,
    clock: Clock,
    scenario: Scenario,
    mix: ContactMix | None = None,
) -> Contacts:
    """Which bills lead to a call, why, and when (calls after the horizon are dropped);
    ``mix``: the scenario's ``ContactMix`` when the caller keeps one."""
    mix = ContactMix.of(scenario) if mix is None else mix
    propensity = pop.call_propensity.take(pop.segment.take(bills.account))
    p = np.minimum(mix.p_flag.take(bills.flag) * propensity, 1.0)
    calls = draws["call_u"] < p
    acct = bills.account[calls]
    flag = bills.flag[calls]
    u_reason = draws["reason_u"][calls]
    reason = np.empty(acct.size, dtype=np.int16)
    for f, (codes, cum) in enumerate(zip(mix.codes, mix.cum, strict=True)):
        rows = np.flatnonzero(flag == f)
        pick = np.minimum(np.searchsorted(cum, u_reason[rows], side="right"), codes.size - 1)
        reason[rows] = codes[pick]
    delay = scenario.billing.contact.delay_days
    t = clock.contact_times(day, delay, draws["day_u"][calls], draws["time_u"][calls])
    keep = ~np.isnan(t)
    return Contacts(account=acct[keep], reason=reason[keep], flag=flag[keep], t=t[keep])
