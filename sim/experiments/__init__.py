"""Experiments layer: replications, executors, statistics, the results store, sweeps,
studies and the staffing optimiser. Import the module you need, e.g.
``from sim.experiments.runner import run_experiment``; the common names are re-exported
here."""

from sim.experiments.jobs import Variant
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import run_experiment

__all__ = ["ExperimentResult", "Variant", "run_experiment"]
