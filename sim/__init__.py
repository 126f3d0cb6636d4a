"""Billing-support simulator: customers, bill runs, a SimPy contact center, churn, money.

The public API. Names are loaded on first use (PEP 562), so ``import sim`` is instant and
a Dask worker or a notebook pays only for what it touches; ``docs/ARCHITECTURE.md`` maps
the layers they come from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.core.lazy import lazy_exports
from sim.core.version import __version__

_EXPORTS: dict[str, str] = {
    "REASONS": "sim.core.codes",
    "Dist": "sim.core.distributions",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
    "scenario_from_dict": "sim.scenario",
    "scenario_from_yaml": "sim.scenario",
    "CallContext": "sim.policies",
    "DiscountPolicy": "sim.policies",
    "PriorityPolicy": "sim.policies",
    "StaffingPolicy": "sim.policies",
    "ForecastLoad": "sim.policies",
    "simulate": "sim.model",
    "Results": "sim.results",
    "KPI_DEFINITIONS": "sim.results",
    "Variant": "sim.experiments",
    "ExperimentResult": "sim.experiments",
    "run_experiment": "sim.experiments",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads on demand
    from sim.core.codes import REASONS
    from sim.core.distributions import Dist
    from sim.experiments import ExperimentResult, Variant, run_experiment
    from sim.model.replication import simulate
    from sim.policies.context import CallContext, DiscountPolicy, PriorityPolicy
    from sim.policies.load import ForecastLoad
    from sim.policies.staffing import StaffingPolicy
    from sim.results import KPI_DEFINITIONS, Results
    from sim.scenario import (
        Scenario,
        ScenarioError,
        load_scenario,
        scenario_from_dict,
        scenario_from_yaml,
    )


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "KPI_DEFINITIONS",
    "REASONS",
    "CallContext",
    "DiscountPolicy",
    "Dist",
    "ExperimentResult",
    "ForecastLoad",
    "PriorityPolicy",
    "Results",
    "Scenario",
    "ScenarioError",
    "StaffingPolicy",
    "Variant",
    "__version__",
    "load_scenario",
    "run_experiment",
    "scenario_from_dict",
    "scenario_from_yaml",
    "simulate",
]
