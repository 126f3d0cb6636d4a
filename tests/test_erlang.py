"""Tests for sim.core.erlang: textbook values, exact brute force, Monte Carlo and staffing."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import poisson

from sim.core.erlang import (
    ErlangAMetrics,
    aggregate_service_level,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    sqrt_staffing,
    staff_erlang_a,
    staff_erlang_c,
    staff_intervals,
)

# --------------------------------------------------------------------------- brute force


def exact_terms(c: int, a: Fraction) -> list[Fraction]:
    """a^k / k! for k = 0..c in exact rational arithmetic (fine for small c)."""
    return [a**k / math.factorial(k) for k in range(c + 1)]


def exact_erlang_b(c: int, a: Fraction) -> Fraction:
    terms = exact_terms(c, a)
    return terms[c] / sum(terms)


def exact_erlang_c(c: int, a: Fraction) -> Fraction:
    terms = exact_terms(c, a)
    top = terms[c] * c / (c - a)
    return top / (sum(terms[:c]) + top)


# --------------------------------------------------------------------------- Erlang B / C


def test_erlang_b_textbook_value() -> None:
    assert erlang_b(10, 5.0) == pytest.approx(0.018384, abs=1e-6)


@pytest.mark.parametrize(("c", "a"), [(1, "1/2"), (3, "2"), (10, "5"), (20, "37/2"), (40, "30")])
def test_erlang_b_matches_exact_sum(c: int, a: str) -> None:
    assert erlang_b(c, float(Fraction(a))) == pytest.approx(
        float(exact_erlang_b(c, Fraction(a))), rel=1e-12
    )


def test_erlang_c_textbook_value() -> None:
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)


@pytest.mark.parametrize(("c", "a"), [(1, "1/2"), (2, "3/2"), (11, "10"), (25, "20"), (50, "97/2")])
def test_erlang_c_matches_exact_sum(c: int, a: str) -> None:
    assert erlang_c(c, float(Fraction(a))) == pytest.approx(
        float(exact_erlang_c(c, Fraction(a))), rel=1e-12
    )


def test_classic_call_centre_example() -> None:
    # 100 calls per 30 minutes, AHT 3 minutes: a = 10 Erlangs; target 80% within 20 s.
    lam, aht, t = 100 / 1800, 180.0, 20.0
    a = lam * aht
    for c in (11, 13, 14, 16):
        exact_c = float(exact_erlang_c(c, Fraction(10)))
        assert erlang_c_service_level(c, a, aht, t) == pytest.approx(
            1 - exact_c * math.exp(-(c - 10) * t / aht), rel=1e-12
        )
        assert erlang_c_asa(c, a, aht) == pytest.approx(exact_c * aht / (c - 10), rel=1e-12)
    # Widely quoted: 13 agents give ~79.6%, 14 agents ~88.8%.
    assert erlang_c_service_level(13, a, aht, t) == pytest.approx(0.7956, abs=1e-4)
    assert erlang_c_service_level(14, a, aht, t) == pytest.approx(0.8884, abs=1e-4)
    assert staff_erlang_c(lam, aht, 0.8, t) == 14


def test_erlang_c_edge_cases() -> None:
    assert erlang_c(5, 5.0) == 1.0
    assert erlang_c(5, 7.5) == 1.0
    assert erlang_c(0, 1.0) == 1.0
    assert erlang_c(3, 0.0) == 0.0
    assert erlang_c_asa(5, 5.0, 60.0) == math.inf
    assert erlang_c_service_level(5, 6.0, 60.0, 20.0) == 0.0
    assert erlang_c_service_level(5, 0.0, 60.0, 20.0) == 1.0
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(4, 0.0) == 0.0
    # Threshold 0: SL is just the chance of not waiting.
    assert erlang_c_service_level(12, 10.0, 180.0, 0.0) == pytest.approx(1 - erlang_c(12, 10.0))


def test_stable_for_thousands_of_agents() -> None:
    a = 1950.0
    cs = np.arange(1900, 2101)
    b = np.array([erlang_b(int(c), a) for c in cs])
    assert np.all(np.isfinite(b)) and np.all((b > 0) & (b < 1))
    assert np.all(np.diff(b) < 0)
    # Independent check: B = P(N = c) / P(N <= c) for N ~ Poisson(a), in log space.
    for c in (1950, 2000, 2100):
        expected = math.exp(poisson.logpmf(c, a) - poisson.logcdf(c, a))
        assert erlang_b(c, a) == pytest.approx(expected, rel=1e-9)

    stable = np.arange(1951, 2101)
    cc = np.array([erlang_c(int(c), a) for c in stable])
    sl = np.array([erlang_c_service_level(int(c), a, 300.0, 20.0) for c in stable])
    assert np.all(np.isfinite(cc)) and np.all(np.diff(cc) < 0)
    assert np.all(np.isfinite(sl)) and np.all(np.diff(sl) > 0)

    m = erlang_a_metrics(a / 300.0, 300.0, 180.0, 2000, 20.0)
    values = [m.p_wait, m.p_abandon, m.asa_s, m.service_level, m.mean_queue, m.occupancy]
    assert all(math.isfinite(v) for v in values)
    assert 0 < m.p_abandon < m.p_wait < 1 and 0 < m.service_level < 1
    # Overloaded by 10% with patient callers: long queue, still finite.
    over = erlang_a_metrics(2200 / 300.0, 300.0, 3600.0, 2000, 20.0)
    assert over.p_abandon == pytest.approx(0.1 / 1.1, rel=1e-6)  # fluid limit, exact here
    assert math.isfinite(over.asa_s) and over.occupancy == pytest.approx(1.0)


# --------------------------------------------------------------------------- Erlang A


def brute_force_erlang_a(
    lam: float, aht: float, patience: float, c: int, t: float, max_queue: int = 150
) -> dict[str, float]:
    """Independent M/M/c+M answer: linear solve of the truncated generator, then expm of the
    tagged caller's position chain for each state it might find on arrival."""
    mu, theta = 1 / aht, 1 / patience
    n_states = c + max_queue + 1
    q = np.zeros((n_states, n_states))
    for n in range(n_states):
        if n + 1 < n_states:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    # pi Q = 0 with sum(pi) = 1.
    lhs = np.vstack([q.T, np.ones(n_states)])
    rhs = np.zeros(n_states + 1)
    rhs[-1] = 1.0
    pi = np.linalg.lstsq(lhs, rhs, rcond=None)[0]

    # Tagged caller's chain: state j = position in queue (1..J), 0 = answered, J+1 = abandoned.
    big_j = max_queue + 1
    g = np.zeros((big_j + 2, big_j + 2))
    for j in range(1, big_j + 1):
        g[j, j - 1] = c * mu + (j - 1) * theta
        g[j, big_j + 1] = theta
        g[j, j] = -(c * mu + j * theta)
    p_t = expm(g * t)
    queue_len = np.arange(n_states) - c
    waiting = queue_len >= 0
    start = queue_len[waiting] + 1
    mean_queue = float(pi[waiting] @ queue_len[waiting])
    return {
        "p_wait": float(pi[waiting].sum()),
        "p_abandon": theta * mean_queue / lam,
        "asa_s": mean_queue / lam,
        "mean_queue": mean_queue,
        "service_level": float(pi[~waiting].sum() + pi[waiting] @ p_t[start, 0]),
        "p_wait_within_threshold": float(
            pi[~waiting].sum() + pi[waiting] @ (p_t[start, 0] + p_t[start, big_j + 1])
        ),
    }


