"""Figures and a self-contained HTML report of one run, several replications or strategies.

Planners file and mail results, so the report is PNGs plus one HTML page that opens
anywhere, offline (images embedded as data URIs). Three layers, each usable alone:

- *data shaping*: pure functions of the result tables (the app draws the same numbers);
- *figures*: functions of those tables returning a ``matplotlib.figure.Figure``;
- ``write_report``: every figure, the KPI table and what produced them, written atomically.

Tables may come from ``Results`` or from an experiment: rows of several replications
(columns ``replication`` / ``seed``) are pooled, and a ``variant`` column overlays
strategies. Ratios are always pooled from their counts (service level = Σ answered within
T / Σ (answered + abandoned); ASA weighted by answered calls), never averaged from
per-interval ratios, which would let a quiet interval weigh as much as a busy one.

Figures are built on ``Figure`` with an Agg canvas, never through pyplot, so nothing leaks
into matplotlib's global state (the app and parallel tests draw side by side).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.core.files import atomic_dir
from sim.core.version import __version__
from sim.experiments.statistics import summarise_kpis
from sim.presentation.formatting import MoneyFormat, format_diff, format_interval, format_value
from sim.results.tables import INTERVAL_RATIOS, KPI_DEFINITIONS, Results, service_level

VARIANT = "variant"
"""Column naming the strategy a row belongs to (experiment tables carry it)."""
RUN_COLUMNS: tuple[str, ...] = ("replication", "seed")
"""Columns identifying one replication; rows of several runs are pooled or averaged."""
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

WATERFALL_STEPS: tuple[tuple[str, str, int], ...] = (
    ("billed", "Billed revenue", 1),
    ("discount_cost", "Discounts", -1),
    ("error_credits", "Error credits", -1),
    ("service_cost", "Cost of service", -1),
    ("agent_cost", "Agent cost", -1),
    ("telephony_cost", "Telephony", -1),
    ("base_value_change", "Change in value of the base", 1),
)
"""From billed money to the net result, in the order sim.results.tables defines ``net``."""

MONEY_PARTS: tuple[tuple[str, str], ...] = (
    ("margin", "Margin"),
    ("agent_cost", "Agent cost"),
    ("telephony_cost", "Telephony"),
    ("base_value_change", "Change in value of the base"),
    ("net", "Net result"),
)
"""What the variants' money chart compares: margin (billed less discounts, error credits and
cost of service), the two costs of the centre, the change in the base's value, and net."""

_POOLED = INTERVAL_RATIOS  # how each share pools: sim.results.tables
_PER_ANSWERED = ("asa_s", "aht_s")
_COUNTS = ("offered", "answered", "abandoned", "answered_within_threshold")


class MissingColumnsError(KeyError):
    """A table lacks what a figure needs (e.g. an experiment that did not keep it)."""


def _require(df: pd.DataFrame | None, columns: Sequence[str], what: str) -> pd.DataFrame:
    if df is None:
        raise MissingColumnsError(f"{what}: table not available")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(f"{what}: table lacks column(s) {', '.join(missing)}")
    return df


def _variant_keys(df: pd.DataFrame) -> list[str]:
    return [VARIANT] if VARIANT in df.columns else []


def _run_keys(df: pd.DataFrame) -> list[str]:
    return [c for c in RUN_COLUMNS if c in df.columns]


def _variants(df: pd.DataFrame) -> list[Any]:
    """Variant names in their categorical (or first-seen) order; [None] without variants."""
    if VARIANT not in df.columns:
        return [None]
    col = df[VARIANT]
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col.dropna().unique())
        return [v for v in col.cat.categories if v in present]
    return list(pd.unique(col.dropna()))


def _subset(df: pd.DataFrame, variant: Any) -> pd.DataFrame:
    return df if variant is None else df[df[VARIANT] == variant]


# ---- data shaping -------------------------------------------------------------------------


def weekday_hour(intervals: pd.DataFrame, column: str = "service_level") -> pd.DataFrame:
    """``column`` by weekday (rows) × hour of day (columns 0..23), pooled correctly.

    Ratios are recomputed from their counts: service level and abandonment from answered
    and abandoned calls, occupancy from busy and on-duty agent-seconds, ASA and AHT
    weighted by answered calls. Counts (offered, answered, …) become calls per hour on an
    average such day; levels (mean_queue, agents_*) are averaged over intervals. With a
    ``variant`` column the index is (variant, weekday).
    """
    needs = [column] if column not in _POOLED else [_POOLED[column][0], *_POOLED[column][1]]
    _require(intervals, ["interval_start", *needs], "weekday_hour")
    iv = intervals
    ts = pd.to_datetime(iv["interval_start"])
    frame = pd.DataFrame({"weekday": ts.dt.day_of_week.to_numpy(), "hour": ts.dt.hour.to_numpy()})
    keys = _variant_keys(iv)
    for k in keys:
        frame[k] = iv[k].to_numpy()
    if column in _POOLED:
        num, dens = _POOLED[column]
        frame["num"] = iv[num].to_numpy(dtype=float)
        frame["den"] = iv[list(dens)].sum(axis=1).to_numpy(dtype=float)
    elif column in _PER_ANSWERED:
        _require(iv, ["answered"], "weekday_hour")
        n = iv["answered"].to_numpy(dtype=float)
        frame["num"] = np.where(n > 0, iv[column].to_numpy(dtype=float) * n, 0.0)
        frame["den"] = n
    elif column in _COUNTS:
        frame["num"] = iv[column].to_numpy(dtype=float)
        # one "day" per calendar date and run: calls per hour on an average such day
        runs = _run_keys(iv)
        days = pd.DataFrame({"date": ts.dt.normalize().to_numpy()})
        for k in runs:
            days[k] = iv[k].to_numpy()
        frame["day"] = days.groupby(["date", *runs], observed=True).ngroup().to_numpy()
    else:
        v = iv[column].to_numpy(dtype=float)
        frame["num"] = np.nan_to_num(v)
        frame["den"] = np.isfinite(v).astype(float)
    by = [*keys, "weekday", "hour"]
    if column in _COUNTS:
        g = frame.groupby(by, observed=True).agg(num=("num", "sum"))
        days = frame.groupby([*keys, "weekday"], observed=True)["day"].nunique()
        value = g["num"] / days.reindex(g.index.droplevel("hour")).to_numpy()
    else:
        g = frame.groupby(by, observed=True)[["num", "den"]].sum()
        value = (g["num"] / g["den"].where(g["den"] > 0)).astype(float)
    wide = value.unstack("hour").reindex(columns=range(24))
    if keys:
        variants = _variants(iv)
        full = pd.MultiIndex.from_product([variants, range(7)], names=[VARIANT, "weekday"])
        wide = wide.reindex(full)
        wide.index = wide.index.set_levels(list(WEEKDAYS), level="weekday")
    else:
        wide = wide.reindex(range(7))
        wide.index = pd.Index(list(WEEKDAYS), name="weekday")
    wide.columns.name = "hour"
    return wide


