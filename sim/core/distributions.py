"""Probability distributions named in scenario files.

A scenario says ``{dist: lognormal, mean: 55, sd: 20}``; the model needs vectorised
draws with that *mean* and *standard deviation* (not numpy's log-space parameters),
and tests need the theoretical moments. Keeping both here means a scenario file speaks
in the units a manager knows and the conversion is written once.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import gamma as gamma_fn
from scipy.special import gammainc, ndtr

DistName = Literal["constant", "exponential", "lognormal", "gamma", "weibull", "uniform"]


class Dist(BaseModel):
    """A non-negative random quantity given by its mean (and spread where it has one).

    - constant: always ``mean``.
    - exponential: ``mean``.
    - lognormal, gamma: ``mean`` and ``sd``.
    - weibull: ``mean`` and ``shape`` (shape < 1: many short values and a long tail).
    - uniform: ``low`` and ``high``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: DistName
    mean: float | None = Field(default=None, ge=0)
    sd: float | None = Field(default=None, ge=0)
    shape: float | None = Field(default=None, gt=0)
    low: float | None = Field(default=None, ge=0)
    high: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _parameters_fit_the_family(self) -> Dist:
        needs = {
            "constant": ("mean",),
            "exponential": ("mean",),
            "lognormal": ("mean", "sd"),
            "gamma": ("mean", "sd"),
            "weibull": ("mean", "shape"),
            "uniform": ("low", "high"),
        }[self.dist]
        for name in needs:
            if getattr(self, name) is None:
                raise ValueError(f"{self.dist} needs '{name}'")
        allowed = set(needs) | {"dist"}
        extra = [k for k in ("mean", "sd", "shape", "low", "high") if k not in allowed]
        given = [k for k in extra if getattr(self, k) is not None]
        if given:
            raise ValueError(f"{self.dist} does not take {', '.join(given)}")
        if self.dist == "uniform" and self.high < self.low:  # type: ignore[operator]
            raise ValueError(f"high must be >= low (got low={self.low}, high={self.high})")
        if self.dist in ("lognormal", "gamma") and self.mean == 0 and self.sd:
            raise ValueError("a zero mean cannot have a positive sd")
        return self

    @property
    def expected(self) -> float:
        """Theoretical mean."""
        if self.dist == "uniform":
            return (self.low + self.high) / 2  # type: ignore[operator]
        return float(self.mean)  # type: ignore[arg-type]

    @property
    def variance(self) -> float:
        """Theoretical variance, for tests that compare sample moments with theory."""
        m = self.expected
        match self.dist:
            case "constant":
                return 0.0
            case "exponential":
                return m * m
            case "lognormal" | "gamma":
                return float(self.sd) ** 2  # type: ignore[arg-type]
            case "weibull":
                k = float(self.shape)  # type: ignore[arg-type]
                scale = m / gamma_fn(1 + 1 / k)
                return scale**2 * (gamma_fn(1 + 2 / k) - gamma_fn(1 + 1 / k) ** 2)
            case _:
                return (self.high - self.low) ** 2 / 12  # type: ignore[operator]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(X <= x); used to spread contacts over calendar days exactly."""
        x = np.asarray(x, dtype=float)
        m = self.expected
        point = (x >= m).astype(float)
        xp = np.maximum(x, 0.0)
        match self.dist:
            case "constant":
                return point
            case "exponential":
                return 1 - np.exp(-xp / m) if m > 0 else point
            case "lognormal":
                if m == 0 or self.sd == 0:
                    return point
                sigma = math.sqrt(math.log1p((float(self.sd) / m) ** 2))  # type: ignore[arg-type]
                mu = math.log(m) - sigma * sigma / 2
                with np.errstate(divide="ignore"):
                    return np.where(x > 0, ndtr((np.log(xp) - mu) / sigma), 0.0)
            case "gamma":
                if m == 0 or self.sd == 0:
                    return point
                k = (m / float(self.sd)) ** 2  # type: ignore[arg-type]
                return gammainc(k, xp * k / m)
            case "weibull":
                k = float(self.shape)  # type: ignore[arg-type]
                return 1 - np.exp(-((xp / (m / gamma_fn(1 + 1 / k))) ** k))
            case _:
                lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
                if hi == lo:
                    return (x >= lo).astype(float)
                return np.clip((x - lo) / (hi - lo), 0.0, 1.0)

    def sample(self, rng: np.random.Generator, size: int, scale: float = 1.0) -> np.ndarray:
        """Draw ``size`` values; ``scale`` multiplies every value (e.g. a segment's mean)."""
        values = sample(self, rng, size)
        # x * 1.0 is x: no copy for the usual unscaled draw (thousands per run)
        return values if scale == 1.0 else values * scale


def sample(d: Dist, rng: np.random.Generator, size: int) -> np.ndarray:
    """Vectorised draws of ``d`` as float64."""
    m = d.expected
    match d.dist:
        case "constant":
            return np.full(size, m, dtype=float)
        case "exponential":
            return rng.exponential(m, size) if m > 0 else np.zeros(size)
        case "lognormal":
            if m == 0:
                return np.zeros(size)
            cv2 = (float(d.sd) / m) ** 2  # type: ignore[arg-type]
            sigma = math.sqrt(math.log1p(cv2))
            return rng.lognormal(math.log(m) - sigma * sigma / 2, sigma, size)
        case "gamma":
            if m == 0:
                return np.zeros(size)
            if d.sd == 0:
                return np.full(size, m, dtype=float)
            k = (m / float(d.sd)) ** 2  # type: ignore[arg-type]
            return rng.gamma(k, m / k, size)
        case "weibull":
            k = float(d.shape)  # type: ignore[arg-type]
            return rng.weibull(k, size) * (m / gamma_fn(1 + 1 / k))
        case _:
            return rng.uniform(d.low, d.high, size)  # type: ignore[arg-type]


def exponential(mean: float) -> Dist:
    return Dist(dist="exponential", mean=mean)


def lognormal(mean: float, sd: float) -> Dist:
    return Dist(dist="lognormal", mean=mean, sd=sd)


def constant(value: float) -> Dist:
    return Dist(dist="constant", mean=value)
