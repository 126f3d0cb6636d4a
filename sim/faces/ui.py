"""Small, testable helpers behind the Streamlit page (``app.py``).

The page stays thin: it turns widgets into scenario changes and shows what these
helpers return. Every number still comes from ``sim.results.tables`` and ``sim.experiments``;
this module maps levers onto scenario paths, runs strategies through the experiment
runner, and reshapes result tables for charts and comparison tables. Keeping that here
means it is unit-tested without a browser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import io
import math
import weakref
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim import policies
from sim.calibrate import CalibrationFit, CallLog, DataError, fit_logs
from sim.calibrate.readers import read_anonymous_bank, read_call_log
from sim.core.optional import require
from sim.core.progress import ProgressFn
from sim.core.rng import replication_seed
from sim.experiments import decision
from sim.experiments.jobs import Variant
from sim.experiments.netopt import NetOptResult, SearchSpace, optimise_net
from sim.experiments.pairing import Comparability, comparability
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import run_experiment
from sim.experiments.store import Store
from sim.experiments.targeting import (
    History,
    call_history,
    discrimination,
    fit_churn_score,
    fit_uplift,
    pilot_table,
    targeted,
)
from sim.policies.catalogue import DISCOUNTS
from sim.policies.context import DiscountPolicy
from sim.policies.targeting import ChurnScore, PilotDiscount, UpliftScore
from sim.presentation import i18n
from sim.presentation.formatting import (
    MoneyFormat,
    format_compact,
    format_date,
    format_diff,
    format_interval,
    format_timestamp,
    format_value,
)
from sim.results.tables import INTERVAL_RATIOS, KPI_DEFINITIONS, MONTHLY_UNITS
from sim.scenario import Scenario
from sim.scenario.limits import estimate_work
from sim.scenario.loading import check_upload

HEADLINE_KPIS: tuple[str, ...] = (
    "service_level",
    "asa_s",
    "abandonment_rate",
    "occupancy",
    "monthly_churn",
    "retention",
    "revenue",
    "discount_cost",
    "agent_cost",
    "net",
)
"""The KPI cards the page shows, in order."""

RUN_TABLES: tuple[str, ...] = ("monthly", "intervals", "waits", "segments")
"""Per-run tables the app keeps: enough for every chart, small enough for many runs."""

AUTO_STAFFING: tuple[str, ...] = ("fixed", "erlang_c", "erlang_a", "sqrt")
"""Staffing rules a manager picks by name ('table' needs a per-interval table: not a lever)."""


# ---- levers -----------------------------------------------------------------------------


LEVER_GROUPS: tuple[str, ...] = ("staffing", "discounts", "billing", "customers", "horizon")
"""The sidebar's lever groups, in the order a manager thinks about them."""


def lever_group(problem: str) -> str:
    """The lever group a validation problem belongs to, judged by the field path it
    names, so the page can explain it beside the inputs that caused it."""
    if problem.startswith(("policies.discount", "discount")):
        return "discounts"
    if problem.startswith(("contact_center", "policies.staffing")):
        return "staffing"
    if problem.startswith("billing"):
        return "billing"
    if problem.startswith("customers"):
        return "customers"
    return "horizon"


def discount_pct_param(name: str) -> str | None:
    """Name of the percentage parameter of discount policy ``name`` (None if it has none)."""
    if name not in DISCOUNTS:
        raise KeyError(f"unknown discount policy '{name}' (valid: {', '.join(DISCOUNTS)})")
    return DISCOUNTS[name].PCT_PARAM


def default_discount_pct(scenario: Scenario, name: str) -> float | None:
    """The percentage to preset for ``name``: the scenario's value when it already uses
    that policy with the parameter set, else the policy's own default."""
    param = discount_pct_param(name)
    if param is None:
        return None
    choice = scenario.policies.discount
    if choice.name == name and param in choice.params:
        return float(choice.params[param])
    for f in dataclasses.fields(DISCOUNTS[name]):
        if f.name == param and f.default is not dataclasses.MISSING:
            return float(f.default)
    return 0.0


def discount_changes(scenario: Scenario, name: str, pct: float | None) -> dict[str, Any]:
    """Scenario changes that select discount policy ``name`` with percentage ``pct``.

    Parameters the scenario already gives for the same policy are kept; switching to
    another policy starts from that policy's defaults (other policies' parameters would
    be rejected).
    """
    param = discount_pct_param(name)
    choice = scenario.policies.discount
    params = dict(choice.params) if choice.name == name else {}
    if param is not None and pct is not None:
        params[param] = pct
    return {"policies.discount.name": name, "policies.discount.params": params}


def staffing_levers(scenario: Scenario, lang: str = "en") -> list[tuple[str, str, str, int]]:
    """One lever per staffing figure: (group name, label, scenario path, current agents).

    A group staffed by shifts yields one lever per shift ("Mon–Fri 08:00–16:30", in
    ``lang``); a group with a constant head count yields one lever for that count.
    """
    levers = []
    for gi, g in enumerate(scenario.contact_center.groups):
        if g.shifts is None:
            path = f"contact_center.groups[{gi}].agents"
            levers.append((g.name, "", path, int(g.agents or 0)))
            continue
        for si, sh in enumerate(g.shifts):
            label = i18n.shift_label(sh.days, sh.start, sh.hours, lang)
            path = f"contact_center.groups[{gi}].shifts[{si}].agents"
            levers.append((g.name, label, path, sh.agents))
    return levers


