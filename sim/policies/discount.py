"""Discount rules and the limits every rule shares (authority, budget, acceptance).

Each rule is a small object with ``discount_pct(ctx)`` working on arrays. Limits that
belong to the operation rather than to the rule -- authority per agent group, the
monthly budget, the customer's acceptance -- are applied in one place
(``grant_discounts``), so every rule, built-in or a researcher's, gets them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sim.core.codes import REASONS
from sim.policies.context import CallContext


def _reason_filter(reasons: list[str] | None) -> list[str]:
    chosen = list(REASONS) if reasons is None else list(reasons)
    unknown = [r for r in chosen if r not in REASONS]
    if unknown:
        raise ValueError(f"unknown reasons {unknown} (valid: {list(REASONS)})")
    return chosen


def _with_save(ctx: CallContext, offer: np.ndarray, save_pct: float) -> np.ndarray:
    """The rule's offer, and to cancel callers at least ``save_pct`` (the save desk's
    offer; it keeps the caller only if it succeeds, see ``retention.save_desk``)."""
    offer = np.asarray(offer, dtype=float)
    if save_pct <= 0:
        return offer
    return np.where(ctx.reason_is("cancel"), np.maximum(offer, save_pct), offer)


# ---- discounts -------------------------------------------------------------------------
# ``PCT_PARAM`` names the parameter a manager moves as "the discount %" (None: the rule
# has none). Every built-in takes ``save_pct``: what it offers callers who call to cancel
# (0: the save desk only talks). The rule's own ``reasons`` do not include ``cancel`` by
# default.


@dataclass(frozen=True)
class NoDiscount:
    """No retention discount; with ``save_pct``, a save offer to cancel callers only."""

    PCT_PARAM: ClassVar[str | None] = None

    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        return _with_save(ctx, np.zeros(len(ctx)), self.save_pct)


@dataclass(frozen=True)
class FlatDiscount:
    """The same discount to every answered caller with one of ``reasons``."""

    PCT_PARAM: ClassVar[str | None] = "pct"

    pct: float = 10.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])
    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        return _with_save(ctx, np.where(ctx.reason_is(*self.reasons), self.pct, 0.0), self.save_pct)


@dataclass(frozen=True)
class TenureDiscount:
    """Loyalty: ``pct_per_year`` of tenure up to ``max_pct``, from ``min_years`` on."""

    PCT_PARAM: ClassVar[str | None] = "max_pct"

    pct_per_year: float = 2.0
    max_pct: float = 20.0
    min_years: float = 1.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])
    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)
        _check_pct("max_pct", self.max_pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        years = ctx.tenure_months / 12
        pct = np.minimum(self.pct_per_year * years, self.max_pct)
        return _with_save(
            ctx,
            np.where(ctx.reason_is(*self.reasons) & (years >= self.min_years), pct, 0.0),
            self.save_pct,
        )


@dataclass(frozen=True)
class ValueDiscount:
    """Keep the valuable: ``pct`` for accounts charged at least ``min_charge`` a month."""

    PCT_PARAM: ClassVar[str | None] = "pct"

    pct: float = 15.0
    min_charge: float = 100.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])
    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is(*self.reasons) & (ctx.charge >= self.min_charge)
        return _with_save(ctx, np.where(hit, self.pct, 0.0), self.save_pct)


@dataclass(frozen=True)
class ChurnRiskDiscount:
    """Target the leaving: ``pct`` when the churn risk is at least ``min_risk``.

    An oracle, kept for comparison: it reads ``ctx.churn_risk``, the model's true hazard,
    which no company observes. Targeting from what a company can see is
    ``sim.policies.targeting`` (a score fitted on simulated history, or uplift from a pilot).
    """

    PCT_PARAM: ClassVar[str | None] = "pct"

    pct: float = 15.0
    min_risk: float = 0.03
    reasons: list[str] | None = None
    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is(*_reason_filter(self.reasons)) & (ctx.churn_risk >= self.min_risk)
        return _with_save(ctx, np.where(hit, self.pct, 0.0), self.save_pct)


@dataclass(frozen=True)
class ErrorCredit:
    """Apologise for a wrong bill: ``goodwill_pct`` for callers with a billing error.

    The error itself is always refunded when the call resolves it; this adds goodwill.
    """

    PCT_PARAM: ClassVar[str | None] = "goodwill_pct"

    goodwill_pct: float = 10.0
    save_pct: float = 0.0

    def __post_init__(self) -> None:
        _check_pct("save_pct", self.save_pct)
        _check_pct("goodwill_pct", self.goodwill_pct)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is("billing_error") | (ctx.error_amount > 0)
        return _with_save(ctx, np.where(hit, self.goodwill_pct, 0.0), self.save_pct)


def _check_pct(name: str, value: float) -> None:
    if not 0 <= value <= 100:
        raise ValueError(f"{name} must be a percentage 0..100 (got {value})")


@dataclass
class DiscountBook:
    """Monthly discount budget: what is committed so far in each month of the horizon
    (month m starts at ``calendar.start`` + m months, see ``Calendar.month_start``)."""

    budget_per_month: float | None
    spent: dict[int, float] = field(default_factory=dict)

    def remaining(self, month: int) -> float:
        if self.budget_per_month is None:
            return float("inf")
        return self.budget_per_month - self.spent.get(month, 0.0)


def grant_discounts(
    offered_pct: np.ndarray,
    group: np.ndarray,
    authority_pct: np.ndarray,
    accepted: np.ndarray | Callable[[np.ndarray], np.ndarray],
    monthly_cost: np.ndarray,
    duration_months: int,
    month: int,
    book: DiscountBook,
    escalated_authority: float | None = None,
) -> np.ndarray:
    """Percent actually granted per call, in call order.

    An offer above the answering group's authority is capped at that authority, or,
    when ``escalated_authority`` is given (``policies.discount.escalate_to``), escalated
    and granted up to the larger of the two authorities (the escalation's extra talk
    time was added when the call was created). A customer may decline (``accepted``:
    booleans, or a function of the percent after the authority cap, so that acceptance
    can depend on what is actually offered); once this month's committed cost (monthly
    value × duration) would exceed the budget, no further discount is granted this month.
    """
    offered = np.clip(offered_pct, 0, 100)
    auth = authority_pct[group]
    if escalated_authority is not None:
        auth = np.where(offered > auth, np.maximum(auth, escalated_authority), auth)
    pct = np.minimum(offered, auth)
    if callable(accepted):
        accepted = accepted(pct)
    pct = np.where(accepted, pct, 0.0)
    commitment = monthly_cost * pct / 100 * duration_months
    if book.budget_per_month is not None and pct.any():
        within = np.cumsum(commitment) <= book.remaining(month) + 1e-9
        pct = np.where(within, pct, 0.0)
        commitment = np.where(within, commitment, 0.0)
    book.spent[month] = book.spent.get(month, 0.0) + float(commitment.sum())
    return pct


def acceptance_probability(pct: np.ndarray, choice: Any) -> np.ndarray:
    """Chance that a customer takes an offer of ``pct`` percent.

    ``policies.discount.accept_probability`` alone: the same for every offer. With
    ``accept_half_pct``, larger offers are taken more readily, saturating at
    ``accept_probability``: P = accept_probability · (1 − 2^(−pct / accept_half_pct)),
    so an offer of ``accept_half_pct`` percent is taken half as often as a very large one.
    """
    p = np.full(np.shape(pct), float(choice.accept_probability))
    half = getattr(choice, "accept_half_pct", None)
    if half:
        p = p * (1.0 - np.power(0.5, np.asarray(pct, dtype=float) / half))
    return p
