"""Policies layer: pluggable decisions on arrays -- discounts, queue priority, staffing.

Each policy is a small object with one decision method; built-ins are chosen by name in
the scenario (``sim.policies.catalogue``), a researcher's object is passed to
``simulate()`` instead.
"""

from sim.policies.catalogue import (
    DISCOUNTS,
    PRIORITIES,
    STAFFING,
    build_discount,
    build_priority,
    build_staffing,
    check_policy_choices,
)
from sim.policies.context import CallContext, DiscountPolicy, PriorityPolicy
from sim.policies.discount import (
    ChurnRiskDiscount,
    DiscountBook,
    ErrorCredit,
    FlatDiscount,
    NoDiscount,
    TenureDiscount,
    ValueDiscount,
    acceptance_probability,
    grant_discounts,
)
from sim.policies.load import ForecastLoad
from sim.policies.priority import Fifo, RiskFirst, ValueFirst
from sim.policies.staffing import (
    ErlangAStaffing,
    ErlangCStaffing,
    FixedStaffing,
    IntervalStaffing,
    SqrtStaffing,
    StaffingPolicy,
)
from sim.policies.targeting import (
    ChurnScore,
    PilotDiscount,
    RiskTargetedDiscount,
    UpliftScore,
    UpliftTargetedDiscount,
)

__all__ = [
    "DISCOUNTS",
    "PRIORITIES",
    "STAFFING",
    "CallContext",
    "ChurnRiskDiscount",
    "ChurnScore",
    "DiscountBook",
    "DiscountPolicy",
    "ErlangAStaffing",
    "ErlangCStaffing",
    "ErrorCredit",
    "Fifo",
    "FixedStaffing",
    "FlatDiscount",
    "ForecastLoad",
    "IntervalStaffing",
    "NoDiscount",
    "PilotDiscount",
    "PriorityPolicy",
    "RiskFirst",
    "RiskTargetedDiscount",
    "SqrtStaffing",
    "StaffingPolicy",
    "TenureDiscount",
    "UpliftScore",
    "UpliftTargetedDiscount",
    "ValueDiscount",
    "ValueFirst",
    "acceptance_probability",
    "build_discount",
    "build_priority",
    "build_staffing",
    "check_policy_choices",
    "grant_discounts",
]
