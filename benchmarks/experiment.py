"""Experiment runner: does a process pool pay, and what do the store and Dask cost?

Workload: the baseline scenario (200 000 accounts, 3 months), 8 replications, run
serially, on a local process pool with every core, with the results store, and on a
local Dask cluster. Targets: the pool's speed-up over serial is at least 0.75 × the
number of cores (process start and result transfer must stay small next to a run),
the store adds at most 10 % to the pool's time, and every executor gives identical
KPIs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiments.jobs import Variant  # noqa: E402
from sim.experiments.runner import run_experiment  # noqa: E402
from sim.experiments.store import Store  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def timed(**kwargs):
    start = time.perf_counter()
    result = run_experiment(**kwargs)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=8)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--months", type=int, help="horizon (default: the baseline's own)")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    if args.months:
        scenario = scenario.with_changes({"calendar.months": args.months})
    variants = [Variant("baseline", scenario)]
    cores = os.cpu_count() or 1
    common = {"variants": variants, "replications": args.replications}

    run_experiment(variants, 1, executor="serial")  # warm-up: imports, caches
    t_serial, serial = timed(executor="serial", **common)
    # best of three for the two timings compared with each other: on a shared machine a
    # single one-second measurement varies by more than the store's cost
    t_pool, pool = min((timed(executor="process", **common) for _ in range(3)), key=lambda x: x[0])
    with tempfile.TemporaryDirectory() as tmp:
        trials = []
        for i in range(3):
            store = Store(Path(tmp) / f"r{i}.sqlite")  # a fresh store: nothing to resume
            trials.append(timed(executor="process", store=store, **common))
        t_store, stored = min(trials, key=lambda x: x[0])
        size_kb = (Path(tmp) / "r0.sqlite").stat().st_size / 1024
    rows = [
        ("serial", t_serial, serial),
        (f"process pool ({cores} workers)", t_pool, pool),
        ("process pool + store", t_store, stored),
    ]
    if not args.no_dask:
        t_dask, dasked = timed(executor="dask", **common)
        rows.append((f"dask local cluster ({cores} workers)", t_dask, dasked))

    print(f"baseline, {args.replications} replications, {cores} cores")
    for name, t, _ in rows:
        print(f"  {name:<34} {t:6.1f} s  {args.replications / t:5.2f} runs/s")
    speedup = t_serial / t_pool
    overhead = t_store / t_pool - 1
    identical = all(r.kpis().equals(serial.kpis()) for _, _, r in rows)
    print(f"  speed-up of the pool: {speedup:.2f} (target >= {0.75 * cores:.2f})")
    print(f"  store overhead: {overhead * 100:+.1f} % (target <= 10 %), file {size_kb:.0f} kB")
    print(f"  identical KPIs across executors: {identical}")
    ok = speedup >= 0.75 * cores and overhead <= 0.10 and identical
    print("target met" if ok else "TARGET MISSED")
    pd.set_option("display.width", 120)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
