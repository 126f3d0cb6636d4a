"""sim.core.memo: keys that tell inputs apart, and a bounded, thread-safe memo."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from sim.core.memo import Memo, digest


def test_the_key_tells_apart_values_types_shapes_and_boundaries() -> None:
    a = np.arange(6, dtype=np.int64)
    keys = {
        digest(a),
        digest(a.astype(np.int32)),  # the same numbers in another type
        digest(a.reshape(2, 3)),  # the same bytes in another shape
        digest(a[::-1]),
        digest(a, "x"),
        digest("ab", "c"),
        digest("a", "bc"),  # the same text split elsewhere
    }
    assert len(keys) == 7
    assert digest(a, "x") == digest(np.arange(6), "x")  # equal inputs, equal keys
    # a strided view is keyed by its values, as a contiguous copy would be
    assert digest(np.arange(12)[::2]) == digest(np.arange(0, 12, 2))


def test_the_memo_keeps_the_most_recently_used_results() -> None:
    memo: Memo[int] = Memo(2)
    computed: list[str] = []

    def value(name: str) -> int:
        return memo.get(name.encode(), lambda: computed.append(name) or len(computed))

    assert [value("a"), value("b"), value("a")] == [1, 2, 1]
    value("c")  # evicts b, the least recently used
    assert value("a") == 1 and value("b") == 4
    assert computed == ["a", "b", "c", "b"]
    assert (memo.hits, memo.misses) == (2, 4)
    memo.clear()
    assert (memo.hits, memo.misses) == (0, 0)
    with pytest.raises(ValueError, match="at least one"):
        Memo(0)


def test_threads_share_the_memo() -> None:
    memo: Memo[float] = Memo(4)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: memo.get(b"k", lambda: 42.0), range(200)))
    assert got == [42.0] * 200
    assert memo.hits + memo.misses == 200 and memo.misses >= 1
