"""What a policy sees: the call context (one row per call) and the decision protocols.

Why its own module: researchers implement these protocols; the built-ins, the model and
the analytics all depend on them, and they depend on nothing but the codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sim.core.codes import REASONS


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