def service_level_by_interval(intervals: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """Service level per interval (or per ``freq`` period, e.g. "D"), pooled over runs.

    Columns: interval_start, [variant], answered_within_threshold, handled (answered +
    abandoned), service_level (NaN where nobody was answered or abandoned).
    """
    cols = ["interval_start", "answered_within_threshold", "answered", "abandoned"]
    _require(intervals, cols, "service_level_by_interval")
    keys = _variant_keys(intervals)
    df = intervals[[*keys, *cols]].copy()
    df["interval_start"] = pd.to_datetime(df["interval_start"])
    if freq is not None:
        df["interval_start"] = df["interval_start"].dt.floor(freq)
    g = df.groupby([*keys, "interval_start"], observed=True, sort=True)[cols[1:]].sum()
    g["handled"] = g["answered"] + g["abandoned"]
    g["service_level"] = service_level(
        g["answered_within_threshold"].to_numpy(float), g["answered"], g["abandoned"]
    )
    return g[["answered_within_threshold", "handled", "service_level"]].reset_index()


def wait_distribution(calls: pd.DataFrame, bins: int = 30) -> pd.DataFrame:
    """Histogram of waits of answered and of abandoned calls, on common bins.

    Works on ``Results.calls()`` and on an experiment's ``waits`` table (columns wait_s,
    outcome). Bins are equal (at least 1 s) up to the 99th percentile of the non-zero
    waits; the last bin is open-ended (``wait_to_s`` = inf) so no call is left out.
    ``share`` is the share of all answered + abandoned calls of the variant, so the bars
    of both outcomes add up to 1 and abandonment shows at its true size.
    """
    _require(calls, ["wait_s", "outcome"], "wait_distribution")
    keys = _variant_keys(calls)
    done = calls["outcome"].astype(str).isin(["answered", "abandoned"])
    df = calls.loc[done, [*keys, "outcome", "wait_s"]]
    wait = df["wait_s"].to_numpy(dtype=float)
    ok = np.isfinite(wait)
    df, wait = df[ok], wait[ok]
    columns = [*keys, "outcome", "wait_from_s", "wait_to_s", "calls", "share"]
    if wait.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    # most answered calls wait 0 s: scale the bins to the waits that are not zero
    positive = wait[wait > 0]
    top = float(np.quantile(positive, 0.99)) if positive.size else 0.0
    width = max(top / bins, 1.0)
    idx = np.clip(np.floor(wait / width).astype(np.int64), 0, bins - 1)
    frame = pd.DataFrame({"outcome": df["outcome"].astype(str).to_numpy(), "bin": idx})
    for k in keys:
        frame[k] = df[k].to_numpy()
    counts = frame.groupby([*keys, "outcome", "bin"], observed=True).size()
    variants = _variants(df) if keys else [None]
    parts = []
    for v in variants:
        for outcome in ("answered", "abandoned"):
            key = (v, outcome) if keys else (outcome,)
            try:
                c = counts.loc[key]
            except KeyError:
                c = pd.Series(dtype=np.int64)
            n = c.reindex(range(bins), fill_value=0).to_numpy(dtype=np.int64)
            part = pd.DataFrame(
                {
                    "outcome": outcome,
                    "wait_from_s": np.arange(bins) * width,
                    "wait_to_s": np.r_[np.arange(1, bins) * width, np.inf],
                    "calls": n,
                }
            )
            if keys:
                part.insert(0, VARIANT, v)
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    total = (
        out.groupby(keys, observed=True)["calls"].transform("sum") if keys else out["calls"].sum()
    )
    out["share"] = out["calls"] / total
    return out[columns]


def queue_and_agents(intervals: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """Mean queue, agents on duty and agents needed (Erlang C) over time.

    Several replications are averaged per interval; ``freq`` (e.g. "h", "D") averages the
    levels over longer periods (offered calls are summed). ``gap`` = on duty − needed:
    negative where the plan was short of what the load called for.
    """
    levels = ["mean_queue", "agents_on_duty", "agents_needed"]
    _require(intervals, ["interval_start", *levels], "queue_and_agents")
    extra = [c for c in ("agents_scheduled", "offered") if c in intervals.columns]
    keys = _variant_keys(intervals)
    df = intervals[[*keys, "interval_start", *levels, *extra]].copy()
    df["interval_start"] = pd.to_datetime(df["interval_start"])
    by = [*keys, "interval_start"]
    df = df.groupby(by, observed=True, sort=True)[[*levels, *extra]].mean().reset_index()
    if freq is not None:
        df["interval_start"] = df["interval_start"].dt.floor(freq)
        how = {c: ("sum" if c == "offered" else "mean") for c in [*levels, *extra]}
        df = df.groupby(by, observed=True, sort=True).agg(how).reset_index()
    df["gap"] = df["agents_on_duty"] - df["agents_needed"]
    return df


def monthly_retention(monthly: pd.DataFrame) -> pd.DataFrame:
    """Churn and retention per month, averaged over replications.

    ``retained`` is the survival of an account that faces every bill date,
    Π (1 − churn_rate) up to the month's end; ``active_vs_start`` is the active base at
    the month's end relative to the base at the start of the horizon (acquisition included;
    the start follows from end = start + acquired − churned of the first month).
    """
    cols = ["month", "churned", "churn_rate", "active_end", "acquired"]
    _require(monthly, cols, "monthly_retention")
    keys = _variant_keys(monthly)
    extra = ["month_start"] if "month_start" in monthly.columns else []
    df = monthly[[*keys, *cols, *extra]]
    how: dict[str, str] = {c: "mean" for c in cols[1:]}
    how.update({c: "first" for c in extra})
    out = df.groupby([*keys, "month"], observed=True, sort=True).agg(how).reset_index()
    survive = 1.0 - out["churn_rate"].fillna(0.0)
    if keys:
        groups = [out[k] for k in keys]
        out["retained"] = survive.groupby(groups, observed=True).cumprod()
        first = out.groupby(keys, observed=True)[["active_end", "acquired", "churned"]]
        first = first.transform("first")
    else:
        out["retained"] = survive.cumprod()
        first = out[["active_end", "acquired", "churned"]].iloc[[0] * len(out)]
    start = (first["active_end"] - first["acquired"] + first["churned"]).to_numpy(dtype=float)
    end = out["active_end"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["active_vs_start"] = np.where(start > 0, end / start, np.nan)
    return out


def money_waterfall(monthly: pd.DataFrame) -> pd.DataFrame:
    """Steps from billed revenue to the net result with running totals.

    Each run's months are summed, then runs are averaged. Rows: billed, −discounts,
    −error credits, −cost of service, −agent cost, −telephony, + change in the value of
    the base, = net; columns
    [variant], step, label, kind ("total" or "delta"), amount (signed), start, end
    (running total after the step). The last row's ``end`` equals the net result by construction.
    """
    money = [s for s, _, _ in WATERFALL_STEPS]
    for col in ("service_cost", "base_value_change"):  # runs stored before value existed
        if col not in monthly.columns:
            monthly = monthly.assign(**{col: 0.0})
    _require(monthly, money, "money_waterfall")
    keys = _variant_keys(monthly)
    runs = _run_keys(monthly)
    if keys or runs:
        per_run = monthly.groupby([*keys, *runs], observed=True, sort=False)[money].sum()
        totals = per_run.groupby(keys, observed=True, sort=False).mean() if keys else None
        if totals is None:
            totals = per_run.mean().to_frame().T
    else:
        totals = monthly[money].sum().to_frame().T
    rows = []
    for variant, vals in totals.iterrows():
        running = 0.0
        for step, label, sign in WATERFALL_STEPS:
            amount = sign * float(vals[step])
            start = running
            running = start + amount
            kind = "total" if step == "billed" else "delta"
            rows.append((variant, step, label, kind, amount, start, running))
        rows.append((variant, "net", "Net result", "total", running, 0.0, running))
    out = pd.DataFrame(rows, columns=[VARIANT, "step", "label", "kind", "amount", "start", "end"])
    if keys:
        order = _variants(monthly)
        out[VARIANT] = pd.Categorical(out[VARIANT], categories=order)
        out = out.sort_values(VARIANT, kind="stable").reset_index(drop=True)
        out[VARIANT] = out[VARIANT].astype(object)
        return out
    return out.drop(columns=VARIANT)


def money_comparison(monthly: pd.DataFrame) -> pd.DataFrame:
    """One row per variant, the ``MONEY_PARTS`` as signed columns (costs negative).

    Read off ``money_waterfall`` (margin is its running total after the cost of service),
    so the chart of many variants shows the same money as the waterfall of one.
    """
    wf = money_waterfall(monthly)
    if VARIANT not in wf.columns:
        wf = wf.assign(**{VARIANT: "all"})
    rows = []
    for v, d in wf.groupby(VARIANT, sort=False):
        by = d.set_index("step")
        row: dict[str, Any] = {VARIANT: v, "margin": float(by.loc["service_cost", "end"])}
        row.update({k: float(by.loc[k, "amount"]) for k, _ in MONEY_PARTS[1:]})
        rows.append(row)
    return pd.DataFrame(rows, columns=[VARIANT, *(k for k, _ in MONEY_PARTS)])


# ---- figures --------------------------------------------------------------------------------


def _figure(width: float = 10.0, height: float = 4.8) -> Figure:
    """A Figure drawn by Agg, outside pyplot: no global figure registry, no GUI backend."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax: Any, text: str) -> None:
    """An empty panel that says why, rather than a blank or a crash."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _label(variant: Any, what: str = "") -> str | None:
    if variant is None:
        return what or None
    return f"{variant} · {what}" if what else str(variant)


def _color(i: int, n: int) -> Any:
    """Colour of the i-th of n variants: tab10 up to ten, tab20 beyond (12 stay distinct)."""
    return f"C{i}" if n <= 10 else colormaps["tab20"](i % 20)


def _key_legend(
    fig: Figure, variants: Sequence[Any], styles: Sequence[tuple[str, dict[str, Any]]] = ()
) -> None:
    """One legend below the axes (never over the data): a colour per variant, then the
    line styles, so 12 variants × 2 lines need 14 entries, not 24."""
    handles: list[Any] = []
    labels: list[str] = []
    named = [v for v in variants if v is not None]
    for i, v in enumerate(named):
        handles.append(Line2D([], [], color=_color(i, len(named)), lw=6))
        labels.append(str(v))
    for text, style in styles:
        handles.append(Line2D([], [], **{"color": "0.3", **style}))
        labels.append(text)
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=min(len(handles), 8),
            fontsize="small",
            frameon=False,
        )


def _money_axis(money: MoneyFormat | str) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: format_value(v, "money", money, money_decimals=0))


def fig_service_level(
    intervals: pd.DataFrame,
    target: float | None = None,
    threshold_s: float | None = None,
    freq: str | None = "D",
) -> Figure:
    """Service level per interval (dots) and pooled per ``freq`` period (line), with the
    target: shows when and how often the promise to callers was broken."""
    per_interval = service_level_by_interval(intervals)
    pooled = service_level_by_interval(intervals, freq) if freq else None
    variants = _variants(intervals)
    dots = len(variants) <= 3  # a dozen clouds of dots hide every line
    fig = _figure()
    ax = fig.add_subplot()
    for i, v in enumerate(variants):
        color = _color(i, len(variants)) if v is not None else "C0"
        if dots:
            pts = _subset(per_interval, v)
            ax.plot(
                pts["interval_start"], pts["service_level"], ".", ms=2.5, alpha=0.3, color=color
            )
        if pooled is not None:
            line = _subset(pooled, v)
            ax.plot(line["interval_start"], line["service_level"], "-", color=color, lw=1.6)
    styles: list[tuple[str, dict[str, Any]]] = []
    if dots:
        styles.append(("per interval", {"ls": "", "marker": ".", "alpha": 0.5}))
    if pooled is not None:
        styles.append(({"D": "daily"}.get(freq or "", f"per {freq}"), {"lw": 1.6}))
    if target is not None:
        ax.axhline(target, color="0.3", ls="--", lw=1)
        styles.append((f"target {target:.0%}", {"ls": "--", "lw": 1}))
    ax.set_ylim(0, 1.03)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    within = f"within {threshold_s:g} s" if threshold_s is not None else "within threshold"
    ax.set_title(f"Service level: answered {within} / (answered + abandoned)")
    ax.set_ylabel("service level")
    ax.grid(alpha=0.3)
    _key_legend(fig, variants, styles)
    return fig


def fig_wait_distribution(calls: pd.DataFrame, bins: int = 30) -> Figure:
    """How long callers waited before an agent answered, and before those who gave up
    hung up; shares of all answered + abandoned calls, so both panels share a scale."""
    dist = wait_distribution(calls, bins)
    fig = _figure()
    axes = fig.subplots(1, 2, sharey=True)
    variants = _variants(dist) if VARIANT in dist.columns else [None]
    for ax, outcome, title in zip(
        axes,
        ("answered", "abandoned"),
        ("Answered: wait until answer", "Abandoned: wait until hang-up"),
        strict=True,
    ):
        for i, v in enumerate(variants):
            d = _subset(dist, v)
            d = d[d["outcome"] == outcome]
            if d.empty:
                _no_data(ax, "no answered or abandoned calls")
                continue
            edges = np.r_[d["wait_from_s"].to_numpy(), 2 * d["wait_from_s"].iloc[-1]]
            if len(d) > 1:
                edges[-1] = d["wait_from_s"].iloc[-1] + (
                    d["wait_from_s"].iloc[1] - d["wait_from_s"].iloc[0]
                )
            ax.stairs(
                d["share"].to_numpy(),
                edges,
                fill=len(variants) == 1,
                alpha=0.8 if len(variants) == 1 else 1.0,
                color=_color(i, len(variants))
                if len(variants) > 1
                else ("C0" if outcome == "answered" else "C3"),
                lw=1.5,
            )
        at_once = dist[(dist["outcome"] == "answered") & (dist["wait_from_s"] == 0)]["share"]
        if outcome == "answered" and len(variants) == 1 and len(at_once):
            title += f" ({float(at_once.iloc[0]):.0%} in the first bin)"
        ax.set_title(title)
        if (dist["share"] > 0).any():
            ax.set_yscale("log")  # the first bin dwarfs the tail that managers ask about
        ax.set_xlabel("wait (s); the last bin holds all longer waits")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * 100:g} %"))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of answered + abandoned calls (log)")
    if len(variants) > 1:
        _key_legend(fig, variants)
    return fig