@pytest.mark.parametrize(
    ("lam", "aht", "patience", "c", "t"),
    [
        (2.0, 1.0, 3.0, 3, 0.5),  # moderately loaded
        (4.0, 1.0, 0.7, 3, 1.0),  # overloaded, impatient callers
        (0.05, 240.0, 90.0, 14, 20.0),  # contact-centre scale
        (0.5, 4.0, 5.0, 0, 2.0),  # no agents: everyone abandons
    ],
)
def test_erlang_a_matches_brute_force_ctmc(
    lam: float, aht: float, patience: float, c: int, t: float
) -> None:
    m = erlang_a_metrics(lam, aht, patience, c, t)
    ref = brute_force_erlang_a(lam, aht, patience, c, t)
    for name, value in ref.items():
        assert getattr(m, name) == pytest.approx(value, rel=1e-7, abs=1e-10), name
    assert m.occupancy == pytest.approx(lam * (1 - m.p_abandon) * aht / c if c else 0.0, rel=1e-12)


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    lam, aht, c, t = 100 / 1800, 180.0, 12, 20.0
    a = lam * aht
    exact = erlang_a_metrics(lam, aht, math.inf, c, t)
    assert exact.p_abandon == 0.0
    assert exact.p_wait == erlang_c(c, a)
    assert exact.asa_s == erlang_c_asa(c, a, aht)
    assert exact.service_level == erlang_c_service_level(c, a, aht, t)
    assert exact.occupancy == pytest.approx(a / c)
    # Abandonment perturbs Erlang C to first order in theta = 1/patience: each 100x more
    # patience must shrink the gap 100x, down to float precision (no numerical floor).
    patiences = (1e7, 1e9, 1e11, 1e13)
    metrics = [erlang_a_metrics(lam, aht, p, c, t) for p in patiences]
    assert all(m.p_abandon > 0 for m in metrics)
    for name in ("service_level", "asa_s", "p_wait", "p_wait_within_threshold"):
        gaps = [abs(getattr(m, name) - getattr(exact, name)) for m in metrics]
        for wide, narrow in itertools.pairwise(gaps):
            assert wide / narrow == pytest.approx(100, rel=0.02), name
        assert getattr(metrics[-1], name) == pytest.approx(getattr(exact, name), rel=1e-9)


