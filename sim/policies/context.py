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
    """What an agent sees on the account screen, one row per call.

    A discount policy is asked during the call: ``group`` is the group that answers and
    ``resolved`` whether this call resolves the issue (both known then). The model asks
    it once per possible answering group and outcome when the call is created and looks
    the answer up when the call is answered, so the offer's talk time still occupies
    the agent. A priority policy is asked before the call queues: ``group`` is -1 and
    ``resolved`` False (neither is known yet).
    """

    reason: np.ndarray
    """Reason codes, index into ``REASONS``."""
    segment: np.ndarray
    """Segment index into ``segment_names``."""
    charge: np.ndarray
    """Monthly plan charge of the account."""
    tenure_months: np.ndarray
    """Months since the account opened, when the call is placed."""
    churn_risk: np.ndarray
    """Monthly churn probability the account would have at its next bill (when the
    call is placed: experiences, shocks, errors and tenure so far)."""
    error_amount: np.ndarray
    """Billing error still uncorrected on the account when the call is placed."""
    resolved: np.ndarray
    """Whether the answering agent resolves the issue (discount policy); False for a
    priority policy."""
    group: np.ndarray
    """Answering group, index into ``group_names`` (discount policy); -1 for a
    priority policy."""
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
