"""Results tables and every KPI formula, defined once.

A replication returns raw arrays (model.RawRun); this module shapes them into tidy
pandas tables at fixed grains -- one row per call attempt, per interval, per month, per
customer -- and computes the KPIs. The CLI, the app, the experiment runner and the tests
all read numbers from here, so a definition changes in one place only.

Definitions (T = ``contact_center.service_level.threshold_s``):

- A call *attempt* reaches the queue unless it was settled in the IVR or dropped while
  the center was closed. Its *outcome* is answered, abandoned, or still in the system at
  the end of the horizon (waiting, in service); the last are excluded from rates.
- **service level** = attempts answered within T / (answered + abandoned attempts).
  Abandoned calls count against the service level whatever their wait (the strict
  convention; Erlang A's ``P(answered within T)`` is the same quantity).
- **ASA** = mean wait of answered attempts.
- **abandonment rate** = abandoned / (answered + abandoned).
- **AHT** = mean of talk time (verification, review, work) + after-call work, answered.
- **occupancy** = agent-seconds busy with calls / agent-seconds on duty.
- **mean queue** (per interval) = caller-seconds spent waiting inside the interval /
  interval length; a wait ends at answer, at the abandonment deadline, or at the end of
  the horizon; callers on virtual hold (callback) count as waiting.
- **agents needed** (per interval) = Erlang C agents for offered / interval length ×
  AHT at the service-level target and T (pooled over all groups); an interval with
  calls but none answered uses the scenario's expected handling time of its calls.
- **first-contact resolution (FCR)** = answered attempts that resolved the issue /
  answered attempts.
- **monthly churn** = accounts that left at a bill date / accounts facing a bill date
  (the empirical monthly hazard).
- **retention** = accounts of the initial base still active at the end / initial base.
- **cancel calls** = accounts that decided to leave and called to cancel first
  (``retention.save_desk``); **save rate** = saved / cancel callers answered while still
  set to leave; **cost per save** = discount committed on the saves (charge × percent ×
  duration) / saves (each 0 when its denominator is 0).
- **revenue** = billed (correct amount + billing errors) − discounts − refunded errors.
- **discount cost** (KPI ``discount_cost``, ``monthly.discount_cost``) = what bills
  dated within the horizon were reduced by: a discount granted late in the horizon
  counts only its bills that fall inside it. It is *not* the committed value (monthly
  value × ``policies.discount.duration_months``, bills after the horizon included):
  that one is what ``policies.discount.budget_per_month`` limits, what
  ``segments().discount_committed`` holds and what sim.experiments.retention' ``discount_cost``
  measure compares, counted, like lost lifetime value, beyond the horizon.
- **discounts owed** (KPI ``discount_owed``, last month's row of ``monthly``) = what
  accounts still active at the end will be given on their bills after the horizon
  under discounts already granted (charge × percent × bills left). Shown for
  information: the value of the base already deducts it.
- **cost of service** = correct bill amount × (1 − ``gross_margin`` of the segment);
  **margin** = revenue − cost of service (discounts and refunds are pure margin).
- **customer value** (``customer_value``) of an account = Σ_k S_k · m_k / (1+d)^k over
  its next bills k = 0, 1, ..., with m_k = charge × gross margin − the discount still
  due on bill k, d = ``economics.discount_rate_monthly``, S_k = Π_{j≤k} (1 − h_j) and
  h_j its hazard projected from its current experience score (faded j times), tenure
  and a pending error (sim.world.retention.hazard_path) for ``economics.value_months``
  bills, then a constant-hazard tail m·S·(1−h)/(1+d−(1−h)) (the retention-adjusted
  CLV of Gupta & Lehmann, 2003/2005).
- **value of the base**: at the start, Σ customer value of the initial accounts (no
  experience yet) plus that of each acquired account when it joins; at the end, Σ
  customer value of the accounts then active. **base value change** (last month's row)
  = end − start. A decision made late in the horizon is valued through what it left in
  the accounts (remembered experiences, discounts still due, who is still there) like
  one made early, so the verdict does not depend on where the horizon ends.
- **lost value** (information) = customer value of each churned account at the moment
  it left, with no remembered experience (what a typical account of that segment,
  tenure and charge is worth); it is part of the base value change, not added to it.
- **net** = margin − agent cost − telephony cost + base value change (discount costs
  are inside margin and, for bills after the horizon, inside the value of the base).
- **month** (``monthly``, the ledger, the discount budget): month m of the horizon is
  [``calendar.start`` + m months, ``calendar.start`` + m + 1 months), the day clamped
  to the month's length; every row is a whole month, not a calendar month.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.codes import (
    ABANDONED,
    ANSWERED,
    DROPPED,
    IN_SERVICE,
    IVR,
    ORIGINS,
    OUTCOMES,
    PENDING,
    REASONS,
    WAITING,
)
from sim.core.erlang import staff_erlang_c
from sim.core.files import atomic_dir
from sim.core.memo import Memo, digest
from sim.results.raw import RawRun
from sim.results.stream import read_table
from sim.scenario import Scenario
from sim.world.retention import effect_weights, experience_score, hazard_path

MONEY_COLUMNS: tuple[str, ...] = (
    "billed",
    "discount_cost",
    "error_credits",
    "revenue",
    "service_cost",
    "margin",
    "agent_cost",
    "telephony_cost",
    "base_value_change",
    "lost_value",
    "discount_owed",
    "net",
)
"""Money columns of the monthly table, in the order the money flows."""

MONTHLY_UNITS: dict[str, str] = {
    "calls_offered": "calls",
    "calls_answered": "calls",
    "calls_abandoned": "calls",
    "service_level": "share",
    "acquired": "accounts",
    "churned": "accounts",
    "churn_rate": "share",
    "cancel_calls": "accounts",
    "cancel_answered": "accounts",
    "saves": "accounts",
    "save_cost": "money",
    "active_end": "accounts",
    **dict.fromkeys(MONEY_COLUMNS, "money"),
}
"""Unit of each monthly column a person reads (the others are keys or counts of bills)."""


@dataclass(frozen=True)
class KPI:
    """A headline number: its label, unit, formula in words, and which way is better."""

    label: str
    unit: str
    definition: str
    better: int = 0
    """+1: higher is better, -1: lower is better, 0: neither (occupancy, answered calls)."""


KPI_DEFINITIONS: dict[str, KPI] = {
    "service_level": KPI(
        "Service level", "share", "answered within T / (answered + abandoned)", better=1
    ),
    "asa_s": KPI("Average speed of answer", "s", "mean wait of answered attempts", better=-1),
    "abandonment_rate": KPI(
        "Abandonment", "share", "abandoned / (answered + abandoned)", better=-1
    ),
    "occupancy": KPI("Agent occupancy", "share", "busy agent-seconds / on-duty agent-seconds"),
    "aht_s": KPI("Average handling time", "s", "mean talk + after-call work, answered", better=-1),
    "fcr": KPI(
        "First-contact resolution", "share", "resolved answered / answered attempts", better=1
    ),
    "calls_offered": KPI("Calls offered", "calls", "attempts that reached the queue", better=-1),
    "calls_answered": KPI("Calls answered", "calls", "attempts answered by an agent"),
    "monthly_churn": KPI(
        "Monthly churn", "share", "churned / accounts facing a bill date", better=-1
    ),
    "retention": KPI("Retention", "share", "initial accounts still active at the end", better=1),
    "churned": KPI(
        "Accounts churned", "accounts", "accounts that left during the horizon", better=-1
    ),
    "cancel_calls": KPI(
        "Cancel calls", "calls", "accounts set to leave that called to cancel", better=-1
    ),
    "save_rate": KPI("Save rate", "share", "saved / cancel callers answered", better=1),
    "cost_per_save": KPI(
        "Cost per save", "money", "discount committed on saves / saves", better=-1
    ),
    "revenue": KPI("Revenue", "money", "billed − discounts − refunded errors", better=1),
    "discount_cost": KPI("Discount cost", "money", "discounts deducted on bills", better=-1),
    "agent_cost": KPI("Agent cost", "money", "scheduled agent-hours × hourly cost", better=-1),
    "telephony_cost": KPI("Telephony cost", "money", "(wait + talk) minutes × rate", better=-1),
    "service_cost": KPI(
        "Cost of service", "money", "correct billed × (1 − gross margin)", better=-1
    ),
    "margin": KPI("Margin", "money", "revenue − cost of service", better=1),
    "base_value_change": KPI(
        "Change in value of the base",
        "money",
        "CLV of the base at the end − at the start",
        better=1,
    ),
    "lost_value": KPI(
        "Lost customer value", "money", "CLV of churned accounts when they left", better=-1
    ),
    "discount_owed": KPI(
        "Discounts owed", "money", "granted discounts still to come after the horizon", better=-1
    ),
    "net": KPI("Net result", "money", "margin − agent − telephony + change in value of the base"),
}


MONTH_S = 30.4375 * 86400
"""An average month in seconds (tenure is counted in these)."""


def customer_value(
    scenario: Scenario,
    segment: np.ndarray,
    charge: np.ndarray,
    score: np.ndarray,
    tenure_months: np.ndarray,
    discount_pct: np.ndarray,
    bills_left: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Expected discounted margin of each account from its next bill on.

    The retention-adjusted CLV (Gupta & Lehmann): Σ_k S_k · m_k / (1+d)^k with the
    hazard projected from the account's experience ``score`` (Σ β_k E_k) and tenure by
    the churn model itself, then a constant-hazard tail; see the module docstring.
    ``rows``: value only these accounts (indices into the arrays), gathered a chunk at a
    time rather than copied whole first (the value of the base at ten million accounts).
    """
    # Accounts are independent: chunks of accounts keep the 120-month loop's arrays in
    # the CPU cache (about 3x faster at a million accounts), and run on all cores in
    # threads (numpy releases the GIL in the loop's arithmetic, but takes it back between
    # the ~15 numpy calls of each month: 1.2-1.4x on 2 cores, 0.54 -> 0.46 s for the
    # baseline's base value; chunks of 8 192 gained nothing). Every
    # element's arithmetic is unchanged and each chunk writes its own rows, so the values
    # are bit-identical in any order.
    n = segment.size if rows is None else rows.size
    out = np.empty(n)
    columns = (segment, charge, score, tenure_months, discount_pct, bills_left)

    def chunk(lo: int) -> None:
        s = slice(lo, lo + _VALUE_CHUNK)
        pick = s if rows is None else rows[s]
        out[s] = _customer_value(scenario, *(column[pick] for column in columns))

    starts = range(0, n, _VALUE_CHUNK)
    threads = min(len(starts), os.cpu_count() or 1)
    if threads <= 1:
        for lo in starts:
            chunk(lo)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(chunk, starts))  # list(): a chunk's exception is raised here
    return out