def test_erlang_a_limits_and_edges() -> None:
    unstable = erlang_a_metrics(1.0, 10.0, math.inf, 8)
    assert unstable == ErlangAMetrics(1.0, 0.0, math.inf, 0.0, math.inf, 1.0, 0.0)
    # Zero patience is the loss system: Erlang B.
    loss = erlang_a_metrics(0.5, 10.0, 0.0, 6)
    assert loss.p_abandon == pytest.approx(erlang_b(6, 5.0))
    assert loss.service_level == pytest.approx(1 - erlang_b(6, 5.0))
    quiet = erlang_a_metrics(0.0, 10.0, 60.0, 3)
    assert quiet.service_level == 1.0 and quiet.p_abandon == 0.0 and quiet.occupancy == 0.0
    # Abandonment keeps even a heavily overloaded queue finite.
    m = erlang_a_metrics(2.0, 10.0, 60.0, 10)
    assert math.isfinite(m.asa_s) and m.p_abandon == pytest.approx(0.5, abs=0.01)
    assert m.service_level_answered == pytest.approx(m.service_level / (1 - m.p_abandon))


def test_erlang_a_refuses_an_unenumerable_queue_but_staffing_copes() -> None:
    # 10% overload with a mean patience of ~30 years: the queue tail would hold ~7e8 states.
    with pytest.raises(ValueError, match="patience_s"):
        erlang_a_metrics(2200 / 300, 300.0, 1e9, 2000)
    # Staffing treats such agent counts as failing and still lands on the Erlang C answer.
    assert staff_erlang_a(2000 / 300, 300.0, 1e9, 0.8, 20.0) == staff_erlang_c(
        2000 / 300, 300.0, 0.8, 20.0
    )


