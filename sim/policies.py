"""Pluggable decisions: who gets a discount, which caller goes first, how many agents.

Each policy is a small object with one decision method that works on arrays, one row
per call, so a policy costs one numpy expression per batch instead of a Python call per
caller. Built-ins are chosen by name in the scenario (``policies.discount.name``); a
researcher passes an object with the same method to ``simulate()`` instead.

Limits that belong to the operation rather than to the rule (authority per agent group,
the monthly budget, the customer's acceptance) are applied here too, in one place
(``grant_discounts``), so every rule gets them alike.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sim.scenario import REASONS


@dataclass(frozen=True)
class CallContext:
    """What an agent sees on the account screen, one row per call."""

    reason: np.ndarray
    """Reason codes, index into ``REASONS``."""
    segment: np.ndarray
    charge: np.ndarray
    tenure_months: np.ndarray
    churn_risk: np.ndarray
    """Monthly churn probability the account would have at its next bill."""
    error_amount: np.ndarray
    resolved: np.ndarray
    group: np.ndarray
    segment_names: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()

    def reason_is(self, *names: str) -> np.ndarray:
        codes = [REASONS.index(n) for n in names]
        return np.isin(self.reason, codes)

    def __len__(self) -> int:
        return int(self.reason.size)


@runtime_checkable
class DiscountPolicy(Protocol):
    """Percent of the plan charge offered to each answered caller (0 = none)."""

    def discount_pct(self, ctx: CallContext) -> np.ndarray: ...


@runtime_checkable
class PriorityPolicy(Protocol):
    """Queue class of each caller: 0 is served first; ``n_classes`` classes in all."""

    n_classes: int

    def priority_class(self, ctx: CallContext) -> np.ndarray: ...


def _reason_filter(reasons: list[str] | None) -> list[str]:
    chosen = list(REASONS) if reasons is None else list(reasons)
    unknown = [r for r in chosen if r not in REASONS]
    if unknown:
        raise ValueError(f"unknown reasons {unknown} (valid: {list(REASONS)})")
    return chosen


# ---- discounts -------------------------------------------------------------------------


@dataclass(frozen=True)
class NoDiscount:
    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        return np.zeros(len(ctx))


@dataclass(frozen=True)
class FlatDiscount:
    """The same discount to every answered caller with one of ``reasons``."""

    pct: float = 10.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])

    def __post_init__(self) -> None:
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        return np.where(ctx.reason_is(*self.reasons), self.pct, 0.0)


@dataclass(frozen=True)
class TenureDiscount:
    """Loyalty: ``pct_per_year`` of tenure up to ``max_pct``, from ``min_years`` on."""

    pct_per_year: float = 2.0
    max_pct: float = 20.0
    min_years: float = 1.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])

    def __post_init__(self) -> None:
        _check_pct("max_pct", self.max_pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        years = ctx.tenure_months / 12
        pct = np.minimum(self.pct_per_year * years, self.max_pct)
        return np.where(ctx.reason_is(*self.reasons) & (years >= self.min_years), pct, 0.0)


@dataclass(frozen=True)
class ValueDiscount:
    """Keep the valuable: ``pct`` for accounts charged at least ``min_charge`` a month."""

    pct: float = 15.0
    min_charge: float = 100.0
    reasons: list[str] = field(default_factory=lambda: ["high_bill", "plan_change"])

    def __post_init__(self) -> None:
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is(*self.reasons) & (ctx.charge >= self.min_charge)
        return np.where(hit, self.pct, 0.0)


@dataclass(frozen=True)
class ChurnRiskDiscount:
    """Target the leaving: ``pct`` when the churn risk is at least ``min_risk``."""

    pct: float = 15.0
    min_risk: float = 0.03
    reasons: list[str] | None = None

    def __post_init__(self) -> None:
        _check_pct("pct", self.pct)
        _reason_filter(self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is(*_reason_filter(self.reasons)) & (ctx.churn_risk >= self.min_risk)
        return np.where(hit, self.pct, 0.0)


@dataclass(frozen=True)
class ErrorCredit:
    """Apologise for a wrong bill: ``goodwill_pct`` for callers with a billing error.

    The error itself is always refunded when the call resolves it; this adds goodwill.
    """

    goodwill_pct: float = 10.0

    def __post_init__(self) -> None:
        _check_pct("goodwill_pct", self.goodwill_pct)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = ctx.reason_is("billing_error") | (ctx.error_amount > 0)
        return np.where(hit, self.goodwill_pct, 0.0)


def _check_pct(name: str, value: float) -> None:
    if not 0 <= value <= 100:
        raise ValueError(f"{name} must be a percentage 0..100 (got {value})")


# ---- priorities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fifo:
    n_classes: int = 1

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.zeros(len(ctx), dtype=np.int64)


@dataclass(frozen=True)
class ValueFirst:
    """Accounts charged at least ``min_charge`` a month jump the queue."""

    min_charge: float = 100.0
    n_classes: int = 2

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.where(ctx.charge >= self.min_charge, 0, 1)


@dataclass(frozen=True)
class RiskFirst:
    """Accounts whose churn risk is at least ``min_risk`` jump the queue."""

    min_risk: float = 0.03
    n_classes: int = 2

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.where(ctx.churn_risk >= self.min_risk, 0, 1)


DISCOUNTS: dict[str, type] = {
    "none": NoDiscount,
    "flat": FlatDiscount,
    "tenure_based": TenureDiscount,
    "value_based": ValueDiscount,
    "churn_risk_targeted": ChurnRiskDiscount,
    "error_credit": ErrorCredit,
}
PRIORITIES: dict[str, type] = {"fifo": Fifo, "value_first": ValueFirst, "risk_first": RiskFirst}
STAFFING: tuple[str, ...] = ("fixed",)
"""Staffing rules: 'fixed' uses the groups' head counts and shifts as written."""


