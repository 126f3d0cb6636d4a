"""Analytic queueing formulas: the yardstick the simulation is checked and staffed against.

A simulation answers "what happens with this many agents"; planners also need the inverse
("how many agents for 80% in 20 s") and a closed-form reference that tests can hold the
simulator to. These are the classic Markovian models:

- **Erlang B** (M/M/c/c): callers who find every agent busy are lost.
- **Erlang C** (M/M/c): callers wait forever; unstable (infinite wait) when ``a >= c``.
- **Erlang A** (M/M/c+M, Palm; Garnett-Mandelbaum-Reiman): waiting callers hang up after an
  exponential patience. Abandonment keeps the queue finite at any load, and billing callers
  do hang up, so this is the model planners should normally trust.

Notation (all times in seconds):

- ``lam``: arrival rate, calls per second.
- ``aht_s``: mean handling time; service rate ``mu = 1 / aht_s``.
- ``a = lam * aht_s``: offered load in Erlangs (mean number of busy agents with no limit).
- ``c``: number of agents answering calls.
- ``patience_s``: mean patience of a waiting caller; abandonment rate ``theta = 1 / patience_s``.
  ``patience_s = math.inf`` is Erlang C; ``patience_s = 0`` is Erlang B.
- ``threshold_s``: the "t" in "X% answered within t seconds".

Service level in Erlang A is the fraction of ALL arrivals answered within ``threshold_s``
(abandoners count against it); ``ErlangAMetrics`` also gives the ACD-style variants. Staffing
functions invert these monotone metrics for the fewest agents; ``aggregate_service_level``
combines intervals weighted by calls, never rounding per interval.

Numerics: everything must stay finite for thousands of agents, so no factorial or ``a**c`` is
ever formed. Erlang B uses its bounded recursion, and the Erlang A stationary distribution is
built in log space with ``gammaln`` and summed relative to its largest term.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betainc, gammaln

__all__ = [
    "ErlangAMetrics",
    "aggregate_service_level",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "sqrt_staffing",
    "staff_erlang_a",
    "staff_erlang_c",
    "staff_intervals",
]

# States whose probability is below e^-45 (~3e-20) of the total cannot change a float64 sum.
_LOG_NEGLIGIBLE = 45.0
_NEGLIGIBLE = math.exp(-_LOG_NEGLIGIBLE)
# The Erlang A queue tail is enumerated state by state; beyond this many states (only reached
# with an overloaded system and a mean patience of days) we refuse rather than exhaust memory.
_MAX_TAIL_STATES = 5_000_000
# A staffed queue's tail falls e^-45 below its peak within ~10-200 states; start there.
_FIRST_TAIL_CHUNK = 256


class _TailTooLong(ValueError):
    """Erlang A queue so long and so patient that its tail cannot be enumerated."""


# --------------------------------------------------------------------------- validation


def _agents(c: int, name: str = "c") -> int:
    if isinstance(c, float) and c.is_integer():
        c = int(c)
    try:
        n = -1 if isinstance(c, bool) else operator.index(c)  # ints and numpy ints only
    except TypeError:
        n = -1
    if n < 0:
        raise ValueError(f"{name} must be a whole number of agents >= 0, got {c!r}")
    return n


def _nonneg(x: float, name: str) -> float:
    v = float(x)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return v


def _positive(x: float, name: str) -> float:
    v = float(x)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return v


def _threshold(x: float, name: str = "threshold_s") -> float:
    v = float(x)
    if math.isnan(v) or v < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {x!r}")
    return v


def _patience(x: float, name: str = "patience_s") -> float:
    v = float(x)
    if math.isnan(v) or v < 0:
        raise ValueError(f"{name} must be >= 0 seconds (math.inf for Erlang C), got {x!r}")
    return v


def _fraction(x: float, name: str) -> float:
    v = float(x)
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {x!r}")
    return v


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


# --------------------------------------------------------------------------- Erlang B / C


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c.

    The recursion keeps every intermediate value in [0, 1], so it cannot overflow for any c.
    """
    c = _agents(c)
    a = _nonneg(a, "a")
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c (1.0 when ``a >= c``: the queue never empties).

    Derived from Erlang B as ``c B / (c - a (1 - B))`` so it inherits B's stability.
    """
    c = _agents(c)
    a = _nonneg(a, "a")
    if a == 0.0:
        return 0.0
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return _clip01(c * b / (c - a * (1.0 - b)))


def erlang_c_asa(c: int, a: float, aht_s: float) -> float:
    """Mean wait over all arrivals in M/M/c (``inf`` when unstable): ``C * aht / (c - a)``."""
    c = _agents(c)
    a = _nonneg(a, "a")
    aht = _positive(aht_s, "aht_s")
    if a == 0.0:
        return 0.0
    if a >= c:
        return math.inf
    return erlang_c(c, a) * aht / (c - a)


def erlang_c_service_level(c: int, a: float, aht_s: float, threshold_s: float) -> float:
    """P(wait <= threshold) in M/M/c: ``1 - C exp(-(c - a) t / aht)``; 0 when unstable."""
    c = _agents(c)
    a = _nonneg(a, "a")
    aht = _positive(aht_s, "aht_s")
    t = _threshold(threshold_s)
    if a == 0.0:
        return 1.0
    if a >= c:
        return 0.0
    return _clip01(1.0 - erlang_c(c, a) * math.exp(-(c - a) * t / aht))


# --------------------------------------------------------------------------- Erlang A


@dataclass(frozen=True, slots=True)
class ErlangAMetrics:
    """Steady-state performance of M/M/c+M; probabilities are over ALL arrivals.

    - ``p_wait``: P(W > 0), all agents busy on arrival.
    - ``p_abandon``: P(caller hangs up before being answered).
    - ``asa_s``: E[W] over all arrivals, where an abandoner's W is the time it spent queued
      (the Little's-law quantity ``E[Q] / lam``; not the mean over answered calls only).
    - ``service_level``: fraction of ALL arrivals that are answered within the threshold;
      abandoners count as failures whenever they hung up.
    - ``mean_queue``: E[number waiting].
    - ``occupancy``: fraction of agent time busy, ``lam (1 - p_abandon) aht / c``.
    - ``p_wait_within_threshold``: P(W <= t) over all arrivals, counting a caller who hung up
      before t as "within" (the convention of ACD reports that exclude short abandons).
    """

    p_wait: float
    p_abandon: float
    asa_s: float
    service_level: float
    mean_queue: float
    occupancy: float
    p_wait_within_threshold: float

    @property
    def service_level_answered(self) -> float:
        """P(answered within t | answered): the SL some ACDs report, blind to abandonment."""
        answered = 1.0 - self.p_abandon
        return self.service_level / answered if answered > 0 else 0.0


def _tail_log_weights(lam: float, alpha: float, theta: float) -> NDArray[np.float64]:
    """``log(pi_{c+k} / pi_c)`` for k = 0..K, stopping once the terms are negligible.

    The ratios ``lam / (c mu + j theta)`` decrease in j, so the log weights are concave: after
    the peak they only fall, and the first negligible term past it ends the tail. Chunks
    start small (a staffed queue's tail is ~100 states; this runs thousands of times per
    staffing plan) and double; each continues the running sum from the last weight, so the
    weights are the same sequential sums whatever the chunk sizes.
    """
    log_lam = math.log(lam)
    peak = 0 if lam <= alpha else math.ceil((lam - alpha) / theta)
    if peak > _MAX_TAIL_STATES:
        raise _TailTooLong(
            f"patience_s too large for this overload: the Erlang A queue would need over "
            f"{_MAX_TAIL_STATES} states; use patience_s=math.inf (Erlang C)"
        )
    chunks = []
    last = top = 0.0
    start = 1
    size = peak + _FIRST_TAIL_CHUNK
    while True:
        j = np.arange(start, start + size, dtype=np.float64)
        steps = np.empty(size + 1)
        steps[0] = last  # carry the running sum in: cumsum adds sequentially
        np.subtract(log_lam, np.log(alpha + j * theta), out=steps[1:])
        chunk = np.cumsum(steps)
        chunks.append(chunk if start == 1 else chunk[1:])
        last = float(chunk[-1])
        top = max(top, float(chunk.max()))
        start += size
        if start > peak and last < top - _LOG_NEGLIGIBLE:
            break
        if start > _MAX_TAIL_STATES:
            raise _TailTooLong(
                f"patience_s too large for this load: the Erlang A queue would need over "
                f"{_MAX_TAIL_STATES} states; use patience_s=math.inf (Erlang C)"
            )
        size *= 2
    w = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    return w[: int(np.flatnonzero(w >= top - _LOG_NEGLIGIBLE)[-1]) + 1]


def erlang_a_metrics(
    lam: float, aht_s: float, patience_s: float, c: int, threshold_s: float = 20.0
) -> ErlangAMetrics:
    """Exact steady-state metrics of M/M/c+M from its birth-death stationary distribution.

    ``pi_n ∝ a^n / n!`` for n <= c and ``pi_{c+k} = pi_c prod_{j<=k} lam / (c mu + j theta)``;
    by PASTA an arrival sees this distribution, and by Little ``E[W] = E[Q] / lam`` and
    ``P(Ab) = theta E[Q] / lam``.

    Service level: a caller who finds k others waiting is at position j = k + 1. Ahead of it,
    the queue shrinks at rate ``c mu + (j-1) theta`` (a service or someone ahead hanging up),
    while its own patience runs out at rate theta, independently. Its time to reach an agent,
    Y, is a sum of exponentials with rates in arithmetic progression, and
    ``exp(-theta Y)`` is Beta-distributed; so in closed form

        P(answered within t | j) = E[exp(-theta Y); Y <= t]
                                 = c mu / (c mu + j theta) * I_p(j, c mu / theta + 1),
        P(still queued at t | j) = exp(-theta t) * (1 - I_p(j, c mu / theta)),

    with ``p = 1 - exp(-theta t)`` and I the regularised incomplete beta function.

    ``patience_s = inf`` gives Erlang C (when unstable: ``asa_s = inf``, SL 0, occupancy 1);
    ``patience_s = 0`` gives Erlang B (everyone who would wait is lost).
    """
    lam = _nonneg(lam, "lam")
    aht = _positive(aht_s, "aht_s")
    patience = _patience(patience_s)
    c = _agents(c)
    t = _threshold(threshold_s)
    if lam == 0.0:
        return ErlangAMetrics(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0)
    a = lam * aht
    if math.isinf(patience):
        return _erlang_c_metrics(lam, aht, c, t)
    if patience == 0.0:
        b = erlang_b(c, a)
        occ = a * (1.0 - b) / c if c else 0.0
        return ErlangAMetrics(b, b, 0.0, 1.0 - b, 0.0, _clip01(occ), 1.0)

    theta = 1.0 / patience
    alpha = c / aht  # total service rate when every agent is busy
    log_a = math.log(a)
    # Weights relative to the largest, summed in plain numpy: scipy's logsumexp goes through
    # the array-API layer, which cost more than the rest of this function.
    lower = np.arange(c, dtype=np.float64)
    lower = lower * log_a - gammaln(lower + 1.0)
    tail = _tail_log_weights(lam, alpha, theta) + (c * log_a - math.lgamma(c + 1.0))
    top = max(float(lower.max()), float(tail.max())) if c else float(tail.max())
    s_lower = float(np.exp(lower - top).sum())
    w_tail = np.exp(tail - top)
    z = s_lower + float(w_tail.sum())
    p_lower = s_lower / z

    k = np.flatnonzero(w_tail >= z * _NEGLIGIBLE)
    pk = w_tail[k] / z
    kf = k.astype(np.float64)
    p_wait = float(pk.sum())
    mean_queue = float(kf @ pk)
    p_abandon = _clip01(theta * mean_queue / lam)

    p = -math.expm1(-theta * t)
    stay = math.exp(-theta * t)
    if alpha > 0.0:
        x = alpha / theta
        answered = alpha / (alpha + (kf + 1.0) * theta) * betainc(kf + 1.0, x + 1.0, p)
        queued = stay * _ibeta_complement(int(k.max(initial=0)) + 1, x, p, t * alpha)[k]
    else:  # nobody to answer: every caller waits until it hangs up
        answered = np.zeros_like(pk)
        queued = np.full_like(pk, stay)
    service_level = _clip01(p_lower + float(pk @ answered))
    within = _clip01(1.0 - float(pk @ queued))
    occupancy = _clip01(lam * (1.0 - p_abandon) * aht / c) if c else 0.0
    return ErlangAMetrics(
        p_wait=_clip01(p_wait),
        p_abandon=p_abandon,
        asa_s=mean_queue / lam,
        service_level=service_level,
        mean_queue=mean_queue,
        occupancy=occupancy,
        p_wait_within_threshold=within,
    )


def _ibeta_complement(n: int, x: float, p: float, log_stay_x: float) -> NDArray[np.float64]:
    """``1 - I_p(j, x)`` for j = 1..n, with ``log_stay_x = -x log(1 - p)``.

    By the recurrence ``1 - I_p(j + 1, x) = 1 - I_p(j, x) + p^j (1-p)^x Γ(j+x) / (j! Γ(x))``
    from ``1 - I_p(1, x) = (1-p)^x``: a running sum of positive terms, accurate to a few ulps
    per term, where scipy's ``betaincc`` cost more than the rest of ``erlang_a_metrics``.
    """
    if p == 0.0:
        return np.ones(n)
    j = np.arange(1.0, float(n))
    log_terms = np.empty(n)
    log_terms[0] = -log_stay_x
    np.add(math.log(p) + np.log(j - 1.0 + x), -np.log(j), out=log_terms[1:])
    return np.cumsum(np.exp(np.cumsum(log_terms)))


def _erlang_c_metrics(lam: float, aht: float, c: int, t: float) -> ErlangAMetrics:
    """Infinite patience: nobody abandons, so Erlang C holds (or the queue grows forever)."""
    a = lam * aht
    if a >= c:
        # Throughput is capped at c agents, so they are all busy all the time.
        occ = 1.0 if c else 0.0
        return ErlangAMetrics(1.0, 0.0, math.inf, 0.0, math.inf, occ, 0.0)
    asa = erlang_c_asa(c, a, aht)
    sl = erlang_c_service_level(c, a, aht, t)
    return ErlangAMetrics(erlang_c(c, a), 0.0, asa, sl, lam * asa, a / c, sl)


# --------------------------------------------------------------------------- staffing


def _fewest_agents(meets: Callable[[int], bool], lo: int, step: int, max_agents: int) -> int:
    """Smallest c > lo with ``meets(c)``, given ``meets(lo)`` is False and meets is monotone.

    Galloping (lo + step, + 2 step, + 4 step, ...) then bisecting costs O(log) evaluations,
    which matters because each evaluation is O(c); with step 1 an answer at lo + 1 or
    lo + 2 costs one or two.
    """
    if lo >= max_agents:
        raise ValueError(f"target needs more than max_agents={max_agents} agents")
    step = max(1, step)
    hi = min(lo + step, max_agents)
    while not meets(hi):
        if hi >= max_agents:
            raise ValueError(f"target needs more than max_agents={max_agents} agents")
        lo = hi
        hi = min(lo + step, max_agents)
        step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _search_start(lo: int, step: int, known: int) -> tuple[int, int]:
    """Where ``_fewest_agents`` starts: below ``known`` agents is known to fail (the answer
    at a smaller rate, ``_staff_rates``), so the search walks up from there one by one."""
    if known > 0:
        return max(lo, known - 1), 1
    return lo, step


def staff_erlang_c(
    lam: float, aht_s: float, target_sl: float, threshold_s: float, max_agents: int = 100000
) -> int:
    """Fewest agents whose Erlang C service level reaches ``target_sl``.

    Any c <= a is unstable (SL 0), so the search starts just above a and first probes the
    square-root-staffing guess a + sqrt(a), where the answer usually lies.
    """
    lam = _nonneg(lam, "lam")
    aht = _positive(aht_s, "aht_s")
    target = _fraction(target_sl, "target_sl")
    t = _threshold(threshold_s)
    max_agents = _agents(max_agents, "max_agents")
    return _staff_c(lam, aht, target, t, max_agents)


def _staff_c(
    lam: float, aht: float, target: float, t: float, max_agents: int, known: int = 0
) -> int:
    """``staff_erlang_c`` on validated arguments (``known``: see ``_search_start``).

    Walks c up from the first stable count, carrying Erlang B's recursion from one count
    to the next: O(1) per count instead of a fresh O(c) recursion per probe, and each
    service level is computed exactly as ``erlang_c_service_level`` computes it.
    """
    if lam == 0.0:
        return 0
    a = lam * aht
    c = max(math.floor(a) + 1, known)
    b = erlang_b(c, a)
    while c <= max_agents:
        wait = _clip01(c * b / (c - a * (1.0 - b)))
        if _clip01(1.0 - wait * math.exp(-(c - a) * t / aht)) >= target:
            return c
        c += 1
        ab = a * b
        b = ab / (c + ab)
    raise ValueError(f"target needs more than max_agents={max_agents} agents")


def _max_abandon(max_abandon: float | None) -> float | None:
    if max_abandon is None:
        return None
    v = float(max_abandon)
    if not 0.0 < v <= 1.0:
        raise ValueError(f"max_abandon must lie in (0, 1], got {max_abandon!r}")
    return v


def staff_erlang_a(
    lam: float,
    aht_s: float,
    patience_s: float,
    target_sl: float,
    threshold_s: float,
    max_abandon: float | None = None,
    max_agents: int = 100000,
) -> int:
    """Fewest agents meeting the Erlang A service level (and abandonment cap, if given).

    Service level here is "answered within t" over all arrivals (see ``ErlangAMetrics``).
    Agents answer at most ``c / aht`` calls per second, so the answered fraction, and hence
    SL, is at most ``c / a``: any c below ``target_sl * a`` fails and the search starts there.
    """
    lam = _nonneg(lam, "lam")
    aht = _positive(aht_s, "aht_s")
    patience = _patience(patience_s)
    target = _fraction(target_sl, "target_sl")
    t = _threshold(threshold_s)
    max_agents = _agents(max_agents, "max_agents")
    cap = _max_abandon(max_abandon)
    return _staff_a(lam, aht, patience, target, t, cap, max_agents)


def _staff_a(
    lam: float,
    aht: float,
    patience: float,
    target: float,
    t: float,
    max_abandon: float | None,
    max_agents: int,
    known: int = 0,
) -> int:
    """``staff_erlang_a`` on validated arguments (``known``: see ``_search_start``)."""
    if lam == 0.0:
        return 0
    if math.isinf(patience):
        return _staff_c(lam, aht, target, t, max_agents, known)
    a = lam * aht
    lo = math.ceil(target * a) - 1
    if max_abandon is not None:
        lo = max(lo, math.ceil((1.0 - max_abandon) * a) - 1)

    def meets(c: int) -> bool:
        try:
            m = erlang_a_metrics(lam, aht, patience, c, t)
        except _TailTooLong:  # a queue that long answers nobody in time
            return False
        return m.service_level >= target and (max_abandon is None or m.p_abandon <= max_abandon)

    lo, step = _search_start(max(lo, 0), math.ceil(math.sqrt(a)), known)
    return _fewest_agents(meets, lo, step, max_agents)


def sqrt_staffing(lam: float, aht_s: float, beta: float) -> int:
    """Square-root staffing ``ceil(a + beta sqrt(a))`` (Halfin-Whitt): the quick planner's rule.

    A relative slack of 1e-12 stops float noise in ``lam * aht_s`` from adding an agent.
    """
    lam = _nonneg(lam, "lam")
    aht = _positive(aht_s, "aht_s")
    beta = float(beta)
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta!r}")
    a = lam * aht
    x = a + beta * math.sqrt(a)
    return max(0, math.ceil(x - 1e-12 * max(1.0, abs(x))))


def staff_intervals(
    lam_per_interval: ArrayLike,
    aht_s: float,
    target_sl: float,
    threshold_s: float,
    model: Literal["erlang_c", "erlang_a"] = "erlang_c",
    patience_s: float | None = None,
    *,
    max_abandon: float | None = None,
    max_agents: int = 100000,
) -> NDArray[np.int64]:
    """Agents required in each interval (same shape as ``lam_per_interval``, calls/second).

    Intervals with equal rates share one computation, since forecasts often repeat values.
    """
    lam_arr = np.asarray(lam_per_interval, dtype=np.float64)
    if not np.all(np.isfinite(lam_arr)) or np.any(lam_arr < 0):
        raise ValueError("lam_per_interval must contain finite rates >= 0")
    if model not in ("erlang_c", "erlang_a"):
        raise ValueError(f"model must be 'erlang_c' or 'erlang_a', got {model!r}")
    if model == "erlang_a" and patience_s is None:
        raise ValueError("patience_s is required when model='erlang_a'")
    # Validate scalars even when every interval is empty.
    aht = _positive(aht_s, "aht_s")
    target = _fraction(target_sl, "target_sl")
    t = _threshold(threshold_s)
    patience = math.inf if model == "erlang_c" or patience_s is None else _patience(patience_s)
    cap = _max_abandon(max_abandon)
    max_agents = _agents(max_agents, "max_agents")
    unique, inverse = np.unique(lam_arr, return_inverse=True)
    key = (aht, patience, target, t, cap if model == "erlang_a" else None, max_agents)
    staffed = np.array(_staff_rates(tuple(unique.tolist()), *key), dtype=np.int64)
    return staffed[inverse].reshape(lam_arr.shape)


@lru_cache(maxsize=16)
def _staff_rates(
    rates: tuple[float, ...],
    aht: float,
    patience: float,
    target: float,
    t: float,
    max_abandon: float | None,
    max_agents: int,
) -> tuple[int, ...]:
    """Fewest agents for each of ``rates`` (ascending), Erlang C when ``patience`` is inf.

    More load never needs fewer agents (every metric worsens as the rate grows), so one
    agent fewer than the previous rate's answer is known to fail and each search walks up
    from there: one or two evaluations per rate instead of about five. Cached, because every
    replication of an experiment staffs the same forecast again.
    """
    out = []
    known = 0
    for lam in rates:
        known = _staff_a(lam, aht, patience, target, t, max_abandon, max_agents, known)
        out.append(known)
    return tuple(out)


def aggregate_service_level(
    lam_per_interval: ArrayLike,
    agents_per_interval: ArrayLike,
    aht_s: float,
    threshold_s: float,
    patience_s: float | None = None,
) -> float:
    """Call-weighted service level over equal-length intervals.

    Each interval's exact SL is weighted by its arrival rate (its share of calls); nothing is
    rounded per interval, because rounding before aggregating biases a day's SL. An over-staffed
    quiet interval cannot offset a busy one in proportion to clock time, only to calls.
    ``patience_s=None`` (or inf) uses Erlang C, otherwise Erlang A's "answered within t".
    Returns 1.0 when no calls are offered (nobody was failed).
    """
    lam_arr = np.asarray(lam_per_interval, dtype=np.float64).ravel()
    agents = np.asarray(agents_per_interval).ravel()
    if lam_arr.shape != agents.shape:
        raise ValueError(
            "agents_per_interval must have one entry per interval of lam_per_interval "
            f"({agents.size} vs {lam_arr.size})"
        )
    if not np.all(np.isfinite(lam_arr)) or np.any(lam_arr < 0):
        raise ValueError("lam_per_interval must contain finite rates >= 0")
    agents_f = agents.astype(np.float64)
    if not np.all(np.isfinite(agents_f)) or np.any(agents_f < 0) or np.any(agents_f % 1 != 0):
        raise ValueError("agents_per_interval must contain whole numbers of agents >= 0")
    aht = _positive(aht_s, "aht_s")
    t = _threshold(threshold_s)
    patience = math.inf if patience_s is None else _patience(patience_s)
    total = float(lam_arr.sum())
    if total == 0.0:
        return 1.0
    weighted = 0.0
    for lam, c in zip(lam_arr.tolist(), agents_f.astype(np.int64).tolist(), strict=True):
        if lam == 0.0:
            continue
        if math.isinf(patience):
            sl = erlang_c_service_level(c, lam * aht, aht, t)
        else:
            sl = erlang_a_metrics(lam, aht, patience, c, t).service_level
        weighted += lam * sl
    return weighted / total
