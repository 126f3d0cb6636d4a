"""The population's storage: rows in bill-cycle order, account ids everywhere else.

The layout is a speed trick (sim/world/population.py): these tests pin that rows and ids
convert both ways, that a cycle's initial accounts are one block of rows in ascending id
order, and that the customers table comes back in id order with every value where the
id layout had it. That no number depends on the layout is the golden test's job.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.rng import Streams
from sim.scenario import Scenario
from sim.world.population import Population


@pytest.fixture
def pop(baseline: Scenario) -> Population:
    sc = baseline.with_changes(
        {"customers.accounts": 20_000, "customers.acquisition_per_month": 500}
    )
    return Population(sc, Streams(11)["population"])


def test_rows_and_ids_convert_both_ways_for_the_base_and_new_accounts(pop: Population) -> None:
    pop.add(700, 86400.0, np.random.default_rng(3))
    ids = np.arange(pop.n)
    rows = pop.row(ids)
    assert sorted(rows.tolist()) == ids.tolist()  # a permutation of the rows in use
    assert np.array_equal(pop.account_id(rows), ids)
    assert np.array_equal(rows[20_000:], ids[20_000:])  # acquired: row = id
    assert not np.array_equal(rows[:20_000], ids[:20_000])  # the base is really permuted


def test_a_cycle_is_one_block_of_rows_then_its_new_accounts_in_id_order(
    pop: Population,
) -> None:
    initial_cycle = pop.cycle[pop.row(np.arange(pop.n))].copy()  # by id
    pop.add(700, 86400.0, np.random.default_rng(3))
    all_cycles = pop.cycle[pop.row(np.arange(pop.n))]
    for c in range(pop.n_cycles):
        members = pop.cycle_members(c)
        block = members[members < 20_000]
        assert np.array_equal(block, np.arange(block[0], block[-1] + 1))  # contiguous
        ids = pop.account_id(members)
        assert np.all(np.diff(ids) > 0)  # ascending ids: draws go in the old order
        assert np.array_equal(ids, np.flatnonzero(all_cycles == c))
        assert block.size == np.sum(initial_cycle == c)


def test_the_table_is_in_id_order_with_each_accounts_values(pop: Population) -> None:
    rng = np.random.default_rng(5)
    pop.add(700, 86400.0, rng)
    # some state written through rows, as the bill runs and calls write it
    touched = rng.choice(pop.n, 3_000, replace=False)
    pop.revenue[pop.row(touched)] += np.arange(touched.size)
    pop.experience[pop.row(touched), 2] += 1
    ids = np.arange(pop.n)
    expected = {
        "segment": pop.segment[pop.row(ids)].copy(),
        "charge": pop.charge[pop.row(ids)].copy(),
        "revenue": pop.revenue[pop.row(ids)].copy(),
        "exp_unresolved": pop.experience[pop.row(ids), 2].copy(),
    }
    table = pop.table()
    assert np.array_equal(table["account"], ids)
    for name, values in expected.items():
        assert np.array_equal(table[name], values), name
    assert table["revenue"][touched].tolist() == list(range(touched.size))
    # afterwards rows are ids, so late readers (the streamed sink) still find the accounts
    assert np.array_equal(pop.row(ids), ids)
    assert np.array_equal(pop.account_id(pop.cycle_members(0)), pop.cycle_members(0))


def test_one_blas_thread_gives_the_same_scores_bit_for_bit():
    """The model runs with one BLAS thread (sim/core/blas.py says why); the experience
    score Σ β_k E_k, its only sizeable BLAS call, is the same bit for bit as with two
    threads, at the sizes of a bill run from the baseline to ten million accounts."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from sim.core.blas import one_blas_thread

    rng = np.random.default_rng(17)
    beta = rng.normal(size=7)
    for n in (7_000, 107_000, 360_000, 1_100_000):
        rows = rng.integers(0, 30, size=(n, 7)).astype(np.int16).astype(float)
        rows[:, 2] *= rng.random(n)  # faded experiences are fractional
        with threadpool_limits(2, user_api="blas"):
            two = rows @ beta
        with one_blas_thread():
            assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
            one = rows @ beta
        assert np.array_equal(one.view(np.int64), two.view(np.int64)), n
