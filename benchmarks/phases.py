"""Where one replication's time goes, phase by phase, against another checkout.

Workload: the baseline scaled to ``--accounts`` for ``--months`` (as ``population.py``:
acquisition scaled, staffed by Erlang A per interval), one replication in memory, then
its KPIs. Each phase is timed by wrapping its function: the bill days
(``bill_day``: churn, bills, the calls they bring), the after-calls phase (experiences,
grants, repeat calls), the event loop (``simpy.Environment.run``), the rest of
``simulate`` (set-up, staffing plan, acquisition, the tables' columns) and the KPIs.

Why: a hot-path change must be measured before and after in one run (machine noise on a
shared 2-core machine is ±10-30 % between runs minutes apart). ``--base DIR`` runs the
same workload on another checkout (e.g. a ``git worktree`` of the commit before the
change) alternately with this one, each run in a fresh process, and prints the best of
``--repeat`` runs of each, phase by phase, and the ratio. Phases are timed in CPU
seconds of the process (``time.process_time``), which time stolen by other virtual
machines does not inflate; the KPIs' customer value runs on both cores, so their CPU
exceeds their wall time. No target: it explains the figures of ``population.py`` and
``stream.py``.

Run: ``.venv/bin/python benchmarks/phases.py --accounts 1000000 --months 12 --base DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from checkout import run_in_checkout

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("bill_days", "after_calls", "event_loop", "rest_of_simulate", "kpis", "total", "wall")


def one(accounts: int, months: int) -> dict[str, float]:
    """The replication in this process: CPU seconds per phase, and the wall time."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import simpy
    from population import scaled_scenario

    import sim
    import sim.model.replication as replication

    spent = dict.fromkeys(PHASES, 0.0)

    def timed(function, phase: str):
        def wrapper(*args, **kwargs):
            t = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] += time.process_time() - t

        return wrapper

    replication.bill_day = timed(replication.bill_day, "bill_days")
    replication.after_calls = timed(replication.after_calls, "after_calls")
    simpy.Environment.run = timed(simpy.Environment.run, "event_loop")
    scenario = scaled_scenario(accounts, months)
    w0, t0 = time.perf_counter(), time.process_time()
    results = sim.simulate(scenario)
    t1 = time.process_time()
    results.kpis()
    t2, w2 = time.process_time(), time.perf_counter()
    spent["rest_of_simulate"] = (t1 - t0) - (
        spent["bill_days"] + spent["after_calls"] + spent["event_loop"]
    )
    spent["kpis"] = t2 - t1
    spent["total"] = t2 - t0
    spent["wall"] = w2 - w0
    return {k: round(v, 2) for k, v in spent.items()} | {
        "calls": int(results.raw.calls["t_arrive"].size)
    }


def _child(root: Path, accounts: int, months: int) -> dict[str, float]:
    args = ["--one", "--accounts", str(accounts), "--months", str(months)]
    return run_in_checkout(__file__, root, args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--base", type=Path, help="checkout to compare with, run alternately")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (best is kept)")
    ap.add_argument("--one", action="store_true", help="run in this process, print JSON")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.accounts, args.months)))
        return 0
    runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    for _ in range(args.repeat):
        if args.base is not None:
            runs["base"].append(_child(args.base, args.accounts, args.months))
            print("base", json.dumps(runs["base"][-1]), flush=True)
        runs["this"].append(_child(ROOT, args.accounts, args.months))
        print("this", json.dumps(runs["this"][-1]), flush=True)
    best = {who: {p: min(r[p] for r in rs) for p in PHASES} for who, rs in runs.items() if rs}
    print(f"\n{'phase (best CPU s)':<20}" + "".join(f"{who:>10}" for who in best))
    for p in PHASES:
        line = f"{p:<20}" + "".join(f"{best[who][p]:>10.2f}" for who in best)
        if "base" in best and best["base"][p] > 0:
            line += f"   {best['this'][p] / best['base'][p] - 1:+.0%}"
        print(line)
    if "base" in best:
        same = runs["base"][0]["calls"] == runs["this"][0]["calls"]
        print(f"same number of calls in both: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
