"""Ten million accounts for a year in one replication, streamed to Parquet.

Workload (issue 17 item 2): baseline behaviour with 10 000 000 accounts for 12 months,
staffed by Erlang A per interval (as ``population.py``), one replication with
``simulate(stream_to=DIR)``: finished calls are appended to ``DIR/calls.parquet`` as the
run goes and forgotten, so memory holds the accounts and the live calls, not the history.
Target: at most 180 s wall time and 8 GB peak RSS on the 2-core development machine.

The run is a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own. Where the time
goes is read off the run's own progress callback: *setup* (population, the staffing plan
by Erlang A), *day loop* (the simulation, with the streaming writes timed separately),
*finish* (customers table, then intervals, monthly and KPIs computed from the streamed
calls, written beside them).

Run: ``.venv/bin/python benchmarks/stream.py [--accounts 1000000] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_WALL_S = 180.0
TARGET_RSS_MB = 8 * 1024.0


def one(accounts: int, months: int, folder: Path) -> dict[str, float]:
    """The streamed run in this process; seconds per phase, peak RSS, sizes."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from population import scaled_scenario

    import sim
    from sim.center.engine import ContactCenter
    from sim.model import sink

    spent = {"write": 0.0, "held": 0}

    def timed(method):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent["write"] += time.perf_counter() - t

        return wrapper

    def counted(method):
        def wrapper(self, consumed):
            spent["held"] = max(spent["held"], self.n_calls)
            return method(self, consumed)

        return wrapper

    sink.CallSink._flush = timed(sink.CallSink._flush)  # writing and forgetting calls
    ContactCenter.compact = counted(ContactCenter.compact)  # call records held at most
    marks: dict[str, float] = {}

    def progress(fraction: float, message: str) -> None:
        if "loop" not in marks:
            marks["loop"], marks["loop_cpu"] = time.perf_counter(), time.process_time()
        if fraction >= 1.0:
            marks["done"], marks["done_cpu"] = time.perf_counter(), time.process_time()

    t0, c0 = time.perf_counter(), time.process_time()
    sc = scaled_scenario(accounts, months)
    r = sim.simulate(sc, stream_to=folder, progress=progress)
    k = r.kpis()
    t_sim, c_sim = time.perf_counter(), time.process_time()
    wall = t_sim - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    n_calls = r.raw.calls.n_calls
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        "accounts": accounts,
        "months": months,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "setup_s": round(marks["loop"] - t0, 1),
        "loop_s": round(marks["done"] - marks["loop"], 1),
        "stream_write_s": round(spent["write"], 1),
        "finish_s": round(t_sim - marks["done"], 1),
        "setup_cpu_s": round(marks["loop_cpu"] - c0, 1),
        "loop_cpu_s": round(marks["done_cpu"] - marks["loop_cpu"], 1),
        "finish_cpu_s": round(c_sim - marks["done_cpu"], 1),
        "calls": n_calls,
        "calls_held_max": spent["held"],
        "calls_per_s": round(n_calls / wall),
        "folder_mb": round(size / 1024**2),
        "service_level": round(k["service_level"], 3),
        "monthly_churn": round(k["monthly_churn"], 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--keep", type=Path, help="stream to this new folder and keep it")
    ap.add_argument("--one", action="store_true", help="run in this process, print JSON")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.accounts, args.months, args.keep)))
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="billsim-stream-"))
    folder = args.keep or scratch / "run"
    try:
        child = ["--one", "--accounts", str(args.accounts), "--months", str(args.months)]
        proc = subprocess.run(
            [sys.executable, __file__, *child, "--keep", str(folder)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(r))
    ok = r["wall_s"] <= TARGET_WALL_S and r["peak_rss_mb"] <= TARGET_RSS_MB
    print(
        f"{r['accounts']:,} accounts × {r['months']} months streamed: {r['calls']:,} calls, "
        f"wall {r['wall_s']} s (target <= {TARGET_WALL_S:.0f} s), peak RSS "
        f"{r['peak_rss_mb']:,} MB (target <= {TARGET_RSS_MB:,.0f} MB): "
        f"{'pass' if ok else 'FAIL'}\n"
        f"  wall (CPU) s: setup (population, Erlang A staffing) {r['setup_s']} "
        f"({r['setup_cpu_s']}), day loop {r['loop_s']} ({r['loop_cpu_s']}; writing and "
        f"forgetting calls {r['stream_write_s']} wall), finish (customers, KPIs from the "
        f"streamed calls) {r['finish_s']} ({r['finish_cpu_s']}); CPU in all {r['cpu_s']} s\n"
        f"  folder {r['folder_mb']:,} MB; at most {r['calls_held_max']:,} call records in "
        "memory at a midnight"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