_VALUE_CHUNK = 32768


def start_value(
    scenario: Scenario,
    segment: np.ndarray,
    charge_start: np.ndarray,
    joined_s: np.ndarray,
    segments: int,
) -> tuple[float, np.ndarray]:
    """Total and per-segment (read-only) customer value of every account at the start of
    the horizon, or when it joined: no experience, no discount, its charge then.

    It depends on the accounts as they began and on the scenario's customers, retention
    and economics only, so it is kept (``_START_VALUES``, keyed by a digest of exactly
    those): the strategies compared on one seed share their accounts at the start, and
    recomputing it was a sixth of a one-month run's time for every optimiser candidate.
    Code that replaces the value model itself (``customer_value``, the hazard) must call
    ``_START_VALUES.clear()``: the key covers inputs, not code.
    """
    key = digest(
        segment,
        charge_start,
        joined_s,
        str(segments),
        scenario.customers.model_dump_json(),
        scenario.retention.model_dump_json(),
        scenario.economics.model_dump_json(),
    )

    def compute() -> tuple[float, np.ndarray]:
        tenure = np.maximum(joined_s, 0.0)  # tenure at the start, in place
        tenure -= joined_s
        tenure /= MONTH_S
        zero = np.broadcast_to(0.0, segment.size)  # read-only zeros that take no memory
        none = np.broadcast_to(np.int64(0), segment.size)
        value = customer_value(scenario, segment, charge_start, zero, tenure, zero, none)
        by_segment = np.bincount(segment, value, minlength=segments)
        by_segment.flags.writeable = False  # shared by every run that finds it kept
        return float(value.sum()), by_segment

    return _START_VALUES.get(key, compute)


