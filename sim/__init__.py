"""Billing-support simulator: customers, bill runs, a SimPy contact center, churn, money.

The public API; everything the CLI, the app and researchers use is importable from here.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("billsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.1.0+src"

from sim.distributions import Dist
from sim.experiment import ExperimentResult, Variant, run_experiment
from sim.metrics import KPI_DEFINITIONS, Results
from sim.model import simulate
from sim.policies import CallContext, DiscountPolicy, PriorityPolicy, StaffingPolicy
from sim.scenario import (
    REASONS,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_from_yaml,
)

__all__ = [
    "KPI_DEFINITIONS",
    "REASONS",
    "CallContext",
    "DiscountPolicy",
    "Dist",
    "ExperimentResult",
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
