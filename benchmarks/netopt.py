"""Net-value optimiser: the baseline's first month, the default space, within 60 s.

Workload: ``scenarios/baseline.yaml`` cut to its first month (``--months 1``), the
default candidate space (12 plans: staffing as given, ×0.85, ×1.15 and Erlang A at the
target, each with the discounts as given, flat 5 % and flat 10 %), 5 first-stage runs,
up to 20 per survivor, 5 hold-out runs, on a local process pool of 2 workers. Target:
the whole optimisation (screen, allocate, hold-out check) finishes within 60 s wall.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiments.netopt import optimise_net  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

TARGET_S = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--holdout", type=int, default=None)
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    scenario = scenario.with_changes({"calendar.months": args.months})
    start = time.perf_counter()
    result = optimise_net(
        scenario,
        replications=args.replications,
        holdout=args.holdout,
        workers=args.workers,
    )
    wall = time.perf_counter() - start
    s = result.summary()
    print(
        f"{s['candidates']} candidates, {s['survivors']} survived the screen, "
        f"{s['search_replications']} runs per survivor, {s['runs']} runs in all"
    )
    print(f"chosen: {s['best']} (net {s['best_net']:,.0f}); holds on fresh seeds: {s['holds']}")
    ok = wall <= TARGET_S
    print(f"wall {wall:.1f} s (target <= {TARGET_S:.0f} s): {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