_START_VALUES: Memo[tuple[float, np.ndarray]] = Memo(16)
"""The value of the base at the start of the last 16 distinct sets of accounts."""


def _customer_value(
    scenario: Scenario,
    segment: np.ndarray,
    charge: np.ndarray,
    score: np.ndarray,
    tenure_months: np.ndarray,
    discount_pct: np.ndarray,
    bills_left: np.ndarray,
) -> np.ndarray:
    econ = scenario.economics
    gm = np.array([s.gross_margin for s in scenario.customers.segments])[segment]
    delta = 1.0 / (1.0 + econ.discount_rate_monthly)
    margin = charge * gm
    cut = charge * discount_pct / 100.0
    last_cut = int(bills_left.max(initial=0))
    alive = np.ones(segment.size)
    value = np.zeros(segment.size)
    factor = 1.0
    h = np.zeros(segment.size)
    step = np.empty(segment.size)  # in place: the same arithmetic, nothing allocated
    path = hazard_path(segment, score, tenure_months, econ.value_months, scenario)
    for k, h in enumerate(path):
        alive *= np.subtract(1.0, h, out=step)
        # past every account's last discounted bill, margin - 0.0 is margin itself
        net = margin - np.where(k < bills_left, cut, 0.0) if k < last_cut else margin
        np.multiply(alive, net, out=step)
        step *= factor
        value += step
        factor *= delta
    keep = (1.0 - h) * delta
    return value + alive * margin * factor / delta * keep / (1.0 - keep)


def reached_queue(status: np.ndarray) -> np.ndarray:
    """Attempts that reached the queue: all but those settled in the IVR, dropped while
    closed, or not yet placed (the denominator of 'offered')."""
    return ~np.isin(status, (IVR, DROPPED, PENDING))


def service_level(within: np.ndarray, answered: np.ndarray, abandoned: np.ndarray) -> np.ndarray:
    """Answered within T / (answered + abandoned), elementwise; NaN where nobody was
    answered or abandoned. The one formula the tables, the KPI and the figures use."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(within) / (np.asarray(answered) + np.asarray(abandoned))


INTERVAL_RATIOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "service_level": ("answered_within_threshold", ("answered", "abandoned")),
    "abandonment_rate": ("abandoned", ("answered", "abandoned")),
    "occupancy": ("busy_agent_s", ("agent_s_on_duty",)),
}
"""How each share of the intervals table pools over intervals, days and replications:
Σ numerator / Σ denominators (a mean of shares would weigh a quiet interval like a busy
one). Figures and the app pool with these columns."""


def rate(numerator: float, denominator: float) -> float:
    """A share that is NaN, not a crash, when nothing was counted."""
    return float(numerator) / float(denominator) if denominator else float("nan")


def step_integral(times: np.ndarray, levels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∫_0^x of a right-continuous step function (levels[k] from times[k] on)."""
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    area = np.concatenate([[0.0], np.cumsum(levels[:-1] * np.diff(times))])
    k = np.clip(np.searchsorted(times, x, side="right") - 1, 0, None)
    return area[k] + levels[k] * (x - times[k])


