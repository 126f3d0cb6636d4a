"""The benchmark scripts still run: each at its smallest size, in a fresh process.

Why: the scripts are not part of the library, so nothing else imports them, and a change
of the library's API broke one unnoticed (``experiment.py`` read ``ExperimentResult.kpis``
as a table after it became a method). Their timings are not asserted here (a timed unit
test fails on a busy machine and proves nothing about speed, see benchmarks/README.md):
exit status 0 (target met) or 1 (missed) both pass, a traceback or a missing verdict
fails. Not run here, for their length at any size: ``optimise.py`` and ``netopt.py``
(20-70 s), ``calibrate.py`` (the bank data, ~1 min), and the studies ``targeting.py``
and ``value_verdicts.py``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: script and arguments at the smallest size that still exercises every step, and a
#: piece of the verdict the script prints when it finishes
SMALLEST = {
    "contact_center": (["--days", "0.1"], '"pass":'),
    "population": (["--sizes", "2000", "--months", "1"], "target at 1 000 000 accounts"),
    "phases": (["--accounts", "2000", "--months", "1", "--repeat", "1"], "event_loop"),
    "stream": (["--accounts", "2000", "--months", "1"], "(target <= 180 s)"),
    "experiment": (["--replications", "1", "--months", "1", "--no-dask"], "identical KPIs"),
    "scale": (["--replications", "1", "--months", "1", "--rounds", "1"], "KPIs identical"),
    "app_refresh": (["--runs", "2", "--repeat", "1", "--rounds", "1"], "(target 0.25 s)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_benchmark_runs_to_its_verdict(script: str, tmp_path: Path) -> None:
    args, verdict = SMALLEST[script]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), *args],
        cwd=tmp_path,  # nothing is written beside the repository
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BILLSIM_STORE": str(tmp_path / "runs.sqlite")},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    assert verdict in done.stdout, done.stdout


#: scripts ``make bench`` leaves out, and why
NOT_IN_MAKE_BENCH = {
    "run": "make bench itself",
    "checkout": "a helper: runs a script in another checkout",
    "phases": "no target: explains population.py's and stream.py's figures",
    "targeting": "a study of the decisions issue, no target",
    "value_verdicts": "a study of the decisions issue, no target",
}


def test_make_bench_runs_every_script_with_a_target() -> None:
    """A new benchmark script is either run by ``make bench`` or left out with a reason."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    listed = {Path(cmd[1]).stem for cmd in run.WORKLOADS}
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert listed == scripts - set(NOT_IN_MAKE_BENCH)
