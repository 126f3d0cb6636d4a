"""Common random numbers: two staffings of one seed deal every caller the same draws.

The staffing optimiser compares staffings that differ by an agent here and there on the
same seeds. That comparison is only sharp if one more agent changes what happens around
that agent and to the callers it touched, not the random numbers of every later caller.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.core.codes import ABANDONED, ANSWERED
from sim.core.distributions import Dist
from sim.core.rng import KeyedDraws, call_keys
from sim.model import simulate
from sim.policies.load import ForecastLoad
from sim.scenario import Scenario
from sim.scenario.calendar import Clock
from sim.world.forecast import forecast_load

SEED = 11


class _Table:
    """A staffing policy that returns a fixed (groups, intervals) table."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def agents(self, load: ForecastLoad) -> np.ndarray:
        return self.table


def _cells(sc: Scenario, agents: np.ndarray) -> np.ndarray:
    """(3, intervals): calls answered, answered within 20 s, abandoned, by arrival."""
    res = simulate(sc, SEED, staffing_policy=_Table(agents))
    c = res.raw.calls
    edges = forecast_load(sc, Clock(sc)).edges_s
    b = np.clip(np.searchsorted(edges, c["t_arrive"], side="right") - 1, 0, agents.shape[1] - 1)
    answered = c["status"] == ANSWERED
    fast = answered & (c["t_answer"] - c["t_arrive"] <= 20.0)
    abandoned = c["status"] == ABANDONED
    n = agents.shape[1]
    return np.stack([np.bincount(b[m], minlength=n) for m in (answered, fast, abandoned)])


@pytest.mark.slow
def test_one_more_agent_changes_its_half_hour_not_the_rest_of_the_month(
    baseline: Scenario,
) -> None:
    # a tight center (abandonment, retrials and repeat calls all happen) for a month
    sc = baseline.scaled(0.1).with_changes({"calendar.months": 1})
    load = forecast_load(sc, Clock(sc))
    is_open = load.open_share > 0
    agents = np.stack([np.where(is_open, k, 0) for k in (1, 2)]).astype(np.int64)
    base = _cells(sc, agents)
    # the busiest half hour in the first week
    week = int(np.searchsorted(load.edges_s, 7 * 86400.0))
    cell = int(np.argmax(base[0, :week] + base[2, :week]))
    more = agents.copy()
    more[1, cell] += 1
    changed = np.any(_cells(sc, more) != base, axis=0)
    busy = (base[0] + base[2]) > 0
    assert not changed[:cell].any()  # nothing before the change moves
    assert changed[cell]  # the change itself shows
    later = busy[cell + 1 :]
    moved = changed[cell + 1 :] & later
    # Callers it touched come back (retrials within the hour, repeat calls days later),
    # so a few later half hours move; with shared streams nearly all of them did.
    assert moved.sum() <= 0.05 * later.sum(), (int(moved.sum()), int(later.sum()))


def test_keyed_draws_of_an_item_do_not_depend_on_the_batch() -> None:
    keys = np.random.default_rng(1).integers(0, 2**63 - 1, 1000)
    whole = KeyedDraws(keys)
    a, b = whole.random(), whole.exponential(3.0)
    rows = np.arange(0, 1000, 7)
    part = KeyedDraws(keys[rows])
    np.testing.assert_array_equal(part.random(), a[rows])
    np.testing.assert_array_equal(part.exponential(3.0), b[rows])
    # a subset shares the column counter: the next draw of both is column 2
    sub = whole.subset(rows)
    np.testing.assert_array_equal(sub.random(), KeyedDraws(keys[rows], [2]).random())

    # a call's key is a function of the call alone, and calls differ in it
    acct, t, attempt = np.array([5, 5, 5, 6]), np.array([10.0, 10.5, 11.0, 10.0]), np.zeros(4)
    k = call_keys(3, acct, t, attempt)
    assert np.unique(k).size == 4 and (k >= 0).all()
    np.testing.assert_array_equal(call_keys(3, acct[1:], t[1:], attempt[1:]), k[1:])
    assert (call_keys(4, acct, t, attempt) != k).all()  # another replication, other keys
    assert call_keys(3, acct[:1], t[:1], np.ones(1))[0] != k[0]


@pytest.mark.parametrize(
    "dist",
    [
        Dist(dist="exponential", mean=600),
        Dist(dist="lognormal", mean=55, sd=20),
        Dist(dist="gamma", mean=3, sd=2),
        Dist(dist="weibull", mean=100, shape=1.5),
        Dist(dist="uniform", low=2, high=9),
    ],
)
def test_keyed_draws_follow_the_distribution(dist: Dist) -> None:
    keys = np.random.default_rng(2).integers(0, 2**63 - 1, 20_000)
    x = dist.sample(KeyedDraws(keys), keys.size)
    # Kolmogorov-Smirnov against the family's own distribution function; at 20 000
    # draws a wrong parameter or a bad hash moves D far beyond the 0.1 % critical value
    result = stats.kstest(x, dist.cdf)
    assert result.pvalue > 1e-3, result
    assert x.mean() == pytest.approx(
        dist.expected, rel=4 * np.sqrt(dist.variance / x.size) / dist.expected + 1e-9
    )
