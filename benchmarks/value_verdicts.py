"""Paired comparisons on the baseline: discount frontier and horizon stability.

Run: ``python benchmarks/value_verdicts.py horizon REPS`` or
``python benchmarks/value_verdicts.py frontier REPS MONTHS [POLICY]`` (POLICY: ``flat``,
the default, or another built-in discount rule whose percentage parameter is ``pct``,
e.g. ``churn_risk_targeted``).
"""

import sys
import time

import numpy as np

from sim.experiments.statistics import t_interval
from sim.model import simulate
from sim.scenario.loading import load_scenario

sc0 = load_scenario("scenarios/baseline.yaml")
which = sys.argv[1]
reps = int(sys.argv[2])


def scale(sc, f):
    ch = {}
    for gi, g in enumerate(sc.contact_center.groups):
        for si, sh in enumerate(g.shifts or []):
            ch[f"contact_center.groups[{gi}].shifts[{si}].agents"] = max(1, round(sh.agents * f))
    return sc.with_changes(ch)


def flat(sc, pct, policy="flat"):
    return sc.with_changes(
        {
            "policies.discount.name": policy,
            "policies.discount.params": {"pct": pct},
            "policies.discount.authority_pct": {},
            "policies.discount.budget_per_month": None,
        }
    )


def paired(base, other, seeds, key="net"):
    d = []
    for s in seeds:
        a = simulate(base, seed=s).kpis()
        b = simulate(other, seed=s).kpis()
        d.append(b[key] - a[key])
    _n, m, _sd, lo, hi = t_interval(np.array(d), 0.95)
    return m, lo, hi


t = time.time()
if which == "frontier":
    sc = sc0.with_changes({"calendar.months": int(sys.argv[3])})
    seeds = range(1, reps + 1)
    base = {s: simulate(sc, seed=s) for s in seeds}
    policy = sys.argv[4] if len(sys.argv) > 4 else "flat"
    for pct in (0, 5, 10, 15, 20, 30, 50):
        v = flat(sc, pct, policy)
        dn, dk, dc = [], [], []
        for s in seeds:
            r = simulate(v, seed=s)
            dn.append(r.kpis()["net"] - base[s].kpis()["net"])
            dk.append(r.customers()["active"].sum() - base[s].customers()["active"].sum())
            dc.append(r.segments()["discount_committed"].sum())
        _, m, _, lo, hi = t_interval(np.array(dn), 0.95)
        print(
            f"{policy} {pct:>3} %: Δnet {m:>10.0f} [{lo:>10.0f}, {hi:>10.0f}]"
            f"  Δactive {np.mean(dk):6.1f}  committed {np.mean(dc):9.0f}",
            flush=True,
        )
else:
    for months in (1, 3, 6, 12):
        sc = sc0.with_changes({"calendar.months": months})
        for name, v in (
            ("halve staff", scale(sc, 0.5)),
            ("+50 % staff", scale(sc, 1.5)),
            ("flat 10 %", flat(sc, 10)),
        ):
            m, lo, hi = paired(sc, v, range(1, reps + 1))
            print(
                f"{months:>2} months {name:12s}: Δnet {m:>10.0f} [{lo:>10.0f}, {hi:>10.0f}]",
                flush=True,
            )
print(f"{time.time() - t:.0f}s")
