"""Pluggable decisions: who gets a discount, which caller goes first, how many agents.

Each policy is a small object with one decision method that works on arrays, one row
per call, so a policy costs one numpy expression per batch instead of a Python call per
caller. Built-ins are chosen by name in the scenario (``policies.discount.name``); a
researcher passes an object with the same method to ``simulate()`` instead.

- discount: ``discount_pct(ctx) -> percent per call``, decided when the call is created
  (so that offering it, ``policies.discount.handling_s``, and escalating it,
  ``escalation_s``, lengthen the call's talk time); granted after the call is answered.
- priority: ``priority_class(ctx) -> queue class per call``.
- staffing: ``agents(load) -> agents on duty per (group, interval)`` for the planner's
  forecast (sim.forecast), or None to keep the scenario's shifts.

Limits that belong to the operation rather than to the rule (authority per agent group,
the monthly budget, the customer's acceptance) are applied here too, in one place
(``grant_discounts``), so every rule gets them alike.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from sim.erlang import sqrt_staffing, staff_intervals
from sim.scenario import REASONS

if TYPE_CHECKING:
    from sim.forecast import ForecastLoad


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

# ---- staffing -------------------------------------------------------------------------------


@runtime_checkable
class StaffingPolicy(Protocol):
    """Agents on duty per group and interval for a forecast load.

    ``agents(load)`` returns whole agents *on the phones* (after shrinkage), shape
    ``load.calls.shape`` = (groups, intervals), or ``None`` to keep the shifts written
    in the scenario. ``sim.staffing`` turns the array into step functions (only during
    open hours) and pays ``ceil(on_duty / (1 - shrinkage))`` scheduled agents.
    """

    def agents(self, load: ForecastLoad) -> np.ndarray | None: ...


@dataclass(frozen=True)
class FixedStaffing:
    """The groups' head counts and shifts as written in the scenario (no forecast used)."""

    def agents(self, load: ForecastLoad) -> np.ndarray | None:
        return None


_CALL_GRAIN = 0.02
"""Expected calls per interval are rounded *up* to this grain before the Erlang search,
so the thousands of intervals of a quarter share a few hundred computations."""


def _per_group(load: ForecastLoad, staff) -> np.ndarray:
    out = np.zeros(load.calls.shape, dtype=np.int64)
    grain = _CALL_GRAIN / load.interval_s
    for g in range(load.calls.shape[0]):
        lam = np.ceil(load.rate_per_s[g] / grain - 1e-9) * grain
        out[g] = staff(g, np.maximum(lam, 0.0))
    return out


def _open_floor(load: ForecastLoad, agents: np.ndarray, min_agents: int) -> np.ndarray:
    """At least ``min_agents`` whenever open (somebody answers retrials and stragglers)."""
    if min_agents <= 0:
        return agents
    return np.where(load.open_share[None, :] > 0, np.maximum(agents, min_agents), agents)


def _check_target(target: float | None) -> None:
    if target is not None and (not isinstance(target, int | float) or not 0 < target < 1):
        raise ValueError(f"target must lie strictly between 0 and 1 (got {target})")


@dataclass(frozen=True)
class ErlangCStaffing:
    """Fewest agents per interval whose Erlang C (M/M/c) service level reaches the target.

    ``target``/``threshold_s`` default to ``contact_center.service_level``. Erlang C
    ignores abandonment, so it over-staffs a little where callers hang up.
    """

    target: float | None = None
    threshold_s: float | None = None
    min_agents: int = 1

    def __post_init__(self) -> None:
        _check_target(self.target)

    def agents(self, load: ForecastLoad) -> np.ndarray:
        t = self.target or load.sl_target
        thr = self.threshold_s or load.threshold_s

        def staff(g: int, lam: np.ndarray) -> np.ndarray:
            return staff_intervals(lam, float(load.aht_s[g]), t, thr, "erlang_c")

        return _open_floor(load, _per_group(load, staff), self.min_agents)


@dataclass(frozen=True)
class ErlangAStaffing:
    """Fewest agents per interval meeting the Erlang A (M/M/c+M) service level, with the
    callers' mean patience (segments weighted by their share of calls), and an optional
    cap on the abandonment probability."""

    target: float | None = None
    threshold_s: float | None = None
    max_abandon: float | None = None
    min_agents: int = 1

    def __post_init__(self) -> None:
        _check_target(self.target)
        if self.max_abandon is not None and not 0 < self.max_abandon <= 1:
            raise ValueError(f"max_abandon must lie in (0, 1] (got {self.max_abandon})")

    def agents(self, load: ForecastLoad) -> np.ndarray:
        t = self.target or load.sl_target
        thr = self.threshold_s or load.threshold_s

        def staff(g: int, lam: np.ndarray) -> np.ndarray:
            return staff_intervals(
                lam,
                float(load.aht_s[g]),
                t,
                thr,
                "erlang_a",
                float(load.patience_s[g]),
                max_abandon=self.max_abandon,
            )

        return _open_floor(load, _per_group(load, staff), self.min_agents)


