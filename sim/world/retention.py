"""Churn from experience: a monthly hazard per account, decided at each bill date.

``risk = base(segment) · exp(sensitivity(segment) · Σ β_k · E_k)``, capped at 1, is the
probability that an account leaves at its bill date. ``E_k`` counts experiences since
earlier bills (long waits, abandoned calls, unresolved issues, uncorrected errors,
discounts, resolved issues) and fades by ``exp(-1/memory_months)`` at every bill, so
last month's bad call weighs more than one from half a year ago.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.codes import EXPERIENCES
from sim.scenario import Scenario
from sim.world.population import Population


def effect_weights(scenario: Scenario) -> np.ndarray:
    eff = scenario.retention.effects
    return np.array([getattr(eff, k) for k in EXPERIENCES], dtype=float)


def churn_risk(pop: Population, idx: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Probability that each account in ``idx`` leaves at its next bill."""
    seg = pop.segment[idx]
    score = pop.experience[idx].astype(float) @ beta
    return np.minimum(pop.churn_base[seg] * np.exp(pop.churn_sensitivity[seg] * score), 1.0)


def churn_at_bill(
    pop: Population,
    idx: np.ndarray,
    t: float,
    scenario: Scenario,
    u: np.ndarray,
) -> np.ndarray:
    """Decide churn for the accounts billed now (``u``: one uniform each); returns those
    who left.

    A bill error still uncorrected at the next bill counts as an experience first; the
    survivors' experience then fades by one month.
    """
    uncorrected = pop.pending_error[idx] > 0
    pop.experience[idx[uncorrected], EXPERIENCES.index("error_uncorrected")] += 1
    pop.pending_error[idx] = 0.0
    risk = churn_risk(pop, idx, effect_weights(scenario))
    leaves = u < risk
    gone = idx[leaves]
    pop.active[gone] = False
    pop.churned_s[gone] = t
    pop.experience[idx] *= math.exp(-1.0 / scenario.retention.memory_months)
    return gone
