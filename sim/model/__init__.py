"""Model layer: one replication -- population, bill runs, the contact center, churn, money."""

from sim.model.replication import run, simulate

__all__ = ["run", "simulate"]