@dataclass(frozen=True)
class SqrtStaffing:
    """Square-root safety staffing ``ceil(a + beta·sqrt(a))`` per interval (Halfin-Whitt):
    beta ≈ 0.5-1 for a quality-and-efficiency-driven operation, higher for quality."""

    beta: float = 1.0
    min_agents: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.beta, int | float) or not math.isfinite(self.beta):
            raise ValueError(f"beta must be a finite number (got {self.beta})")

    def agents(self, load: ForecastLoad) -> np.ndarray:
        out = np.zeros(load.calls.shape, dtype=np.int64)
        for g in range(out.shape[0]):
            aht = float(load.aht_s[g])
            out[g] = [sqrt_staffing(x, aht, self.beta) for x in load.rate_per_s[g].tolist()]
        return _open_floor(load, out, self.min_agents)


@dataclass(frozen=True)
class IntervalStaffing:
    """A given table: ``agents_by_group[group]`` = agents on duty per interval of the
    horizon (e.g. the optimiser's answer, ``sim.optimise.StaffingResult.policy()``).

    Every group needs a list with one whole number per interval of the horizon
    (``sim.clock.n_intervals``): a group left out would silently get no agents at all,
    so it is an error rather than a default. Scenario validation checks this
    (``check``), so a bad table fails ``billsim validate``, not the run.
    """

    agents_by_group: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.agents_by_group, dict):
            raise ValueError(
                "agents_by_group must map each group name to its agents per interval "
                f"(got {type(self.agents_by_group).__name__})"
            )
        for g, row in self.agents_by_group.items():
            if isinstance(row, np.ndarray):
                row = row.tolist()
            if not isinstance(row, list | tuple):
                raise ValueError(
                    f"agents_by_group['{g}'] must be a list of agents per interval "
                    f"(got {type(row).__name__})"
                )
            for i, a in enumerate(row):
                whole = isinstance(a, int | float | np.integer | np.floating) and not isinstance(
                    a, bool
                )
                if not whole or not math.isfinite(a) or not float(a).is_integer() or a < 0:
                    raise ValueError(
                        f"agents for '{g}' must be whole numbers >= 0 (interval {i}: {a!r})"
                    )

    def check(
        self, group_names: tuple[str, ...] | list[str], n_intervals: int, why: str = ""
    ) -> None:
        """Raise ValueError naming ``policies.staffing.params`` unless the table names
        exactly the scenario's groups, each with ``n_intervals`` entries (``why``, if
        given, says how the horizon's count follows from the scenario)."""
        where = "policies.staffing.params"
        names = list(group_names)
        unknown = [g for g in self.agents_by_group if g not in names]
        if unknown:
            raise ValueError(f"{where}: unknown group {unknown} (groups are {names})")
        missing = [g for g in names if g not in self.agents_by_group]
        if missing:
            raise ValueError(
                f"{where}: agents_by_group has no agents for group {missing}; the 'table' "
                f"rule needs a list of agents on duty per interval for every group {names}"
            )
        for name in names:
            n = len(self.agents_by_group[name])
            if n != n_intervals:
                raise ValueError(
                    f"{where}: '{name}' has {n} intervals, the horizon has "
                    f"{n_intervals}{f' ({why})' if why else ''}"
                )

    def agents(self, load: ForecastLoad) -> np.ndarray:
        n_g, n_i = load.calls.shape
        self.check(load.group_names, n_i)
        out = np.zeros((n_g, n_i), dtype=np.int64)
        for g, name in enumerate(load.group_names):
            out[g] = np.asarray(self.agents_by_group[name], dtype=np.int64)
        return out


STAFFING: dict[str, type] = {
    "fixed": FixedStaffing,
    "erlang_c": ErlangCStaffing,
    "erlang_a": ErlangAStaffing,
    "sqrt": SqrtStaffing,
    "table": IntervalStaffing,
}
"""Staffing rules: 'fixed' uses the groups' head counts and shifts as written; the
others staff every interval for the forecast load (sim.forecast)."""


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


def build_staffing(name: str, params: dict[str, Any]) -> StaffingPolicy:
    return _build("staffing", STAFFING, name, params)


def check_policy_choices(
    policies: Any,
    group_names: list[str] | None = None,
    n_intervals: int | None = None,
    horizon: str = "",
) -> None:
    """Build each named policy once so that a bad name or parameter fails validation.

    With ``group_names`` and ``n_intervals`` (the horizon's interval count,
    ``sim.clock.n_intervals``; ``horizon`` says how it follows from the scenario), a
    'table' staffing rule must also fit the scenario, else it would only fail at run time.
    """
    build_discount(policies.discount.name, policies.discount.params)
    build_priority(policies.priority.name, policies.priority.params)
    staffing = build_staffing(policies.staffing.name, policies.staffing.params)
    if (
        isinstance(staffing, IntervalStaffing)
        and group_names is not None
        and n_intervals is not None
    ):
        staffing.check(group_names, n_intervals, horizon)
    esc = getattr(policies.discount, "escalate_to", None)
    if esc is not None and group_names is not None and esc not in group_names:
        raise ValueError(
            f"policies.discount.escalate_to: unknown group '{esc}' "
            f"(groups are {sorted(group_names)})"
        )


# ---- operational limits on discounts ----------------------------------------------------


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
