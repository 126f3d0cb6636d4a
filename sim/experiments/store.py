"""The results store: every experiment and run kept in one SQLite file, queryable with SQL.

Why SQLite: it ships with Python, one file is easy to copy or share, and its
transactions give the guarantee we need: a job's KPIs, tables and status are committed
together or not at all, so an interrupted run never leaves half a record, and the next
run of the same experiment resumes from the jobs that were committed.

Location: ``$BILLSIM_STORE`` if set, else ``$XDG_DATA_HOME/billsim/runs.sqlite``
(``~/.local/share/billsim/runs.sqlite``). Tables (query them with any SQLite client):

- ``experiments``: experiment_id, name, created, updated, version, replications,
  baseline, tables, status ('running' | 'complete' | 'failed' | 'interrupted');
- ``variants``: experiment_id, variant, position, fingerprint, seed, options (repr of
  policy objects), scenario_yaml (the resolved scenario, enough to run it again);
- ``jobs``: experiment_id, variant, replication, seed, status ('done' | 'failed'),
  elapsed_s, error, finished;
- ``kpis``: experiment_id, variant, replication, seed, kpi, value — one row per KPI;
- ``run_tables``: experiment_id, variant, replication, name, data (the table as Parquet);
- view ``kpi_means``: mean, min, max and count of each KPI per experiment and variant.

Example: ``SELECT experiment_id, variant, mean FROM kpi_means WHERE kpi = 'net' AND
experiment_id = ? ORDER BY mean DESC`` (always pick the experiment: variant names repeat).

Every SQLite failure (disk full, a corrupt file, a lock held too long) is a StoreError
with one line naming the file. An experiment records the pid and host of the process
running it; one left 'running' by a process that died (SIGKILL, power loss) is marked
'interrupted' the next time the store is opened on that host.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd
import yaml

from sim.core.version import __version__
from sim.experiments.jobs import JobFailure, RunSummary, Variant, experiment_id
from sim.experiments.result import ExperimentResult
from sim.scenario import scenario_from_yaml

ENV_VAR = "BILLSIM_STORE"
STATUSES: tuple[str, ...] = ("running", "complete", "failed", "interrupted")
"""An experiment is 'running' while jobs are being committed; it ends 'complete',
'failed' (some jobs raised; running it again retries them) or 'interrupted' (stopped
before all jobs ran; running it again resumes it). A process killed outright leaves
'running' behind until the store is next opened on its host (then 'interrupted')."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    experiment_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    version TEXT NOT NULL,
    replications INTEGER NOT NULL,
    baseline TEXT,
    tables TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER,
    host TEXT
);
CREATE TABLE IF NOT EXISTS variants (
    experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
    variant TEXT NOT NULL,
    position INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    seed INTEGER NOT NULL,
    options TEXT NOT NULL,
    scenario_yaml TEXT NOT NULL,
    PRIMARY KEY (experiment_id, variant)
);
CREATE TABLE IF NOT EXISTS jobs (
    experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
    variant TEXT NOT NULL,
    replication INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    elapsed_s REAL,
    error TEXT,
    finished TEXT NOT NULL,
    PRIMARY KEY (experiment_id, variant, replication)
);
CREATE TABLE IF NOT EXISTS kpis (
    experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
    variant TEXT NOT NULL,
    replication INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    kpi TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (experiment_id, variant, replication, kpi)
);
CREATE TABLE IF NOT EXISTS run_tables (
    experiment_id TEXT NOT NULL REFERENCES experiments ON DELETE CASCADE,
    variant TEXT NOT NULL,
    replication INTEGER NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (experiment_id, variant, replication, name)
);
CREATE VIEW IF NOT EXISTS kpi_means AS
    SELECT experiment_id, variant, kpi, COUNT(value) AS n, AVG(value) AS mean,
           MIN(value) AS min, MAX(value) AS max
    FROM kpis GROUP BY experiment_id, variant, kpi;
"""


def default_path() -> Path:
    """Where runs are kept unless told otherwise (``$BILLSIM_STORE`` overrides)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "billsim" / "runs.sqlite"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _to_parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


