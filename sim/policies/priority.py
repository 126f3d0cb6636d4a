"""Queue priority rules: which caller goes first (class 0 is served first)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.policies.context import CallContext


@dataclass(frozen=True)
class Fifo:
    n_classes: int = 1

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.zeros(len(ctx), dtype=np.int64)


@dataclass(frozen=True)
class ValueFirst:
    """Accounts charged at least ``min_charge`` a month jump the queue."""

    min_charge: float = 100.0
    n_classes: int = 2

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.where(ctx.charge >= self.min_charge, 0, 1)


@dataclass(frozen=True)
class RiskFirst:
    """Accounts whose churn risk is at least ``min_risk`` jump the queue."""

    min_risk: float = 0.03
    n_classes: int = 2

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        return np.where(ctx.churn_risk >= self.min_risk, 0, 1)
