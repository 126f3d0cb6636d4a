"""A streamed replication: finished calls go to Parquet as the run goes, not to memory.

Why: a year of ten million accounts places some twenty million calls, and the contact
center's per-call records (with the offer plans, ~150 bytes a call) would outgrow the
machine. With ``simulate(stream_to=DIR)`` the day loop hands the sink, after each
midnight's ``after_calls``, the calls whose fate is final and whose consequences are
booked (answered, abandoned, settled in the IVR, dropped): once enough have gathered
they are appended to ``DIR/calls.parquet`` as one row group and the contact center
forgets them (``ContactCenter.compact``), so memory holds the live calls -- waiting,
in service, placed for a later day, or named by a pending event -- and the accounts.

Accounts are live state to the end (a churned account's pending calls still arrive and
change its counters), so ``customers.parquet`` is written once the run is over, in
chunks of rows from the population's own arrays. Call ids are those of a run kept in
memory (the engine's rows are renumbered when it forgets; the sink maps them back),
the row groups hold calls in the order they finished, and the folder appears only
when everything is written (``sim.core.files.atomic_dir``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.core.codes import IN_SERVICE, PENDING, WAITING
from sim.core.files import atomic_dir
from sim.results import RawRun, Results
from sim.results.stream import StreamedCalls, TableWriter, check_stream_target
from sim.results.tables import (
    CALL_COLUMNS,
    CALLS_FILE,
    CUSTOMERS_FILE,
    CallNames,
    calls_frame,
    customers_frame,
)

if TYPE_CHECKING:
    from sim.model.replication import _Run

CHUNK_ROWS = 1 << 18
"""Finished calls gathered before they are written as one row group (~40 MB in memory):
large enough that forgetting them (which copies the live calls) costs little per call."""
CUSTOMER_ROWS = 1 << 18
"""Accounts per row group of the customers table (~100 MB on their way to the file)."""


class CallSink:
    """Writes a run's finished calls in chunks and tells the engine to forget them."""

    def __init__(self, folder: Path, chunk_rows: int | None = None) -> None:
        self.folder = folder
        self.chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        self.calls = TableWriter(folder / CALLS_FILE)
        self.customers: TableWriter | None = None
        # Call id of engine row r: _ids[r] for the rows kept at the last compaction, then
        # consecutive from _next (rows are added in the order ids are given).
        self._ids = np.empty(0, dtype=np.int64)
        self._next = 0

    def call_ids(self, rows: np.ndarray) -> np.ndarray:
        """Call ids (as a run kept in memory numbers them) of the engine's ``rows``."""
        k = self._ids.size
        ids = self._next + rows - k
        old = rows < k
        ids[old] = self._ids[rows[old]]
        return ids

    def day_end(self, run: _Run) -> None:
        """After a midnight's ``after_calls``: write and forget the calls it has booked,
        once there are enough of them."""
        if run.seen >= self.chunk_rows:
            self._flush(run)

    def finish(self, run: _Run) -> tuple[StreamedCalls, dict[str, np.ndarray]]:
        """Write every call not written yet, close the calls file and start writing the
        customers table (in the background, until ``close``); returns the calls as read
        back from the file and the accounts' columns (views, not copies: the run is
        over, and a copy of ten million accounts costs gigabytes)."""
        c = run.center
        status = c.column("status")
        open_ = (status == PENDING) | (status == WAITING) | (status == IN_SERVICE)
        # not written yet: every finished call since the last flush, and the open ones
        rows = np.union1d(np.flatnonzero(open_), c.column("finished"))
        del status
        if rows.size or not self.calls.rows:  # a run without calls still gets its table
            self._write(run, rows)
        n_calls = self._next + c.n_calls - self._ids.size
        self.calls.close()
        if self.calls.rows != n_calls:
            raise RuntimeError(f"streamed {self.calls.rows} calls of {n_calls}")
        customers = run.pop.table()
        self.customers = TableWriter(self.folder / CUSTOMERS_FILE)
        self.customers.write_all(
            customers_frame({k: v[lo : lo + CUSTOMER_ROWS] for k, v in customers.items()}, run.sc)
            for lo in range(0, max(run.pop.n, 1), CUSTOMER_ROWS)
        )
        return StreamedCalls(self.folder / CALLS_FILE, n_calls, tuple(run.groups)), customers

    def close(self) -> None:
        """Finish both files (waiting for the customers table); also after a failure,
        whose folder is then removed."""
        try:
            self.calls.close()
        finally:
            if self.customers is not None:
                self.customers.close()

    def _flush(self, run: _Run) -> None:
        """Write the calls booked so far, then drop every row no event needs."""
        c = run.center
        if run.seen:
            self._write(run, np.sort(c.column("finished")[: run.seen]))
        total = self._next + c.n_calls - self._ids.size
        new_row = c.compact(run.seen)
        run.seen = 0
        run.offers.compact(new_row)
        self._ids = self.call_ids(np.flatnonzero(new_row >= 0))
        self._next = total

    def _write(self, run: _Run, rows: np.ndarray) -> None:
        """Append engine rows ``rows`` (in call-id order) to the calls table."""
        rows = rows.astype(np.int64)
        c = run.center
        cols = {name: c.column(name)[rows] for name in CALL_COLUMNS}
        for name in ("resolved", "callback"):
            cols[name] = cols[name].astype(bool)
        names = CallNames(
            run.sc.calendar.start,
            run.clock.horizon_s,
            tuple(run.groups),
            tuple(run.pop.segment_names),
        )
        frame = calls_frame(
            cols,
            self.call_ids(rows),
            run.pop.segment[run.pop.row(cols["account"])],
            run.offers.take_granted(rows),
            names,
        )
        self.calls.write(frame)


def stream_results(target: str | Path, simulate_into: Callable[[CallSink], RawRun]) -> Results:
    """Run ``simulate_into(sink)`` streaming into a temporary folder, add the small
    tables (intervals, monthly, KPIs, computed from the streamed calls while the
    customers table is being written), scenario.yaml and run.json, and move the folder
    to ``target`` in one step.

    An error or an interrupt leaves nothing at ``target``; an existing or unwritable
    ``target`` is refused before the run starts (``StreamTargetError``, one line).
    """
    out = check_stream_target(target)
    with atomic_dir(out) as tmp:
        sink = CallSink(tmp)
        try:
            raw = simulate_into(sink)
            results = Results(raw)
            results.write_files(tmp, ("parquet",), skip=("calls", "customers"))
        finally:
            sink.close()
    assert isinstance(raw.calls, StreamedCalls)
    raw.calls.move(out)
    raw.stream = out
    return results