def busy_integral(start: np.ndarray, end: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Total busy time of intervals [start, end) that falls before each x.

    ``start`` and ``end`` are sorted in place (callers pass arrays of their own): a year
    of a million accounts has millions of calls, 17 MB a column, and a sorted copy of
    each was the results' largest temporary.
    """
    return _time_since(start, x) - _time_since(end, x)


def _time_since(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σ over the t_i <= x of (x - t_i), for each x: ``n x - Σ t_i`` from a sorted t
    (sorted in place)."""
    t.sort()
    cs = np.empty(t.size + 1)
    cs[0] = 0.0
    np.cumsum(t, out=cs[1:])
    n = np.searchsorted(t, x, side="right")
    return n * x - cs[n]


def erlang_c_needed(
    offered: np.ndarray, span_s: np.ndarray, aht_s: np.ndarray, target: float, threshold_s: float
) -> np.ndarray:
    """Erlang C agents for each interval's offered rate × AHT (NaN where AHT is unknown).

    Many intervals share (calls, span, AHT) -- every closed interval does -- so each
    distinct triple is staffed once; a run of 4 000+ intervals stays fast.
    """
    offered = np.asarray(offered, dtype=float)
    span_s = np.asarray(span_s, dtype=float)
    aht_s = np.asarray(aht_s, dtype=float)
    out = np.where(offered > 0, np.nan, 0.0)
    ok = (offered > 0) & (span_s > 0) & np.isfinite(aht_s) & (aht_s > 0)
    if not ok.any():
        return out
    keys = np.column_stack([offered[ok], span_s[ok], aht_s[ok]])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    staffed = np.array(
        [staff_erlang_c(n / span, aht, target, threshold_s) for n, span, aht in unique],
        dtype=float,
    )
    out[ok] = staffed[inverse.ravel()]
    return out


CALLS_FILE = "calls.parquet"
CUSTOMERS_FILE = "customers.parquet"
"""Names of the two large tables in a results folder (written or streamed)."""


def wait_s(c: Mapping[str, np.ndarray], horizon_s: float) -> np.ndarray:
    """Wait of every attempt, defined once: until answer; until the patience deadline
    for an abandoned caller; until the end of the horizon for one still waiting; NaN
    for attempts that never queued (IVR, dropped, pending)."""
    status = c["status"]
    wait = np.where(status == ANSWERED, c["t_answer"] - c["t_arrive"], np.nan)
    wait = np.where(status == ABANDONED, c["deadline"] - c["t_arrive"], wait)
    wait = np.where(status == WAITING, horizon_s - c["t_arrive"], wait)
    return np.where(status == IN_SERVICE, c["t_answer"] - c["t_arrive"], wait)


@dataclass(frozen=True)
class CallNames:
    """What turns per-call codes and seconds into the calls table's names and dates."""

    start: dt.date
    """``calendar.start`` (seconds count from its midnight)."""
    horizon_s: float
    group_names: tuple[str, ...]
    segment_names: tuple[str, ...]


CALL_COLUMNS: tuple[str, ...] = (
    "t_arrive",
    "account",
    "reason",
    "klass",
    "talk",
    "acw",
    "patience",
    "resolved",
    "attempt",
    "origin",
    "status",
    "deadline",
    "t_answer",
    "group",
    "callback",
)
"""The engine's per-call columns ``calls_frame`` reads (a streamed run gathers only these)."""


def calls_frame(
    c: Mapping[str, np.ndarray],
    call_id: np.ndarray,
    segment: np.ndarray,
    granted: np.ndarray,
    names: CallNames,
) -> pd.DataFrame:
    """The calls table of the per-call columns ``c``: one definition for a whole run in
    memory and for each chunk a streamed run writes (sim/model/sink.py)."""
    status = c["status"]
    answered = status == ANSWERED
    abandoned = status == ABANDONED
    t_end = np.where(answered, c["t_answer"] + c["talk"], np.nan)
    t_end = np.where(abandoned, c["deadline"], t_end)
    wait = wait_s(c, names.horizon_s)
    start = pd.Timestamp(names.start)
    return pd.DataFrame(
        {
            "call_id": call_id,
            "account": c["account"],
            "segment": pd.Categorical.from_codes(segment, list(names.segment_names)),
            "reason": pd.Categorical.from_codes(c["reason"], list(REASONS)),
            "origin": pd.Categorical.from_codes(c["origin"], list(ORIGINS)),
            "attempt": c["attempt"],
            "arrival": start + pd.to_timedelta(c["t_arrive"], unit="s"),
            "t_arrive_s": c["t_arrive"],
            "t_answer_s": c["t_answer"],
            "t_end_s": t_end,
            "wait_s": wait,
            "talk_s": np.where(answered | (status == IN_SERVICE), c["talk"], np.nan),
            "acw_s": np.where(answered | (status == IN_SERVICE), c["acw"], np.nan),
            "patience_s": c["patience"],
            "outcome": pd.Categorical(
                [OUTCOMES[int(s)] for s in np.unique(status)],
                categories=list(OUTCOMES.values()),
            )[np.searchsorted(np.unique(status), status)]
            if status.size
            else pd.Categorical([], categories=list(OUTCOMES.values())),
            "group": pd.Categorical.from_codes(c["group"], list(names.group_names)),
            "priority": c["klass"],
            "callback": c["callback"],
            "resolved": c["resolved"] & (answered | (status == IVR)),
            "discount_pct": granted,
        }
    )


def customers_frame(cols: Mapping[str, np.ndarray], scenario: Scenario) -> pd.DataFrame:
    """The customers table of per-account columns ``cols`` (all accounts, or a chunk)."""
    out = dict(cols)
    seg = out.pop("segment")
    names = [s.name for s in scenario.customers.segments]
    out["segment"] = pd.Categorical.from_codes(seg, names)
    out["cycle_day"] = np.array(scenario.billing.cycle_days)[out.pop("cycle")]
    return pd.DataFrame(out)


class Results:
    """Tables and KPIs of one replication, with the scenario, seed and version used.

    Fields: ``scenario`` (as run, defaults resolved), ``seed``, ``version`` (of billsim),
    ``raw`` (the model's arrays and ledger, ``sim.results.RawRun``).

    Tables, each a method call returning a pandas DataFrame: ``calls()`` (one row per
    call attempt), ``intervals(minutes)`` (queue statistics per interval of arrival),
    ``monthly()`` (bills, calls, churn and money per month of the horizon),
    ``customers()`` (final state and counters per account), ``segments()`` (per customer
    segment), ``waits()`` (waits of answered and abandoned attempts); ``kpis()`` returns
    the headline numbers as a dict. The module docstring defines every formula.

    A streamed run (``raw.stream``, ``simulate(stream_to=...)``) reads ``calls()`` and
    ``customers()`` from its Parquet files, and the per-call columns the other tables
    need from its calls table (sim/results/stream.py), through the same formulas.
    """

    def __init__(self, raw: RawRun) -> None:
        self.raw = raw
        self.scenario: Scenario = raw.scenario
        self.seed = raw.seed
        self.version = raw.version
        self._intervals: dict[int, pd.DataFrame] = {}

    # ---- per call ---------------------------------------------------------------------

    def calls(self) -> pd.DataFrame:
        """One row per call attempt (retrials and repeats are rows of their own)."""
        return self._calls

    @cached_property
    def _calls(self) -> pd.DataFrame:
        if self.raw.stream is not None:
            return read_table(self.raw.stream / CALLS_FILE, "call_id")
        c = self.raw.calls
        return calls_frame(
            c,
            np.arange(c["status"].size),
            self.raw.customers["segment"][c["account"]],
            self.raw.discount_granted,
            CallNames(
                self.scenario.calendar.start,
                self.raw.clock.horizon_s,
                self.raw.group_names,
                self.raw.segment_names,
            ),
        )

    def _wait_s(self) -> np.ndarray:
        """Wait of every attempt (``wait_s``)."""
        return wait_s(self.raw.calls, self.raw.clock.horizon_s)

    def waits(self) -> pd.DataFrame:
        """Waits of answered and abandoned attempts (float32): the wait distribution."""
        status = self.raw.calls["status"]
        done = (status == ANSWERED) | (status == ABANDONED)
        return pd.DataFrame(
            {
                "wait_s": self._wait_s()[done].astype(np.float32),
                "outcome": pd.Categorical(
                    np.where(status[done] == ABANDONED, "abandoned", "answered"),
                    ["answered", "abandoned"],
                ),
            }
        )

    # ---- per interval ---------------------------------------------------------------------

    def intervals(self, minutes: int | None = None) -> pd.DataFrame:
        """Queue statistics per interval of arrival (default: the scenario's interval)."""
        minutes = minutes or self.scenario.contact_center.interval_minutes
        cached = self._intervals.get(minutes)
        if cached is None:  # kpis(), the experiment runner and the app all ask for it
            cached = self._intervals[minutes] = self._compute_intervals(minutes)
        return cached.copy()

    def _compute_intervals(self, minutes: int) -> pd.DataFrame:
        sc = self.scenario
        edges = self.raw.clock.interval_edges(minutes)
        c = self.raw.calls
        T = sc.contact_center.service_level.threshold_s
        status = c["status"]
        queued = reached_queue(status)
        answered = status == ANSWERED
        abandoned = status == ABANDONED
        nb = edges.size - 1
        # Per-call temporaries are built in place, cover only the calls they count, and
        # are dropped once used: a year of a million accounts has millions of calls, 17 MB
        # per float column. bincount adds each bin's weights in call order whichever way
        # the calls are picked, so the sums are those of the whole-column masks.
        bins = np.searchsorted(edges, c["t_arrive"], side="right")
        bins -= 1
        np.clip(bins, 0, nb - 1, out=bins)
        n_ab = np.bincount(bins[abandoned], minlength=nb)
        offered_bins = bins[queued]
        offered = np.bincount(offered_bins, minlength=nb)
        # with no answered call to measure an AHT, Erlang C below uses the scenario's
        # expected handling time of the calls offered
        reason_handle = np.array(sc.contact_center.handling.expected_s())
        expected_handle_sum = np.bincount(
            offered_bins, weights=reason_handle[c["reason"][queued]], minlength=nb
        )
        del offered_bins
        bins = bins[answered]  # from here on, answered calls only
        n_ans = np.bincount(bins, minlength=nb)
        wait = c["t_answer"][answered]
        wait -= c["t_arrive"][answered]
        within = np.bincount(bins[wait <= T], minlength=nb)
        wait_sum = np.bincount(bins, weights=np.nan_to_num(wait, copy=False), minlength=nb)
        del wait
        handle = c["talk"][answered]
        handle += c["acw"][answered]
        handle_sum = np.bincount(bins, weights=handle, minlength=nb)
        del bins, handle
        served = answered | (status == IN_SERVICE)
        b_start = c["t_answer"][served]
        b_end = c["talk"][served]
        b_end += c["acw"][served]
        b_end += b_start  # start + (talk + acw): addition commutes exactly
        np.minimum(b_end, self.raw.clock.horizon_s, out=b_end)
        busy = np.diff(busy_integral(b_start, b_end, edges))
        del b_start, b_end
        on_duty = np.zeros(nb)
        scheduled = np.zeros(nb)
        for (ts, lv), (ts2, lv2) in zip(
            self.raw.staffing.on_duty, self.raw.staffing.scheduled, strict=True
        ):
            on_duty += np.diff(step_integral(ts, lv, edges))
            scheduled += np.diff(step_integral(ts2, lv2, edges))
        span = np.diff(edges)
        # Waiting time inside each interval: from arrival to answer, to the abandonment
        # deadline, or (still waiting) to the end of the horizon.
        horizon = self.raw.clock.horizon_s
        w_end = np.where(status == ABANDONED, c["deadline"], c["t_answer"])
        w_end[status == WAITING] = horizon
        w_start = c["t_arrive"][queued]
        w_end = w_end[queued]
        np.clip(w_end, w_start, horizon, out=w_end)
        queue_s = np.maximum(np.diff(busy_integral(w_start, w_end, edges)), 0.0)  # float noise
        del w_start, w_end
        # Erlang C staffing for the interval's load
        with np.errstate(invalid="ignore", divide="ignore"):
            expected_aht = expected_handle_sum / offered
            staff_aht = np.where(n_ans > 0, handle_sum / np.maximum(n_ans, 1), expected_aht)
        needed = erlang_c_needed(
            offered, span, staff_aht, sc.contact_center.service_level.target, T
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            df = pd.DataFrame(
                {
                    "interval_start": pd.Timestamp(sc.calendar.start)
                    + pd.to_timedelta(edges[:-1], unit="s"),
                    "t_s": edges[:-1],
                    "offered": offered.astype(np.int64),
                    "answered": n_ans.astype(np.int64),
                    "abandoned": n_ab.astype(np.int64),
                    "answered_within_threshold": within.astype(np.int64),
                    "service_level": service_level(within, n_ans, n_ab),
                    "asa_s": wait_sum / n_ans,
                    "aht_s": handle_sum / n_ans,
                    "busy_agent_s": busy,
                    "agent_s_on_duty": on_duty,
                    "occupancy": np.where(on_duty > 0, busy / on_duty, np.nan),
                    "agents_on_duty": on_duty / span,
                    "agents_scheduled": scheduled / span,
                    "mean_queue": queue_s / span,
                    "agents_needed": needed,
                }
            )
        return df

    # ---- per month ------------------------------------------------------------------------

    def monthly(self) -> pd.DataFrame:
        """Bills, calls, churn and money per calendar month of the horizon."""
        return self._monthly

    @cached_property
    def _monthly(self) -> pd.DataFrame:
        sc = self.scenario
        led = self.raw.ledger
        months = sc.calendar.months
        m_idx = np.arange(months)

        def per_month(rows: list[tuple], col: int) -> np.ndarray:
            out = np.zeros(months)
            for r in rows:
                out[min(r[0], months - 1)] += r[col]
            return out

        bills = per_month(led.bills, 1)
        correct = per_month(led.bills, 2)
        errors_amt = per_month(led.bills, 3)
        discount = per_month(led.bills, 4)
        errors = per_month(led.bills, 5)
        shocks = per_month(led.bills, 6)
        credits = per_month(led.credits, 1)
        churned = per_month(led.churn, 1)
        service_cost = per_month(led.service_cost, 1)
        acquired = per_month(led.acquired, 1)
        granted = per_month(led.discounts, 1)
        cancels = per_month(led.cancels, 1)
        cancel_answered = per_month(led.saves, 1)
        saves = per_month(led.saves, 2)
        save_cost = per_month(led.saves, 3)

        edges = self.raw.month_starts_s
        c = self.raw.calls
        status = c["status"]
        mon = np.searchsorted(edges, c["t_arrive"], side="right")  # in place: see intervals
        mon -= 1
        np.clip(mon, 0, months - 1, out=mon)
        answered = status == ANSWERED
        abandoned = status == ABANDONED
        T = sc.contact_center.service_level.threshold_s
        wait = c["t_answer"] - c["t_arrive"]
        np.nan_to_num(wait, copy=False)
        queued = reached_queue(status)
        offered = np.bincount(mon[queued], minlength=months)
        n_ans = np.bincount(mon[answered], minlength=months)
        n_ab = np.bincount(mon[abandoned], minlength=months)
        within = np.bincount(mon[answered & (wait <= T)], minlength=months)
        wait += c["talk"]  # time on the phone: wait + talk if answered,
        wait[~answered] = 0.0
        # the wait until hanging up if abandoned (0.0 + x before, the same in any sum)
        wait[abandoned] = c["deadline"][abandoned] - c["t_arrive"][abandoned]
        telephony = (
            np.bincount(mon, weights=wait, minlength=months) / 60
        ) * sc.economics.telephony_per_minute
        del mon, wait

        agent_cost = np.zeros(months)
        for g, (ts, lv) in zip(sc.contact_center.groups, self.raw.staffing.scheduled, strict=True):
            rate_h = (
                g.cost_per_hour if g.cost_per_hour is not None else sc.economics.agent_cost_per_hour
            )
            agent_cost += np.diff(step_integral(ts, lv, edges)) / 3600 * rate_h

        billed = correct + errors_amt
        revenue = billed - discount - credits
        cust = self.raw.customers
        owed = np.zeros(months)
        if "discount_bills_left" in cust:
            still = cust["active"] & (cust["discount_bills_left"] > 0)
            owed[-1] = float(
                np.sum(
                    cust["charge"][still]
                    * cust["discount_pct"][still]
                    / 100
                    * cust["discount_bills_left"][still]
                )
            )
        margin = revenue - service_cost
        value = self._base_value
        lost_value = np.bincount(
            np.clip(value["churn_month"], 0, months - 1),
            weights=value["lost"],
            minlength=months,
        )
        value_change = np.zeros(months)
        value_change[-1] = value["end"] - value["start"]
        net = margin - agent_cost - telephony + value_change
        start_dates = [
            pd.Timestamp(sc.calendar.start) + pd.to_timedelta(e, unit="s") for e in edges[:-1]
        ]
        facing = np.zeros(months)
        for r in led.bills:
            facing[min(r[0], months - 1)] += r[1]
        facing += churned
        active_end = np.array(
            [
                int(np.sum((cust["joined_s"] < edges[m + 1]) & ~(cust["churned_s"] < edges[m + 1])))
                for m in m_idx
            ]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.DataFrame(
                {
                    "month": m_idx,
                    "month_start": start_dates,
                    "bills": bills.astype(np.int64),
                    "bill_errors": errors.astype(np.int64),
                    "bill_shocks": shocks.astype(np.int64),
                    "calls_offered": offered,
                    "calls_answered": n_ans,
                    "calls_abandoned": n_ab,
                    "service_level": service_level(within, n_ans, n_ab),
                    "acquired": acquired.astype(np.int64),
                    "churned": churned.astype(np.int64),
                    "churn_rate": churned / facing,
                    "active_end": active_end,
                    "cancel_calls": cancels.astype(np.int64),
                    "cancel_answered": cancel_answered.astype(np.int64),
                    "saves": saves.astype(np.int64),
                    "save_cost": save_cost,
                    "discounts_granted": granted.astype(np.int64),
                    "billed": billed,
                    "discount_cost": discount,
                    "error_credits": credits,
                    "revenue": revenue,
                    "service_cost": service_cost,
                    "margin": margin,
                    "agent_cost": agent_cost,
                    "telephony_cost": telephony,
                    "base_value_change": value_change,
                    "lost_value": lost_value,
                    "discount_owed": owed,
                    "net": net,
                }
            )

    # ---- value of the base ------------------------------------------------------------------

    @cached_property
    def _base_value(self) -> dict[str, np.ndarray]:
        """Customer value per account at its start, at the end and when it churned."""
        sc = self.scenario
        cust = self.raw.customers
        seg = cust["segment"]  # int16 codes index and count as int64 ones do
        zero = np.broadcast_to(0.0, seg.size)  # read-only zeros that take no memory
        none = np.broadcast_to(np.int64(0), seg.size)
        edges = self.raw.month_starts_s
        end_s = float(edges[-1])
        k = len(self.raw.segment_names)
        joined = cust["joined_s"]
        start_sum, start_by_segment = start_value(sc, seg, cust["charge_start"], joined, k)
        active = cust["active"].astype(bool)
        score = experience_score(cust, effect_weights(sc))
        score += sc.retention.effects.error_uncorrected * (cust["pending_error"] > 0)
        a = np.flatnonzero(active)
        tenure = np.subtract(end_s, joined)  # tenure at the end
        tenure /= MONTH_S
        end = customer_value(
            sc,
            seg,
            cust["charge"],
            score,
            tenure,
            cust["discount_pct"],  # float32 and int16, widened exactly a chunk at a time
            cust["discount_bills_left"],
            rows=a,
        )
        del score, tenure
        gone = np.flatnonzero(~np.isnan(cust["churned_s"]))
        churned_s = cust["churned_s"][gone]
        lost = customer_value(
            sc,
            seg[gone],
            cust["charge"][gone],
            zero[: gone.size],
            (churned_s - cust["joined_s"][gone]) / MONTH_S,
            zero[: gone.size],
            none[: gone.size],
        )
        return {
            "start": start_sum,
            "end": float(end.sum()),
            "start_by_segment": start_by_segment,
            # the active accounts' values in account order: the same sums as a whole-base
            # column with zeros for the others (x + 0.0 is x)
            "end_by_segment": np.bincount(seg[a], weights=end, minlength=k),
            "lost": lost,
            "churn_month": np.searchsorted(edges, churned_s, side="right") - 1,
        }

    # ---- per customer ---------------------------------------------------------------------

    def customers(self) -> pd.DataFrame:
        """Final state and counters of every account that existed during the horizon."""
        return self._customers

    @cached_property
    def _customers(self) -> pd.DataFrame:
        if self.raw.stream is not None:
            return read_table(self.raw.stream / CUSTOMERS_FILE, "account")
        return customers_frame(self.raw.customers, self.scenario)

    # ---- KPIs -----------------------------------------------------------------------------

    def kpis(self) -> dict[str, float]:
        """The headline numbers; formulas in the module docstring and KPI_DEFINITIONS."""
        iv = self.intervals()  # first: their temporaries peak before this one's arrays
        m = self.monthly()
        c = self.raw.calls
        sc = self.scenario
        status = c["status"]
        answered = status == ANSWERED
        abandoned = status == ABANDONED
        T = sc.contact_center.service_level.threshold_s
        wait = c["t_answer"] - c["t_arrive"]
        n_ans, n_ab = int(answered.sum()), int(abandoned.sum())
        cust = self.raw.customers
        initial = self.raw.initial_accounts
        retained = int(np.sum(cust["active"][:initial]))
        facing = float(m["bills"].sum() + m["churned"].sum())
        return {
            "service_level": float(service_level(np.sum(answered & (wait <= T)), n_ans, n_ab)),
            "asa_s": float(wait[answered].mean()) if n_ans else float("nan"),
            "abandonment_rate": rate(n_ab, n_ans + n_ab),
            "occupancy": rate(
                iv["busy_agent_s"].sum(),
                (
                    iv["agents_on_duty"]
                    * np.diff(self.raw.clock.interval_edges(sc.contact_center.interval_minutes))
                ).sum(),
            ),
            "aht_s": float((c["talk"] + c["acw"])[answered].mean()) if n_ans else float("nan"),
            "fcr": rate(np.sum(answered & c["resolved"]), n_ans),
            "calls_offered": float(np.sum(reached_queue(status))),
            "calls_answered": float(n_ans),
            "monthly_churn": rate(m["churned"].sum(), facing),
            "retention": rate(retained, initial),
            "churned": float(m["churned"].sum()),
            "cancel_calls": float(m["cancel_calls"].sum()),
            # 0, not NaN, when nobody got through to cancel / nobody was saved, so that runs
            # without a save desk compare and average like the others
            "save_rate": rate(m["saves"].sum(), m["cancel_answered"].sum())
            if m["cancel_answered"].sum()
            else 0.0,
            "cost_per_save": rate(m["save_cost"].sum(), m["saves"].sum())
            if m["saves"].sum()
            else 0.0,
            "revenue": float(m["revenue"].sum()),
            "discount_cost": float(m["discount_cost"].sum()),
            "agent_cost": float(m["agent_cost"].sum()),
            "telephony_cost": float(m["telephony_cost"].sum()),
            "service_cost": float(m["service_cost"].sum()),
            "margin": float(m["margin"].sum()),
            "base_value_change": float(m["base_value_change"].sum()),
            "lost_value": float(m["lost_value"].sum()),
            "discount_owed": float(m["discount_owed"].sum()),
            "net": float(m["net"].sum()),
        }

    def kpi_table(self) -> pd.DataFrame:
        """KPIs as a tidy table with labels and units."""
        k = self.kpis()
        return pd.DataFrame(
            [
                {
                    "kpi": name,
                    "label": KPI_DEFINITIONS[name].label,
                    "unit": KPI_DEFINITIONS[name].unit,
                    "value": v,
                }
                for name, v in k.items()
            ]
        )

    def metadata(self) -> dict[str, object]:
        """What produced these results: enough to reproduce them."""
        return {
            "scenario": self.scenario.name,
            "fingerprint": self.scenario.fingerprint(),
            "seed": self.seed,
            "version": self.version,
        }

    def write(self, out_dir: str | Path, formats: tuple[str, ...] = ("csv", "parquet")) -> Path:
        """Write every table, the KPIs and the resolved scenario to ``out_dir``.

        Files are written into a temporary folder beside ``out_dir`` and moved into place
        at the end, so an interrupted write leaves no half-written results.
        """
        with atomic_dir(out_dir) as tmp:
            self.write_files(tmp, formats)
        return Path(out_dir)

    def write_files(
        self, folder: Path, formats: tuple[str, ...], skip: tuple[str, ...] = ()
    ) -> None:
        """The tables but ``skip``, scenario.yaml and run.json into ``folder`` as it is:
        ``write`` makes that atomic; a streamed run adds these beside its two tables."""
        tables = {
            "calls": self.calls,
            "intervals": self.intervals,
            "monthly": self.monthly,
            "customers": self.customers,
            "kpis": self.kpi_table,
        }
        for name, table in tables.items():
            if name in skip:
                continue
            df = table()
            if "csv" in formats:
                df.to_csv(folder / f"{name}.csv", index=False)
            if "parquet" in formats:
                df.to_parquet(folder / f"{name}.parquet", index=False)
        (folder / "scenario.yaml").write_text(self.scenario.to_yaml(), encoding="utf-8")
        (folder / "run.json").write_text(json.dumps(self.metadata(), indent=2), encoding="utf-8")

    # ---- per customer segment -------------------------------------------------------------

    def segments(self) -> pd.DataFrame:
        """Per customer segment: base, retention, churn, discounts and revenue.

        - ``accounts_start``: accounts of the initial base; ``retained_end``: those still
          active at the end; ``retention`` = retained_end / accounts_start.
        - ``acquired``, ``churned`` (any account that left), ``active_end``.
        - ``discounts_granted``: calls in which a discount was granted.
        - ``discount_cost``: discounts deducted on bills in the horizon (as ``monthly``);
          ``discount_committed``: monthly value × duration of every discount granted, the
          full price of the decision even where its bills fall after the horizon.
        - ``revenue``: billed − discounts − refunded errors (as ``monthly``); ``margin``:
          revenue − cost of service.
        - ``charge_active_end``: monthly charge of the accounts active at the end;
          ``value_active_end``: their customer value (module docstring) at the end;
          ``value_start``: customer value of the initial accounts at the start and of
          acquired ones when they joined.
        """
        cust = self.raw.customers
        names = list(self.raw.segment_names)
        k = len(names)
        seg = cust["segment"].astype(np.int64)
        initial = np.arange(seg.size) < self.raw.initial_accounts
        active = cust["active"].astype(bool)
        churned = ~np.isnan(cust["churned_s"])

        def per(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            w = None if weights is None else weights[mask]
            return np.bincount(seg[mask], weights=w, minlength=k)

        granted = self.raw.discount_granted > 0
        call_seg = seg[self.raw.calls["account"][granted]]
        zeros = np.zeros(seg.size)
        every = np.ones(seg.size, dtype=bool)
        start = per(initial)
        retained = per(initial & active)
        charge_end = per(active, cust["charge"])
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.DataFrame(
                {
                    "segment": pd.Categorical(names, categories=names),
                    "accounts_start": start.astype(np.int64),
                    "retained_end": retained.astype(np.int64),
                    "retention": retained / start,
                    "acquired": per(~initial).astype(np.int64),
                    "churned": per(churned).astype(np.int64),
                    "active_end": per(active).astype(np.int64),
                    "discounts_granted": np.bincount(call_seg, minlength=k).astype(np.int64),
                    "discount_cost": per(every, cust.get("discount_cost", zeros)),
                    "discount_committed": per(every, cust.get("discount_committed", zeros)),
                    "revenue": per(every, cust.get("revenue", zeros)),
                    "margin": per(every, cust.get("revenue", zeros))
                    - per(every, cust.get("service_cost", zeros)),
                    "charge_active_end": charge_end,
                    "value_active_end": self._base_value["end_by_segment"],
                    "value_start": self._base_value["start_by_segment"],
                }
            )
