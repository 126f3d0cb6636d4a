"""Churn: a monthly hazard per account, decided at each bill date, caller or not.

``h = min(1, base(segment) · exp(sensitivity(segment) · Σ β_k · E_k + tenure term))``
is the probability that an account leaves at its bill date. ``E_k`` counts experiences
since earlier bills -- long waits, abandoned calls, unresolved issues, discounts, resolved
issues from calls; shock bills and errors still uncorrected at the next bill for every
account -- and fades by ``ρ = exp(-1/memory_months)`` at every bill, so last month's bad
call weighs more than one from half a year ago. The tenure term,
``new_account · exp(-tenure / tenure_scale_months)``, makes young accounts riskier. A
granted discount adds its *response* (``discount_response``, 0..1) to ``E_discount``,
so a larger or longer discount keeps more, with diminishing returns.

``hazard_path`` projects an account's hazard beyond the horizon from the same formula
(experience keeps fading, tenure keeps growing): the results layer values the base
with it, so the churn model and the value model cannot disagree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from sim.core.blas import one_blas_thread
from sim.core.codes import EXPERIENCES
from sim.scenario import Scenario
from sim.world.population import Population

MONTH_S = 30.4375 * 86400


def effect_weights(scenario: Scenario) -> np.ndarray:
    eff = scenario.retention.effects
    return np.array([getattr(eff, k) for k in EXPERIENCES], dtype=float)


def experience_score(columns: Mapping[str, np.ndarray], beta: np.ndarray) -> np.ndarray:
    """Σ β_k E_k of every account from its ``exp_<k>`` columns (a customers table).

    A chunk of accounts at a time: the whole (accounts × experiences) matrix in float64
    is 64 MB at a million accounts, 640 MB at ten million. Each row's dot product is the
    same BLAS kernel's whatever the number of rows, except a single row (numpy then
    takes another path), so no chunk has one row unless the table has
    (``tests/test_value.py`` checks it bit for bit against the whole matrix).
    """
    n = columns[f"exp_{EXPERIENCES[0]}"].size
    bounds = [*range(0, n, _SCORE_CHUNK), n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        bounds[-2] -= 1  # the last chunk takes two rows, not one
    out = np.empty(n)
    rows = np.empty((min(n, _SCORE_CHUNK), len(EXPERIENCES)))
    with one_blas_thread():  # see sim/core/blas.py
        for lo, hi in itertools.pairwise(bounds):
            block = rows[: hi - lo]
            for j, k in enumerate(EXPERIENCES):
                block[:, j] = columns[f"exp_{k}"][lo:hi]
            np.matmul(block, beta, out=out[lo:hi])
    return out


_SCORE_CHUNK = 65536


def hazard(
    base: np.ndarray,
    sensitivity: np.ndarray,
    score: np.ndarray | None,
    tenure_months: np.ndarray,
    scenario: Scenario,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Monthly churn hazard from the experience score Σ β_k E_k and the tenure.

    ``score`` None: a zero score with a finite sensitivity, whose term adds exactly
    nothing (``s · 0 + y`` is ``y``), so it is not computed. ``out``: where to write
    the hazard (it may be ``tenure_months`` itself); every step works in it, so the value
    model's 120-month projection allocates nothing per month. The arithmetic is the
    same either way, step by step.
    """
    r = scenario.retention
    x = np.maximum(tenure_months, 0.0, out=out)
    np.negative(x, out=x)
    np.divide(x, r.tenure_scale_months, out=x)
    np.exp(x, out=x)
    np.multiply(r.new_account, x, out=x)  # the young account's extra log-hazard
    if score is not None:
        np.add(sensitivity * score, x, out=x)
    np.exp(x, out=x)
    np.multiply(base, x, out=x)
    return np.minimum(x, 1.0, out=x)


