"""Calibration: turn call logs, billing and account extracts into a fitted scenario,
say how sure each number is, and back-test the fitted model on held-out months."""

from sim.calibrate.api import CalibrationFit, fit_logs
from sim.calibrate.backtest import BacktestResult, backtest
from sim.calibrate.export import export_accounts, export_bills, export_call_log
from sim.calibrate.readers import (
    CallLog,
    DataError,
    as_call_log,
    read_anonymous_bank,
    read_call_log,
)

__all__ = [
    "BacktestResult",
    "CalibrationFit",
    "CallLog",
    "DataError",
    "as_call_log",
    "backtest",
    "export_accounts",
    "export_bills",
    "export_call_log",
    "fit_logs",
    "read_anonymous_bank",
    "read_call_log",
]
