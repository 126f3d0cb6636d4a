"""The Erlang A formula and staffing search as they were before issue 17 (commit 730e772).

Kept only as a yardstick: ``tests/test_erlang_fast.py`` holds the faster code in
``sim.core.erlang`` to these values (metrics to float rounding, staffing exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.special import betainc, betaincc, gammaln, logsumexp

from sim.core.erlang import erlang_c_service_level

_LOG_NEGLIGIBLE = 45.0
_MAX_TAIL_STATES = 5_000_000


class TailTooLong(ValueError):
    """The queue tail cannot be enumerated."""


def tail_log_weights(lam: float, alpha: float, theta: float) -> NDArray[np.float64]:
    log_lam = math.log(lam)
    peak = 0 if lam <= alpha else math.ceil((lam - alpha) / theta)
    if peak > _MAX_TAIL_STATES:
        raise TailTooLong("tail")
    chunks = [np.zeros(1)]
    last = top = 0.0
    start = 1
    size = max(1024, peak + 1024)
    while True:
        j = np.arange(start, start + size, dtype=np.float64)
        chunk = last + np.cumsum(log_lam - np.log(alpha + j * theta))
        chunks.append(chunk)
        last = float(chunk[-1])
        top = max(top, float(chunk.max()))
        start += size
        if start > peak and last < top - _LOG_NEGLIGIBLE:
            break
        if start > _MAX_TAIL_STATES:
            raise TailTooLong("tail")
        size *= 2
    w = np.concatenate(chunks)
    return w[: int(np.flatnonzero(w >= top - _LOG_NEGLIGIBLE)[-1]) + 1]


def erlang_a_metrics(lam: float, aht: float, patience: float, c: int, t: float) -> dict[str, float]:
    """The old finite-patience branch (0 < patience < inf, lam > 0), as a dict."""
    theta = 1.0 / patience
    alpha = c / aht
    a = lam * aht
    n = np.arange(c, dtype=np.float64)
    log_a = math.log(a)
    lower = n * log_a - gammaln(n + 1.0)
    tail = (c * log_a - float(gammaln(c + 1.0))) + tail_log_weights(lam, alpha, theta)
    log_z = float(logsumexp(np.concatenate([lower, tail])))
    p_lower = math.exp(float(logsumexp(lower)) - log_z) if c else 0.0
    k = np.flatnonzero(tail >= log_z - _LOG_NEGLIGIBLE)
    pk = np.exp(tail[k] - log_z)
    kf = k.astype(np.float64)
    p_wait = float(pk.sum())
    mean_queue = float(kf @ pk)
    p_abandon = min(1.0, max(0.0, theta * mean_queue / lam))
    p = -math.expm1(-theta * t)
    stay = math.exp(-theta * t)
    if alpha > 0.0:
        x = alpha / theta
        answered = alpha / (alpha + (kf + 1.0) * theta) * betainc(kf + 1.0, x + 1.0, p)
        queued = stay * betaincc(kf + 1.0, x, p)
    else:
        answered = np.zeros_like(pk)
        queued = np.full_like(pk, stay)
    clip = lambda v: min(1.0, max(0.0, float(v)))  # noqa: E731
    return {
        "p_wait": clip(p_wait),
        "p_abandon": p_abandon,
        "asa_s": mean_queue / lam,
        "service_level": clip(p_lower + float(pk @ answered)),
        "mean_queue": mean_queue,
        "occupancy": clip(lam * (1.0 - p_abandon) * aht / c) if c else 0.0,
        "p_wait_within_threshold": clip(1.0 - float(pk @ queued)),
    }


def fewest_agents(meets: Callable[[int], bool], lo: int, step: int, max_agents: int) -> int:
    if lo >= max_agents:
        raise ValueError("max_agents")
    step = max(1, step)
    hi = min(lo + step, max_agents)
    while not meets(hi):
        if hi >= max_agents:
            raise ValueError("max_agents")
        lo = hi
        step *= 2
        hi = min(lo + step, max_agents)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


def staff_erlang_c(lam: float, aht: float, target: float, t: float) -> int:
    if lam == 0.0:
        return 0
    a = lam * aht
    return fewest_agents(
        lambda c: erlang_c_service_level(c, a, aht, t) >= target,
        math.floor(a),
        math.ceil(math.sqrt(a)),
        100000,
    )


def staff_erlang_a(
    lam: float,
    aht: float,
    patience: float,
    target: float,
    t: float,
    max_abandon: float | None = None,
) -> int:
    if lam == 0.0:
        return 0
    if math.isinf(patience):
        return staff_erlang_c(lam, aht, target, t)
    a = lam * aht
    lo = math.ceil(target * a) - 1
    if max_abandon is not None:
        lo = max(lo, math.ceil((1.0 - max_abandon) * a) - 1)

    def meets(c: int) -> bool:
        try:
            m = erlang_a_metrics(lam, aht, patience, c, t)
        except TailTooLong:
            return False
        return m["service_level"] >= target and (
            max_abandon is None or m["p_abandon"] <= max_abandon
        )

    return fewest_agents(meets, max(lo, 0), math.ceil(math.sqrt(a)), 100000)