def staffing_modes() -> list[str]:
    """Staffing rules the policies module knows: 'fixed' first, then automatic ones."""
    known = list(getattr(policies, "STAFFING", ("fixed",)))
    return [m for m in AUTO_STAFFING if m in known or m == "fixed"]


def staffing_changes(
    scenario: Scenario,
    mode: str,
    target: float | None = None,
    threshold_s: float | None = None,
    beta: float | None = None,
) -> dict[str, Any]:
    """Changes for a staffing rule; automatic rules staff to the service-level target.

    The target is written to ``contact_center.service_level`` (what every KPI is measured
    against) and, when the rule takes such a parameter, to its params as well; ``beta``
    is the square-root rule's safety factor.
    """
    changes: dict[str, Any] = {}
    if target is not None:
        changes["contact_center.service_level.target"] = target
    if threshold_s is not None:
        changes["contact_center.service_level.threshold_s"] = threshold_s
    if mode == "fixed":
        if scenario.policies.staffing.name != "fixed":
            changes["policies.staffing"] = {"name": "fixed", "params": {}}
        return changes
    params = (
        dict(scenario.policies.staffing.params) if scenario.policies.staffing.name == mode else {}
    )
    accepted = _staffing_params(mode)
    if target is not None:
        for p in ("target", "target_sl", "service_level"):
            if p in accepted:
                params[p] = target
                break
    if threshold_s is not None and "threshold_s" in accepted:
        params["threshold_s"] = threshold_s
    if beta is not None and "beta" in accepted:
        params["beta"] = beta
    changes["policies.staffing"] = {"name": mode, "params": params}
    return changes


def _staffing_params(mode: str) -> set[str]:
    """Parameter names the staffing rule ``mode`` accepts (empty when unknown)."""
    registry = getattr(policies, "STAFFING", None)
    cls = registry.get(mode) if isinstance(registry, Mapping) else None
    if cls is None:
        return set()
    try:
        return set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return set()


def segment_mix_changes(scenario: Scenario, shares_pct: Mapping[str, float]) -> dict[str, Any]:
    """Changes setting each segment's share from percentages that must add up to 100.

    Raises ValueError naming the total, so the page can say it beside the inputs.
    """
    total = float(sum(shares_pct.values()))
    if not math.isclose(total, 100.0, abs_tol=0.05):
        raise ValueError(f"customers.segments: shares add up to {total:g} % (must be 100 %)")
    changes = {}
    for i, seg in enumerate(scenario.customers.segments):
        if seg.name in shares_pct:
            changes[f"customers.segments[{i}].share"] = float(shares_pct[seg.name]) / 100.0
    return changes


def incident_changes(
    enabled: bool,
    error_rate: float | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    cycles: Sequence[int] = (),
) -> dict[str, Any]:
    """Changes for a billing incident (a raised error rate on some cycles between dates)."""
    if not enabled:
        return {"billing.incident": None}
    return {
        "billing.incident": {
            "cycles": [int(c) for c in cycles],
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "error_rate": error_rate,
        }
    }


def default_incident(scenario: Scenario) -> tuple[float, dt.date, dt.date, list[int]]:
    """(error rate, start, end, cycles) to preset: the scenario's incident or a plausible
    one (20 % errors on the first cycle in the second month)."""
    inc = scenario.billing.incident
    if inc is not None:
        return inc.error_rate, inc.start, inc.end, list(inc.cycles)
    cal = scenario.calendar
    y, m = divmod(cal.start.month, 12)
    start = dt.date(cal.start.year + y, m + 1, 1) if cal.months > 1 else cal.start
    end = min(start + dt.timedelta(days=27), cal.end - dt.timedelta(days=1))
    return 0.20, start, end, [scenario.billing.cycle_days[0]]


def input_format(value: float | None, step: float, min_decimals: int = 0) -> str:
    """A printf format for a number input: as few decimals as the value and the step
    need (at least ``min_decimals``, at most 4).

    Streamlit's number inputs always write a decimal point, never a German decimal
    comma; without needless decimals "600.00" (read in German as six hundred thousand)
    becomes "600", and a percentage keeps one decimal ("80.0"), which no reader takes
    for a thousands separator."""

    def decimals(x: float) -> int:
        for d in range(5):
            if abs(round(x, d) - x) < 1e-9:
                return d
        return 4

    need = decimals(float(step))
    if value is not None and math.isfinite(float(value)):
        need = max(need, decimals(float(value)))
    return f"%.{max(need, min_decimals)}f"


MAX_SCENARIO_BYTES = 256 * 1024
"""Largest scenario upload: the shipped scenarios are about 10 kB."""


def upload_problem(name: str, size: int, limit: int = MAX_SCENARIO_BYTES) -> str | None:
    """Why an upload is refused before it is read: "too_big" or "not_yaml" (None: fine).

    Checked on the size and the name only, so a large file is refused at once."""
    if not name.lower().endswith((".yaml", ".yml")):
        return "not_yaml"
    if size > limit:
        return "too_big"
    return None


def unique_name(name: str, taken: Sequence[str]) -> str:
    """``name``, or "name (2)", "name (3)", … when it is taken: keeping both strategies."""
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def read_upload(name: str, data: bytes) -> tuple[Scenario, str]:
    """An uploaded scenario file: (scenario, its text); ScenarioError naming the file and
    the problem when it is too big, not UTF-8 text, not YAML (an alias bomb included) or
    not a valid scenario.

    Through the library's ``check_upload``, so the page refuses exactly what the CLI
    refuses (size before decoding, aliases before expansion)."""
    scenario = check_upload(data, name)
    return scenario, data.decode("utf-8-sig")


