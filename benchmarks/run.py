"""Run every reference workload and report pass/fail against its target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = [
    [sys.executable, str(HERE / "contact_center.py")],
    [sys.executable, str(HERE / "population.py"), "--sizes", "100000", "1000000"],
    [sys.executable, str(HERE / "experiment.py")],
    [sys.executable, str(HERE / "scale.py")],  # a sweep on 2 workers and on local Dask
    [sys.executable, str(HERE / "netopt.py")],
    [sys.executable, str(HERE / "optimise.py")],
    [sys.executable, str(HERE / "app_refresh.py")],  # a click with 40 past runs kept
    [sys.executable, str(HERE / "calibrate.py")],  # skipped without the bank data
    [sys.executable, str(HERE / "stream.py")],  # 10 M accounts: ~3.5 minutes, ~4 GB
]


def main() -> int:
    failed = 0
    for cmd in WORKLOADS:
        print(
            f"$ {' '.join(Path(c).name if i else 'python' for i, c in enumerate(cmd))}", flush=True
        )
        failed += subprocess.run(cmd, check=False).returncode != 0
    print("all targets met" if not failed else f"{failed} workload(s) missed the target")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
