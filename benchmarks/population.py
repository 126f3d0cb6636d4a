"""Population scale: a million accounts for a year in one replication.

Workload (issue 4): baseline behaviour with 1 000 000 accounts for 12 months, staffing
scaled with the volume so the service level stays near its target, one replication.
Target: at most 20 s wall time and 1 GB peak memory on a 2-core machine.

Each size runs in a fresh subprocess so its peak RSS (``ru_maxrss`` of the child, what
``/usr/bin/time -v`` reports as "Maximum resident set size") is its own.

Run: ``.venv/bin/python benchmarks/population.py [--sizes 100000 1000000 3000000]``
or one size under time:
``/usr/bin/time -v .venv/bin/python benchmarks/population.py --one 1000000``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_WALL_S = 20.0
TARGET_RSS_MB = 1024.0


def scaled_scenario(accounts: int, months: int):
    """Baseline with accounts, acquisition and every shift's head count scaled."""
    import sim

    base = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    k = accounts / base.customers.accounts
    changes: dict[str, object] = {
        "customers.accounts": accounts,
        "customers.acquisition_per_month": base.customers.acquisition_per_month * k,
        "calendar.months": months,
    }
    # Queueing economies of scale: staff scales less than linearly (square-root staffing).
    for gi, g in enumerate(base.contact_center.groups):
        for si, sh in enumerate(g.shifts or []):
            load = sh.agents * k
            changes[f"contact_center.groups[{gi}].shifts[{si}].agents"] = max(
                1, round(load * 0.55 + 1.5 * load**0.5)
            )
    return base.with_changes(changes)


def one(accounts: int, months: int) -> dict[str, float]:
    import sim

    t0 = time.perf_counter()
    sc = scaled_scenario(accounts, months)
    r = sim.simulate(sc)
    k = r.kpis()
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_calls = int(r.raw.calls["t_arrive"].size)
    return {
        "accounts": accounts,
        "months": months,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss),
        "calls": n_calls,
        "calls_per_s": round(n_calls / wall),
        "service_level": round(k["service_level"], 3),
        "abandonment_rate": round(k["abandonment_rate"], 3),
        "monthly_churn": round(k["monthly_churn"], 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000, 3_000_000])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--one", type=int, help="run one size in this process and print JSON")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.months)))
        return 0
    rows = []
    for n in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--months", str(args.months)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    ok = None
    print(f"\n{'accounts':>10} {'wall s':>8} {'peak MB':>8} {'calls':>9} {'calls/s':>8} {'SL':>6}")
    for r in rows:
        print(
            f"{r['accounts']:>10} {r['wall_s']:>8} {r['peak_rss_mb']:>8} {r['calls']:>9} "
            f"{r['calls_per_s']:>8} {r['service_level']:>6}"
        )
        if r["accounts"] == 1_000_000:
            ok = r["wall_s"] <= TARGET_WALL_S and r["peak_rss_mb"] <= TARGET_RSS_MB
    verdict = "not measured" if ok is None else ("pass" if ok else "FAIL")
    print(f"target at 1 000 000 accounts: <= {TARGET_WALL_S} s, <= {TARGET_RSS_MB} MB: {verdict}")
    return 1 if ok is False else 0


if __name__ == "__main__":
    raise SystemExit(main())
