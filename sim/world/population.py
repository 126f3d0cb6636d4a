"""The customer population: every account as one row of parallel numpy arrays.

Accounts never become objects: a bill run, a churn decision or a discount touches
thousands of them at once through index arrays, which is what lets a replication hold
millions of accounts. Arrays are allocated once for the initial base plus the expected
acquisitions and grown geometrically if acquisition outruns that.

Account ids and array rows: the initial base is stored sorted by bill cycle (ids in
ascending order within a cycle), so a bill run reads and writes one contiguous block of
rows instead of every 28th account scattered over the whole base (a third of a bill
day's time at a million accounts went to those scattered reads and writes). Accounts
acquired later take the row of their id. Everything outside this module speaks account
ids except the bill-run path (``cycle_members``, ``sim.world.billing``,
``sim.world.retention``), which works on rows; ``row``/``account_id`` convert, and
``table`` returns the accounts in id order. Draws and their order are those of the id
layout, so no number depends on the layout.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.core.codes import EXPERIENCES
from sim.scenario import Scenario


class Population:
    """Accounts of one replication. ``n`` rows are in use; the rest is spare capacity."""

    _FIELDS: ClassVar[dict[str, type]] = {
        "segment": np.int16,
        "cycle": np.int16,
        "charge": np.float64,
        "charge_start": np.float64,
        "tenure_at_start": np.float32,
        "joined_s": np.float64,
        "active": np.bool_,
        "churned_s": np.float64,
        "last_bill": np.float64,
        "discount_pct": np.float32,
        "discount_bills_left": np.int16,
        "pending_error": np.float64,
        "plan_changes": np.int16,
        "error_bills": np.int16,
        "shock_bills": np.int16,
        "last_problem": np.bool_,
        "decisions": np.int16,
        "decisions_after_problem": np.int16,
        "calls": np.int32,
        "discount_cost": np.float64,
        "discount_committed": np.float64,
        "revenue": np.float64,
        "service_cost": np.float64,
        "cancel_pending": np.bool_,
        "cancel_calls": np.int16,
        "saved": np.int16,
    }

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        seg = scenario.customers.segments
        self.segment_names = [s.name for s in seg]
        self.shares = np.array([s.share for s in seg])
        self.churn_base = np.array([s.churn_base_monthly for s in seg])
        self.churn_sensitivity = np.array([s.churn_sensitivity for s in seg])
        self.call_propensity = np.array([s.call_propensity for s in seg])
        self.gross_margin = np.array([s.gross_margin for s in seg])
        self.n_cycles = len(scenario.billing.cycle_days)
        n0 = scenario.customers.accounts
        acq = scenario.customers.acquisition_per_month * scenario.calendar.months
        capacity = max(16, int(n0 + acq + 6 * np.sqrt(acq + 1)))
        self.n = 0
        self._permuted = 0  # see _sort_initial_by_cycle
        self._members: dict[int, np.ndarray] = {}  # see cycle_members
        self._members_seen = 0
        for name, dtype in self._FIELDS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        self.experience = np.zeros((capacity, len(EXPERIENCES)), dtype=np.float32)
        self.add(n0, 0.0, rng, initial=True)
        self._sort_initial_by_cycle()

    def _sort_initial_by_cycle(self) -> None:
        """Store the initial base in cycle order (the module docstring says why)."""
        n0 = self.n
        self._permuted = n0  # rows below this may hold another id; above, row == id
        order = np.argsort(self.cycle[:n0], kind="stable")  # ids ascending in a cycle
        self._permute(order)
        # int32 while ids fit: the two maps are 8 bytes an account instead of 16
        small = np.int32 if n0 < 2**31 else np.int64
        self._id_of_row = order.astype(small)
        self._row_of_id = np.empty(n0, dtype=small)
        self._row_of_id[order] = np.arange(n0, dtype=small)
        ends = np.cumsum(np.bincount(self.cycle[:n0], minlength=self.n_cycles)).tolist()
        start = 0
        for c, end in enumerate(ends):
            members = np.arange(start, end)
            members.flags.writeable = False  # shared between bill runs
            self._members[c] = members
            start = end
        self._members_seen = n0

    def _permute(self, order: np.ndarray) -> None:
        """Put rows ``order`` of the initial base in its place, a column at a time
        through one scratch buffer.

        A column whose bytes are all zero is left alone: it is the same in any order,
        and still untouched zeros take no memory (a million accounts have ~30 MB of
        counters that a run without discounts or a save desk never writes).
        """
        n0 = order.size
        scratch = np.empty(n0 * 8, dtype=np.uint8)
        columns = [getattr(self, name)[:n0] for name in self._FIELDS]
        columns += [self.experience[:n0, j] for j in range(self.experience.shape[1])]
        for col in columns:
            if not col.view(f"u{col.itemsize}").any():  # bytes, so -0.0 counts
                continue
            moved = scratch[: n0 * col.itemsize].view(col.dtype)
            np.take(col, order, out=moved, mode="clip")  # "raise" would buffer ``out``
            col[:] = moved

    def row(self, account: np.ndarray) -> np.ndarray:
        """Array rows of account ids ``account`` (for the arrays of this class)."""
        p = self._permuted
        if p == 0:
            return account
        return np.where(account < p, self._row_of_id.take(account, mode="clip"), account)

    def account_id(self, rows: np.ndarray) -> np.ndarray:
        """Account ids of array rows ``rows`` (the inverse of ``row``)."""
        p = self._permuted
        if p == 0:
            return rows
        return np.where(rows < p, self._id_of_row.take(rows, mode="clip"), rows)

    @property
    def capacity(self) -> int:
        return self.segment.size

    def _grow(self, need: int) -> None:
        cap = max(need, int(self.capacity * 1.5))
        for name in self._FIELDS:
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        exp = np.zeros((cap, len(EXPERIENCES)), dtype=np.float32)
        exp[: self.n] = self.experience[: self.n]
        self.experience = exp

    def add(self, count: int, t: float, rng: np.random.Generator, initial: bool = False) -> None:
        """Open ``count`` accounts at time ``t``: existing base (initial) or new customers."""
        if count <= 0:
            return
        if self.n + count > self.capacity:
            self._grow(self.n + count)
        sl = slice(self.n, self.n + count)
        segs = rng.choice(len(self.shares), size=count, p=self.shares).astype(np.int16)
        self.segment[sl] = segs
        self.cycle[sl] = rng.integers(0, self.n_cycles, size=count)
        charge = np.empty(count)
        tenure = np.zeros(count, dtype=np.float32)
        for i, s in enumerate(self.scenario.customers.segments):
            rows = np.flatnonzero(segs == i)
            charge[rows] = s.charge.sample(rng, rows.size)
            if initial:
                tenure[rows] = s.tenure_months.sample(rng, rows.size)
        self.charge[sl] = charge
        self.charge_start[sl] = charge
        self.tenure_at_start[sl] = tenure
        self.joined_s[sl] = t if not initial else -tenure * 30.4375 * 86400
        self.active[sl] = True
        self.churned_s[sl] = np.nan
        # Last month's bill, so the first bill can already be a shock.
        sd = self.scenario.billing.usage_variation_sd
        self.last_bill[sl] = charge * usage_multiplier(rng, count, sd) if initial else charge
        self.n += count

    def cycle_members(self, cycle: int) -> np.ndarray:
        """Rows of the accounts of bill cycle ``cycle``, active or not, in ascending
        order of row and of account id: the initial base's block, then those acquired.

        Accounts keep their cycle and new ones are appended, so the lists are extended
        by the accounts opened since they were last brought up to date instead of
        scanning every account again (a billing operation may run a cycle every day);
        one stable sort sorts the new accounts into every cycle at once (a scan per
        cycle cost 28 passes over the base).
        """
        if self._members_seen < self.n:
            new = self.cycle[self._members_seen : self.n]
            order = np.argsort(new, kind="stable") + self._members_seen
            ends = np.cumsum(np.bincount(new, minlength=self.n_cycles)).tolist()
            start = 0
            for c, end in enumerate(ends):
                old = self._members.get(c)
                members = (
                    order[start:end] if old is None else np.concatenate([old, order[start:end]])
                )
                members.flags.writeable = False  # shared between bill runs
                self._members[c] = members
                start = end
            self._members_seen = self.n
        return self._members.get(cycle, np.empty(0, dtype=np.int64))

    def experience_rows(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` of the experience matrix, a copy (``np.take`` gathers whole rows
        at once, about twice as fast as fancy indexing on a million accounts)."""
        return np.take(self.experience, idx, axis=0)

    def fade_experience(
        self, idx: np.ndarray, factor: float, rows: np.ndarray | None = None
    ) -> None:
        """Multiply the experience of accounts ``idx`` by ``factor`` (float32, as ``*=``);
        ``rows``: their current rows when the caller has gathered them (changed in place).

        Rows are gathered with ``take`` and written back as one 28-byte item each: the
        fancy-indexed ``experience[idx] *= factor`` this replaces cost three times as
        much at every bill run.
        """
        rows = self.experience_rows(idx) if rows is None else rows
        rows *= factor
        np.put(_row_items(self.experience), idx, _row_items(rows))  # ~1/4 below a[idx] = v

    def tenure_months(self, idx: np.ndarray, t: float) -> np.ndarray:
        """Tenure at time ``t`` (seconds from the start) for accounts ``idx``."""
        return (t - self.joined_s[idx]) / (30.4375 * 86400)

    def table(self) -> dict[str, np.ndarray]:
        """Columns of the per-customer results table, once the run is over, in account
        id order.

        Read-only views, not copies: copies doubled the accounts' memory at the end of a
        run (a million accounts' columns are ~150 MB), and nothing changes them after.
        The rows are put back in id order in place first, one column at a time (so the
        population stays usable: ``row`` is then the identity).
        """
        self._sort_by_id()
        n = self.n
        cols: dict[str, np.ndarray] = {"account": np.arange(n)}
        for name in self._FIELDS:
            cols[name] = getattr(self, name)[:n]
        for j, kind in enumerate(EXPERIENCES):
            cols[f"exp_{kind}"] = self.experience[:n, j]
        for col in cols.values():
            col.flags.writeable = False
        return cols

    def _sort_by_id(self) -> None:
        n0 = self._permuted
        if n0 == 0:
            return
        self._permute(self._row_of_id)
        self._members = {c: self.account_id(m) for c, m in self._members.items()}
        self._permuted = 0