def churn_risk(
    pop: Population,
    idx: np.ndarray,
    beta: np.ndarray,
    t: float,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Probability that each account in population rows ``idx`` leaves at its next bill
    (as of ``t``);
    ``rows``: their experience rows, when the caller has gathered them already."""
    seg = pop.segment[idx]
    rows = pop.experience_rows(idx) if rows is None else rows
    score = rows.astype(float) @ beta
    return hazard(
        pop.churn_base[seg],
        pop.churn_sensitivity[seg],
        score,
        pop.tenure_months(idx, t),
        pop.scenario,
    )


def discount_response(pct: np.ndarray, months: float, scenario: Scenario) -> np.ndarray:
    """Share (0..1) of the full retention effect of a discount of ``pct`` percent for
    ``months`` bills: ``(1 − 2^(−pct/half_pct)) · (1 − 2^(−months/half_months))``.

    Concave in both (the first points of a discount matter most: Gupta & Lehmann's
    retention response, and price-elasticity studies of telecom churn, are concave), so
    a larger discount keeps more customers but less per euro.
    """
    r = scenario.retention
    pct = np.asarray(pct, dtype=float)
    size = 1.0 - np.power(0.5, pct / r.discount_half_pct)
    length = 1.0 - 0.5 ** (months / r.discount_half_months)
    return np.where(pct > 0, size * length, 0.0)


def cancel_call_probability(pop: Population, scenario: Scenario) -> np.ndarray:
    """Chance, per segment, that an account deciding to leave first calls to cancel."""
    sd = scenario.retention.save_desk
    return np.array(
        [sd.by_segment.get(name, sd.cancel_call_probability) for name in pop.segment_names]
    )


def save_probability(pct: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Chance that a cancel caller offered ``pct`` percent stays:
    ``save_base + (save_max − save_base) · (1 − 2^(−pct / save_half_pct))``.

    Concave like the discount response: the first points of a save offer convert most
    (retention-offer studies find take-up rising with the offer at a falling rate), and
    ``save_max`` < 1 because some leavers (moving, switching for coverage) cannot be kept.
    """
    sd = scenario.retention.save_desk
    pct = np.maximum(np.asarray(pct, dtype=float), 0.0)
    return sd.save_base + (sd.save_max - sd.save_base) * (
        1.0 - np.power(0.5, pct / sd.save_half_pct)
    )


def churn_at_bill(
    pop: Population,
    idx: np.ndarray,
    t: float,
    scenario: Scenario,
    u: np.ndarray,
    cancel_u: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decide churn for the accounts billed now (population rows ``idx``; ``u``: one
    uniform each); returns the rows of those who left and of those who call to cancel
    first.

    A bill error still uncorrected at the next bill counts as an experience first; the
    survivors' experience then fades by one month. An account that called to cancel
    and was not saved leaves now, whatever its draw. With ``cancel_u`` (one uniform
    each, the save desk on), a drawn leaver calls to cancel with its segment's
    probability and stays until its next bill, when it leaves unless it was saved.
    """
    pop.decisions[idx] += 1
    pop.decisions_after_problem[idx] += pop.last_problem[idx]
    uncorrected = pop.pending_error[idx] > 0
    # The experience rows are gathered once, for the error count, the risk and the fade
    # (written back by the fade): the same float32 ``+= 1`` then ``*= ρ`` per account.
    rows = pop.experience_rows(idx)
    rows[uncorrected, EXPERIENCES.index("error_uncorrected")] += 1
    pop.pending_error[idx] = 0.0
    risk = churn_risk(pop, idx, effect_weights(scenario), t, rows)
    drawn = u < risk
    pending = pop.cancel_pending[idx]
    calls = np.zeros(idx.size, dtype=bool)
    if cancel_u is not None:
        p_call = cancel_call_probability(pop, scenario)[pop.segment[idx]]
        calls = drawn & ~pending & (cancel_u < p_call)
    leaves = (drawn & ~calls) | pending
    gone = idx[leaves]
    callers = idx[calls]
    pop.cancel_pending[gone] = False
    pop.cancel_pending[callers] = True
    pop.active[gone] = False
    pop.churned_s[gone] = t
    pop.fade_experience(idx, math.exp(-1.0 / scenario.retention.memory_months), rows)
    return gone, callers


def hazard_path(
    segment: np.ndarray,
    score: np.ndarray,
    tenure_months: np.ndarray,
    months: int,
    scenario: Scenario,
):
    """Yield the projected hazard of each account at its next ``months`` bills.

    Bill k (k = 0 is the next one) sees the score faded k times and the tenure k
    months older; no new experiences are assumed (the value of the base as it stands).
    Each month's hazard is written into the same array: use it before the next.
    """
    segs = scenario.customers.segments
    base = np.array([s.churn_base_monthly for s in segs])[segment]
    sens = np.array([s.churn_sensitivity for s in segs])[segment]
    rho = math.exp(-1.0 / scenario.retention.memory_months)
    no_score = not score.any() and bool(np.isfinite(sens).all())
    h = np.empty(segment.size)
    for k in range(months):
        np.add(tenure_months, k, out=h)
        yield hazard(base, sens, None if no_score else score * rho**k, h, scenario, out=h)
