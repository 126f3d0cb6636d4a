"""Documented limits on input and work, checked before anything expensive starts.

Why: the tool is pointed at files planners write and upload; a 300-byte YAML alias bomb,
a grid of a million variants or ``acquisition_per_month: 1e9`` must be refused in
milliseconds with one line, not discovered as a MemoryError an hour later. Every limit
is a named constant here (the README lists them); a run beyond the work limits needs an
explicit ``allow_large`` (``--allow-large`` in the CLI).
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest scenario or sweep file (and app upload): a 60-month 15-minute forecast fits."""
MAX_YAML_NODES = 500_000
"""Largest YAML document counted after alias expansion (alias bombs stop here)."""
MAX_EXTENDS_DEPTH = 8
"""Longest chain of ``extends:`` files."""
MAX_SEED = 2**63 - 1
"""Largest seed: what the results store (SQLite INTEGER) can keep."""
MAX_GRID_VALUES = 1_000
"""Most values of one grid entry (a list or a from/to/step range)."""
MAX_VARIANTS = 1_000
"""Most variants of one sweep (grid points × named variants)."""
MAX_REPLICATIONS = 10_000
"""Most replications per variant."""
MAX_JOBS = 20_000
"""Most runs (variants × replications) of one experiment."""
MAX_RUN_ACCOUNT_MONTHS = 20_000_000
"""Most account-months of one run (accounts alive summed over the months)."""
MAX_RUN_CALLS = 5_000_000
"""Most expected calls of one run."""
MAX_RUN_MEMORY_BYTES = 4 * 1024**3
"""Most estimated memory of one run."""
MAX_TOTAL_ACCOUNT_MONTHS = 2_000_000_000
"""Most account-months of a whole experiment (all jobs)."""
_BYTES_PER_ACCOUNT = 400
_BYTES_PER_CALL = 600
_EXCERPT = 60


def excerpt(value: object, limit: int = _EXCERPT) -> str:
    """A short, truncated repr of a bad value for an error message (never the whole)."""
    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlong = limit, limit, limit
    r.maxlist = r.maxdict = r.maxtuple = r.maxset = 4
    r.maxlevel = 2
    text = r.repr(value)
    return text if len(text) <= limit + 10 else text[:limit] + "..."


@dataclass(frozen=True)
class WorkEstimate:
    """What a set of runs will cost, before it starts (rough, on the safe side)."""

    jobs: int
    accounts: int
    months: int
    account_months: float
    calls: float
    memory_bytes: float

    def describe(self) -> str:
        return (
            f"{self.jobs:,} run(s) × {self.accounts:,} accounts × {self.months} months: "
            f"~{self.account_months:,.0f} account-months, ~{self.calls:,.0f} calls and "
            f"~{self.memory_bytes / 1024**2:,.0f} MB per run"
        )

    def problems(self) -> list[str]:
        """Each documented limit this work exceeds, as one phrase."""
        out = []
        if self.jobs > MAX_JOBS:
            out.append(f"{self.jobs:,} runs exceed the limit of {MAX_JOBS:,}")
        if self.account_months > MAX_RUN_ACCOUNT_MONTHS:
            out.append(
                f"~{self.account_months:,.0f} account-months per run exceed "
                f"{MAX_RUN_ACCOUNT_MONTHS:,}"
            )
        if self.calls > MAX_RUN_CALLS:
            out.append(f"~{self.calls:,.0f} calls per run exceed {MAX_RUN_CALLS:,}")
        if self.memory_bytes > MAX_RUN_MEMORY_BYTES:
            out.append(
                f"~{self.memory_bytes / 1024**3:,.1f} GB per run exceed "
                f"{MAX_RUN_MEMORY_BYTES / 1024**3:.0f} GB"
            )
        if self.jobs * self.account_months > MAX_TOTAL_ACCOUNT_MONTHS:
            out.append(
                f"~{self.jobs * self.account_months:,.0f} account-months in all exceed "
                f"{MAX_TOTAL_ACCOUNT_MONTHS:,}"
            )
        return out


def estimate_work(scenario: object, jobs: int = 1) -> WorkEstimate:
    """Jobs × accounts × months, expected calls and memory of runs of ``scenario``.

    Calls: every bill may bring an error, shock or routine call (probabilities from the
    scenario), plus the forecast volume; doubled for retrials and repeats.
    """
    cust = scenario.customers  # type: ignore[attr-defined]
    months = int(scenario.calendar.months)  # type: ignore[attr-defined]
    billing = scenario.billing  # type: ignore[attr-defined]
    accounts = int(cust.accounts)
    grown = accounts + float(cust.acquisition_per_month) * months
    account_months = (accounts + grown) / 2 * months
    p = billing.contact.probability
    per_bill = p.routine + billing.error.rate * p.error + 0.2 * p.shock
    if billing.incident is not None:
        per_bill += billing.incident.error_rate * p.error
    propensity = max((s.call_propensity for s in cust.segments), default=1.0)
    calls = account_months * per_bill * propensity * 2
    fc = scenario.contact_center.forecast  # type: ignore[attr-defined]
    if fc is not None:
        calls += 2 * sum(r.calls for r in fc.intervals)
    memory = grown * _BYTES_PER_ACCOUNT * 4 + calls * _BYTES_PER_CALL
    if not all(math.isfinite(x) for x in (account_months, calls, memory)):
        account_months = calls = memory = math.inf
    return WorkEstimate(jobs, accounts, months, account_months, calls, memory)


def check_work(scenario: object, jobs: int = 1, *, allow_large: bool = False) -> WorkEstimate:
    """The estimate, or a WorkLimitError listing the limits exceeded (unless allowed)."""
    est = estimate_work(scenario, jobs)
    problems = est.problems()
    if problems and not allow_large:
        raise WorkLimitError(
            f"too much work: {'; '.join(problems)} ({est.describe()}); reduce it, or "
            "pass --allow-large (allow_large=True) if this machine can take it"
        )
    return est


class WorkLimitError(ValueError):
    """A run or experiment beyond the documented work limits."""
