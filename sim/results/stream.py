"""Tables on disk: the Parquet writer a streamed run appends to, and reading them back.

Why its own module: a streamed run (``simulate(stream_to=...)``, sim/model/sink.py)
keeps only live calls in memory and appends every finished call to ``calls.parquet``
as it goes. The KPIs must still come from the one set of formulas in
sim/results/tables.py, which read per-call columns in call-id order; ``StreamedCalls``
gives them those columns, rebuilt from the calls table one column at a time, so a
streamed run's numbers are the in-memory run's numbers bit for bit, and only the
columns a table asks for are ever in memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.core.codes import ABANDONED, ORIGINS, OUTCOMES, REASONS


class StreamTargetError(OSError):
    """A folder a streamed run may not write to (it exists, or is not writable)."""


def check_stream_target(target: str | Path) -> Path:
    """The absolute folder to stream to, or a one-line StreamTargetError before any work.

    A streamed run writes gigabytes over minutes, so it never replaces anything: the
    folder must be new (or empty) and its parent writable.
    """
    out = Path(os.path.abspath(target))
    if out.is_symlink() or (out.exists() and not (out.is_dir() and not any(out.iterdir()))):
        raise StreamTargetError(f"cannot stream results to {out}: it exists; choose a new folder")
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StreamTargetError(f"cannot stream results to {out}: {ancestor} is not a folder")
    try:  # a real trial (read-only mounts, /proc, ACLs): fail now, not after the run
        os.rmdir(tempfile.mkdtemp(prefix=".billsim-check.", dir=ancestor))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StreamTargetError(f"cannot stream results to {out}: {reason} in {ancestor}") from None
    return out


class TableWriter:
    """Appends DataFrames with the same columns to one Parquet file, a row group each.

    The first frame fixes the schema (categories included), so every row group of a
    categorical column carries the same dictionary and reads back as one categorical;
    only those columns are dictionary-encoded (trying it on float columns doubled the
    time to write). Encoding and compressing run in a thread of their own, which
    pyarrow lets run beside the simulation (it releases the GIL): at most one frame
    waits there, so memory holds at most two chunks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        """Rows handed to the writer (all written once ``close`` returns)."""
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="billsim-parquet")
        self._pending: Future[None] | None = None

    def write(self, df: pd.DataFrame) -> None:
        """Append ``df`` (converted here, encoded and written in the writer's thread)."""
        table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
        self._wait()
        self._schema = table.schema
        self._pending = self._thread.submit(self._append, table)
        self.rows += table.num_rows

    def write_all(self, frames: Iterable[pd.DataFrame]) -> None:
        """Append every frame of ``frames``, all in the writer's thread: the caller goes
        on (a streamed run computes its KPIs meanwhile) until ``close``."""
        self._wait()

        def each() -> None:
            for df in frames:
                table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
                self._schema = table.schema
                self._append(table)
                self.rows += table.num_rows

        self._pending = self._thread.submit(each)

    def _append(self, table: pa.Table) -> None:
        if self._writer is None:
            dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
            self._writer = pq.ParquetWriter(self.path, table.schema, use_dictionary=dictionary)
        self._writer.write_table(table)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # an error of the write surfaces here

    def close(self) -> None:
        """Finish the last write and the file (idempotent; also after a failure)."""
        try:
            self._wait()
        finally:
            self._thread.shutdown()
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def read_table(path: Path, key: str) -> pd.DataFrame:
    """A whole table from ``path``, rows in the order of column ``key`` (the call id or
    the account, as the in-memory tables have them)."""
    df = pq.read_table(path).to_pandas()
    if not df[key].is_monotonic_increasing:
        df = df.sort_values(key, kind="stable", ignore_index=True)
    return df


_CODED: dict[str, tuple[str, tuple[str, ...] | None, type]] = {
    "status": ("outcome", tuple(OUTCOMES.values()), np.int8),
    "reason": ("reason", REASONS, np.int8),
    "origin": ("origin", ORIGINS, np.int8),
    "group": ("group", None, np.int16),  # the run's group names
}
"""Per-call code columns and the categorical column of the calls table they come from."""