def busiest_window(intervals: pd.DataFrame, days: int = 7) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the ``days`` consecutive calendar days with the most calls offered.

    A quarter of half-hour steps is unreadable; the busiest week shows the intraday
    mismatch between plan and load where it matters most.
    """
    _require(intervals, ["interval_start"], "busiest_window")
    ts = pd.to_datetime(intervals["interval_start"])
    first, last = ts.min().normalize(), ts.max().normalize()
    if "offered" not in intervals.columns or (last - first).days + 1 <= days:
        return first, first + pd.Timedelta(days=days)
    daily = intervals["offered"].groupby(ts.dt.normalize()).sum()
    daily = daily.reindex(pd.date_range(first, last, freq="D"), fill_value=0)
    window = daily.rolling(days).sum().shift(-(days - 1)).dropna()
    start = pd.Timestamp(window.idxmax())
    return start, start + pd.Timedelta(days=days)


def fig_queue_and_agents(
    intervals: pd.DataFrame, freq: str | None = None, window_days: int | None = 7
) -> Figure:
    """Callers waiting and agents on duty against the Erlang C need: where the plan
    runs short (queue builds) or long (idle cost). Shows the busiest ``window_days``
    (None: the whole horizon)."""
    qa = queue_and_agents(intervals, freq)
    span = ""
    if window_days is not None:
        lo, hi = busiest_window(intervals, window_days)
        qa = qa[(qa["interval_start"] >= lo) & (qa["interval_start"] < hi)]
        last = hi - pd.Timedelta(days=1)
        span = f" · busiest {window_days} days, {lo:%a %d %b} – {last:%a %d %b %Y}"
    variants = _variants(intervals)
    fig = _figure(10.0, 6.5)
    ax_q, ax_a = fig.subplots(2, 1, sharex=True)
    for i, v in enumerate(variants):
        d = _subset(qa, v)
        color = _color(i, len(variants)) if v is not None else "C0"
        t = d["interval_start"]
        ax_q.step(t, d["mean_queue"], where="post", color=color, lw=1)
        ax_a.step(t, d["agents_on_duty"], where="post", color=color, lw=1.2)
        ax_a.step(t, d["agents_needed"], where="post", color=color, lw=1, ls="--", alpha=0.8)
    ax_q.set_ylabel("callers waiting (mean)")
    ax_q.set_title("Queue length" + span)
    ax_a.set_ylabel("agents")
    ax_a.set_title("Agents on duty vs needed for the service-level target")
    for ax in (ax_q, ax_a):
        ax.grid(alpha=0.3)
    ax_a.tick_params(axis="x", labelrotation=30)
    styles = [("agents on duty", {"lw": 1.2}), ("needed (Erlang C)", {"lw": 1, "ls": "--"})]
    _key_legend(fig, variants, styles)
    return fig


def fig_monthly_retention(monthly: pd.DataFrame) -> Figure:
    """Monthly churn and the share of accounts kept: the customer side of the bill."""
    mr = monthly_retention(monthly)
    variants = _variants(monthly)
    n = len(variants)
    fig = _figure(max(10.0, 6.0 + 0.5 * n), 4.8 + 0.1 * n)
    ax_c, ax_r = fig.subplots(1, 2)
    months = sorted(mr["month"].unique())
    names = [f"M{m + 1}" for m in months]
    if "month_start" in mr.columns:
        first = mr.drop_duplicates("month").set_index("month")["month_start"]
        names = [pd.Timestamp(first[m]).strftime("%b %Y") for m in months]
    width = 0.8 / len(variants)
    x = np.arange(len(months))
    for i, v in enumerate(variants):
        d = _subset(mr, v).set_index("month").reindex(months)
        ax_c.bar(
            x + (i - (len(variants) - 1) / 2) * width,
            d["churn_rate"],
            width,
            color=_color(i, n) if v is not None else "C0",
        )
        color = _color(i, n) if v is not None else "C0"
        ax_r.plot(np.r_[0, x + 1], np.r_[1.0, d["retained"].to_numpy()], "o-", color=color)
        ax_r.plot(
            np.r_[0, x + 1],
            np.r_[1.0, d["active_vs_start"].to_numpy()],
            "s:",
            color=color,
            alpha=0.7,
        )
    ax_c.set_xticks(x, names)
    ax_c.set_title("Monthly churn (churned / accounts facing a bill)")
    ax_c.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax_r.set_xticks(np.r_[0, x + 1], ["start", *names])
    ax_r.set_title("Retention")
    ax_r.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    for ax in (ax_c, ax_r):
        ax.grid(alpha=0.3, axis="y")
    styles = [
        ("kept (1 − churn)", {"marker": "o"}),
        ("active base vs start", {"marker": "s", "ls": ":"}),
    ]
    _key_legend(fig, variants, styles)
    return fig


def fig_money_waterfall(monthly: pd.DataFrame, money: MoneyFormat | str = "EUR") -> Figure:
    """From billed revenue to net result: which cost eats the money (one panel per
    strategy, common scale, so strategies compare side by side)."""
    wf = money_waterfall(monthly)
    variants = _variants(monthly)
    fig = _figure(max(10.0, 5.0 * len(variants)), 5.2)
    axes = np.atleast_1d(fig.subplots(1, len(variants), sharey=True, squeeze=False)[0])
    for ax, v in zip(axes, variants, strict=True):
        d = _subset(wf, v).reset_index(drop=True)
        x = np.arange(len(d))
        lo = np.minimum(d["start"], d["end"])
        height = (d["end"] - d["start"]).abs()
        colors = [
            ("C0" if s == "billed" else ("C2" if a >= 0 else "C3"))
            if k == "total"
            else ("C2" if a >= 0 else "C3")
            for s, k, a in zip(d["step"], d["kind"], d["amount"], strict=True)
        ]
        ax.bar(x, height, bottom=lo, color=colors, width=0.7)
        for j in range(len(d) - 1):
            ax.plot([j + 0.35, j + 0.65], [d["end"][j]] * 2, color="0.4", lw=0.8)
        for j, (a, k) in enumerate(zip(d["amount"], d["kind"], strict=True)):
            # costs are labelled below their bar, totals above: neighbours never collide
            below = k == "delta" and a < 0
            ax.annotate(
                format_value(a + 0.0, "money", money, money_decimals=0),
                (j, lo[j] if below else lo[j] + height[j]),
                xytext=(0, -3 if below else 3),
                textcoords="offset points",
                ha="center",
                va="top" if below else "bottom",
                fontsize=7,
            )
        ax.axhline(0, color="0.2", lw=0.8)
        ax.margins(y=0.1)
        ax.set_xticks(x, d["label"], rotation=35, ha="right")
        title = "Money over the horizon" + (" (mean per run)" if _run_keys(monthly) else "")
        ax.set_title(str(v) if v is not None else title, pad=12)
        ax.yaxis.set_major_formatter(_money_axis(money))
        ax.grid(alpha=0.3, axis="y")
    return fig


def fig_money_comparison(monthly: pd.DataFrame, money: MoneyFormat | str = "EUR") -> Figure:
    """Margin, agent cost, telephony, change in the base's value and net side by side for
    every variant, on one scale: one chart for 12 variants instead of 12 thumbnails."""
    mc = money_comparison(monthly)
    n = len(mc)
    fig = _figure(max(10.0, 3.0 + 0.9 * n), 5.6)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.8 / len(MONEY_PARTS)
    colors = ("C0", "C1", "C4", "C2", "0.15")
    for j, ((col, label), color) in enumerate(zip(MONEY_PARTS, colors, strict=True)):
        offset = (j - (len(MONEY_PARTS) - 1) / 2) * width
        ax.bar(x + offset, mc[col], width, color=color, label=label)
    for xi, net in zip(x, mc["net"], strict=True):
        offset = (len(MONEY_PARTS) - 1) / 2 * width
        ax.annotate(
            format_value(float(net) + 0.0, "money", money, money_decimals=0),
            (xi + offset, float(net)),
            xytext=(0, 3 if net >= 0 else -3),
            textcoords="offset points",
            ha="center",
            va="bottom" if net >= 0 else "top",
            fontsize=7,
            rotation=90 if n > 4 else 0,
        )
    ax.axhline(0, color="0.2", lw=0.8)
    ax.margins(y=0.15)
    ax.set_xticks(x, [str(v) for v in mc[VARIANT]])
    per_run = " (mean per run)" if _run_keys(monthly) else ""
    ax.set_title("Money over the horizon by variant" + per_run)
    ax.yaxis.set_major_formatter(_money_axis(money))
    ax.grid(alpha=0.3, axis="y")
    fig.legend(loc="outside lower center", ncol=len(MONEY_PARTS), fontsize="small", frameon=False)
    return fig


def fig_money(monthly: pd.DataFrame, money: MoneyFormat | str = "EUR") -> Figure:
    """The waterfall for one strategy; the comparison chart for several."""
    _require(monthly, [], "money")
    if len(_variants(monthly)) > 1:
        return fig_money_comparison(monthly, money)
    return fig_money_waterfall(monthly, money)


_HEAT_STYLE: dict[str, tuple[str, str, float | None, float | None]] = {
    "service_level": ("Service level", "RdYlGn", 0.0, 1.0),
    "abandonment_rate": ("Abandonment", "RdYlGn_r", 0.0, None),
    "asa_s": ("Average speed of answer (s)", "YlOrRd", 0.0, None),
    "occupancy": ("Occupancy", "viridis", 0.0, 1.0),
}


def fig_weekday_hour(intervals: pd.DataFrame, column: str = "service_level") -> Figure:
    """``column`` by weekday × hour: the recurring weak spots a shift plan can fix."""
    pivot = weekday_hour(intervals, column)
    variants = _variants(intervals)
    # keep hours and weekdays with data in any variant (closed hours and days drop out)
    if VARIANT in pivot.index.names:
        hours = pivot.columns[pivot.notna().any(axis=0)]
        days = [d for d in WEEKDAYS if pivot.xs(d, level="weekday").notna().any(axis=None)]
    else:
        hours = pivot.columns[pivot.notna().any(axis=0)]
        days = [d for d in WEEKDAYS if pivot.loc[d].notna().any()]
    title, cmap, vmin, vmax = _HEAT_STYLE.get(column, (column, "viridis", None, None))
    cols = 1 if len(variants) <= 3 else 2  # a dozen variants: two columns, half as tall
    rows = -(-len(variants) // cols)
    fig = _figure(10.0 if cols == 1 else 14.0, 1.2 + 2.6 * rows)
    grid_axes = fig.subplots(rows, cols, squeeze=False)
    for extra in grid_axes.ravel()[len(variants) :]:
        extra.set_visible(False)
    axes = grid_axes.ravel()[: len(variants)]
    values = pivot.loc[:, hours].to_numpy(dtype=float) if len(hours) else np.zeros((0, 0))
    finite = values[np.isfinite(values)]
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    share = KPI_DEFINITIONS[column].unit == "share" if column in KPI_DEFINITIONS else False
    image = None
    for ax, v in zip(axes, variants, strict=True):
        grid = (pivot.xs(v, level=VARIANT) if v is not None else pivot).reindex(days)
        grid = grid.reindex(columns=hours).to_numpy(dtype=float)
        if grid.size == 0:
            _no_data(ax, f"{title}: no calls" + (f" · {v}" if v is not None else ""))
            continue
        image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_yticks(range(len(days)), days)
        ax.set_xticks(range(len(hours)), [f"{h:02d}" for h in hours])
        ax.set_title(f"{title} by weekday and hour" + (f" · {v}" if v is not None else ""))
        if grid.size and grid.shape[1] <= 24:
            for (r, c), val in np.ndenumerate(grid):
                if np.isfinite(val):
                    text = f"{val:.0%}" if share else f"{val:.0f}"
                    ax.text(c, r, text, ha="center", va="center", fontsize=7)
    for ax in grid_axes[-1]:
        ax.set_xlabel("hour of day")
    if image is not None:
        cbar = fig.colorbar(image, ax=list(grid_axes.ravel()), shrink=0.9)
        if share:
            cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return fig


# ---- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportTables:
    """What a report is drawn from: the tables and the facts that label them.

    ``calls`` may be ``Results.calls()`` or an experiment's ``waits`` table; ``kpis`` is
    long (columns kpi, value and any of variant / replication / seed). A table that is
    None leaves its figures out of the report with a note, not with an error.
    """

    intervals: pd.DataFrame | None = None
    calls: pd.DataFrame | None = None
    monthly: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    scenario: str = ""
    seeds: tuple[int, ...] = ()
    money: MoneyFormat = field(default_factory=MoneyFormat)
    target: float | None = None
    threshold_s: float | None = None
    version: str = __version__
    baseline: str | None = None


def _label_scenario(scenarios: Sequence[Any]) -> dict[str, Any]:
    """Labels taken from the scenario(s): name(s), currency, service-level promise."""
    if not scenarios:
        return {}
    first = scenarios[0]
    names = list(dict.fromkeys(s.name for s in scenarios))
    sl = first.contact_center.service_level
    return {
        "scenario": ", ".join(names),
        "money": MoneyFormat.from_scenario(first),
        "target": sl.target,
        "threshold_s": sl.threshold_s,
    }


def _from_runs(runs: Sequence[tuple[Any, int | None, Results]]) -> ReportTables:
    """Tables of (variant, replication, Results) triples, with key columns where needed."""
    has_variant = any(v is not None for v, _, _ in runs)
    has_rep = any(r is not None for _, r, _ in runs)
    frames: dict[str, list[pd.DataFrame]] = {
        "intervals": [],
        "calls": [],
        "monthly": [],
        "kpis": [],
    }
    for variant, rep, res in runs:
        k = res.kpis()
        tables = {
            "intervals": res.intervals(),
            "calls": res.calls()[["outcome", "wait_s"]],
            "monthly": res.monthly(),
            "kpis": pd.DataFrame({"kpi": list(k), "value": list(k.values())}),
        }
        for name, df in tables.items():
            df = df.copy()
            if has_rep:
                df.insert(0, "seed", res.seed)
                df.insert(0, "replication", rep)
            if has_variant:
                df.insert(0, VARIANT, variant)
            frames[name].append(df)
    out = {name: pd.concat(dfs, ignore_index=True) for name, dfs in frames.items()}
    if has_variant:
        order = list(dict.fromkeys(v for v, _, _ in runs))
        for df in out.values():
            df[VARIANT] = pd.Categorical(df[VARIANT], categories=order)
    seeds = tuple(dict.fromkeys(int(r.seed) for _, _, r in runs))
    return ReportTables(
        **out,
        seeds=seeds,
        version=runs[0][2].version,
        **_label_scenario([r.scenario for *_, r in runs]),
    )


def report_tables(source: Any) -> ReportTables:
    """Normalise what ``write_report`` accepts into ``ReportTables``.

    Accepted: ``Results``; a sequence of ``Results`` (replications); a mapping of strategy
    name → ``Results`` or sequence of them; an experiment result (anything with
    ``table(name)``, ``variants`` and ``summary()``); a mapping of table name → DataFrame
    (intervals, calls or waits, monthly, kpis); or ``ReportTables`` itself.
    """
    if isinstance(source, ReportTables):
        return source
    if isinstance(source, Results):
        return _from_runs([(None, None, source)])
    if hasattr(source, "table") and hasattr(source, "variants"):
        return _from_experiment(source)
    if isinstance(source, Mapping):
        values = list(source.values())
        if all(v is None or isinstance(v, pd.DataFrame) for v in values):
            return _from_frames(source)
        runs: list[tuple[Any, int | None, Results]] = []
        for name, item in source.items():
            if isinstance(item, Results):
                runs.append((str(name), None, item))
            else:
                runs.extend((str(name), i, r) for i, r in enumerate(item))
        _check_results(runs)
        if any(r is not None for _, r, _ in runs):
            runs = [(v, 0 if r is None else r, res) for v, r, res in runs]
        return _from_runs(runs)
    if isinstance(source, Sequence) and not isinstance(source, str):
        runs = [(None, i, r) for i, r in enumerate(source)]
        _check_results(runs)
        return _from_runs(runs)
    raise TypeError(
        "write_report needs Results, a list or mapping of Results, an experiment result, "
        f"or a mapping of tables; got {type(source).__name__}"
    )


def _check_results(runs: Sequence[tuple[Any, Any, Any]]) -> None:
    if not runs:
        raise ValueError("nothing to report: no results given")
    bad = [type(r).__name__ for *_, r in runs if not isinstance(r, Results)]
    if bad:
        raise TypeError(f"expected Results, got {', '.join(sorted(set(bad)))}")


def _from_frames(tables: Mapping[str, pd.DataFrame | None]) -> ReportTables:
    known = {"intervals", "calls", "waits", "monthly", "kpis"}
    unknown = sorted(set(tables) - known)
    if unknown:
        raise ValueError(f"unknown table(s) {unknown} (valid: {', '.join(sorted(known))})")
    calls = tables.get("calls")
    if calls is None:
        calls = tables.get("waits")
    seeds: tuple[int, ...] = ()
    for df in tables.values():
        if df is not None and "seed" in df.columns:
            seeds = tuple(int(s) for s in pd.unique(df["seed"].dropna()))
            break
    return ReportTables(
        intervals=tables.get("intervals"),
        calls=calls,
        monthly=tables.get("monthly"),
        kpis=tables.get("kpis"),
        seeds=seeds,
    )


def _from_experiment(exp: Any) -> ReportTables:
    def table(name: str) -> pd.DataFrame | None:
        try:
            df = exp.table(name)
        except (KeyError, ValueError):
            return None
        return None if df.empty else df

    kpis = table("kpis")
    seeds = tuple(int(s) for s in pd.unique(kpis["seed"])) if kpis is not None else ()
    scenarios = [v.scenario for v in exp.variants]
    labels = _label_scenario(scenarios)
    if getattr(exp, "name", ""):
        labels["scenario"] = f"{exp.name} ({labels.get('scenario', '')})"
    names = [v.name for v in exp.variants]
    base = getattr(exp, "baseline", None) or (names[0] if len(names) > 1 else None)
    return ReportTables(
        baseline=base,
        intervals=table("intervals"),
        calls=table("waits"),
        monthly=table("monthly"),
        kpis=kpis,
        seeds=seeds,
        **labels,
    )


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: file name, caption and how to draw it from the tables."""

    name: str
    caption: str
    draw: Callable[[ReportTables], Figure]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "service_level",
        "Service level by interval, with the daily pooled value and the target.",
        lambda t: fig_service_level(t.intervals, t.target, t.threshold_s),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "wait_distribution",
        "Wait-time distribution of answered and abandoned calls.",
        lambda t: fig_wait_distribution(t.calls),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "queue_and_agents",
        "Queue length, and agents on duty versus the Erlang C agents needed, in the busiest week.",
        lambda t: fig_queue_and_agents(t.intervals),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "monthly_retention",
        "Monthly churn and retention.",
        lambda t: fig_monthly_retention(t.monthly),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "money",
        "The money: from billed revenue to the net result (with several variants: margin, "
        "agent cost, telephony, change in the value of the base and net, side by side).",
        lambda t: fig_money(t.monthly, t.money),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "weekday_hour_service_level",
        "Service level by weekday and hour (pooled over the horizon).",
        lambda t: fig_weekday_hour(t.intervals, "service_level"),  # type: ignore[arg-type]
    ),
    FigureSpec(
        "weekday_hour_asa",
        "Average speed of answer by weekday and hour (weighted by answered calls).",
        lambda t: fig_weekday_hour(t.intervals, "asa_s"),  # type: ignore[arg-type]
    ),
)
"""Every figure of the report, in page order; each is also written as ``<name>.png``."""


