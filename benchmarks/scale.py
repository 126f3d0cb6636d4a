"""Experiments scale: a sweep on 2 local workers vs serial, and Dask's cost per job.

Workload: a sweep of 2 staffing variants of the baseline (6 months, so each job runs
for more than a second) × 4 replications = 8 jobs, run serially, on the local process
pool with 2 workers, and on a local Dask cluster of 2 separate worker processes that
this script starts (start-up and a warm-up job excluded: a sweep pays them once).

Targets (issue 17): the pool's wall time ≤ 0.6 × serial; Dask's overhead per job ≤ 5 %
of a job's run time, where overhead = (wall × workers / jobs − mean serial job time)
/ mean serial job time; every executor gives the same KPIs as serial, bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiments.jobs import Variant  # noqa: E402
from sim.experiments.runner import run_experiment  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

TARGET_POOL_RATIO = 0.6
TARGET_DASK_OVERHEAD = 0.05
WORKERS = 2


def timed(**kwargs):
    start = time.perf_counter()
    result = run_experiment(**kwargs)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml").with_changes(
        {"calendar.months": args.months}
    )
    more = base.with_changes(
        {
            "contact_center.groups[1].shifts[0].agents": base.contact_center.groups[1]
            .shifts[0]
            .agents
            + 1
        }
    )
    variants = [Variant("baseline", base), Variant("one more agent", more)]
    common = {"variants": variants, "replications": args.replications}
    jobs = len(variants) * args.replications

    run_experiment(variants[:1], 1, executor="serial")  # warm-up: imports, caches
    t_serial, serial = timed(executor="serial", **common)
    t_pool, pool = timed(executor="process", workers=WORKERS, **common)
    distributed = __import__("distributed")
    with (
        distributed.LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        run_experiment(variants[:1], WORKERS, executor=client)  # warm both workers
        t_dask, dasked = timed(executor=client, **common)

    job_s = t_serial / jobs
    pool_ratio = t_pool / t_serial
    dask_overhead = (t_dask * WORKERS / jobs - job_s) / job_s
    pool_overhead = (t_pool * WORKERS / jobs - job_s) / job_s
    same = all(r.kpis().equals(serial.kpis()) for r in (pool, dasked))
    print(f"sweep of {jobs} jobs ({args.months} months each), {WORKERS} workers")
    print(f"  serial      {t_serial:6.1f} s  ({job_s:.2f} s a job)")
    print(
        f"  process     {t_pool:6.1f} s  ratio {pool_ratio:.2f} (target <= {TARGET_POOL_RATIO})"
        f", overhead {pool_overhead * 100:+.1f} % a job"
    )
    print(
        f"  dask        {t_dask:6.1f} s  overhead {dask_overhead * 100:+.1f} % a job "
        f"(target <= {TARGET_DASK_OVERHEAD * 100:.0f} %)"
    )
    print(f"  KPIs identical to serial: {same}")
    ok = pool_ratio <= TARGET_POOL_RATIO and dask_overhead <= TARGET_DASK_OVERHEAD and same
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