def monte_carlo_mmc_m(
    lam: float, aht: float, patience: float, c: int, t: float, n: int, seed: int
) -> dict[str, float]:
    """FCFS M/M/c+M by customer-order recursion: callers take the earliest-free agent in
    arrival order if it frees up before their patience runs out; abandoners use no agent."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, n)).tolist()
    services = rng.exponential(aht, n).tolist()
    patiences = rng.exponential(patience, n).tolist()
    free = [0.0] * c
    wait = np.empty(n)
    answered = np.empty(n, dtype=bool)
    for i, (arrive, service, limit) in enumerate(zip(arrivals, services, patiences, strict=True)):
        w = max(free[0] - arrive, 0.0)
        if w <= limit:
            heapq.heapreplace(free, arrive + w + service)
            wait[i], answered[i] = w, True
        else:
            wait[i], answered[i] = limit, False
    warm = n // 20  # the system starts empty; drop the transient
    wait, answered = wait[warm:], answered[warm:]
    return {
        "p_wait": float((wait > 0).mean()),
        "p_abandon": float(1 - answered.mean()),
        "service_level": float((answered & (wait <= t)).mean()),
        "p_wait_within_threshold": float((wait <= t).mean()),
        "asa_s": float(wait.mean()),
    }


@pytest.mark.parametrize(("lam", "patience"), [(4.5, 2.0), (6.0, 1.0)])
def test_erlang_a_agrees_with_monte_carlo(lam: float, patience: float) -> None:
    # 300k callers: across seeds the proportions scatter with SD ~0.002 (autocorrelation
    # included), so 0.01 is a ~5-sigma band; ASA scatters ~1% so 5% is equally safe.
    aht, c, t = 1.0, 5, 0.5
    exact = erlang_a_metrics(lam, aht, patience, c, t)
    sim = monte_carlo_mmc_m(lam, aht, patience, c, t, n=300_000, seed=20240611)
    for name in ("p_wait", "p_abandon", "service_level", "p_wait_within_threshold"):
        assert sim[name] == pytest.approx(getattr(exact, name), abs=0.01), name
    assert sim["asa_s"] == pytest.approx(exact.asa_s, rel=0.05)


# --------------------------------------------------------------------------- staffing


@pytest.mark.parametrize(
    ("lam", "aht", "target", "t"),
    [(100 / 1800, 180.0, 0.8, 20.0), (0.01, 300.0, 0.9, 30.0), (6.5, 300.0, 0.8, 20.0)],
)
def test_staff_erlang_c_is_minimal(lam: float, aht: float, target: float, t: float) -> None:
    c = staff_erlang_c(lam, aht, target, t)
    a = lam * aht
    assert erlang_c_service_level(c, a, aht, t) >= target
    assert erlang_c_service_level(c - 1, a, aht, t) < target


@pytest.mark.parametrize(
    ("lam", "aht", "patience", "target", "t", "max_abandon"),
    [
        (100 / 1800, 180.0, 120.0, 0.8, 20.0, None),
        (100 / 1800, 180.0, 120.0, 0.5, 20.0, 0.01),  # abandonment cap is the binding one
        (2000 / 300, 300.0, 120.0, 0.8, 20.0, None),
        (0.2, 240.0, 30.0, 0.7, 60.0, None),  # patience shorter than threshold
    ],
)
def test_staff_erlang_a_is_minimal(
    lam: float, aht: float, patience: float, target: float, t: float, max_abandon: float | None
) -> None:
    c = staff_erlang_a(lam, aht, patience, target, t, max_abandon)

    def ok(m: ErlangAMetrics) -> bool:
        return m.service_level >= target and (max_abandon is None or m.p_abandon <= max_abandon)

    assert ok(erlang_a_metrics(lam, aht, patience, c, t))
    assert not ok(erlang_a_metrics(lam, aht, patience, c - 1, t))
    if max_abandon is not None:
        assert c > staff_erlang_a(lam, aht, patience, target, t)


def test_staff_erlang_a_with_infinite_patience_is_erlang_c() -> None:
    assert staff_erlang_a(0.3, 200.0, math.inf, 0.8, 20.0) == staff_erlang_c(0.3, 200.0, 0.8, 20.0)


def test_zero_arrivals_need_no_agents() -> None:
    assert staff_erlang_c(0.0, 300.0, 0.8, 20.0) == 0
    assert staff_erlang_a(0.0, 300.0, 60.0, 0.8, 20.0) == 0
    assert sqrt_staffing(0.0, 300.0, 1.0) == 0


def test_sqrt_staffing_formula() -> None:
    assert sqrt_staffing(0.1, 100.0, 1.0) == math.ceil(10 + math.sqrt(10))  # 14
    assert sqrt_staffing(1.0, 100.0, 0.5) == 105  # a = 100: exactly 105, not 106
    assert sqrt_staffing(1.0, 100.0, 0.0) == 100
    assert sqrt_staffing(2.0, 150.0, 1.5) == math.ceil(300 + 1.5 * math.sqrt(300))


def test_staff_intervals_vectorises_scalar_staffing() -> None:
    lam = np.array([0.0, 0.02, 0.05, 0.02, 0.3])
    out = staff_intervals(lam, 180.0, 0.8, 20.0)
    assert out.dtype == np.int64 and out.shape == lam.shape
    assert out.tolist() == [staff_erlang_c(float(x), 180.0, 0.8, 20.0) for x in lam]
    out_a = staff_intervals(lam, 180.0, 0.8, 20.0, model="erlang_a", patience_s=60.0)
    assert out_a.tolist() == [staff_erlang_a(float(x), 180.0, 60.0, 0.8, 20.0) for x in lam]
    assert out[0] == 0 and out_a[0] == 0
    with pytest.raises(ValueError, match="patience_s"):
        staff_intervals(lam, 180.0, 0.8, 20.0, model="erlang_a")
    with pytest.raises(ValueError, match="model"):
        staff_intervals(lam, 180.0, 0.8, 20.0, model="erlang_x")  # type: ignore[arg-type]


def test_aggregate_service_level_weights_by_calls_without_rounding() -> None:
    aht, t = 180.0, 20.0
    lam = np.array([0.01, 0.1, 0.0])  # quiet interval, busy interval, closed interval
    agents = np.array([3, 19, 0])
    sl = [erlang_c_service_level(int(c), x * aht, aht, t) for x, c in zip(lam, agents, strict=True)]
    expected = (lam[0] * sl[0] + lam[1] * sl[1]) / lam.sum()
    got = aggregate_service_level(lam, agents, aht, t)
    assert got == pytest.approx(expected, rel=1e-12)
    # Clock-time averaging would let the quiet interval count as much as the busy one.
    assert abs(got - (sl[0] + sl[1]) / 2) > 0.01
    # Rounding per-interval SL to whole percent before aggregating gives a different answer.
    rounded = (lam[0] * round(sl[0], 2) + lam[1] * round(sl[1], 2)) / lam.sum()
    assert got != rounded
    # Erlang A version uses "answered within t" per interval.
    sla = [
        erlang_a_metrics(x, aht, 90.0, int(c), t).service_level
        for x, c in zip(lam, agents, strict=True)
    ]
    expected_a = (lam[0] * sla[0] + lam[1] * sla[1]) / lam.sum()
    assert aggregate_service_level(lam, agents, aht, t, patience_s=90.0) == pytest.approx(
        expected_a, rel=1e-12
    )
    assert aggregate_service_level([0.0, 0.0], [0, 0], aht, t) == 1.0


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: staff_erlang_c(-1.0, 180.0, 0.8, 20.0), "lam"),
        (lambda: staff_erlang_c(0.1, 0.0, 0.8, 20.0), "aht_s"),
        (lambda: staff_erlang_c(0.1, 180.0, 1.0, 20.0), "target_sl"),
        (lambda: staff_erlang_c(0.1, 180.0, 0.0, 20.0), "target_sl"),
        (lambda: staff_erlang_c(0.1, 180.0, 0.8, -1.0), "threshold_s"),
        (lambda: staff_erlang_a(0.1, 180.0, -5.0, 0.8, 20.0), "patience_s"),
        (lambda: staff_erlang_a(0.1, 180.0, 60.0, 0.8, 20.0, max_abandon=0.0), "max_abandon"),
        (lambda: erlang_a_metrics(float("nan"), 180.0, 60.0, 5), "lam"),
        (lambda: erlang_a_metrics(0.1, -3.0, 60.0, 5), "aht_s"),
        (lambda: erlang_b(-1, 2.0), "c"),
        (lambda: erlang_b(2.5, 2.0), "c"),  # type: ignore[arg-type]
        (lambda: erlang_c(3, -2.0), "a"),
        (lambda: sqrt_staffing(-0.1, 180.0, 1.0), "lam"),
        (lambda: staff_intervals([0.1, -0.1], 180.0, 0.8, 20.0), "lam_per_interval"),
        (lambda: aggregate_service_level([0.1], [2.5], 180.0, 20.0), "agents_per_interval"),
        (lambda: staff_erlang_c(10.0, 180.0, 0.8, 20.0, max_agents=100), "max_agents"),
    ],
)
def test_invalid_input_names_the_argument(call: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
