"""What one replication hands to the tables: raw arrays and the money ledger.

Why its own module: it is the contract between the model (which fills it) and the
results layer (which shapes it into tables and KPIs), so neither imports the other's
internals and the results layer does not depend on the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.scenario import Scenario
from sim.scenario.calendar import Clock
from sim.world.staffing import StaffingPlan


@dataclass
class Ledger:
    """Money and population events, appended during the run, tabled in sim/results/tables.py.

    ``month`` is the month of the horizon (0-based; month m starts at
    ``RawRun.month_starts_s[m]``, i.e. ``calendar.start`` + m months), not a calendar month.
    """

    bills: list[tuple[int, int, float, float, float, int, int]] = field(default_factory=list)
    """(month, bills, correct, error, discount, errors, shocks) per bill run."""
    credits: list[tuple[int, float, int]] = field(default_factory=list)
    """(month, refunded error amount, refunds) per day."""
    churn: list[tuple[int, int, float, float]] = field(default_factory=list)
    """(month, churned, lost monthly charge, lost monthly margin) per bill run."""
    acquired: list[tuple[int, int]] = field(default_factory=list)
    discounts: list[tuple[int, int, float]] = field(default_factory=list)
    """(month, discounts granted, committed value) per day."""
    bill_rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(day, accounts, amounts, flags) per bill run, only with ``simulate(keep_bills=True)``:
    the per-bill extract of sim.calibrate.export (a year of a million accounts would
    otherwise hold every bill in memory)."""
    cancels: list[tuple[int, int]] = field(default_factory=list)
    """(month, accounts calling to cancel) per bill run (``retention.save_desk``)."""
    saves: list[tuple[int, int, int, float]] = field(default_factory=list)
    """(month, cancel callers answered, saved, discount committed on the saves) per day."""
    service_cost: list[tuple[int, float]] = field(default_factory=list)
    """(month, cost of serving the billed accounts: correct × (1 − gross margin)) per
    bill run."""


@dataclass
class RawRun:
    """Everything a replication produced, before it is shaped into tables."""

    scenario: Scenario
    seed: int
    version: str
    clock: Clock
    calls: Mapping[str, np.ndarray]
    """Per-call columns, row = call id, and ``discount_granted`` (percent granted per
    call, 0 for most). A streamed run reads them back from its calls table on first use
    (sim/results/stream.py: ``StreamedCalls``)."""
    customers: dict[str, np.ndarray]
    staffing: StaffingPlan
    ledger: Ledger
    month_starts_s: np.ndarray
    """Start of each month of the horizon and its end (months + 1 edges, seconds)."""
    initial_accounts: int
    group_names: tuple[str, ...]
    segment_names: tuple[str, ...]
    stream: Path | None = None
    """The folder a streamed run wrote its calls and customers tables to, or None when
    everything is in memory (``simulate(stream_to=...)``)."""

    @property
    def discount_granted(self) -> np.ndarray:
        """Percent granted per call (0 for most)."""
        return self.calls["discount_granted"]