_PLAIN: dict[str, tuple[str, type]] = {
    "account": ("account", np.int64),
    "attempt": ("attempt", np.int16),
    "klass": ("priority", np.int8),
    "t_arrive": ("t_arrive_s", np.float64),
    "t_answer": ("t_answer_s", np.float64),
    "talk": ("talk_s", np.float64),
    "acw": ("acw_s", np.float64),
    "patience": ("patience_s", np.float64),
    "callback": ("callback", np.bool_),
    "resolved": ("resolved", np.bool_),
    "discount_granted": ("discount_pct", np.float64),
}
"""Per-call columns that the calls table carries as they are, where the tables read them:
``talk``/``acw`` for calls answered or in service (NaN otherwise), ``resolved`` for calls
answered or settled in the IVR."""


class StreamedCalls(Mapping[str, np.ndarray]):
    """The per-call columns of a streamed run, read from its calls table on first use.

    Each column is rebuilt in call-id order (the file holds calls in the order they
    finished) and cached. ``deadline`` is known for abandoned calls only (``t_end_s``),
    the only ones whose deadline a table reads; engine internals the tables never read
    (retrial intent, resolution draws, transfer targets) are not kept.
    """

    def __init__(self, path: Path, n_calls: int, group_names: tuple[str, ...]) -> None:
        self.path = path
        self.n_calls = n_calls
        self._groups = group_names
        self._cache: dict[str, np.ndarray] = {}
        self._file_ids: np.ndarray | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter((*_CODED, *_PLAIN, "deadline"))

    def __len__(self) -> int:
        return len(_CODED) + len(_PLAIN) + 1

    def move(self, folder: Path) -> None:
        """Read from ``folder`` from now on (the file was moved there with it)."""
        self.path = folder / self.path.name

    def _load(self, name: str) -> np.ndarray:
        if name == "deadline":
            status = self["status"]
            end = self._scatter("t_end_s", np.float64, None)
            return np.where(status == ABANDONED, end, np.nan)
        if name in _CODED:
            column, categories, dtype = _CODED[name]
            return self._scatter(column, dtype, categories or self._groups)
        if name in _PLAIN:
            column, dtype = _PLAIN[name]
            return self._scatter(column, dtype, None)
        raise KeyError(f"{name!r} is not kept in a streamed run's calls table")

    def _scatter(self, column: str, dtype: type, categories: tuple[str, ...] | None) -> np.ndarray:
        ids = self._ids()
        out = np.empty(self.n_calls, dtype=dtype)
        at = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=1 << 20, columns=[column]):
            values = batch.column(0)
            rows = ids[at : at + len(values)]
            if categories is None:
                out[rows] = values.to_numpy(zero_copy_only=False)
            else:
                out[rows] = _codes(values, categories)
            at += len(values)
        if at != ids.size:
            raise ValueError(f"{self.path} changed while it was read")
        return out

    def _ids(self) -> np.ndarray:
        """Every call's id in the file's order, read once: each column is then read
        alone and scattered by them (reading the ids again with every column doubled
        the time to read a column)."""
        if self._file_ids is None:
            ids = pq.read_table(self.path, columns=["call_id"]).column(0).to_numpy()
            if ids.size != self.n_calls:
                raise ValueError(f"{self.path} holds {ids.size} calls, expected {self.n_calls}")
            self._file_ids = ids
        return self._file_ids


def _codes(values: pa.DictionaryArray, categories: tuple[str, ...]) -> np.ndarray:
    """Category codes of a dictionary column in the order ``categories`` (-1: missing)."""
    where = np.array([categories.index(v) for v in values.dictionary.to_pylist()] + [-1])
    index = pc.fill_null(values.indices, -1).to_numpy()
    return where[index]
