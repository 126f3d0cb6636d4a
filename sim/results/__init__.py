"""Results layer: the tables of one replication and every KPI formula, defined once."""

from sim.results.raw import Ledger, RawRun
from sim.results.tables import KPI, KPI_DEFINITIONS, MONEY_COLUMNS, Results

__all__ = ["KPI", "KPI_DEFINITIONS", "MONEY_COLUMNS", "Ledger", "RawRun", "Results"]
