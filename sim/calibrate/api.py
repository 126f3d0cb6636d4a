"""The faces: ``fit_logs`` and ``backtest`` for the CLI and the app.

Why: the CLI and a Streamlit page should each be a few lines. Both functions take paths,
file-like objects, DataFrames or a ``CallLog`` and return result objects with
``.to_yaml()`` and tidy tables (the HTML report: sim.presentation.calibration).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.calibrate.agents import infer_agents, staffing_profile
from sim.calibrate.arrivals import DAY_TYPES_MON_FRI, ArrivalFit, fit_arrivals
from sim.calibrate.billing import BillingFit, fit_billing
from sim.calibrate.build import build_scenario, to_commented_yaml
from sim.calibrate.patience import PatienceFit, fit_patience
from sim.calibrate.readers import (
    CallLog,
    DataError,
    as_call_log,
    read_accounts,
    read_bills,
)
from sim.calibrate.service import ServiceFit, fit_services
from sim.scenario import Scenario


@dataclass
class CalibrationFit:
    """Every fit of one call log (and, optionally, billing and account extracts)."""

    log: CallLog = field(repr=False)
    arrivals: ArrivalFit
    services: dict[str, ServiceFit]
    patience: PatienceFit
    agents: pd.DataFrame
    staffing_profile: pd.DataFrame
    type_volumes: dict[str, int]
    sources: list[str]
    billing: BillingFit | None = None
    interval_minutes: int = 30

    @property
    def quirks(self) -> dict[str, int]:
        return dict(self.log.quirks)

    def next_month(self) -> dt.date:
        last = self.log.calls["arrival"].max()
        return (last.to_period("M") + 1).to_timestamp().date()

    def scenario(
        self,
        start: dt.date | None = None,
        months: int = 1,
        agents: pd.DataFrame | None = None,
        day_totals: dict[dt.date, float] | None = None,
    ) -> Scenario:
        return build_scenario(
            self,
            start or self.next_month(),
            months,
            agents,
            self.interval_minutes,
            day_totals=day_totals,
        )[0]

    def to_yaml(
        self, start: dt.date | None = None, months: int = 1, agents: pd.DataFrame | None = None
    ) -> str:
        """The fitted scenario, every fitted number commented (estimate, 95 % CI, rows)."""
        sc, comments = build_scenario(
            self, start or self.next_month(), months, agents, self.interval_minutes
        )
        head = (
            "Fitted by billsim (sim.calibrate) from: " + ", ".join(self.sources)[:500] + "\n"
            "Arrivals: contact_center.forecast (bill-driven contacts off); staffing: "
            "policies.staffing table.\nQuirks: "
            + ", ".join(f"{k} {v}" for k, v in self.quirks.items())
        )
        return to_commented_yaml(sc, comments, head)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tidy tables of every fit (for a page or a CSV folder)."""
        svc = pd.concat(
            [f.families.assign(call_type=k, rows=f.n) for k, f in self.services.items()],
            ignore_index=True,
        )
        lognormal = pd.DataFrame(
            [
                {
                    "call_type": k,
                    "rows": f.n,
                    "mu": f.mu,
                    "mu_lo": f.mu_ci[0],
                    "mu_hi": f.mu_ci[1],
                    "sigma": f.sigma,
                    "sigma_lo": f.sigma_ci[0],
                    "sigma_hi": f.sigma_ci[1],
                    "mean_s": f.mean,
                    "mean_lo": f.mean_ci[0],
                    "mean_hi": f.mean_ci[1],
                    "best": f.best,
                }
                for k, f in self.services.items()
            ]
        )
        out = {
            "arrival_rates": self.arrivals.rates,
            "daily_calls": self.arrivals.daily,
            "busyness": pd.DataFrame(
                [
                    {
                        "cv": self.arrivals.busyness_cv,
                        "lo": self.arrivals.busyness_lo,
                        "hi": self.arrivals.busyness_hi,
                        "mom": self.arrivals.busyness_mom,
                        "days": self.arrivals.n_days_busyness,
                    }
                ]
            ),
            "service_families": svc,
            "service_lognormal": lognormal,
            "patience_models": self.patience.models,
            "patience_km": self.patience.km,
            "patience_hazard": self.patience.hazard,
            "abandonment_by_hour": self.patience.by_hour,
            "agents": self.agents,
            "quirks": self.log.quirks_table(),
        }
        if self.billing is not None:
            out["contact_probability"] = self.billing.contact
            out["contact_reasons"] = self.billing.reasons
            out["churn_coefficients"] = self.billing.churn
        return out


def fit_logs(
    data: Any,
    bills: Any = None,
    accounts: Any = None,
    *,
    months: list[str] | None = None,
    day_types: dict[int, str] | None = None,
    interval_minutes: int = 30,
) -> CalibrationFit:
    """Fit arrivals, service, patience and staffing (and billing/churn when ``bills`` and
    ``accounts`` are given) from call-log paths, files, DataFrames or a CallLog;
    ``months`` ('YYYY-MM') restricts the log."""
    log = as_call_log(data)
    if months:
        log = log.subset(months)
    if log.calls.empty:
        raise DataError(", ".join(log.sources) or "<input>", f"no calls in months {months}")
    day_types = day_types or log.day_types or DAY_TYPES_MON_FRI
    calls = log.calls
    agents = infer_agents(calls, interval_minutes)
    bf = None
    if bills is not None and accounts is not None:
        bf = fit_billing(calls, read_bills(bills), read_accounts(accounts))
    return CalibrationFit(
        log=log,
        arrivals=fit_arrivals(calls, day_types),
        services=fit_services(calls),
        patience=fit_patience(calls),
        agents=agents,
        staffing_profile=staffing_profile(agents, day_types),
        type_volumes={str(k): int(v) for k, v in calls["call_type"].value_counts().items()},
        sources=list(log.sources),
        billing=bf,
        interval_minutes=interval_minutes,
    )
