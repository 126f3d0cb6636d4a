"""Built-in policies by name: the scenario's ``policies.*.name`` and ``params`` resolved.

An unknown name or parameter is an error listing the valid ones; the scenario calls
``check_policy_choices`` when it is validated, so a bad choice fails at load time.
"""

from __future__ import annotations

import inspect
from typing import Any

from sim.policies.context import DiscountPolicy, PriorityPolicy
from sim.policies.discount import (
    ChurnRiskDiscount,
    ErrorCredit,
    FlatDiscount,
    NoDiscount,
    TenureDiscount,
    ValueDiscount,
)
from sim.policies.priority import Fifo, RiskFirst, ValueFirst
from sim.policies.staffing import (
    ErlangAStaffing,
    ErlangCStaffing,
    FixedStaffing,
    IntervalStaffing,
    SqrtStaffing,
    StaffingPolicy,
)

DISCOUNTS: dict[str, type] = {
    "none": NoDiscount,
    "flat": FlatDiscount,
    "tenure_based": TenureDiscount,
    "value_based": ValueDiscount,
    "churn_risk_targeted": ChurnRiskDiscount,
    "error_credit": ErrorCredit,
}
PRIORITIES: dict[str, type] = {"fifo": Fifo, "value_first": ValueFirst, "risk_first": RiskFirst}

STAFFING: dict[str, type] = {
    "fixed": FixedStaffing,
    "erlang_c": ErlangCStaffing,
    "erlang_a": ErlangAStaffing,
    "sqrt": SqrtStaffing,
    "table": IntervalStaffing,
}
"""Staffing rules: 'fixed' uses the groups' head counts and shifts as written; the
others staff every interval for the forecast load (sim.world.forecast)."""


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
    ``sim.scenario.calendar.n_intervals``; ``horizon`` says how it follows from the scenario), a
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
