"""Readers: call logs, billing and account extracts into one canonical shape.

Why: every fit downstream reads the same columns whatever the source, so a planner's
CSV, a Parquet export of the simulator and the Anonymous Bank files are all checked
once, here. A row that cannot be read raises ONE ``DataError`` naming the file, the
row and the column; a known quirk of a source is counted in ``CallLog.quirks`` (and
kept or set aside for a named reason), never dropped silently.

Generic call-log schema (CSV or Parquet, one row per call that reached the agent stage,
i.e. asked for an agent):

============  ========  ===========================================================
column        required  meaning
============  ========  ===========================================================
arrival       yes       date-time the caller asked for an agent (ISO 8601)
queue_entry   no        date-time the caller joined the queue (empty: answered at once)
answer        no        date-time an agent answered (empty: not answered)
end           yes       date-time the call ended (end of service, or hang-up)
outcome       yes       ``answered`` or ``abandoned``
call_type     no        the call's type or reason (any label; default ``all``)
agent_id      no        who answered (needed to infer staffing)
account_id    no        the caller's account (needed to link calls to bills)
priority      no        queue priority class (integer)
============  ========  ===========================================================

Billing extract: ``account, bill_date, amount, previous_amount, flag`` with ``flag`` in
routine / shock / error / credit (amounts are not negative: a credit is flagged, not
signed). Account extract: ``account, segment, start, charge,
churn_date`` (``churn_date`` empty for an account still active).
"""

from __future__ import annotations

import gzip
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from sim.calibrate.arrivals import DAY_TYPES_SUN_THU

Source = str | Path | IO[bytes] | IO[str] | pd.DataFrame

CALL_COLUMNS = ("arrival", "end", "outcome")
OPTIONAL_CALL_COLUMNS = ("queue_entry", "answer", "call_type", "agent_id", "account_id", "priority")
BILL_COLUMNS = ("account", "bill_date", "amount", "previous_amount", "flag")
BILL_FLAGS = ("routine", "shock", "error", "credit")
ACCOUNT_COLUMNS = ("account", "segment", "start", "charge", "churn_date")

BANK_COLUMNS = (
    "vru_line",
    "call_id",
    "customer_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
)
LONG_SERVICE_S = 3600.0
"""Services longer than this are kept in the log but left out of the service-time fit
(Brown et al. 2005 truncate at one hour)."""
SHORT_SERVICE_S = 10.0
"""Anonymous Bank services shorter than this (5-8 % a month, a spike the README lists
as "served <10 s") are kept as answered calls but left out of the service-time fit: they
are not the lognormal body of talk times (Brown et al. 2005)."""


