"""Discounts targeted by a fitted score, from what a company can see on the account screen.

Why its own module: the built-in ``churn_risk_targeted`` reads the model's true hazard,
an oracle no company has. These policies read only the observable fields of a
``CallContext`` (segment, reason, tenure, charge, the last bill and its flags, counts of
calls and recent events, whether a discount is running) through a score fitted on a
simulated history (``sim.experiments.targeting``): ``ChurnScore`` (the chance of leaving
at the next bill) or ``UpliftScore`` (how much an offer lowers the chance of leaving).
Prediction is numpy only, and every object here pickles, so process pools and Dask
workers can run them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.core.codes import REASONS
from sim.policies.context import RECENT, CallContext, PriorityPolicy

OBSERVED: tuple[str, ...] = (
    "account",
    "time_s",
    "segment",
    "reason",
    "charge",
    "tenure_months",
    "error_amount",
    "last_bill",
    "last_bill_problem",
    "shock_bills",
    "error_bills",
    "calls_before",
    "discount_active",
    *(f"recent_{k}" for k in RECENT),
)
"""Columns of an observable table (one row per call): ``observed(ctx)`` and the history
tables of sim.experiments.targeting carry exactly these, so a score fitted on a table
predicts on a live call alike."""


def observed(ctx: CallContext) -> dict[str, np.ndarray]:
    """The observable columns of a call context (``OBSERVED``), as flat arrays."""
    cols = {
        name: np.asarray(getattr(ctx, name)) for name in OBSERVED if not name.startswith("recent_")
    }
    recent = np.asarray(ctx.recent, dtype=float).reshape(len(ctx), len(RECENT))
    for j, kind in enumerate(RECENT):
        cols[f"recent_{kind}"] = recent[:, j]
    return cols


def feature_names(n_segments: int) -> list[str]:
    """Names of the columns of ``design``: what a score's coefficients refer to."""
    return [
        *(f"segment_{i}" for i in range(n_segments)),
        *(f"reason_{r}" for r in REASONS),
        "log_tenure",
        "log_charge",
        "bill_ratio",
        "last_bill_problem",
        "shock_bills",
        "error_bills",
        "error_pending",
        "calls_before",
        "discount_active",
        *(f"recent_{k}" for k in RECENT),
    ]


def design(cols: Mapping[str, Any], n_segments: int) -> np.ndarray:
    """Feature matrix of observable columns: segment and reason one-hot, log tenure and
    charge, the last bill relative to the charge, flags and counts (``feature_names``)."""
    seg = np.asarray(cols["segment"], dtype=np.int64)
    reason = np.asarray(cols["reason"], dtype=np.int64)
    charge = np.maximum(np.asarray(cols["charge"], dtype=float), 1e-9)
    parts = [
        (seg[:, None] == np.arange(n_segments)).astype(float),
        (reason[:, None] == np.arange(len(REASONS))).astype(float),
        np.log1p(np.maximum(np.asarray(cols["tenure_months"], dtype=float), 0.0))[:, None],
        np.log(charge)[:, None],
        (np.asarray(cols["last_bill"], dtype=float) / charge)[:, None],
    ]
    for name in ("last_bill_problem", "shock_bills", "error_bills"):
        parts.append(np.asarray(cols[name], dtype=float)[:, None])
    parts.append((np.asarray(cols["error_amount"], dtype=float) > 0).astype(float)[:, None])
    for name in ("calls_before", "discount_active"):
        parts.append(np.asarray(cols[name], dtype=float)[:, None])
    for kind in RECENT:
        parts.append(np.asarray(cols[f"recent_{kind}"], dtype=float)[:, None])
    return np.hstack(parts)


def _columns(data: CallContext | Mapping[str, Any]) -> Mapping[str, Any]:
    return observed(data) if isinstance(data, CallContext) else data


