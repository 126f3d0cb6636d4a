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