class DataError(ValueError):
    """Input data that cannot be used: one line naming the file, the row and the column."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column = file, row, column
        where = [file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass
class CallLog:
    """Calls at the agent stage in canonical form, and the quirks met while reading.

    ``calls`` columns: arrival (datetime64), wait_s, service_s (NaN unless answered),
    outcome (answered/abandoned), queued (bool), call_type, agent_id, account_id,
    priority, fit_service (bool: usable for the service-time fit), day (date).
    """

    calls: pd.DataFrame
    quirks: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    """Records read but not at the agent stage (e.g. VRU-only calls), by kind."""
    day_types: dict[int, str] | None = None
    """Weekday (Mon=0) to day type, when the source knows its week (the bank: Sun-Thu)."""

    def quirks_table(self) -> pd.DataFrame:
        """Quirks as a tidy table: quirk, rows, what was done."""
        return pd.DataFrame(
            [
                {"quirk": k, "rows": v, "handling": QUIRK_HANDLING.get(k, "")}
                for k, v in self.quirks.items()
            ]
        )

    def months(self) -> list[str]:
        """Months covered, as 'YYYY-MM'."""
        return sorted(self.calls["arrival"].dt.strftime("%Y-%m").unique().tolist())

    def subset(self, months: list[str]) -> CallLog:
        """Only the calls of the given months ('YYYY-MM')."""
        keep = self.calls["arrival"].dt.strftime("%Y-%m").isin(months)
        calls = self.calls[keep].reset_index(drop=True)
        return CallLog(
            calls, dict(self.quirks), list(self.sources), dict(self.excluded), self.day_types
        )


QUIRK_HANDLING = {
    "tab_replaced_by_spaces": "line re-split on whitespace; kept",
    "negative_vru_time": "VRU clock; vru_time is not used; kept",
    "scientific_customer_id": "id precision lost at the source; kept as text, not used to link",
    "agent_without_server": "kept as answered; left out of the service fit and agent inference",
    "service_over_1h": "kept; left out of the service-time fit (Brown et al. 2005)",
    "vru_exit_after_midnight": "arrival moved to the next day",
    "zero_service_time": "kept as answered; left out of the service-time fit",
    "service_under_10s": "kept as answered (agents' quick hang-ups); left out of the service fit",
}


def _name(src: Source) -> str:
    if isinstance(src, str | Path):
        return str(src)
    if isinstance(src, pd.DataFrame):
        return "<table>"
    return getattr(src, "name", "<upload>")


def _table(src: Source) -> pd.DataFrame:
    """A CSV or Parquet file (path or file-like) or a DataFrame as a DataFrame."""
    if isinstance(src, pd.DataFrame):
        return src.copy()
    name = _name(src)
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(src)
        return pd.read_csv(src, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise DataError(name, "no such file") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(name, f"cannot be read as a table ({exc})") from None


def _require(df: pd.DataFrame, cols: tuple[str, ...], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            name, f"missing column(s) {missing} (has {list(df.columns)})", column=missing[0]
        )


def _times(df: pd.DataFrame, col: str, name: str, required: bool) -> pd.Series:
    raw = df[col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = raw.astype("datetime64[ns]")
    else:
        out = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    blank = raw.isna() | (raw.astype(str).str.strip() == "")
    bad = out.isna() & ~blank
    if required:
        bad |= blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(name, f"cannot read time {raw.iloc[i]!r}", row=i + 2, column=col)
    return out


def read_call_log(src: Source) -> CallLog:
    """Read a call log in the generic schema (see the module docstring)."""
    name = _name(src)
    df = _table(src)
    _require(df, CALL_COLUMNS, name)
    arrival = _times(df, "arrival", name, True)
    end = _times(df, "end", name, True)
    answer = (
        _times(df, "answer", name, False) if "answer" in df else pd.Series(pd.NaT, index=df.index)
    )
    queue = _times(df, "queue_entry", name, False) if "queue_entry" in df else None
    outcome = df["outcome"].astype(str).str.strip().str.lower()
    bad = ~outcome.isin(["answered", "abandoned"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            name,
            f"outcome must be answered or abandoned (got {df['outcome'].iloc[i]!r})",
            i + 2,
            "outcome",
        )
    ans = outcome == "answered"
    miss = ans & answer.isna()
    if miss.any():
        i = int(np.flatnonzero(miss.to_numpy())[0])
        raise DataError(name, "an answered call needs an answer time", i + 2, "answer")
    for col, t in (("end", end), ("answer", answer)):
        early = (t < arrival).fillna(False)
        if early.any():
            i = int(np.flatnonzero(early.to_numpy())[0])
            raise DataError(name, f"{col} is before arrival", i + 2, col)
    early = (ans & (end < answer)).fillna(False)
    if early.any():
        i = int(np.flatnonzero(early.to_numpy())[0])
        raise DataError(name, "end is before answer", i + 2, "end")
    wait = np.where(ans, (answer - arrival).dt.total_seconds(), (end - arrival).dt.total_seconds())
    service = np.where(ans, (end - answer).dt.total_seconds(), np.nan)
    queued = wait > 0 if queue is None else queue.notna().to_numpy()
    calls = pd.DataFrame(
        {
            "arrival": arrival.astype("datetime64[ns]"),
            "wait_s": wait.astype(float),
            "service_s": service.astype(float),
            "outcome": outcome.to_numpy(),
            "queued": np.asarray(queued, dtype=bool),
            "call_type": df["call_type"].astype(str).to_numpy() if "call_type" in df else "all",
            "agent_id": df["agent_id"].astype("string").to_numpy() if "agent_id" in df else pd.NA,
            "account_id": df["account_id"].astype("string").to_numpy()
            if "account_id" in df
            else pd.NA,
            "priority": pd.to_numeric(df["priority"], errors="coerce")
            .fillna(0)
            .astype(int)
            .to_numpy()
            if "priority" in df
            else 0,
        }
    )
    quirks: dict[str, int] = {}
    long = calls["service_s"] > LONG_SERVICE_S
    zero = calls["service_s"] <= 0
    if long.any():
        quirks["service_over_1h"] = int(long.sum())
    if zero.any():
        quirks["zero_service_time"] = int(zero.sum())
    calls["fit_service"] = ans.to_numpy() & ~long.to_numpy() & ~zero.to_numpy()
    calls["day"] = calls["arrival"].dt.normalize()
    return CallLog(
        calls.sort_values("arrival", kind="stable").reset_index(drop=True), quirks, [name]
    )


# ---- the Anonymous Bank (Technion SEE Lab) ------------------------------------------------------


def anonymous_bank_dir() -> Path:
    """Where the Anonymous Bank data lives: ``$BILLSIM_ANON_BANK`` or
    ``<repo root>/../shared/data/anonymous_bank`` (never inside the repository)."""
    env = os.environ.get("BILLSIM_ANON_BANK")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "anonymous_bank"


def anonymous_bank_files(months: list[str] | None = None) -> list[Path]:
    """The monthly raw files (``raw/1999-MM_*.txt.gz``), optionally only some 'YYYY-MM'."""
    files = sorted((anonymous_bank_dir() / "raw").glob("1999-*.txt*"))
    if months:
        files = [f for f in files if f.name[:7] in months]
    return files


_SPACES = re.compile(r"\s+")


def _clock_s(col: pd.Series, name: str, column: str, offset: int) -> np.ndarray:
    parts = col.str.split(":", expand=True)
    if parts.shape[1] != 3:
        i = int(np.flatnonzero(col.str.count(":").to_numpy() != 2)[0])
        raise DataError(name, f"cannot read time {col.iloc[i]!r}", i + offset, column)
    nums = parts.apply(pd.to_numeric, errors="coerce")
    bad = nums.isna().any(axis=1).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(name, f"cannot read time {col.iloc[i]!r}", i + offset, column)
    return (nums[0] * 3600 + nums[1] * 60 + nums[2]).to_numpy(dtype=float)


def read_anonymous_bank(paths: list[str | Path] | str | Path | IO[bytes]) -> CallLog:
    """Read Anonymous Bank monthly files (tab-separated, ``.gz`` accepted) into a CallLog.

    Handles every quirk its README lists: lines with spaces instead of a tab (re-split on
    whitespace), padded fields, negative ``vru_time``, customer ids in scientific
    notation, AGENT records with ``server`` NO_SERVER, services over one hour. The agent
    stage is served calls plus calls abandoned in the queue; arrival = date + vru_exit;
    VRU-only hang-ups and PHANTOM records are counted in ``excluded``.
    """
    items = paths if isinstance(paths, list) else [paths]
    frames, quirks, names = [], {}, []
    excluded: dict[str, int] = {}
    for item in items:
        name = _name(item)
        names.append(name)
        try:
            if isinstance(item, str | Path):
                opener = gzip.open if str(item).endswith(".gz") else open
                with opener(item, "rt", encoding="latin-1") as fh:
                    text = fh.read()
            else:
                data = item.read()
                if isinstance(data, bytes):
                    data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
                    data = data.decode("latin-1")
                text = data
        except FileNotFoundError:
            raise DataError(name, "no such file") from None
        except (OSError, EOFError) as exc:
            raise DataError(name, f"cannot be read ({exc})") from None
        lines = text.splitlines()
        if not lines:
            raise DataError(name, "the file is empty")
        header = [h.strip() for h in lines[0].split("\t")]
        if header[0] == "vru+line":
            header[0] = "vru_line"
        missing = [c for c in BANK_COLUMNS if c not in header]
        if missing:
            raise DataError(name, f"missing column(s) {missing}", 1, missing[0])
        fixed = 0
        body = []
        for ln in lines[1:]:
            if not ln.strip():
                continue
            if ln.count("\t") != len(header) - 1:
                ln = "\t".join(_SPACES.split(ln.strip()))
                fixed += 1
            body.append(ln)
        df = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep="\t",
            header=None,
            names=header,
            dtype=str,
            keep_default_na=False,
        )
        if fixed:
            quirks["tab_replaced_by_spaces"] = quirks.get("tab_replaced_by_spaces", 0) + fixed
        frames.append(_bank_frame(df.apply(lambda s: s.str.strip()), name, quirks, excluded))
    calls = pd.concat(frames, ignore_index=True).sort_values("arrival", kind="stable")
    return CallLog(calls.reset_index(drop=True), quirks, names, excluded, DAY_TYPES_SUN_THU)


def _bank_frame(
    df: pd.DataFrame, name: str, quirks: dict[str, int], excluded: dict[str, int]
) -> pd.DataFrame:
    def add(k: str, n: int) -> None:
        if n:
            quirks[k] = quirks.get(k, 0) + int(n)

    off = 2  # file row = index + 2 (header is row 1)
    date = pd.to_datetime(df["date"], format="%y%m%d", errors="coerce")
    if date.isna().any():
        i = int(np.flatnonzero(date.isna().to_numpy())[0])
        raise DataError(name, f"cannot read date {df['date'].iloc[i]!r}", i + off, "date")
    nums = {}
    for col in ("vru_time", "q_time", "ser_time", "priority"):
        v = pd.to_numeric(df[col], errors="coerce")
        if v.isna().any():
            i = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise DataError(name, f"not a number: {df[col].iloc[i]!r}", i + off, col)
        nums[col] = v.to_numpy(dtype=float)
    entry = _clock_s(df["vru_entry"], name, "vru_entry", off)
    exit_ = _clock_s(df["vru_exit"], name, "vru_exit", off)
    q_start = _clock_s(df["q_start"], name, "q_start", off)
    ser_start = _clock_s(df["ser_start"], name, "ser_start", off)
    outcome = df["outcome"].to_numpy()
    bad = ~np.isin(outcome, ["AGENT", "HANG", "PHANTOM"])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(name, f"unknown outcome {outcome[i]!r}", i + off, "outcome")
    queued = q_start > 0
    agent = outcome == "AGENT"
    stage = agent | ((outcome == "HANG") & queued)
    excluded["phantom"] = excluded.get("phantom", 0) + int((outcome == "PHANTOM").sum())
    excluded["vru_abandon"] = excluded.get("vru_abandon", 0) + int(
        ((outcome == "HANG") & ~queued).sum()
    )
    add("negative_vru_time", (nums["vru_time"] < 0).sum())
    sci = df["customer_id"].str.contains(r"[eE]\+", regex=True).to_numpy()
    add("scientific_customer_id", sci.sum())
    no_server = agent & (df["server"].to_numpy() == "NO_SERVER")
    add("agent_without_server", no_server.sum())
    long = agent & (nums["ser_time"] > LONG_SERVICE_S)
    add("service_over_1h", long.sum())
    zero = agent & ~no_server & (nums["ser_time"] < SHORT_SERVICE_S)
    add("service_under_10s", zero.sum())
    wrap = exit_ < entry - 1  # VRU stage crossed midnight
    add("vru_exit_after_midnight", (wrap & stage).sum())
    arrival = date + pd.to_timedelta(exit_ + np.where(wrap, 86400.0, 0.0), unit="s")
    if (agent & (nums["ser_time"] < 0)).any():
        i = int(np.flatnonzero(agent & (nums["ser_time"] < 0))[0])
        raise DataError(name, "end before start (negative ser_time)", i + off, "ser_time")
    del ser_start
    cust = df["customer_id"].astype("string")
    server = pd.array(np.where(agent & ~no_server, df["server"].to_numpy(), None), dtype="string")
    out = pd.DataFrame(
        {
            "arrival": arrival.astype("datetime64[ns]"),
            "wait_s": np.maximum(nums["q_time"], 0.0),
            "service_s": np.where(agent, nums["ser_time"], np.nan),
            "outcome": np.where(agent, "answered", "abandoned"),
            "queued": queued,
            "call_type": df["type"].to_numpy(),
            "agent_id": server,
            "account_id": cust.where(~sci & (cust != "0")),
            "priority": nums["priority"].astype(int),
            "fit_service": agent & ~no_server & ~long & ~zero,
        }
    )[stage].reset_index(drop=True)
    out["day"] = out["arrival"].dt.normalize()
    return out


# ---- billing and account extracts -----------------------------------------------------------


def read_bills(src: Source) -> pd.DataFrame:
    """Billing extract (account, bill_date, amount, previous_amount, flag), checked."""
    name = _name(src)
    df = _table(src)
    _require(df, BILL_COLUMNS, name)
    out = pd.DataFrame({"account": df["account"].astype(str).to_numpy()})
    out["bill_date"] = _times(df, "bill_date", name, True).dt.normalize()
    for col, req in (("amount", True), ("previous_amount", False)):
        v = pd.to_numeric(df[col], errors="coerce")
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        bad = v.isna() & (~blank | req)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(name, f"not a number: {df[col].iloc[i]!r}", i + 2, col)
        neg = (v < 0).fillna(False)
        if neg.any():
            i = int(np.flatnonzero(neg.to_numpy())[0])
            raise DataError(name, f"negative amount {df[col].iloc[i]!r}", i + 2, col)
        out[col] = v.to_numpy(dtype=float)
    flag = df["flag"].astype(str).str.strip().str.lower()
    bad = ~flag.isin(BILL_FLAGS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            name,
            f"flag must be one of {list(BILL_FLAGS)} (got {df['flag'].iloc[i]!r})",
            i + 2,
            "flag",
        )
    out["flag"] = flag.to_numpy()
    return out


def read_accounts(src: Source) -> pd.DataFrame:
    """Account extract (account, segment, start, charge, churn_date), checked."""
    name = _name(src)
    df = _table(src)
    _require(df, ACCOUNT_COLUMNS, name)
    out = pd.DataFrame(
        {
            "account": df["account"].astype(str).to_numpy(),
            "segment": df["segment"].astype(str).to_numpy(),
        }
    )
    out["start"] = _times(df, "start", name, True)
    out["churn_date"] = _times(df, "churn_date", name, False)
    charge = pd.to_numeric(df["charge"], errors="coerce")
    if charge.isna().any():
        i = int(np.flatnonzero(charge.isna().to_numpy())[0])
        raise DataError(name, f"not a number: {df['charge'].iloc[i]!r}", i + 2, "charge")
    out["charge"] = charge.to_numpy(dtype=float)
    early = (out["churn_date"] < out["start"]).fillna(False)
    if early.any():
        i = int(np.flatnonzero(early.to_numpy())[0])
        raise DataError(name, "churn_date is before start", i + 2, "churn_date")
    return out


def as_call_log(data: Any) -> CallLog:
    """A CallLog from a CallLog, a DataFrame / file in the generic schema, Anonymous Bank
    files (recognised by their name ``*.txt`` / ``*.txt.gz``), or a list of these."""
    if isinstance(data, CallLog):
        return data
    items = data if isinstance(data, list | tuple) else [data]
    bank = [p for p in items if isinstance(p, str | Path) and str(p).endswith((".txt", ".txt.gz"))]
    other = [p for p in items if p not in bank]
    logs = ([read_anonymous_bank(bank)] if bank else []) + [read_call_log(p) for p in other]
    if not logs:
        raise DataError("<input>", "no call log given")
    if len(logs) == 1:
        return logs[0]
    quirks: dict[str, int] = {}
    excluded: dict[str, int] = {}
    for lg in logs:
        for k, v in lg.quirks.items():
            quirks[k] = quirks.get(k, 0) + v
        for k, v in lg.excluded.items():
            excluded[k] = excluded.get(k, 0) + v
    calls = pd.concat([lg.calls for lg in logs], ignore_index=True).sort_values(
        "arrival", kind="stable"
    )
    srcs = [s for lg in logs for s in lg.sources]
    return CallLog(calls.reset_index(drop=True), quirks, srcs, excluded, logs[0].day_types)
