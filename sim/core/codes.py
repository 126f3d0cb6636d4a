"""The model's vocabulary: codes shared by the scenario, the engine, the model and the tables.

Why here: every layer speaks of reasons, call outcomes, call origins and experiences by
small integer codes in numpy arrays; defining them once at the bottom keeps the layers
above free of imports from each other just to name a code.
"""

from __future__ import annotations

REASONS: tuple[str, ...] = (
    "billing_error",
    "high_bill",
    "question",
    "plan_change",
    "payment",
    "cancel",
)
"""Why customers call; billing flags decide the mix (see ``ContactSettings.reasons``).
``cancel`` is last so the older codes keep their numbers: it is not in any bill mix but
placed by accounts that decided to leave (``retention.save_desk``)."""

CANCEL = REASONS.index("cancel")

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names as written in scenario files, Monday first (``date.weekday()`` order)."""

# Call status codes of the engine (the calls table carries them as names, see OUTCOMES).
PENDING, WAITING, IN_SERVICE, ANSWERED, ABANDONED, IVR, DROPPED = range(7)

OUTCOMES: dict[int, str] = {
    PENDING: "pending",
    WAITING: "waiting",
    IN_SERVICE: "in_service",
    ANSWERED: "answered",
    ABANDONED: "abandoned",
    IVR: "ivr",
    DROPPED: "dropped",
}
"""Status code → name in the calls table."""

ORIGINS: tuple[str, ...] = ("bill", "repeat", "transfer", "forecast")
"""Why a call was placed: after a bill; again because the issue stayed open; escalated
by an agent to another group; from the scenario's explicit volume forecast."""

TRANSFER_ORIGIN = ORIGINS.index("transfer")

EXPERIENCES: tuple[str, ...] = (
    "long_wait",
    "abandoned",
    "unresolved",
    "error_uncorrected",
    "discount",
    "resolved",
    "bill_shock",
)
"""Kinds of experience that move churn (the β of ``scenario.retention.effects``)."""