def add_ones(column: np.ndarray, idx: np.ndarray) -> None:
    """``np.add.at(column, idx, 1)``: one added per occurrence of each index, in turn.

    Done as one fancy ``+= 1`` over the distinct indices, then again over those seen
    twice, and so on, so a float32 counter takes exactly the same sequence of additions
    (``(x + 1) + 1`` is not always ``x + 2`` in float32); numpy's ``add.at`` took ~1 ms
    per thousands of calls, several times a simulated day.
    """
    if idx.size == 0:
        return
    ordered = np.sort(idx)
    if (ordered[1:] != ordered[:-1]).all():  # each index once (most batches): no counts
        column[ordered] += 1
        return
    uniq, counts = np.unique(ordered, return_counts=True)
    for k in range(1, int(counts.max()) + 1):
        column[uniq if k == 1 else uniq[counts >= k]] += 1


def _row_items(a: np.ndarray) -> np.ndarray:
    """A C-contiguous 2-D array seen as a 1-D array with one opaque item per row."""
    return a.view(np.dtype((np.void, a.shape[1] * a.itemsize))).reshape(-1)


def usage_multiplier(rng: np.random.Generator, size: int, sd: float) -> np.ndarray:
    """Usage multiplier with mean 1 and the given standard deviation (lognormal)."""
    if sd == 0:
        return np.ones(size)
    sigma = np.sqrt(np.log1p(sd * sd))
    return rng.lognormal(-sigma * sigma / 2, sigma, size)
