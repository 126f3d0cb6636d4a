"""Run a benchmark script on some checkout of the code, in a fresh process.

Why: speed-ups are ratios against the commit before a change, measured alternately in
one session (machine noise is larger than most changes); a fresh process per run also
makes each run's peak memory its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_in_checkout(script: str, root: Path, args: list[str]) -> dict:
    """``python script args`` importing ``sim`` from checkout ``root``; the last line
    it prints, as JSON."""
    proc = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
