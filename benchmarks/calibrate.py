"""Calibration benchmark: read and fit the 9 Anonymous Bank months, back-test one month.

Targets (2-core machine): read + fit 9 months < 60 s; one back-test month < 60 s. Exits
1 when either is missed (0 without the data: nothing to measure).
Run: PYTHONPATH=. .venv/bin/python benchmarks/calibrate.py  (needs the bank data).
"""

from __future__ import annotations

import sys
import time

from sim.calibrate import backtest, fit_logs, read_anonymous_bank
from sim.calibrate.backtest import summary
from sim.calibrate.readers import anonymous_bank_dir, anonymous_bank_files

TARGET_S = 60.0


def main() -> int:
    files = anonymous_bank_files()
    if not files:
        print(f"Anonymous Bank data not found at {anonymous_bank_dir()}; nothing to measure")
        return 0
    t0 = time.perf_counter()
    log = read_anonymous_bank(files)
    t_read = time.perf_counter() - t0
    fit = fit_logs(log)
    t_fit = time.perf_counter() - t0
    print(f"read 9 months: {t_read:.1f} s; read + fit: {t_fit:.1f} s (target < {TARGET_S:.0f} s)")
    print(f"{len(log.calls)} calls, {fit.patience.events} abandonments, quirks {fit.quirks}")
    months = log.months()
    train, held = [m for m in months if m < "1999-09"], ["1999-09"]
    fit_train = fit_logs(log, months=train)
    bt = backtest(log, train, held, replications=5, fit=fit_train)
    print(
        f"back-test of {held[0]}, 5 replications: {bt.seconds_per_month:.1f} s"
        f" (target < {TARGET_S:.0f} s)"
    )
    known = backtest(log, train, held, replications=5, fit=fit_train, mode="known")
    fine = [
        backtest(log, train, held, 5, fit=fit_train, mode=m, agent_minutes=5)
        for m in ("forecast", "known")
    ]
    fmt = {"float_format": lambda x: f"{x:.3g}"}
    sp = bt.special[bt.special["special"]]
    print(
        "special days:",
        "; ".join(f"{d:%Y-%m-%d} {w}" for d, w in zip(sp.day, sp.reason, strict=True)),
    )
    print(summary([bt, known, *fine]).to_string(index=False, **fmt))
    for r in (bt, known, *fine):
        for inc in (True, False):
            label = "all days" if inc else "regular days"
            agents = f", agents per {r.agent_minutes} min" if r.agent_minutes else ""
            print(f"pooled, {r.mode} mode{agents}, {label}:")
            print(r.pooled(inc).to_string(**fmt))
    met = t_fit < TARGET_S and bt.seconds_per_month < TARGET_S
    print("targets met" if met else "target missed")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
