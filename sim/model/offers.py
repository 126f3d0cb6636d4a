"""Discount offers and grants: what the policy offers, what the agent may grant.

Why its own phase: the offer's handling time enters the call (so offering costs agent
capacity), while the grant is decided only once the call was answered (authority of
the answering group or the escalation group, acceptance, the monthly budget). This
phase owns the ledger's ``discounts`` rows and the per-call granted percentages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.codes import EXPERIENCES
from sim.policies.context import CallContext, DiscountPolicy
from sim.policies.discount import DiscountBook, acceptance_probability, grant_discounts

if TYPE_CHECKING:
    from sim.model.replication import _Run


class Offers:
    """Offers per call and account, and the grants of one replication."""

    def __init__(self, run: _Run, policy: DiscountPolicy) -> None:
        self.run = run
        self.policy = policy
        d = run.sc.policies.discount
        auth = d.authority_pct
        self.authority = np.array([auth.get(g, 100.0) for g in run.groups], dtype=float)
        esc = d.escalate_to
        self.escalated_authority = None if esc is None else self.authority[run.groups.index(esc)]
        self.book = DiscountBook(d.budget_per_month)
        # Offer per call id, made when the call is created (NaN: a retrial or transfer
        # copy made by the contact center, which inherits its account's latest offer).
        self.call_offer = np.full(1024, np.nan)
        self.acct_offer = np.zeros(run.pop.capacity)
        self.granted: dict[int, float] = {}

    def decide(self, ctx: CallContext) -> np.ndarray:
        """The policy's offer for each call, decided when the call is created (so the
        time it takes can enter the call's talk time)."""
        offered = np.asarray(self.policy.discount_pct(ctx), dtype=float)
        if offered.shape != (len(ctx),):
            raise ValueError(
                f"discount policy returned shape {offered.shape}, expected ({len(ctx)},)"
            )
        return np.clip(np.nan_to_num(offered), 0.0, 100.0)

    def handling(self, offered: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Extra talk time: offering a discount, plus an escalation when the offer is
        above the (primary) group's authority and ``escalate_to`` is set."""
        d = self.run.sc.policies.discount
        extra = np.where(offered > 0, d.handling_s, 0.0)
        if self.escalated_authority is not None:
            extra += np.where(offered > self.authority[group], d.escalation_s, 0.0)
        return extra

    def record(self, acct: np.ndarray, offered: np.ndarray) -> None:
        first = self.run.center.n_calls
        need = first + offered.size
        if need > self.call_offer.size:
            grown = np.full(max(need, 2 * self.call_offer.size), np.nan)
            grown[: self.call_offer.size] = self.call_offer
            self.call_offer = grown
        self.call_offer[first:need] = offered
        if self.run.pop.capacity > self.acct_offer.size:
            grown = np.zeros(self.run.pop.capacity)
            grown[: self.acct_offer.size] = self.acct_offer
            self.acct_offer = grown
        self.acct_offer[acct] = offered

    def for_calls(self, ids: np.ndarray, acct: np.ndarray) -> np.ndarray:
        offered = np.full(ids.size, np.nan)
        known = ids < self.call_offer.size
        offered[known] = self.call_offer[ids[known]]
        copy = np.isnan(offered)
        offered[copy] = self.acct_offer[acct[copy]]
        return offered

    def grant(
        self,
        a_ids: np.ndarray,
        a_acct: np.ndarray,
        groups: np.ndarray,
        t_answer: np.ndarray,
        month: int,
    ) -> None:
        """Discounts decided by the agent who answered, within authority and budget."""
        offered = self.for_calls(a_ids, a_acct)
        if not offered.any():
            return
        run = self.run
        pop = run.pop
        order = np.argsort(t_answer, kind="stable")
        rng = run.streams["discounts"]
        d = run.sc.policies.discount
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
        if not got.any():
            return
        g_acct = a_acct[order][got]
        pop.discount_pct[g_acct] = pct[got]
        pop.discount_bills_left[g_acct] = d.duration_months
        np.add.at(pop.experience[:, EXPERIENCES.index("discount")], g_acct, 1)
        for cid, p in zip(a_ids[order][got].tolist(), pct[got].tolist(), strict=True):
            self.granted[cid] = p
        committed = pop.charge[g_acct] * pct[got] / 100 * d.duration_months
        np.add.at(pop.discount_committed, g_acct, committed)
        value = float((pop.charge[g_acct] * pct[got] / 100).sum())
        run.ledger.discounts.append((month, int(got.sum()), value * d.duration_months))

    def granted_column(self, n_calls: int) -> np.ndarray:
        """Percent granted per call id (0 for most)."""
        granted = np.zeros(n_calls)
        if self.granted:
            keys = np.fromiter(self.granted.keys(), dtype=np.int64)
            granted[keys] = np.fromiter(self.granted.values(), dtype=float)
        return granted
