"""What a policy sees: the call context (one row per call) and the decision protocols.

Why its own module: researchers implement these protocols; the built-ins, the model and
the analytics all depend on them, and they depend on nothing but the codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sim.core.codes import REASONS

RECENT: tuple[str, ...] = (
    "long_wait",
    "abandoned",
    "unresolved",
    "resolved",
    "bill_shock",
    "error_uncorrected",
)
"""Experience kinds a company observes as recent-event counters (``CallContext.recent``);
the discount's retention response is hidden, so 'discount' is not among them."""


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
    call is placed: experiences, shocks, errors and tenure so far). The model's true
    hazard: an oracle for comparisons, not something a company observes."""
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
    # ---- observable history: what the account screen shows a company, no hidden
    # parameter or hazard (the fields a fitted score may use, sim.policies.targeting).
    # All are read when the call is placed, before this call's own outcome; a context
    # built by hand may leave them empty.
    account: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Account id (row of ``results.customers()``)."""
    time_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """When the screen is read: seconds from the start of the horizon."""
    last_bill: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Amount of the account's latest bill (before the horizon: last month's usage)."""
    last_bill_problem: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Whether the latest bill was flagged as a shock or carried an error."""
    shock_bills: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Shock bills the account received so far in the horizon."""
    error_bills: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Wrong bills the account received so far in the horizon."""
    calls_before: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Calls the account placed so far in the horizon (this batch not counted)."""
    discount_active: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Whether a granted discount still reduces the account's coming bills."""
    recent: np.ndarray = field(default_factory=lambda: np.zeros((0, len(RECENT))))
    """Faded counts of recent events, one column per ``RECENT`` kind: long waits,
    abandoned and unresolved calls, resolved calls, shock bills, errors left
    uncorrected at the next bill. Each counts 1 when it happens and fades at every bill
    (the population's own counters; the weights with which they move churn are not
    observable and not here)."""

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