def kpi_summary_from_runs(kpis: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t-interval per KPI (and variant) from a long per-run KPI table.

    The same definition as the experiment runner's summary; one run gives no interval.
    """
    return summarise_kpis(kpis)


_SUMMARY_REQUIRED = ("kpi", "label", "unit", "mean", "ci_low", "ci_high")


SHORT_FROM = 4
"""From this many variants on (or with a name too long for a column head), figures and
tables name variants V1, V2, … and one legend table spells the names out."""
_LONG_NAME = 24


def short_labels(names: Sequence[str]) -> dict[str, str]:
    """Variant name → the label figures and tables use (the name itself when few and short)."""
    names = list(dict.fromkeys(str(n) for n in names))
    if len(names) < SHORT_FROM and all(len(n) <= _LONG_NAME for n in names):
        return {n: n for n in names}
    return {n: f"V{i + 1}" for i, n in enumerate(names)}


def _relabel(df: pd.DataFrame | None, labels: Mapping[str, str]) -> pd.DataFrame | None:
    """``df`` with its variant (and baseline) names replaced by their labels, order kept."""
    if df is None:
        return None
    out = df.copy()
    for col in (VARIANT, "baseline"):
        if col not in out.columns:
            continue
        values = out[col].astype(str).map(lambda n: labels.get(n, n))
        order = dict.fromkeys([*labels.values(), *pd.unique(values)])
        out[col] = pd.Categorical(values, categories=list(order))
    return out


def _legend_html(labels: Mapping[str, str], baseline: str | None) -> str:
    """The one table that maps a short label to the variant's full name (its changes)."""
    esc = html.escape
    rows = "".join(
        f'<tr><th scope="row">{esc(short)}</th><td>{esc(name)}</td>'
        f"<td>{'baseline' if name == baseline else ''}</td></tr>"
        for name, short in labels.items()
    )
    return (
        '<h2 id="variants">Variants</h2>'
        '<table class="legend"><thead><tr><th>label</th><th>variant (its changes)</th>'
        f"<th></th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _half_width(low: Any, high: Any, unit: str, money: MoneyFormat, points: bool = False) -> str:
    """ "± half-width" of an interval: a third of the width of "[low; high]", so twelve
    columns fit on a page ("" without an interval; shares of a difference in points)."""
    lo, hi = float(low), float(high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    text = format_value((hi - lo) / 2, unit, money, money_decimals=0)
    return "± " + (text.replace(" %", " pp") if points and unit == "share" else text)


def _cell(text: str, ci: str, significant: bool = False) -> str:
    """A value with its interval underneath: one column per variant keeps 12 on a page."""
    sub = f'<br><span class="ci">{html.escape(ci)}</span>' if ci else ""
    cls = ' class="sig"' if significant else ""
    return f'<td{cls}><span class="v">{html.escape(text)}</span>{sub}</td>'


def _kpi_html(summary: pd.DataFrame, money: MoneyFormat) -> str:
    """The KPI table: one row per KPI, mean and 95 % CI per strategy (in one cell each,
    stacked, when there are many strategies)."""
    missing = [c for c in _SUMMARY_REQUIRED if c not in summary.columns]
    if missing:
        raise ValueError(f"kpi_summary lacks column(s) {', '.join(missing)}")
    esc = html.escape
    variants = _variants(summary)
    with_ci = bool(summary[["ci_low", "ci_high"]].notna().to_numpy().any())
    if len(variants) >= SHORT_FROM:
        return _kpi_html_wide(summary, variants, money)
    head = ["<th>KPI</th>"]
    for v in variants:
        name = f"{esc(str(v))}: " if v is not None else ""
        head.append(f"<th>{name}{'mean' if with_ci else 'value'}</th>")
        if with_ci:
            head.append(f"<th>{name}95 % CI</th>")
    rows = []
    for kpi, grp in summary.groupby("kpi", sort=False):
        first = grp.iloc[0]
        cells = [f'<th scope="row">{esc(str(first["label"]))}</th>']
        for v in variants:
            r = _subset(grp, v)
            if r.empty:
                cells.append("<td></td>" * (2 if with_ci else 1))
                continue
            r = r.iloc[0]
            unit = str(r["unit"])
            cells.append(f"<td>{esc(format_value(r['mean'], unit, money, money_decimals=0))}</td>")
            if with_ci:
                ci = format_interval(r["ci_low"], r["ci_high"], unit, money)
                cells.append(f"<td>{esc(ci)}</td>")
        rows.append(f'<tr data-kpi="{esc(str(kpi))}">{"".join(cells)}</tr>')
    return (
        '<table class="kpis"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _kpi_html_wide(summary: pd.DataFrame, variants: Sequence[Any], money: MoneyFormat) -> str:
    """Many strategies: one column each, the interval under the mean."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(v))}</th>" for v in variants)
    rows = []
    for kpi, grp in summary.groupby("kpi", sort=False):
        cells = [f'<th scope="row">{esc(str(grp.iloc[0]["label"]))}</th>']
        for v in variants:
            r = _subset(grp, v)
            if r.empty:
                cells.append("<td></td>")
                continue
            r = r.iloc[0]
            unit = str(r["unit"])
            mean = format_value(r["mean"], unit, money, money_decimals=0)
            cells.append(_cell(mean, _half_width(r["ci_low"], r["ci_high"], unit, money)))
        rows.append(f'<tr data-kpi="{esc(str(kpi))}">{"".join(cells)}</tr>')
    return (
        '<p class="meta">Mean over replications; underneath, ± the half-width of its 95 % '
        "interval.</p>"
        f'<table class="kpis wide"><thead><tr><th>KPI</th>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _diff_interval(low: float, high: float, unit: str, money: MoneyFormat) -> str:
    ci = format_interval(low, high, unit, money)
    return ci.replace(" %", " pp") if unit == "share" else ci  # shares differ in points


def _paired_html(paired: pd.DataFrame, money: MoneyFormat) -> str:
    """Paired differences against the baseline: one row per KPI, Δ and its CI per variant
    (stacked in one cell when there are many variants); significant ones marked."""
    esc = html.escape
    base = str(paired["baseline"].iloc[0])
    variants = list(dict.fromkeys(paired["variant"].astype(str)))
    wide = len(variants) + 1 >= SHORT_FROM
    head = "".join(
        f"<th>{esc(v)}: Δ</th>" if wide else f"<th>{esc(v)}: Δ</th><th>95 % CI</th>"
        for v in variants
    )
    rows = []
    for _kpi, grp in paired.groupby("kpi", sort=False):
        cells = [f'<th scope="row">{esc(str(grp.iloc[0]["label"]))}</th>']
        by_variant = grp.set_index(grp["variant"].astype(str))
        for v in variants:
            if v not in by_variant.index:
                cells.append("<td></td>" if wide else "<td></td><td></td>")
                continue
            r = by_variant.loc[v]
            unit = str(r["unit"])
            sig = bool(r["significant"])
            diff = format_diff(r["mean_diff"], unit, money, money_decimals=0) + (
                " *" if sig else ""
            )
            ci = _diff_interval(r["ci_low"], r["ci_high"], unit, money)
            if wide:
                half = _half_width(r["ci_low"], r["ci_high"], unit, money, points=True)
                cells.append(_cell(diff, half, sig))
            else:
                cls = ' class="sig"' if sig else ""
                cells.append(f"<td{cls}>{esc(diff)}</td><td>{esc(ci)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    kind = "kpis paired wide" if wide else "kpis paired"
    return (
        f"<h2>Differences to {esc(base)}</h2>"
        '<p class="meta">Paired by replication (the same seeds: common random numbers); '
        "* and shading = the 95 % interval excludes 0"
        + ("; ± its half-width underneath.</p>" if wide else ".</p>")
        + f'<table class="{kind}"><thead><tr><th>KPI</th>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


RETENTION_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("retention_uplift", "Retention Δ", "share"),
    ("retained_accounts", "Accounts kept Δ", "accounts"),
    ("discount_cost", "Discount committed Δ", "money"),
    ("cost_per_retained", "Cost per account kept", "money"),
    ("retained_value", "Value kept Δ", "money"),
    ("net_value", "Net value Δ", "money"),
)
"""Columns of the retention section: the measures of sim.experiments.retention, in order."""


def _retention_html(retention: pd.DataFrame, money: MoneyFormat) -> str:
    """Per variant and segment, the paired retention measures against the baseline: one
    row per (variant, segment), one column per measure, the interval underneath."""
    esc = html.escape
    base = str(retention["baseline"].iloc[0]) if len(retention) else ""
    measures = [m for m in RETENTION_MEASURES if m[0] in set(retention["measure"])]
    head = "".join(f"<th>{esc(label)}</th>" for _, label, _ in measures)
    index = retention.assign(
        variant=retention["variant"].astype(str), segment=retention["segment"].astype(str)
    ).set_index(["variant", "segment", "measure"])
    rows = []
    for v in _variants(retention):
        segments = list(dict.fromkeys(index.loc[str(v)].index.get_level_values("segment")))
        for k, seg in enumerate(segments):
            lead = f'<th scope="row" rowspan="{len(segments)}">{esc(str(v))}</th>' if k == 0 else ""
            cells = [lead, f'<th scope="row">{esc(seg)}</th>']
            for m, _, unit in measures:
                if (str(v), seg, m) not in index.index:
                    cells.append("<td></td>")
                    continue
                r = index.loc[(str(v), seg, m)]
                lo, hi = float(r["ci_low"]), float(r["ci_high"])
                sig = bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))
                if m == "cost_per_retained":
                    text = format_value(r["estimate"], unit, money, money_decimals=0)
                    ci = _half_width(lo, hi, unit, money)
                    sig = False  # a ratio, not a difference: nothing to test against 0
                else:
                    text = format_diff(r["estimate"], unit, money, money_decimals=0)
                    ci = _half_width(lo, hi, unit, money, points=True)
                cells.append(_cell(text + (" *" if sig else ""), ci, sig))
            rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<h2 id="retention">Retention by segment, against {esc(base)}</h2>'
        '<p class="meta">Paired by replication; "all" is the whole base. Discount committed '
        "counts every month a granted discount runs, also after the horizon. * and shading = "
        "the 95 % interval excludes 0; ± its half-width underneath.</p>"
        '<table class="kpis wide retention"><thead><tr><th>variant</th><th>segment</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}.meta{color:#555;margin-top:0}
table.kpis{border-collapse:collapse;margin:1rem 0}
table.kpis th,table.kpis td{border-bottom:1px solid #ddd;padding:.3rem .8rem;text-align:right}
table.kpis th[scope=row],table.kpis thead th:first-child{text-align:left}
figure{margin:2rem 0}figure img{max-width:100%;height:auto}
figcaption{color:#444;font-size:.95rem}.note{color:#a33}
table.wide{font-size:.78rem;width:100%}table.wide th,table.wide td{padding:.25rem .35rem}
table.wide td{vertical-align:top}.ci{color:#666;font-size:.85em;white-space:nowrap}
td.sig{background:#fff3c4}.v{white-space:nowrap}table.retention th[rowspan]{vertical-align:top}
table.legend{border-collapse:collapse;margin:1rem 0}
table.legend th,table.legend td{border-bottom:1px solid #ddd;padding:.2rem .8rem;text-align:left}
"""


def _seed_text(seeds: Sequence[int]) -> str:
    if not seeds:
        return "not recorded"
    shown = ", ".join(str(s) for s in seeds[:10])
    return shown if len(seeds) <= 10 else f"{shown}, … ({len(seeds)} in all)"


def _report_html(
    title: str,
    data: ReportTables,
    kpi_table: str,
    figures: Sequence[tuple[FigureSpec, bytes | None, str | None]],
    generated: dt.datetime,
) -> str:
    esc = html.escape
    meta = (
        f"Scenario: <b>{esc(data.scenario or 'unnamed')}</b> · seed(s): "
        f"{esc(_seed_text(data.seeds))} · sim {esc(str(data.version))} · money in "
        f"{esc(data.money.unit)} · generated {esc(generated.strftime('%Y-%m-%d %H:%M:%S UTC'))}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{meta}</p>',
        kpi_table,
    ]
    for spec, png, problem in figures:
        parts.append(f'<figure id="{esc(spec.name)}">')
        if png is not None:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f'<img alt="{esc(spec.caption)}" src="data:image/png;base64,{b64}">')
            parts.append(f"<figcaption>{esc(spec.caption)}</figcaption>")
        else:
            parts.append(
                f'<figcaption class="note">{esc(spec.caption)} Not available: '
                f"{esc(problem or '')}</figcaption>"
            )
        parts.append("</figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    out_dir: str | Path,
    results_or_tables: Any,
    title: str | None = None,
    kpi_summary: pd.DataFrame | None = None,
    *,
    paired: pd.DataFrame | None = None,
    retention: pd.DataFrame | None = None,
    dpi: int = 110,
) -> Path:
    """Write every figure as PNG and one self-contained ``report.html`` into ``out_dir``.

    ``results_or_tables``: anything ``report_tables`` accepts. ``kpi_summary`` (columns
    kpi, label, unit, mean, ci_low, ci_high[, variant]) fills the KPI table; without it
    the table is computed from the runs' KPIs (an interval needs two replications or
    more). Files are written into a temporary folder beside ``out_dir`` and renamed into
    place at the end, so a failure leaves the previous report, or nothing, never half a
    report. ``retention`` (``sim.experiments.retention.retention_table``) adds its section.
    With many variants or long names, figures and tables use the labels of
    ``short_labels`` and a legend table names the variants. Returns ``out_dir``.
    """
    data = report_tables(results_or_tables)
    if kpi_summary is None and data.kpis is not None:
        kpi_summary = kpi_summary_from_runs(data.kpis)
    title = title or f"Billing support: {data.scenario or 'simulation'}"
    names = next(
        ([str(v) for v in _variants(df)] for df in (data.kpis, data.monthly, kpi_summary)
         if df is not None and VARIANT in df.columns),
        [],
    )  # fmt: skip
    labels = short_labels(names)
    legend = _legend_html(labels, data.baseline) if any(k != s for k, s in labels.items()) else ""
    if legend:
        data = dataclasses.replace(
            data,
            intervals=_relabel(data.intervals, labels),
            calls=_relabel(data.calls, labels),
            monthly=_relabel(data.monthly, labels),
            kpis=_relabel(data.kpis, labels),
        )
        kpi_summary, paired, retention = (
            _relabel(kpi_summary, labels),
            _relabel(paired, labels),
            _relabel(retention, labels),
        )
    with atomic_dir(out_dir) as tmp:
        kpi_table = legend + "<h2>Key figures</h2>"
        kpi_table += (
            _kpi_html(kpi_summary, data.money)
            if kpi_summary is not None and not kpi_summary.empty
            else '<p class="note">No KPI summary given.</p>'
        )
        if paired is not None and not paired.empty:
            kpi_table += _paired_html(paired, data.money)
        if retention is not None and not retention.empty:
            kpi_table += _retention_html(retention, data.money)
        figures: list[tuple[FigureSpec, bytes | None, str | None]] = []
        for spec in FIGURES:
            try:
                fig = spec.draw(data)
            except MissingColumnsError as exc:
                figures.append((spec, None, str(exc.args[0])))
                continue
            path = tmp / f"{spec.name}.png"
            fig.savefig(path, format="png", dpi=dpi)
            figures.append((spec, path.read_bytes(), None))
        generated = dt.datetime.now(dt.UTC)
        page = _report_html(title, data, kpi_table, figures, generated)
        (tmp / "report.html").write_text(page, encoding="utf-8")
    return Path(out_dir)
