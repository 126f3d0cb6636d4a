"""The fast Erlang A code agrees with the formula and search it replaced (issue 17).

``tests/erlang_reference.py`` is the code as it was: scipy's logsumexp, 1024-state tail
chunks, betaincc, and a fresh galloping search per rate. Metrics must agree to float
rounding and every staffing answer must be the same integer.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.core.erlang import erlang_a_metrics, staff_erlang_a, staff_erlang_c, staff_intervals
from tests import erlang_reference as ref

# (lam calls/s, aht s): a quiet line, the baseline's two groups at a million accounts, a
# busy site, thousands of agents.
LOADS = [(0.001, 300.0), (0.05, 180.0), (4 / 559.5, 559.5), (175 / 398.2, 398.2), (6.7, 300.0)]
PATIENCES = [1.0, 30.0, 120.0, 389.0, 3600.0]
THRESHOLDS = [0.0, 20.0, 60.0]


def _agent_counts(a: float) -> list[int]:
    """Empty, overloaded, critically loaded, staffed and over-staffed."""
    base = [0, 1, 3, int(a) - 3, int(a), int(a) + 1, int(a + math.sqrt(a)) + 2, int(2 * a) + 5]
    return sorted({c for c in base if c >= 0})


def test_metrics_agree_with_the_old_formula() -> None:
    worst = 0.0
    for (lam, aht), patience, t in itertools.product(LOADS, PATIENCES, THRESHOLDS):
        for c in _agent_counts(lam * aht):
            old = ref.erlang_a_metrics(lam, aht, patience, c, t)
            new = erlang_a_metrics(lam, aht, patience, c, t)
            for name, v in old.items():
                got = getattr(new, name)
                # Rounding of sums of up to thousands of terms, relative; or absolute for a
                # probability that is a difference (1 - P(wait) e^-theta t with nobody to
                # answer). Occupancy is lam (1 - P(ab)) aht / c: with one agent and 2 000
                # erlangs, 1 - P(ab) amplifies P(ab)'s rounding 2 000 times.
                tol = 1e-9 if name == "occupancy" else 1e-12
                assert got == pytest.approx(v, rel=5e-12, abs=tol), (name, lam, aht, c, t)
                if c > lam * aht and abs(v) > 1e-6:  # where staffing searches
                    worst = max(worst, abs(got - v) / abs(v))
    assert worst < 2e-12


@pytest.mark.parametrize(("lam", "aht"), LOADS)
@pytest.mark.parametrize("patience", [30.0, 389.0, 3600.0, math.inf])
@pytest.mark.parametrize(("target", "t", "max_abandon"), [(0.8, 20.0, None), (0.5, 60.0, 0.02)])
def test_staffing_gives_the_same_agents(
    lam: float, aht: float, patience: float, target: float, t: float, max_abandon: float | None
) -> None:
    old = ref.staff_erlang_a(lam, aht, patience, target, t, max_abandon)
    assert staff_erlang_a(lam, aht, patience, target, t, max_abandon) == old


@pytest.mark.parametrize(
    ("aht", "patience", "peak"), [(559.5, 388.8, 0.06), (398.2, 388.8, 0.5), (180.0, 60.0, 0.02)]
)
def test_interval_sweep_gives_the_same_agents(aht: float, patience: float, peak: float) -> None:
    # A week of half-hours shaped like a day profile, on the planner's 0.02-call grain:
    # the sweep starts each rate's search from the previous rate's answer.
    rng = np.random.default_rng(17)
    shape = np.sin(np.linspace(0.0, np.pi, 24)) ** 2
    lam = np.concatenate([shape * peak * rng.uniform(0.7, 1.3) for _ in range(7)])
    grain = 0.02 / 1800.0
    lam = np.ceil(lam / grain) * grain
    got = staff_intervals(lam, aht, 0.8, 20.0, "erlang_a", patience)
    want = [ref.staff_erlang_a(float(x), aht, patience, 0.8, 20.0) for x in lam]
    assert got.tolist() == want
    got_c = staff_intervals(lam, aht, 0.8, 20.0, "erlang_c")
    assert got_c.tolist() == [ref.staff_erlang_c(float(x), aht, 0.8, 20.0) for x in lam]
    # and the cache hands out fresh arrays
    again = staff_intervals(lam, aht, 0.8, 20.0, "erlang_a", patience)
    again[:] = -1
    assert staff_intervals(lam, aht, 0.8, 20.0, "erlang_a", patience).tolist() == want


def test_scalar_staffing_unchanged_on_random_problems() -> None:
    # Erlang C now walks up with Erlang B's recursion carried along; Erlang A searches
    # with the faster metrics. Loads from 0.01 to 9 000 erlangs, any target and threshold.
    rng = np.random.default_rng(17)
    for i in range(600):
        lam, aht = 10 ** rng.uniform(-4, 1), rng.uniform(10.0, 900.0)
        target, t = rng.uniform(0.05, 0.98), float(rng.choice([0.0, 10.0, 20.0, 60.0, 300.0]))
        assert staff_erlang_c(lam, aht, target, t) == ref.staff_erlang_c(lam, aht, target, t)
        if i % 4 == 0 and lam * aht < 500:
            patience = 10 ** rng.uniform(0.5, 3.5)
            want = ref.staff_erlang_a(lam, aht, patience, target, t)
            assert staff_erlang_a(lam, aht, patience, target, t) == want