# ---- call logs (the Calibrate tab) -------------------------------------------------------

MAX_LOG_BYTES = 50 * 1024 * 1024
"""Largest call-log upload: a month of the Anonymous Bank is about 4 MB gzipped."""
MAX_LOG_EXPANDED_BYTES = 400 * 1024 * 1024
"""Largest call log once a ``.gz`` upload is unpacked (a gzip bomb stops here)."""
LOG_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq", ".txt", ".txt.gz")
"""Call-log files the tab reads: the generic schema (CSV, Parquet) or Anonymous Bank
monthly files (``.txt``, ``.txt.gz``)."""


def log_upload_problem(name: str, size: int, limit: int = MAX_LOG_BYTES) -> str | None:
    """Why a call-log upload is refused before it is read: "too_big" or "wrong_type"."""
    if not name.lower().endswith(LOG_SUFFIXES):
        return "wrong_type"
    if size > limit:
        return "too_big"
    return None


def _gunzip(name: str, data: bytes, limit: int) -> bytes:
    """``data`` unpacked, never more than ``limit`` bytes (DataError beyond, or when it is
    not gzip)."""
    out = zlib.decompressobj(wbits=31)  # gzip header
    try:
        body = out.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DataError(name, f"not a gzip file ({exc})") from None
    if len(body) > limit or out.unconsumed_tail:
        raise DataError(name, f"unpacks to more than the limit of {limit:,} bytes")
    return body


def read_log_upload(
    name: str, data: bytes, limit: int = MAX_LOG_BYTES, expanded: int = MAX_LOG_EXPANDED_BYTES
) -> CallLog:
    """An uploaded call log in the generic schema or an Anonymous Bank monthly file, or
    one DataError naming the file (and the row and column when a value is bad)."""
    problem = log_upload_problem(name, len(data), limit)
    if problem == "wrong_type":
        raise DataError(name, f"not a call log (expected {', '.join(LOG_SUFFIXES)})")
    if problem == "too_big":
        raise DataError(name, f"is {len(data):,} bytes, more than the limit of {limit:,}")
    lower = name.lower()
    if lower.endswith(".gz"):
        data, lower = _gunzip(name, data, expanded), lower[:-3]
    buffer = io.BytesIO(data)
    buffer.name = name  # the readers name the file in every error
    if lower.endswith(".txt"):
        return read_anonymous_bank(buffer)
    return read_call_log(buffer)


