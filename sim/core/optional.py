"""Optional heavy dependencies, listed in one place and loaded only where used.

Why: a Dask worker or a researcher's notebook should not need Streamlit, and ``import
sim`` or the CLI's start should not pay for matplotlib or dask. Every other import in the
package sits at the top of its module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

OPTIONAL: dict[str, tuple[str, str]] = {
    "distributed": ("dask", "running experiments on a Dask cluster"),
    "sim.experiments.cluster": ("dask", "running experiments on a Dask cluster"),
    "sim.presentation.report": ("report", "figures and HTML reports (matplotlib)"),
    "sim.presentation.calibration": ("report", "the fit and back-test reports (matplotlib)"),
    "statsmodels.api": ("calibrate", "fitting a scenario to data (statsmodels)"),
    "statsmodels.duration.survfunc": ("calibrate", "Kaplan-Meier fits (statsmodels)"),
    "statsmodels.tools.numdiff": ("calibrate", "censored maximum-likelihood fits (statsmodels)"),
    "streamlit": ("app", "the manager's app"),
    "sklearn.linear_model": ("targeting", "fitting churn and uplift scores (scikit-learn)"),
}
"""Module → (pyproject extra that installs it, what it is for)."""


def require(module: str) -> ModuleType:
    """Import an optional module, or say in one line which extra installs it."""
    extra, purpose = OPTIONAL[module]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs the '{extra}' extra: pip install 'billsim[{extra}]' ({exc})"
        ) from None