class StoreError(RuntimeError):
    """The store file cannot be used (not a database, no permission, unknown run)."""


class Store:
    """A results database file; every write is one transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser().absolute() if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._tx() as con:
                con.executescript(_SCHEMA)
                columns = {row[1] for row in con.execute("PRAGMA table_info(experiments)")}
                for col, kind in (("pid", "INTEGER"), ("host", "TEXT")):
                    if col not in columns:  # a store made by an earlier version
                        con.execute(f"ALTER TABLE experiments ADD COLUMN {col} {kind}")
            self._recover_dead()
        except OSError as exc:
            raise StoreError(f"cannot use results store {self.path}: {exc}") from None

    def _error(self, exc: BaseException) -> StoreError:
        return StoreError(f"cannot use results store {self.path}: {type(exc).__name__}: {exc}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on success, rolled back if not."""
        try:
            con = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            con.execute("PRAGMA foreign_keys = ON")
            with con:
                yield con
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            con.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading, closed when the ``with`` block ends."""
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as con:
                yield con
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise self._error(exc) from None

    def _recover_dead(self) -> None:
        """Mark 'interrupted' the experiments left 'running' by dead processes of this host."""
        host = socket.gethostname()
        with self._tx() as con:
            rows = con.execute(
                "SELECT experiment_id, pid FROM experiments "
                "WHERE status='running' AND host=? AND pid IS NOT NULL",
                (host,),
            ).fetchall()
            dead = [(exp,) for exp, pid in rows if not _alive(int(pid))]
            con.executemany(
                "UPDATE experiments SET status='interrupted' WHERE experiment_id=?", dead
            )

    # ---- writing -----------------------------------------------------------------------

    def begin_experiment(
        self,
        exp_id: str,
        name: str,
        variants: Sequence[Variant],
        replications: int,
        tables: Sequence[str],
        baseline: str | None,
    ) -> None:
        """Register an experiment (or find it again to resume it)."""
        now = _now()
        with self._tx() as con:
            con.execute(
                "INSERT INTO experiments (experiment_id, name, created, updated, version, "
                "replications, baseline, tables, status, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) "
                "ON CONFLICT (experiment_id) DO UPDATE SET updated = excluded.updated, "
                "replications = MAX(replications, excluded.replications), "
                "status = 'running', name = excluded.name, baseline = excluded.baseline, "
                "pid = excluded.pid, host = excluded.host",
                (
                    exp_id,
                    name,
                    now,
                    now,
                    __version__,
                    replications,
                    baseline,
                    json.dumps(list(tables)),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            con.executemany(
                "INSERT OR IGNORE INTO variants VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        exp_id,
                        v.name,
                        i,
                        v.scenario.fingerprint(),
                        v.scenario.seed,
                        json.dumps({k: repr(o) for k, o in v.options.items()}),
                        v.scenario.to_yaml(),
                    )
                    for i, v in enumerate(variants)
                ],
            )

    def record_run(self, exp_id: str, run: RunSummary) -> None:
        """A finished job: its status, KPIs and tables in one transaction."""
        blobs = [(name, _to_parquet(df)) for name, df in run.tables.items()]
        key = (exp_id, run.variant, run.replication)
        with self._tx() as con:
            con.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, 'done', ?, NULL, ?)",
                (*key, run.seed, run.elapsed_s, _now()),
            )
            con.execute(
                "DELETE FROM kpis WHERE experiment_id=? AND variant=? AND replication=?", key
            )
            con.executemany(
                "INSERT INTO kpis VALUES (?, ?, ?, ?, ?, ?)",
                [(*key, run.seed, k, _sql_float(v)) for k, v in run.kpis.items()],
            )
            con.executemany(
                "INSERT OR REPLACE INTO run_tables VALUES (?, ?, ?, ?, ?)",
                [(*key, name, blob) for name, blob in blobs],
            )

    def record_failure(self, exp_id: str, failure: JobFailure) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, 'failed', NULL, ?, ?)",
                (exp_id, failure.variant, failure.replication, failure.seed, failure.error, _now()),
            )

    def finish_experiment(self, exp_id: str, status: str = "complete") -> None:
        """Mark how an experiment ended: complete, failed (some jobs raised) or interrupted."""
        if status not in STATUSES:
            raise ValueError(f"unknown status '{status}' (valid: {', '.join(STATUSES)})")
        with self._tx() as con:
            con.execute(
                "UPDATE experiments SET status=?, updated=? WHERE experiment_id=?",
                (status, _now(), exp_id),
            )

    def save(self, result: ExperimentResult) -> str:
        """Keep an experiment that ran without the store (e.g. in the app); returns its id."""
        tables = sorted({n for r in result.runs.values() for n in r.tables})
        exp_id = result.experiment_id or experiment_id(result.variants, tables)
        self.begin_experiment(
            exp_id,
            result.name or exp_id,
            result.variants,
            result.replications,
            tables,
            result.baseline,
        )
        for run in result.runs.values():
            self.record_run(exp_id, run)
        for fail in result.failures:
            self.record_failure(exp_id, fail)
        self.finish_experiment(exp_id, "failed" if result.failures else "complete")
        return exp_id

    def delete(self, exp_id: str) -> None:
        with self._tx() as con:
            for table in ("run_tables", "kpis", "jobs", "variants", "experiments"):
                con.execute(f"DELETE FROM {table} WHERE experiment_id=?", (exp_id,))

    # ---- reading -----------------------------------------------------------------------

    def finished_runs(self, exp_id: str) -> dict[tuple[str, int], RunSummary]:
        """Jobs of an experiment already committed, as RunSummaries (for resuming)."""
        with self._read() as con:
            jobs = con.execute(
                "SELECT variant, replication, seed, elapsed_s FROM jobs "
                "WHERE experiment_id=? AND status='done'",
                (exp_id,),
            ).fetchall()
            kpis = con.execute(
                "SELECT variant, replication, kpi, value FROM kpis WHERE experiment_id=? "
                "ORDER BY rowid",
                (exp_id,),
            ).fetchall()
            blobs = con.execute(
                "SELECT variant, replication, name, data FROM run_tables WHERE experiment_id=?",
                (exp_id,),
            ).fetchall()
        runs = {
            (v, r): RunSummary(v, r, seed, {}, {}, elapsed or 0.0) for v, r, seed, elapsed in jobs
        }
        for v, r, k, value in kpis:
            if (v, r) in runs:
                runs[(v, r)].kpis[k] = float("nan") if value is None else float(value)
        for v, r, name, data in blobs:
            if (v, r) in runs:
                runs[(v, r)].tables[name] = pd.read_parquet(io.BytesIO(data))
        return runs

    def list_runs(self) -> pd.DataFrame:
        """One row per experiment, newest first."""
        query = """
            SELECT e.experiment_id AS run_id, e.name, e.created, e.updated, e.status,
                   e.replications, e.version,
                   (SELECT COUNT(*) FROM variants v WHERE v.experiment_id = e.experiment_id)
                       AS variants,
                   (SELECT group_concat(variant, ' | ') FROM
                       (SELECT variant FROM variants v WHERE v.experiment_id = e.experiment_id
                        ORDER BY position)) AS variant_names,
                   (SELECT COUNT(*) FROM jobs j WHERE j.experiment_id = e.experiment_id
                       AND j.status = 'done') AS runs_done,
                   (SELECT COUNT(*) FROM jobs j WHERE j.experiment_id = e.experiment_id
                       AND j.status = 'failed') AS runs_failed
            FROM experiments e ORDER BY e.updated DESC, e.created DESC
        """
        with self._read() as con:
            return pd.read_sql_query(query, con)

    def kpi_means(self, kpis: Sequence[str]) -> pd.DataFrame:
        """Mean of each of ``kpis`` over replications, per experiment and variant (in the
        variants' order), with the economics block of the variant's scenario (currency
        and number format, to write the money as the scenario does). For listings: no
        run is loaded. Columns: run_id, variant, position, kpi, mean, n, economics."""
        marks = ", ".join("?" for _ in kpis)
        query = f"""
            SELECT m.experiment_id AS run_id, m.variant, v.position, m.kpi, m.mean, m.n,
                   v.scenario_yaml
            FROM kpi_means m JOIN variants v
                ON v.experiment_id = m.experiment_id AND v.variant = m.variant
            WHERE m.kpi IN ({marks}) ORDER BY m.experiment_id, v.position
        """
        with self._read() as con:
            out = pd.read_sql_query(query, con, params=list(kpis))
        economics = {text: _economics(text) for text in out["scenario_yaml"].unique()}
        out["economics"] = [economics[t] for t in out["scenario_yaml"]]
        return out.drop(columns="scenario_yaml")

    def load(self, exp_id: str) -> ExperimentResult:
        """Reopen a stored experiment without running anything.

        Policy objects are not stored (only their repr); the loaded variants carry the
        resolved scenarios, which is what the tables and summaries need.
        """
        with self._read() as con:
            exp = con.execute(
                "SELECT name, replications, baseline FROM experiments WHERE experiment_id=?",
                (exp_id,),
            ).fetchone()
            if exp is None:
                raise StoreError(f"no run '{exp_id}' in {self.path}")
            rows = con.execute(
                "SELECT variant, scenario_yaml FROM variants WHERE experiment_id=? "
                "ORDER BY position",
                (exp_id,),
            ).fetchall()
            failed = con.execute(
                "SELECT variant, replication, seed, error FROM jobs "
                "WHERE experiment_id=? AND status='failed'",
                (exp_id,),
            ).fetchall()
        name, replications, baseline = exp
        variants = [
            Variant(v, scenario_from_yaml(text, f"stored variant '{v}'")) for v, text in rows
        ]
        return ExperimentResult(
            variants=variants,
            replications=replications,
            runs=self.finished_runs(exp_id),
            failures=[JobFailure(v, r, s, e or "") for v, r, s, e in failed],
            experiment_id=exp_id,
            name=name,
            baseline=baseline,
        )

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """Run a read-only SQL query against the store."""
        uri = f"file:{self.path}?mode=ro"
        try:
            with closing(sqlite3.connect(uri, uri=True, timeout=30)) as con:
                return pd.read_sql_query(sql, con, params=list(params))
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise self._error(exc) from None


def _alive(pid: int) -> bool:
    """Whether a process of this host with ``pid`` still exists."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _economics(text: str) -> dict:
    """The economics block of a stored scenario (empty when the text does not parse);
    a copy, so a caller may change it.

    Why cached, and parsed by libyaml: the app lists past runs on every page refresh
    (Streamlit runs every tab's code at each click), and PyYAML's pure-Python parser
    took ~25 ms a stored scenario: 1.0 s a click with 40 runs kept. The cache is keyed
    by a digest of the text (a scenario with a long forecast can be megabytes) and keeps
    the last ``_ECONOMICS_KEPT`` blocks.
    """
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    block = _ECONOMICS.get(key)
    if block is None:
        block = _parse_economics(text)
        with _ECONOMICS_LOCK:  # the app's sessions are threads of one process
            while len(_ECONOMICS) >= _ECONOMICS_KEPT:
                del _ECONOMICS[next(iter(_ECONOMICS))]  # the oldest
            _ECONOMICS[key] = block
    return copy.deepcopy(block)


_ECONOMICS: dict[bytes, dict] = {}
_ECONOMICS_KEPT = 4096
_ECONOMICS_LOCK = threading.Lock()


def _parse_economics(text: str) -> dict:
    """The texts are the store's own (``yaml.safe_dump`` of a validated scenario), so
    libyaml's safe loader reads them as PyYAML's own does."""
    try:
        data = yaml.load(text, Loader=_FAST_SAFE_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError:
        return {}
    eco = data.get("economics") if isinstance(data, dict) else None
    return dict(eco) if isinstance(eco, dict) else {}


_FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (its wheels are), else PyYAML's."""


def _sql_float(value: float) -> float | None:
    v = float(value)
    return None if v != v else v
