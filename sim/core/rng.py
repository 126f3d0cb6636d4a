"""Named random streams from one seed.

Each purpose (population, billing, handling, patience, churn, …) draws from its own
``numpy.random.Generator``, keyed by the stream's *name* rather than by creation order:
an extra draw in one place never shifts another, and two scenarios that differ only in
staffing see the same customers, bills and first-attempt arrival times (common random
numbers). Streams that must not even depend on how many draws came before (one per
bill run) are ``child(name, k)`` streams.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import gammaincinv, ndtri


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created named generators of one replication seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0 (got {seed})")
        self.seed = int(seed)
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = self.child(name)
            self._gens[name] = gen
        return gen

    def child(self, name: str, *index: int) -> np.random.Generator:
        """A fresh generator for (name, index…), independent of every other stream."""
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(_key(name), *index))
        return np.random.Generator(np.random.PCG64(ss))


def replication_seed(scenario_seed: int, replication: int) -> int:
    """Seed of replication ``replication``: a function of the two numbers only, so that
    parallel runs equal serial runs whatever the order or the executor."""
    ss = np.random.SeedSequence(entropy=scenario_seed, spawn_key=(_key("replication"), replication))
    return int(ss.generate_state(1, dtype=np.uint32)[0]) if replication else int(scenario_seed)


_GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_MASK = (1 << 64) - 1
"""SplitMix64's constants (Steele, Lea & Flood 2014): a fast hash whose outputs pass
BigCrush as a sequence."""


def call_keys(
    seed: int, account: np.ndarray, t_arrive: np.ndarray, attempt: np.ndarray
) -> np.ndarray:
    """A 63-bit key per call from what identifies it (replication seed, account, arrival
    time, attempt), for ``KeyedDraws``: the same call gets the same key whatever else
    happened in the run, and nothing has to be stored per call."""
    z = _hash(np.asarray(account, dtype=np.int64), int(seed) & _MASK)
    z ^= np.ascontiguousarray(t_arrive, dtype=np.float64).view(np.uint64)
    z = _hash(z, 0)  # spread the arrival time's bits
    z ^= np.asarray(attempt, dtype=np.uint64)
    return (_hash(z, 1) >> np.uint64(1)).astype(np.int64)


def _hash(keys: np.ndarray, column: int) -> np.ndarray:
    """SplitMix64 of (key, column), vectorised: uint64 values that depend on nothing else."""
    z = keys.astype(np.uint64) + np.uint64(((column + 1) * _GOLDEN) & _MASK)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


class KeyedDraws:
    """Draws for a batch of items in which item i's values depend only on its own key.

    A numpy Generator hands out values in order: when one item joins or leaves a batch,
    every later item's values change. Here draw number j of an item is a hash of (its
    key, j), so an item keeps its values whatever else is in the batch. The model uses
    it for repeat calls: which callers come back depends on the staffing, and with a
    shared stream one more agent re-dealt every later repeat call of the month; keyed
    by the call they come from, two staffings of one seed deal them alike (common
    random numbers for the staffing optimiser).

    It offers the few Generator methods the model's draws use (by inversion of the
    distribution function) and ``subset(rows)``, the same draws restricted to some
    items, which share the draw counter: each draw call is one column for all items.
    """

    def __init__(self, keys: np.ndarray, column: list[int] | None = None) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self._column = [0] if column is None else column

    def subset(self, rows: np.ndarray) -> KeyedDraws:
        """The same draws for items ``rows`` only; a draw there uses up a column here too."""
        return KeyedDraws(self.keys[rows], self._column)

    def _bits(self, size: int | None) -> np.ndarray:
        if size is not None and size != self.keys.size:
            raise ValueError(f"keyed draws for {self.keys.size} items, asked for {size}")
        j = self._column[0]
        self._column[0] += 1
        return _hash(self.keys, j)

    def random(self, size: int | None = None) -> np.ndarray:
        return (self._bits(size) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def exponential(self, scale: float = 1.0, size: int | None = None) -> np.ndarray:
        return -scale * np.log1p(-self.random(size))

    def lognormal(self, mean: float = 0.0, sigma: float = 1.0, size: int | None = None):
        return np.exp(mean + sigma * ndtri(self.random(size)))

    def gamma(self, shape: float, scale: float = 1.0, size: int | None = None) -> np.ndarray:
        return gammaincinv(shape, self.random(size)) * scale

    def weibull(self, a: float, size: int | None = None) -> np.ndarray:
        return (-np.log1p(-self.random(size))) ** (1.0 / a)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: int | None = None):
        return low + (high - low) * self.random(size)


def draws_for(rng: np.random.Generator | KeyedDraws, rows: np.ndarray):
    """``rng`` for draws of the items ``rows`` of a batch: a Generator as it is (it
    draws ``rows.size`` values in order), keyed draws restricted to those items."""
    return rng.subset(rows) if isinstance(rng, KeyedDraws) else rng
