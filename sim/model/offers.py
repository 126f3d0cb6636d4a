"""Discount offers and grants: what the policy offers, what the agent may grant.

Why its own phase: the offer is decided during the call, when the answering group and
the outcome are known, and its handling time occupies that agent (the engine's
``on_answer`` hook); the grant is booked at the next midnight (authority of
the answering group or the escalation group, acceptance, the monthly budget). This
phase owns the ledger's ``discounts`` rows and the per-call granted percentages.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

import numpy as np

from sim.core.codes import CANCEL, EXPERIENCES
from sim.policies.context import CallContext, DiscountPolicy
from sim.policies.discount import DiscountBook, acceptance_probability, grant_discounts
from sim.world.retention import discount_response, save_probability

if TYPE_CHECKING:
    from sim.model.replication import _Run


class Offers:
    """Offers per call (for every answering group and outcome) and the grants."""

    def __init__(self, run: _Run, policy: DiscountPolicy) -> None:
        self.run = run
        self.policy = policy
        d = run.sc.policies.discount
        auth = d.authority_pct
        self.authority = np.array([auth.get(g, 100.0) for g in run.groups], dtype=float)
        esc = d.escalate_to
        self.escalated_authority = None if esc is None else self.authority[run.groups.index(esc)]
        self.book = DiscountBook(d.budget_per_month)
        self.response = np.array([s.discount_response for s in run.sc.customers.segments])
        n_groups = len(run.groups)
        # The policy's offer of each planned call for every (answering group, outcome):
        # asked when the call is created, looked up when it is answered (``on_answer``),
        # so the policy sees the true group and outcome and the talk time is known as
        # service starts. A retrial or transfer copy made by the contact center uses the
        # latest plan of its account. Only plans that offer something take a row: most
        # calls are offered nothing, and a year of a million accounts makes millions of
        # calls. ``call_row`` (one int per call id, unboxed) holds the row, _NO_OFFER, or
        # _COPY for a copy, which looks up its account's latest plan in ``acct_row``.
        self.table = np.zeros((1024, n_groups, 2))
        self.call_row = array("i")
        self.acct_row = np.full(run.pop.capacity, _NO_OFFER, dtype=np.int32)
        self.rows = 0
        self._plans_kept = 0  # plans left after the last compaction (streamed runs)
        self.granted: dict[int, float] = {}

    def plan(self, ctx: CallContext) -> np.ndarray:
        """Offers of calls ``ctx`` as a table [call, answering group, resolved]."""
        n, n_groups = len(ctx), self.authority.size
        out = np.zeros((n, n_groups, 2))
        for g in range(n_groups):
            for outcome in (0, 1):
                asked = _answered_by(ctx, np.full(n, g), np.full(n, bool(outcome)))
                offered = np.asarray(self.policy.discount_pct(asked), dtype=float)
                if offered.shape != (n,):
                    raise ValueError(
                        f"discount policy returned shape {offered.shape}, expected ({n},)"
                    )
                if offered.any():  # NaN counts as true here, so it is cleaned below
                    offered = np.clip(np.nan_to_num(offered), 0.0, 100.0)
                # else every offer is ±0 (most calls, most policies), which the cleaning
                # would leave as it is
                out[:, g, outcome] = offered
        return out

    def record(self, acct: np.ndarray, table: np.ndarray) -> None:
        """Keep the plans of the calls about to be added (in call-id order)."""
        n = acct.size
        first = self.run.center.n_calls
        has = table.reshape(n, -1).any(axis=1)
        k = int(has.sum())
        rows = np.full(n, _NO_OFFER, dtype=np.int32)
        rows[has] = np.arange(self.rows, self.rows + k)
        self.table = _grown(self.table, self.rows + k, 0.0)
        self.table[self.rows : self.rows + k] = table[has]
        self.rows += k
        gap = first - len(self.call_row)  # calls the contact center copied since
        self.call_row.frombytes(memoryview(np.full(gap, _COPY, dtype=np.int32)).cast("B"))
        self.call_row.frombytes(memoryview(rows).cast("B"))
        self.acct_row = _grown(self.acct_row, self.run.pop.capacity, _NO_OFFER)
        self.acct_row[acct] = rows

    def _rows(self, ids: np.ndarray, acct: np.ndarray) -> np.ndarray:
        rows = np.full(ids.size, _COPY, dtype=np.int64)
        known = ids < len(self.call_row)
        rows[known] = np.frombuffer(self.call_row, dtype=np.int32)[ids[known]]
        copy = rows == _COPY
        rows[copy] = self.acct_row[acct[copy]]
        return rows

    def for_calls(
        self, ids: np.ndarray, acct: np.ndarray, group: np.ndarray, resolved: np.ndarray
    ) -> np.ndarray:
        """Offer made in answered calls ``ids`` by their group, given their outcome."""
        rows = self._rows(ids, acct)
        out = self.table[np.maximum(rows, 0), group, resolved.astype(np.int64)]
        return np.where(rows >= 0, out, 0.0)

    def on_answer(self, cid: int, group: int, resolved: bool) -> float:
        """Engine hook: talk seconds the offer adds once the call is answered (scalar
        path: it runs once per answered call inside the event loop)."""
        if not self.rows:  # no plan has offered anything yet (a policy that never offers)
            return 0.0
        call_row = self.call_row
        row = call_row[cid] if cid < len(call_row) else _COPY
        if row == _COPY:
            row = int(self.acct_row[self.run.center.account[cid]])
        if row < 0:
            return 0.0
        offered = self.table[row, group, int(resolved)]
        if offered <= 0:
            return 0.0
        d = self.run.sc.policies.discount
        extra = d.handling_s
        if self.escalated_authority is not None and offered > self.authority[group]:
            extra += d.escalation_s
        return float(extra)

    def grant(
        self,
        a_ids: np.ndarray,
        a_acct: np.ndarray,
        groups: np.ndarray,
        resolved: np.ndarray,
        t_answer: np.ndarray,
        month: int,
        reason: np.ndarray | None = None,
    ) -> None:
        """Discounts decided by the agent who answered, within authority and budget.

        A cancel call of an account still set to leave is a save attempt: the caller
        stays with ``save_probability`` of the offer after authority (which replaces
        the ordinary acceptance); a save's discount is granted like any other and a
        save whose offer the budget cannot fund falls back to the no-offer chance.
        """
        offered = self.for_calls(a_ids, a_acct, groups, resolved)
        run = self.run
        pop = run.pop
        a_row = pop.row(a_acct)  # the population's arrays are read by row
        save = np.zeros(a_ids.size, dtype=bool)
        if reason is not None:
            save = (reason == CANCEL) & pop.cancel_pending[a_row]
        if not offered.any() and not save.any():
            return
        order = np.argsort(t_answer, kind="stable")
        d = run.sc.policies.discount
        accept_u = (
            run.streams["discounts"].random(order.size) if offered.any() else np.ones(order.size)
        )
        save_o = save[order]
        save_u = run.streams["saves"].random(order.size) if save.any() else np.ones(order.size)

        def accepted(pct: np.ndarray, u: np.ndarray = accept_u) -> np.ndarray:
            taken = u < acceptance_probability(pct, d)
            return np.where(save_o, save_u < save_probability(pct, run.sc), taken)

        pct = grant_discounts(
            offered[order],
            groups[order],
            self.authority,
            accepted,
            pop.charge[a_row[order]],
            d.duration_months,
            month,
            self.book,
            escalated_authority=self.escalated_authority,
        )
        got = pct > 0
        if save.any():
            saved = save_o & (save_u < save_probability(pct, run.sc))
            s_row = a_row[order][saved]
            pop.cancel_pending[s_row] = False
            pop.saved[s_row] += 1
            cost = pop.charge[s_row] * pct[saved] / 100 * d.duration_months
            run.ledger.saves.append((month, int(save.sum()), int(saved.sum()), float(cost.sum())))
        if not got.any():
            return
        g_row = a_row[order][got]
        pop.discount_pct[g_row] = pct[got]
        pop.discount_bills_left[g_row] = d.duration_months
        response = discount_response(pct[got], d.duration_months, run.sc)
        response = response * self.response[pop.segment[g_row]]
        np.add.at(pop.experience[:, EXPERIENCES.index("discount")], g_row, response)
        for cid, p in zip(a_ids[order][got].tolist(), pct[got].tolist(), strict=True):
            self.granted[cid] = p
        committed = pop.charge[g_row] * pct[got] / 100 * d.duration_months
        np.add.at(pop.discount_committed, g_row, committed)
        value = float((pop.charge[g_row] * pct[got] / 100).sum())
        run.ledger.discounts.append((month, int(got.sum()), value * d.duration_months))

    def take_granted(self, ids: np.ndarray) -> np.ndarray:
        """Percent granted in calls ``ids`` (sorted; 0 for most), forgotten here: a
        streamed run writes them with their calls (sim/model/sink.py)."""
        out = np.zeros(ids.size)
        if not self.granted or not ids.size:
            return out
        keys = np.fromiter(self.granted, dtype=np.int64, count=len(self.granted))
        at = np.minimum(np.searchsorted(ids, keys), ids.size - 1)
        hit = ids[at] == keys
        out[at[hit]] = [self.granted.pop(k) for k in keys[hit].tolist()]
        return out

    def compact(self, new_row: np.ndarray) -> None:
        """Follow the contact center's renumbering of its calls (``ContactCenter.compact``).

        Plans of calls that are gone are dropped once they are half the table: a plan
        stays while a live call or its account (the latest plan, for retrials) names it.
        """
        kept = np.flatnonzero(new_row >= 0)
        old = np.frombuffer(self.call_row, dtype=np.int32)
        rows = np.full(kept.size, _COPY, dtype=np.int32)  # ids past the log are copies
        known = kept < old.size
        rows[new_row[kept[known]]] = old[kept[known]]
        self.granted = {int(new_row[k]): p for k, p in self.granted.items() if new_row[k] >= 0}
        if self.rows >= 2 * self._plans_kept + 1024:
            used = np.zeros(self.rows, dtype=bool)
            for ref in (rows, self.acct_row):
                used[ref[ref >= 0]] = True
            index = (np.cumsum(used) - 1).astype(np.int32)
            self.table = self.table[: self.rows][used]
            rows = np.where(rows >= 0, index[np.maximum(rows, 0)], rows).astype(np.int32)
            acct = self.acct_row
            self.acct_row = np.where(acct >= 0, index[np.maximum(acct, 0)], acct).astype(np.int32)
            self.rows = self._plans_kept = int(used.sum())
        self.call_row = array("i")
        self.call_row.frombytes(memoryview(rows).cast("B"))

    def granted_column(self, n_calls: int) -> np.ndarray:
        """Percent granted per call id (0 for most)."""
        granted = np.zeros(n_calls)
        if self.granted:
            keys = np.fromiter(self.granted.keys(), dtype=np.int64)
            granted[keys] = np.fromiter(self.granted.values(), dtype=float)
        return granted


_NO_OFFER = -2
"""``call_row``/``acct_row`` value: the plan offers nothing in any group or outcome."""
_COPY = -1
"""``call_row`` value: a call copied by the contact center; its account's plan applies."""


def _answered_by(ctx: CallContext, group: np.ndarray, resolved: np.ndarray) -> CallContext:
    """``dataclasses.replace(ctx, group=group, resolved=resolved)`` without running the
    generated ``__init__`` over all ~20 fields again (four times per batch of calls; a
    CallContext has no ``__post_init__`` to run)."""
    asked = object.__new__(type(ctx))
    asked.__dict__.update(ctx.__dict__, group=group, resolved=resolved)
    return asked


def _grown(a: np.ndarray, need: int, fill: float) -> np.ndarray:
    """``a`` with at least ``need`` rows (doubling), new rows set to ``fill``."""
    if need <= a.shape[0]:
        return a
    out = np.full((max(need, 2 * a.shape[0]), *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