def _build(kind: str, registry: dict[str, type], name: str, params: dict[str, Any]) -> Any:
    if name not in registry:
        raise ValueError(
            f"policies.{kind}.name: unknown policy '{name}' (valid: {', '.join(registry)})"
        )
    cls = registry[name]
    accepted = [p for p in inspect.signature(cls).parameters if p != "n_classes"]
    unknown = [p for p in params if p not in accepted]
    if unknown:
        raise ValueError(
            f"policies.{kind}.params: unknown parameter {unknown} for '{name}' "
            f"(accepts: {', '.join(accepted) or 'none'})"
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"policies.{kind}.params: {exc}") from None


def build_discount(name: str, params: dict[str, Any]) -> DiscountPolicy:
    return _build("discount", DISCOUNTS, name, params)


def build_priority(name: str, params: dict[str, Any]) -> PriorityPolicy:
    return _build("priority", PRIORITIES, name, params)


def check_policy_choices(policies: Any) -> None:
    """Build each named policy once so that a bad name or parameter fails validation."""
    build_discount(policies.discount.name, policies.discount.params)
    build_priority(policies.priority.name, policies.priority.params)
    if policies.staffing.name not in STAFFING:
        raise ValueError(
            f"policies.staffing.name: unknown policy '{policies.staffing.name}' "
            f"(valid: {', '.join(STAFFING)})"
        )


# ---- operational limits on discounts ----------------------------------------------------


@dataclass
class DiscountBook:
    """Monthly discount budget: what is committed so far in each calendar month."""

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
    accepted: np.ndarray,
    monthly_cost: np.ndarray,
    duration_months: int,
    month: int,
    book: DiscountBook,
) -> np.ndarray:
    """Percent actually granted per call, in call order.

    An offer above the answering group's authority is capped at that authority; a
    customer may decline; once this month's committed cost (monthly value × duration)
    would exceed the budget, no further discount is granted this month.
    """
    pct = np.minimum(np.clip(offered_pct, 0, 100), authority_pct[group])
    pct = np.where(accepted, pct, 0.0)
    commitment = monthly_cost * pct / 100 * duration_months
    if book.budget_per_month is not None and pct.any():
        within = np.cumsum(commitment) <= book.remaining(month) + 1e-9
        pct = np.where(within, pct, 0.0)
        commitment = np.where(within, commitment, 0.0)
    book.spent[month] = book.spent.get(month, 0.0) + float(commitment.sum())
    return pct
