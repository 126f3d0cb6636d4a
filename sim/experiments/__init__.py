"""Experiments layer: replications, executors, statistics, the results store, sweeps,
studies and the staffing optimiser. Import the module you need, e.g.
``from sim.experiments.runner import run_experiment``; the common names are re-exported
here.

The re-exports load on first use (PEP 562): a worker process that unpickles a job imports
this package, and should pay for the model (``jobs``), not for the statistics, the store
and scipy.stats that only the parent process needs (about 1 s of a worker's start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ExperimentResult": "sim.experiments.result",
    "Variant": "sim.experiments.jobs",
    "run_experiment": "sim.experiments.runner",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads on demand
    from sim.experiments.jobs import Variant
    from sim.experiments.result import ExperimentResult
    from sim.experiments.runner import run_experiment


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = ["ExperimentResult", "Variant", "run_experiment"]