@dataclass(frozen=True, repr=False)
class ChurnScore:
    """A fitted logistic score: P(event) = 1 / (1 + exp(−(z · coef + intercept))), with z
    the standardised ``design`` features. Fitted by ``sim.experiments.targeting``."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    n_segments: int
    names: tuple[str, ...] = ()

    def predict(self, data: CallContext | Mapping[str, Any]) -> np.ndarray:
        """Probability per row of a call context or an observable table."""
        x = (design(_columns(data), self.n_segments) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def coefficients(self) -> dict[str, float]:
        """Coefficient per feature name (per standard deviation of the feature)."""
        return dict(zip(self.names, self.coef.tolist(), strict=True))

    def __repr__(self) -> str:
        # a fingerprint, so that an experiment's variant key tells fitted scores apart
        digest = hashlib.sha256(
            np.concatenate([self.coef, [self.intercept], self.mean, self.scale]).tobytes()
        ).hexdigest()[:12]
        return f"{type(self).__name__}({digest})"


@dataclass(frozen=True, repr=False)
class UpliftScore:
    """Two-model (T-learner) uplift: the fall in the chance of leaving that an offer
    brings, ``control.predict − treated.predict`` (positive: the offer keeps customers)."""

    treated: ChurnScore
    control: ChurnScore

    def predict(self, data: CallContext | Mapping[str, Any]) -> np.ndarray:
        cols = _columns(data)
        return self.control.predict(cols) - self.treated.predict(cols)

    def __repr__(self) -> str:
        return f"UpliftScore({self.treated!r}, {self.control!r})"


def _eligible(ctx: CallContext, reasons: tuple[str, ...] | None) -> np.ndarray:
    return np.ones(len(ctx), dtype=bool) if reasons is None else ctx.reason_is(*reasons)


def _check(pct: float, reasons: tuple[str, ...] | None) -> None:
    if not 0 <= pct <= 100:
        raise ValueError(f"pct must be a percentage 0..100 (got {pct})")
    unknown = [r for r in reasons or () if r not in REASONS]
    if unknown:
        raise ValueError(f"unknown reasons {unknown} (valid: {list(REASONS)})")


@dataclass(frozen=True)
class RiskTargetedDiscount:
    """``pct`` to eligible callers whose fitted churn score is at least ``threshold``
    (``sim.experiments.targeting.targeted`` sets it for a share of callers)."""

    score: ChurnScore
    pct: float
    threshold: float
    reasons: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check(self.pct, self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = _eligible(ctx, self.reasons) & (self.score.predict(ctx) >= self.threshold)
        return np.where(hit, self.pct, 0.0)


@dataclass(frozen=True)
class UpliftTargetedDiscount:
    """``pct`` to eligible callers whose predicted uplift is at least ``threshold``."""

    score: UpliftScore
    pct: float
    threshold: float
    reasons: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check(self.pct, self.reasons)

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = _eligible(ctx, self.reasons) & (self.score.predict(ctx) >= self.threshold)
        return np.where(hit, self.pct, 0.0)


def pilot_uniform(seed: int, account: np.ndarray) -> np.ndarray:
    """A uniform in [0, 1) per account from (seed, account) alone (splitmix64): the
    pilot's assignment is the same on every call of an account and draws from no stream
    of the run, so nothing else in the run moves."""
    with np.errstate(over="ignore"):
        x = np.asarray(account, dtype=np.uint64) + np.uint64(seed % 2**63) * np.uint64(
            0x9E3779B97F4A7C15
        )
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(float) * 2.0**-53


@dataclass(frozen=True)
class PilotDiscount:
    """A randomised pilot: ``pct`` to eligible callers of accounts assigned to the offer
    arm (a share ``share``, by ``pilot_uniform(seed, account)``); the rest are the
    hold-out that gets no offer."""

    pct: float
    share: float = 0.5
    seed: int = 0
    reasons: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check(self.pct, self.reasons)
        if not 0 < self.share < 1:
            raise ValueError(f"share must be between 0 and 1 (got {self.share})")

    def assigned(self, account: np.ndarray) -> np.ndarray:
        """Whether each account is in the offer arm."""
        return pilot_uniform(self.seed, account) < self.share

    def discount_pct(self, ctx: CallContext) -> np.ndarray:
        hit = _eligible(ctx, self.reasons) & self.assigned(ctx.account)
        return np.where(hit, self.pct, 0.0)


@dataclass
class ContextRecorder:
    """A priority policy that keeps the observable columns of every call it is asked
    about and defers the decision to ``inner``: the queue is unchanged, so a history run
    with it is the same run as without. ``true_risk`` (the model's hazard) is kept for
    comparison only and is not an observable."""

    inner: PriorityPolicy
    rows: list[dict[str, np.ndarray]] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return int(getattr(self.inner, "n_classes", 1))

    def priority_class(self, ctx: CallContext) -> np.ndarray:
        cols = observed(ctx)
        cols["true_risk"] = np.asarray(ctx.churn_risk, dtype=float)
        self.rows.append({k: np.array(v, copy=True) for k, v in cols.items()})
        return self.inner.priority_class(ctx)

    def columns(self) -> dict[str, np.ndarray]:
        """Every recorded call, in the order the calls were created."""
        names = [*OBSERVED, "true_risk"]
        if not self.rows:
            return {k: np.zeros(0) for k in names}
        return {k: np.concatenate([r[k] for r in self.rows]) for k in names}


__all__ = [
    "OBSERVED",
    "ChurnScore",
    "ContextRecorder",
    "PilotDiscount",
    "RiskTargetedDiscount",
    "UpliftScore",
    "UpliftTargetedDiscount",
    "design",
    "feature_names",
    "observed",
    "pilot_uniform",
]
