"""Contact-center hot path: the engine against the textbook SimPy idiom.

Workload (issue 3): stationary M/M/c+M, arrivals 100 per minute, mean handling 5 min,
520 agents, mean patience 2 min, one simulated week, the center always open.

- *engine*: ``sim.center.stationary.stationary_queue`` -- the ``engine.ContactCenter`` that
  every scenario runs on, with overflow, priorities, callbacks and retrials available
  (idle here), fed from sorted arrays.
- *plain*: a process per caller, ``yield request | timeout(patience)``.

Target: engine calls/s >= 2 × plain calls/s. Both are checked against Erlang A.
Run: ``.venv/bin/python benchmarks/contact_center.py [--days 7]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import simpy

from sim.center.stationary import stationary_queue
from sim.core.erlang import erlang_a_metrics

LAM = 100 / 60
AHT = 300.0
AGENTS = 520
PATIENCE = 120.0
TARGET_RATIO = 2.0


def plain_simpy(lam: float, aht: float, agents: int, patience: float, hours: float, seed: int):
    """The textbook idiom (SimPy's bank_renege example) on the same workload."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=agents)
    horizon = hours * 3600
    n = int(rng.poisson(lam * horizon))
    arrivals = np.sort(rng.uniform(0, horizon, n)).tolist()
    services = rng.exponential(aht, n).tolist()
    patiences = rng.exponential(patience, n).tolist()
    abandoned = [0]

    def caller(i: int):
        with pool.request() as req:
            result = yield req | env.timeout(patiences[i])
            if req in result:
                yield env.timeout(services[i])
            else:
                abandoned[0] += 1

    def source():
        last = 0.0
        for i, t in enumerate(arrivals):
            yield env.timeout(t - last)
            last = t
            env.process(caller(i))

    env.process(source())
    t0 = time.perf_counter()
    env.run(until=horizon)
    wall = time.perf_counter() - t0
    return n, abandoned[0] / max(n, 1), wall


def main() -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    hours = args.days * 24
    theory = erlang_a_metrics(LAM, AHT, PATIENCE, AGENTS, 20.0)

    q = stationary_queue(LAM, AHT, AGENTS, hours, args.seed, patience_s=PATIENCE)
    engine_rate = q.calls / q.wall_s
    n_plain, ab_plain, wall_plain = plain_simpy(LAM, AHT, AGENTS, PATIENCE, hours, args.seed)
    plain_rate = n_plain / wall_plain
    ratio = engine_rate / plain_rate
    out = {
        "calls": q.calls,
        "engine_calls_per_s": round(engine_rate),
        "plain_calls_per_s": round(plain_rate),
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "engine_p_abandon": round(q.p_abandon, 5),
        "plain_p_abandon": round(ab_plain, 5),
        "erlang_a_p_abandon": round(theory.p_abandon, 5),
        "pass": ratio >= TARGET_RATIO and math.isclose(q.p_abandon, theory.p_abandon, rel_tol=0.15),
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    raise SystemExit(0 if main()["pass"] else 1)