def fit_log_upload(name: str, data: bytes) -> CalibrationFit:
    """The fit of an uploaded call log; DataError (one line) when the file or its
    contents cannot be used, including a log too thin to fit (no abandonments)."""
    log = read_log_upload(name, data)
    try:
        return fit_logs(log)
    except DataError:
        raise
    except (ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise DataError(name, f"cannot be fitted: {exc}") from None


def service_fit_table(fit: CalibrationFit) -> pd.DataFrame:
    """One row per call type: rows, best family, its KS distance, mean talk time [95 %
    CI] in seconds (the lognormal mean), for the fit summary."""
    rows = []
    for call_type, f in fit.services.items():
        fam = f.families.set_index("family")
        rows.append(
            {
                "call_type": call_type,
                "rows": f.n,
                "best": f.best,
                "ks": float(fam.loc[f.best, "ks"]),
                "ks_lognormal": float(fam.loc["lognormal", "ks"])
                if "lognormal" in fam.index
                else math.nan,
                "mean_s": f.mean,
                "mean_lo": f.mean_ci[0],
                "mean_hi": f.mean_ci[1],
            }
        )
    return pd.DataFrame(rows)


def staffing_profile_hours(fit: CalibrationFit) -> pd.DataFrame:
    """Inferred agents on duty by day type and hour of day (median and quartiles), the
    slots in minutes turned into hours for a chart."""
    prof = fit.staffing_profile
    return prof.assign(hour=prof["slot"] / 60.0)[["day_type", "hour", "median", "q1", "q3"]]


# ---- running ----------------------------------------------------------------------------


def run_strategy(
    name: str,
    scenario: Scenario,
    replications: int,
    progress: ProgressFn | None = None,
    *,
    workers: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Replications of one strategy through the experiment runner (one variant ``name``;
    ``options`` such as a fitted ``discount_policy`` go to every replication's run).

    Serial for one or two replications (a process pool costs more than it saves), a
    local process pool from three on. A replication that fails raises RuntimeError with
    its reason, since a partial strategy would mislead the comparison.
    """
    executor = "serial" if replications < 3 else "process"
    result = run_experiment(
        [Variant(name, scenario, dict(options or {}))],
        replications,
        executor=executor,
        workers=workers or 2,
        tables=RUN_TABLES,
        progress=progress,
        name=name,
    )
    if result.failures:
        raise RuntimeError(str(result.failures[0]))
    return result


def rename(result: ExperimentResult, name: str) -> ExperimentResult:
    """The same runs under another strategy name (results are single-variant)."""
    if len(result.variants) != 1:
        raise ValueError("only single-strategy results can be renamed")
    v = dataclasses.replace(result.variants[0], name=name)
    runs = {(name, r): dataclasses.replace(s, variant=name) for (_, r), s in result.runs.items()}
    return ExperimentResult(variants=[v], replications=result.replications, runs=runs, name=name)


def single_variant(result: ExperimentResult, variant: str) -> ExperimentResult:
    """One variant of a multi-variant result (e.g. a stored sweep) as its own result."""
    variants = [v for v in result.variants if v.name == variant]
    if not variants:
        raise KeyError(variant)
    runs = {k: s for k, s in result.runs.items() if k[0] == variant}
    return ExperimentResult(
        variants=variants, replications=result.replications, runs=runs, name=variant
    )


def combine(strategies: Mapping[str, ExperimentResult]) -> ExperimentResult:
    """Kept strategies as one experiment, so ``paired`` differences can be taken.

    Runs pair by replication number: the runner seeds replication r from (scenario seed,
    r), so strategies that share the scenario seed see the same customers and bills.

    The same strategies (the same result objects under the same names) give the same
    combined result: the app compares the kept strategies at every click, and the
    combined result keeps the tables it has built (``ExperimentResult`` memo).
    """
    names, results = tuple(strategies), tuple(strategies.values())
    for kept_names, refs, combined in _COMBINED:
        if kept_names == names and all(ref() is r for ref, r in zip(refs, results, strict=True)):
            return combined
    variants, runs = [], {}
    for name, res in strategies.items():
        one = res if res.variant_names == [name] else rename(res, name)
        variants.extend(one.variants)
        runs.update(one.runs)
    reps = max((r.replications for r in results), default=0)
    combined = ExperimentResult(variants=variants, replications=reps, runs=runs, name="compare")
    entry = (names, tuple(weakref.ref(r) for r in results), combined)
    _COMBINED[:] = [entry, *_COMBINED[: _COMBINED_KEPT - 1]]
    return combined


_COMBINED: list[tuple[tuple[str, ...], tuple[weakref.ref, ...], ExperimentResult]] = []
"""Recent combinations, newest first; weak references to the strategies, so a strategy
forgotten is never matched by a new one that happens to reuse its memory address."""
_COMBINED_KEPT = 8


def strategy_comparability(strategies: Mapping[str, ExperimentResult]) -> Comparability:
    """The CLI's pairing rule (sim.experiments.pairing) applied to the kept strategies."""
    return comparability({name: r.variants[0].scenario for name, r in strategies.items()})


def same_seed(strategies: Mapping[str, ExperimentResult]) -> bool:
    """Whether all strategies share a scenario seed (paired differences are meaningful)."""
    return strategy_comparability(strategies).paired


# ---- KPI cards and tables ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Card:
    """One KPI card: label, formatted mean, formatted interval, definition."""

    kpi: str
    label: str
    value: str
    interval: str
    help: str


def kpi_cards(
    result: ExperimentResult, money: MoneyFormat, lang: str = "en", variant: str | None = None
) -> list[Card]:
    """The headline KPIs of one strategy: mean over replications with its 95 % interval.

    The value is compact ("11.6 M EUR") so a card never cuts it; the full value leads
    the card's help text."""
    summary = result.summary()
    name = variant or result.variant_names[0]
    summary = summary[summary["variant"] == name].set_index("kpi")
    cards = []
    for kpi in HEADLINE_KPIS:
        d = KPI_DEFINITIONS[kpi]
        if kpi in summary.index:
            row = summary.loc[kpi]
            value = format_compact(row["mean"], d.unit, money, lang=lang)
            full = format_value(row["mean"], d.unit, money, money_decimals=0)
            ci = format_interval(row["ci_low"], row["ci_high"], d.unit, money)
        else:
            value = full = format_value(None, d.unit, money)
            ci = ""
        help_text = f"{full} — {i18n.kpi_definition(kpi, lang)}"
        if kpi == "net":
            help_text += "\n\n" + i18n.value_definition(lang)
        cards.append(Card(kpi, i18n.kpi_label(kpi, lang), value, ci, help_text))
    return cards


def compare_table(
    combined: ExperimentResult, baseline: str, money: MoneyFormat, lang: str = "en"
) -> pd.DataFrame:
    """Side by side: one row per KPI, the mean [95 % CI] of every strategy, and each
    strategy's paired difference to ``baseline`` with its interval; a significant
    difference (interval excludes 0) ends in " ★"."""
    summary = combined.summary().set_index(["variant", "kpi"])
    paired = combined.paired(baseline) if len(combined.variants) > 1 else None
    if paired is not None:
        paired = paired.set_index(["variant", "kpi"])
    diff_word = i18n.t("diff_vs", lang, name=baseline)
    rows = []
    for kpi, d in KPI_DEFINITIONS.items():
        row: dict[str, str] = {i18n.t("kpi", lang): i18n.kpi_label(kpi, lang)}
        for name in combined.variant_names:
            if (name, kpi) in summary.index:
                s = summary.loc[(name, kpi)]
                text = format_value(s["mean"], d.unit, money, money_decimals=0)
                ci = format_interval(s["ci_low"], s["ci_high"], d.unit, money)
                row[name] = f"{text} {ci}".strip()
            else:
                row[name] = ""
        for name in combined.variant_names:
            if name == baseline or paired is None:
                continue
            col = f"{name}: {diff_word}"
            if (name, kpi) in paired.index:
                p = paired.loc[(name, kpi)]
                text = format_diff(p["mean_diff"], d.unit, money)
                if np.isfinite(p["ci_low"]):
                    lo = format_diff(p["ci_low"], d.unit, money)
                    hi = format_diff(p["ci_high"], d.unit, money)
                    text += f" [{lo}; {hi}]" if money.style == "de" else f" [{lo}, {hi}]"
                if bool(p["significant"]):
                    text += " ★"
                row[col] = text
            else:
                row[col] = ""
        rows.append(row)
    return pd.DataFrame(rows)


def compare_effects(combined: ExperimentResult, baseline: str, lang: str = "en") -> pd.DataFrame:
    """Same shape as ``compare_table``'s difference columns: +1 better, -1 worse, 0
    neither, per KPI row (decision.kpi_effects), for colouring the table."""
    eff = decision.kpi_effects(combined, baseline).set_index(["strategy", "kpi"])
    diff_word = i18n.t("diff_vs", lang, name=baseline)
    out = {}
    for name in combined.variant_names:
        if name == baseline:
            continue
        out[f"{name}: {diff_word}"] = [
            int(eff.loc[(name, k), "effect"]) if (name, k) in eff.index else 0
            for k in KPI_DEFINITIONS
        ]
    return pd.DataFrame(out)


def frontier(combined: ExperimentResult, baseline: str) -> pd.DataFrame:
    """The discount frontier: per strategy, accounts kept (fewer churned than the
    baseline) against the extra discount cost, paired with 95 % intervals.

    Columns: strategy, discount_cost, kept, kept_low, kept_high, retention_pp, net_diff.
    """
    cols = [
        "strategy",
        "discount_cost",
        "kept",
        "kept_low",
        "kept_high",
        "retention_pp",
        "net_diff",
    ]
    rows = [
        {
            "strategy": baseline,
            "discount_cost": 0.0,
            "kept": 0.0,
            "kept_low": 0.0,
            "kept_high": 0.0,
            "retention_pp": 0.0,
            "net_diff": 0.0,
        }
    ]
    if len(combined.variants) > 1:
        p = combined.paired(baseline).set_index(["variant", "kpi"])
        for name in combined.variant_names:
            if name == baseline:
                continue

            def get(kpi: str, col: str, name: str = name) -> float:
                return float(p.loc[(name, kpi), col]) if (name, kpi) in p.index else math.nan

            rows.append(
                {
                    "strategy": name,
                    "discount_cost": get("discount_cost", "mean_diff"),
                    "kept": -get("churned", "mean_diff"),
                    "kept_low": -get("churned", "ci_high"),
                    "kept_high": -get("churned", "ci_low"),
                    "retention_pp": 100 * get("retention", "mean_diff"),
                    "net_diff": get("net", "mean_diff"),
                }
            )
    return pd.DataFrame(rows, columns=cols)


def discount_sweep(
    scenario: Scenario, policy: str, pcts: Sequence[float]
) -> list[tuple[str, Scenario]]:
    """(name, scenario) for ``policy`` at each percentage: points for the frontier."""
    if discount_pct_param(policy) is None:
        raise ValueError(f"discount policy '{policy}' has no percentage to sweep")
    return [
        (f"{policy} {p:g} %", scenario.with_changes(discount_changes(scenario, policy, p)))
        for p in pcts
    ]


# ---- chart data ------------------------------------------------------------------------------
# The formulas live in sim.presentation.report (pooled ratios, replication means); these
# wrappers only take one strategy's tables and turn report's wide frames into long ones.


def _one(df: pd.DataFrame) -> pd.DataFrame:
    """A strategy's table without its variant column (report then treats it as one)."""
    return df.drop(columns=["variant"]) if "variant" in df.columns else df


def weekday_hour(intervals: pd.DataFrame, measure: str) -> pd.DataFrame:
    """``measure`` pooled by weekday × hour over the horizon and every replication.

    Long: weekday (0=Mon), hour, value; cells without calls are left out.
    """
    report = require("sim.presentation.report")

    wide = report.weekday_hour(_one(intervals), measure)
    wide = wide.reset_index(drop=True)
    wide.index.name = "weekday"
    long = wide.reset_index().melt(id_vars="weekday", var_name="hour", value_name="value")
    long["hour"] = long["hour"].astype(int)
    return long.dropna().reset_index(drop=True)


def wait_distribution(waits: pd.DataFrame, bins: int = 30) -> pd.DataFrame:
    """Answered and abandoned attempts by wait (report.wait_distribution): columns
    wait_from_s, wait_to_s, outcome, calls, share (of all answered + abandoned)."""
    report = require("sim.presentation.report")

    if waits is None or waits.empty or "wait_s" not in waits.columns:
        return pd.DataFrame(columns=["outcome", "wait_from_s", "wait_to_s", "calls", "share"])
    dist = report.wait_distribution(_one(waits), bins)
    # the last bin is open-ended (inf); draw it as wide as the others
    width = (dist["wait_to_s"] - dist["wait_from_s"]).replace(np.inf, np.nan).max()
    last = ~np.isfinite(dist["wait_to_s"])
    dist.loc[last, "wait_to_s"] = dist.loc[last, "wait_from_s"] + (width if width > 0 else 1.0)
    return dist


def wait_quantiles(waits: pd.DataFrame, qs: Sequence[float] = (0.5, 0.8, 0.9, 0.95)) -> dict:
    """Quantiles of the wait of answered attempts (NaN when none were answered)."""
    w = waits.loc[waits["outcome"].astype(str) == "answered", "wait_s"].to_numpy(dtype=float)
    w = w[np.isfinite(w)]
    return {q: (float(np.quantile(w, q)) if w.size else math.nan) for q in qs}


def _by_hour(intervals: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """``kpi`` per hour of day, pooled as sim.results.tables.INTERVAL_RATIOS says."""
    num, den = INTERVAL_RATIOS[kpi]
    start = pd.to_datetime(intervals["interval_start"])
    cols = list(dict.fromkeys([num, *den]))
    g = intervals.groupby(start.dt.hour)[cols].sum()
    handled = g[list(den)].sum(axis=1)
    g, handled = g[handled > 0], handled[handled > 0]
    return pd.DataFrame({"hour": g.index.astype(int), "value": g[num] / handled}).reset_index(
        drop=True
    )


def abandonment_by_hour(intervals: pd.DataFrame) -> pd.DataFrame:
    """Abandonment rate per hour of day, pooled over days and replications (hour, value)."""
    return _by_hour(intervals, "abandonment_rate")


def service_level_by_hour(intervals: pd.DataFrame) -> pd.DataFrame:
    """Service level per hour of day, pooled over days and replications (hour, value)."""
    return _by_hour(intervals, "service_level")


def queue_and_agents(
    intervals: pd.DataFrame, busiest_days: int | None = 7, freq: str | None = None
) -> pd.DataFrame:
    """Agents on duty, agents needed and the mean queue over time, long for a line chart:
    interval_start, series, value (report.queue_and_agents; replication means).

    By default only the busiest ``busiest_days`` days (report.busiest_window): a quarter
    of half-hour steps is unreadable, the busiest week shows where plan and load part.
    """
    report = require("sim.presentation.report")

    iv = _one(intervals)
    if busiest_days:
        lo, hi = report.busiest_window(iv, busiest_days)
        ts = pd.to_datetime(iv["interval_start"])
        iv = iv[(ts >= lo) & (ts < hi)]
    df = report.queue_and_agents(iv, freq)
    series = ["agents_on_duty", "agents_needed", "mean_queue"]
    return df.melt(id_vars="interval_start", value_vars=series, var_name="series")


def retention_by_month(monthly: pd.DataFrame) -> pd.DataFrame:
    """Active accounts, churned accounts, churn rate and survival per month
    (report.monthly_retention; replication means)."""
    report = require("sim.presentation.report")

    return report.monthly_retention(_one(monthly))


def money_waterfall(monthly: pd.DataFrame) -> pd.DataFrame:
    """Billed → net over the horizon as waterfall steps (report.money_waterfall):
    step, label, kind, amount (signed), start, end; the last row is the net result."""
    report = require("sim.presentation.report")

    return report.money_waterfall(_one(monthly))


def monthly_mean(monthly: pd.DataFrame) -> pd.DataFrame:
    """The monthly table averaged over replications (one row per month)."""
    m = _one(monthly)
    if "replication" not in m.columns:
        return m.reset_index(drop=True)
    out = m.drop(columns=["seed"], errors="ignore").groupby("month", as_index=False)
    out = out.mean(numeric_only=True)
    out.insert(1, "month_start", m.groupby("month")["month_start"].first().to_numpy())
    return out.drop(columns=["replication"])


def overlay_monthly(strategies: Mapping[str, ExperimentResult], column: str) -> pd.DataFrame:
    """One monthly column per strategy (replication mean), long: month_start, strategy,
    value — for overlaid lines."""
    frames = []
    for name, res in strategies.items():
        m = monthly_mean(res.table("monthly"))
        frames.append(
            pd.DataFrame({"month_start": m["month_start"], "strategy": name, "value": m[column]})
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def overlay_service_level(strategies: Mapping[str, ExperimentResult]) -> pd.DataFrame:
    """Service level by hour of day per strategy, long: hour, strategy, value."""
    frames = []
    for name, res in strategies.items():
        iv = res.table("intervals")
        if iv.empty or "interval_start" not in iv.columns:
            continue
        s = service_level_by_hour(iv)
        frames.append(pd.DataFrame({"hour": s["hour"], "strategy": name, "value": s["value"]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def overlay_waits(strategies: Mapping[str, ExperimentResult]) -> pd.DataFrame:
    """Share of answered calls waiting at most x seconds per strategy (empirical CDF on
    a common grid), long: wait_s, strategy, share."""
    waits = {}
    for name, res in strategies.items():
        w = res.table("waits")
        if w.empty or "wait_s" not in w.columns:
            continue
        v = w.loc[w["outcome"].astype(str) == "answered", "wait_s"].to_numpy(dtype=float)
        waits[name] = np.sort(v[np.isfinite(v)])
    if not waits:
        return pd.DataFrame()
    top = max((float(np.quantile(v, 0.99)) for v in waits.values() if v.size), default=1.0)
    grid = np.linspace(0, max(top, 1.0), 60)
    frames = [
        pd.DataFrame(
            {
                "wait_s": grid,
                "strategy": name,
                "share": np.searchsorted(v, grid, side="right") / max(v.size, 1),
            }
        )
        for name, v in waits.items()
    ]
    return pd.concat(frames, ignore_index=True)


def monthly_display(monthly: pd.DataFrame, money: MoneyFormat, lang: str = "en") -> pd.DataFrame:
    """The monthly table (replication mean) as text in the scenario's number format,
    with translated column names."""
    m = monthly_mean(monthly)
    months = [format_date(d, lang) for d in m["month_start"].dt.date]
    out = pd.DataFrame({i18n.t("col_month", lang): months})
    for col, unit in MONTHLY_UNITS.items():
        if col in m.columns:
            vals = m[col].to_numpy(dtype=float)
            if unit in ("calls", "accounts"):
                vals = np.round(vals, 1)
            out[i18n.column_label(col, lang)] = [
                format_value(v, unit, money, money_decimals=0) for v in vals
            ]
    return out


# ---- results store ---------------------------------------------------------------------------


def open_store() -> Store:
    """The results store (``sim.experiments.store.Store``) at its default place."""
    return Store()


def run_label(row: Mapping[str, Any], lang: str = "en") -> str:
    """A past run as one line for a select box, its time in local time."""
    created = format_timestamp(row.get("created", ""), lang)
    reps = row.get("replications", "")
    return f"{row.get('name', '')} · {created} · {reps} × · {row.get('run_id')}"


PAST_RUN_KPIS: tuple[str, ...] = ("net", "service_level")
"""The KPIs the past-runs list shows for each stored run."""


def past_run_kpis(kpi_means: pd.DataFrame, run_ids: Sequence[str], lang: str = "en") -> dict:
    """Per KPI in ``PAST_RUN_KPIS``, the text for each run: the mean over replications
    in the stored scenario's currency and number format, one value per variant joined
    with " | " (a sweep lists all its points); "—" when the store has none.

    ``kpi_means`` is ``Store.kpi_means(PAST_RUN_KPIS)``."""
    out: dict[str, list[str]] = {}
    for kpi in PAST_RUN_KPIS:
        unit = KPI_DEFINITIONS[kpi].unit
        rows = kpi_means[kpi_means["kpi"] == kpi] if len(kpi_means) else kpi_means
        texts = []
        for run_id in run_ids:
            mine = rows[rows["run_id"] == run_id] if len(rows) else rows
            parts = [
                format_value(m, unit, _stored_money(eco), money_decimals=0)
                for m, eco in zip(mine["mean"], mine["economics"], strict=True)
            ]
            texts.append(" | ".join(parts) if parts else "—")
        out[kpi] = texts
    return out


def _stored_money(economics: Mapping[str, Any]) -> MoneyFormat:
    """The money format of a stored scenario's economics block."""
    style = economics.get("number_format") or "en"
    return MoneyFormat(
        currency=str(economics.get("currency") or "EUR"),
        symbol=economics.get("currency_symbol") or None,
        style=style if style in ("en", "de") else "en",
    )


def past_runs_table(
    runs: pd.DataFrame, lang: str = "en", kpi_means: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Past runs for reading: local times, translated headers, newest first, and the
    headline KPIs (net, service level) when ``kpi_means`` (``Store.kpi_means``) is given."""
    kpis = past_run_kpis(kpi_means, list(runs["run_id"]), lang) if kpi_means is not None else {}
    out = pd.DataFrame(
        {
            i18n.t("strategy", lang): runs["name"].astype(str),
            i18n.t("col_created", lang): [format_timestamp(c, lang) for c in runs["created"]],
            **{i18n.kpi_label(k, lang): texts for k, texts in kpis.items()},
            i18n.t("replications", lang): runs["replications"],
            i18n.t("compare_pick", lang): runs.get("variant_names", ""),
            i18n.t("col_status", lang): runs.get("status", ""),
            i18n.t("past_pick", lang): runs["run_id"],
        }
    )
    return out


# ---- the net-value optimiser (the Best plan tab) ------------------------------------------

SERIAL_SEARCH_ACCOUNT_MONTHS = 2_000_000
"""A search this small (account-months over all first-stage runs) runs in-process: a
process pool would cost more to start than it saves."""


def plan_search(
    scenario: Scenario, months: int, replications: int, holdout: int
) -> tuple[Scenario, SearchSpace, int]:
    """What the optimiser will evaluate: the scenario on the short horizon, the library's
    default search space around it, and the number of candidate plans."""
    short = scenario.with_changes({"calendar.months": int(months)})
    space = SearchSpace.default(short)
    return short, space, len(space.candidates(short))


def optimise_plan(
    scenario: Scenario,
    months: int,
    replications: int,
    holdout: int,
    progress: ProgressFn | None = None,
) -> NetOptResult:
    """``optimise_net`` on ``scenario`` cut to ``months`` with the default search space:
    in-process for a small search, on the local process pool otherwise."""
    short, space, n = plan_search(scenario, months, replications, holdout)
    work = estimate_work(short, n * replications)
    executor = (
        "serial" if work.jobs * work.account_months <= SERIAL_SEARCH_ACCOUNT_MONTHS else "process"
    )
    return optimise_net(
        short,
        space,
        replications=replications,
        holdout=holdout,
        executor=executor,
        workers=2,
        progress=progress,
    )


def chosen_plan(result: NetOptResult, scenario: Scenario) -> Scenario:
    """The best plan's changes laid over ``scenario`` on its own horizon (not the short
    one the search used), named ``<scenario>-optimised``: what Compare runs and the
    download holds."""
    changed = scenario.with_changes(result.best.changes) if result.best.changes else scenario
    return changed.with_changes(name=f"{scenario.name}-optimised")


def plan_names(result: NetOptResult, money: MoneyFormat, lang: str = "en") -> dict[str, str]:
    """Each candidate's display name in ``lang`` by its library name: the optimiser
    names plans in English, the reader sees them built from the options' fields."""
    return {c.name: i18n.plan_label(c, money, lang) for c in result.candidates}


def plan_ranking_display(
    result: NetOptResult, money: MoneyFormat, lang: str = "en"
) -> pd.DataFrame:
    """The optimiser's ranking as text: rank, plan, runs, difference to the best [CI], net
    [95 % CI], and a mark for the plans not significantly worse than the best (★ best)."""
    r = result.ranking()
    names = plan_names(result, money, lang)

    def mark(row: Any) -> str:
        if row.best:
            return i18n.t("plan_best", lang)
        if row.not_worse:
            return i18n.t("plan_not_worse", lang)
        return i18n.t("plan_worse", lang)

    def diff(row: Any) -> str:
        if row.best:
            return "—"
        text = format_diff(row.diff_best, "money", money)
        ci = format_interval(row.diff_best_low, row.diff_best_high, "money", money)
        return f"{text} {ci}".strip()

    return pd.DataFrame(
        {
            i18n.t("rank", lang): r["rank"].to_numpy(),
            i18n.t("plan", lang): [names[c] for c in r["candidate"]],
            i18n.t("plan_verdict", lang): [mark(x) for x in r.itertuples()],
            i18n.t("plan_diff_best", lang): [diff(x) for x in r.itertuples()],
            i18n.t("net_ci", lang): [
                f"{format_value(x.net, 'money', money, money_decimals=0)} "
                f"{format_interval(x.net_low, x.net_high, 'money', money)}".strip()
                for x in r.itertuples()
            ],
            i18n.t("plan_runs", lang): r["n"].to_numpy(),
        }
    )


def plan_holdout_display(
    result: NetOptResult, money: MoneyFormat, lang: str = "en"
) -> pd.DataFrame:
    """The fresh-seed check as text: comparison, search and hold-out paired difference
    with their 95 % intervals, and whether it holds."""
    h = result.holdout()
    names = plan_names(result, money, lang)

    def cell(d: float, lo: float, hi: float) -> str:
        return f"{format_diff(d, 'money', money)} {format_interval(lo, hi, 'money', money)}".strip()

    return pd.DataFrame(
        {
            i18n.t("plan_check", lang): [
                i18n.t("plan_check_" + c.split(" ")[0].replace("-", "_"), lang)
                for c in h["comparison"]
            ],
            i18n.t("plan_holds_col", lang): [
                i18n.t("yes" if ok else "no", lang) for ok in h["holds"]
            ],
            i18n.t("plan_search", lang): [
                cell(*x)
                for x in zip(h["search_diff"], h["search_low"], h["search_high"], strict=True)
            ],
            i18n.t("plan_fresh", lang): [
                cell(*x)
                for x in zip(h["holdout_diff"], h["holdout_low"], h["holdout_high"], strict=True)
            ],
            i18n.t("plan_pair", lang): [
                f"{names[a]} − {names[b]}"
                for a, b in zip(h["candidate"], h["against"], strict=True)
            ],
        }
    )


# ---- targeted discounts (scores fitted on a simulated history) ----------------------------

HISTORY_MONTHS = 6
"""Months of call history a score is fitted on: four to fit, the later ones held out."""

TRAIN_MONTHS = 4
"""The score learns from months 0–3; its AUC is measured on months 4–5, which it never saw."""

PILOT_SHARE = 0.5
"""Share of accounts offered the discount in the pilot (the rest are the hold-out)."""

HISTORY_REPLICATION = 1_000_000
"""Replication index whose seed the history uses (the pilot the next one): far beyond any
strategy's replications, so a strategy is evaluated on customers the fit never saw."""


@dataclasses.dataclass(frozen=True)
class TargetingFit:
    """What a company would have fitted: the history, the score (churn or uplift), the
    churn score's held-out discrimination and the pilot's size (0 without a pilot)."""

    kind: str
    history: History
    score: ChurnScore | UpliftScore
    discrimination: dict[str, float]
    pilot_accounts: int = 0


def history_scenario(base: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """The past a score is fitted on: the scenario file with the customer levers applied,
    ``HISTORY_MONTHS`` months and no discounts. Staffing, billing and discount levers are
    left out, so moving them does not refit the score (the past does not change)."""
    kept = {k: v for k, v in changes.items() if k.startswith("customers.")}
    return base.with_changes(
        {
            **kept,
            "calendar.months": HISTORY_MONTHS,
            "policies.discount.name": "none",
            "policies.discount.params": {},
        }
    )


def fit_targeting(history: Scenario, kind: str, pct: float = 0.0) -> TargetingFit:
    """The churn score on ``history`` (months < ``TRAIN_MONTHS``) with its held-out AUC;
    for ``kind`` 'uplift' also a randomised pilot offering ``pct`` and the T-learner on it."""
    if kind not in ("risk", "uplift"):
        raise ValueError(f"unknown targeting '{kind}' (valid: risk, uplift)")
    past = call_history(history, replication_seed(history.seed, HISTORY_REPLICATION))
    churn = fit_churn_score(past, TRAIN_MONTHS)
    auc = discrimination(churn, past, TRAIN_MONTHS)
    if kind == "risk":
        return TargetingFit(kind, past, churn, auc)
    pilot = PilotDiscount(pct=pct, share=PILOT_SHARE, seed=history.seed)
    seed = replication_seed(history.seed, HISTORY_REPLICATION + 1)
    table = pilot_table(call_history(history, seed, discount_policy=pilot), pilot)
    return TargetingFit(kind, past, fit_uplift(table, past.n_segments), auc, len(table))


def targeting_policy(fit: TargetingFit, share: float, pct: float) -> DiscountPolicy:
    """The fitted policy offering ``pct`` % to the top ``share`` of callers by the score."""
    return targeted(fit.score, fit.history, share, pct)
