"""Ready-made studies: discount policies compared per segment, staffing × discount grids.

Policies are compared with common random numbers (every variant runs the same
replications), and the tables come from ``sim.experiments.retention`` and the
experiment's summary, so a study adds no formula of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.jobs import Variant
from sim.experiments.retention import ALL, MEASURES, retention_table
from sim.experiments.runner import run_experiment
from sim.scenario import Scenario

PolicySpec = Any
"""A policy given by name (str), by {"name": ..., "params": {...}} or as an object."""


def _discount_variant(scenario: Scenario, spec: PolicySpec) -> tuple[Scenario, dict[str, Any]]:
    if isinstance(spec, str):
        return scenario.with_changes(
            {"policies.discount.name": spec, "policies.discount.params": {}}
        ), {}
    if isinstance(spec, Mapping):
        changes = {f"policies.discount.{k}": v for k, v in spec.items()}
        changes.setdefault("policies.discount.params", {})
        return scenario.with_changes(changes), {}
    return scenario, {"discount_policy": spec}


def _staffing_variant(scenario: Scenario, spec: PolicySpec) -> tuple[Scenario, dict[str, Any]]:
    if isinstance(spec, Scenario):
        return spec.with_changes({"seed": scenario.seed}), {}
    if isinstance(spec, str):
        return scenario.with_changes({"policies.staffing": {"name": spec, "params": {}}}), {}
    if isinstance(spec, Mapping):
        return scenario.with_changes(
            {"policies.staffing": {"name": spec["name"], "params": dict(spec.get("params", {}))}}
        ), {}
    return scenario, {"staffing_policy": spec}


def _run_all(
    variants: list[Any],
    replications: int,
    tables: tuple[str, ...],
    executor: str,
    workers: int | None,
    progress: Any,
) -> Any:
    """Every run of the variants, or an error: analytics on a partial set would mislead."""
    res = run_experiment(
        variants,
        replications,
        executor=executor,
        workers=workers,
        progress=progress,
        tables=tables,
    )
    if res.failures:
        raise RuntimeError(f"{len(res.failures)} runs failed; first: {res.failures[0]}")
    return res


def compare_discounts(
    scenario: Scenario,
    policies: Mapping[str, PolicySpec],
    replications: int = 10,
    *,
    baseline: str = "none",
    executor: str = "process",
    workers: int | None = None,
    progress: Any = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Run every discount policy on ``scenario`` with common random numbers and return
    ``retention_table`` against ``baseline`` (a key of ``policies``; added as the
    scenario with discount 'none' when missing)."""
    specs = dict(policies)
    if baseline not in specs:
        specs = {baseline: "none", **specs}
    variants = []
    for name, spec in specs.items():
        sc, opts = _discount_variant(scenario, spec)
        variants.append(Variant(name, sc, opts))
    res = _run_all(variants, replications, ("segments",), executor, workers, progress)
    return retention_table(res.table("segments"), baseline, level)


GRID_KPIS: tuple[str, ...] = (
    "net",
    "retention",
    "service_level",
    "agent_cost",
    "discount_cost",
    "base_value_change",
)


def staffing_discount_grid(
    scenario: Scenario,
    staffing: Mapping[str, PolicySpec],
    discounts: Mapping[str, PolicySpec],
    replications: int = 10,
    *,
    baseline: tuple[str, str] | None = None,
    executor: str = "process",
    workers: int | None = None,
    progress: Any = None,
    level: float = 0.95,
    kpis: Sequence[str] = GRID_KPIS,
) -> pd.DataFrame:
    """Every staffing option × discount policy, with common random numbers.

    Returns one row per (staffing, discount, kpi): mean and CI over replications, and
    the paired difference against the ``baseline`` cell (default: the first staffing
    and first discount) with its CI. ``net`` (margin − agent and telephony cost +
    change in the customer value of the base, see sim.results.tables) and ``retention``
    show the trade-off between hiring and discounting.
    Staffing options are names / {"name", "params"} of ``policies.staffing``, policy
    objects, or whole scenarios (their seed is set to ``scenario.seed``); discounts are
    names / dicts of ``policies.discount`` fields / policy objects.
    """
    if not staffing or not discounts:
        raise ValueError("staffing and discounts need at least one option each")
    cells: dict[str, tuple[str, str]] = {}
    variants = []
    for s_name, s_spec in staffing.items():
        s_sc, s_opts = _staffing_variant(scenario, s_spec)
        for d_name, d_spec in discounts.items():
            sc, d_opts = _discount_variant(s_sc, d_spec)
            name = f"{s_name} | {d_name}"
            cells[name] = (s_name, d_name)
            variants.append(Variant(name, sc, {**s_opts, **d_opts}))
    base_cell = baseline or (next(iter(staffing)), next(iter(discounts)))
    base_name = f"{base_cell[0]} | {base_cell[1]}"
    if base_name not in cells:
        raise ValueError(f"baseline {base_cell} is not a cell of the grid")
    res = _run_all(variants, replications, (), executor, workers, progress)
    summary = res.summary(level).set_index(["variant", "kpi"])
    paired = res.paired(base_name, level).set_index(["variant", "kpi"])
    rows = []
    for name, (s_name, d_name) in cells.items():
        for k in kpis:
            own = summary.loc[(name, k)]
            diff = paired.loc[(name, k)] if name != base_name else None
            rows.append(
                {
                    "staffing": s_name,
                    "discount": d_name,
                    "kpi": k,
                    "n": int(own["n"]),
                    "mean": own["mean"],
                    "ci_low": own["ci_low"],
                    "ci_high": own["ci_high"],
                    "diff": 0.0 if diff is None else diff["mean_diff"],
                    "diff_ci_low": np.nan if diff is None else diff["ci_low"],
                    "diff_ci_high": np.nan if diff is None else diff["ci_high"],
                }
            )
    return pd.DataFrame(rows)


__all__ = [
    "ALL",
    "MEASURES",
    "compare_discounts",
    "retention_table",
    "staffing_discount_grid",
]
