"""The golden numbers: every KPI and a hash of every output table for fixed small runs.

Why: a refactor or a speed-up must not move a number. ``compute()`` runs the baseline and
two what-ifs (small, with staffing cut so that queues form) for three seeds each, plus a
two-variant experiment with three replications, and returns everything as plain JSON.
``tests/test_golden.py`` compares it exactly with ``golden.json``.

When a change moves numbers on purpose, regenerate in a commit of its own whose message
says which numbers changed and why::

    .venv/bin/python tests/golden/golden.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden.json")
SCENARIOS = ("baseline", "understaffed", "billing_incident", "baseline+targeted")
#: The baseline grants no discounts; this what-if exercises the offer, escalation and budget.
TARGETED = {
    "policies.discount.name": "churn_risk_targeted",
    "policies.discount.escalate_to": "billing_specialists",
    "policies.discount.accept_half_pct": 5,
}
SEEDS = (1, 2, 3)
ACCOUNTS = 25_000  # an eighth of the baseline
SCALE = 0.125


def small(name: str):
    """The named scenario file at an eighth of its size: accounts, acquisition and agents."""
    import sim

    file, _, extra = name.partition("+")
    scenario = sim.load_scenario(ROOT / "scenarios" / f"{file}.yaml")
    changes: dict[str, Any] = {
        **(TARGETED if extra == "targeted" else {}),
        "customers.accounts": ACCOUNTS,
        "customers.acquisition_per_month": scenario.customers.acquisition_per_month * SCALE,
    }
    for g, group in enumerate(scenario.contact_center.groups):
        for s, shift in enumerate(group.shifts):
            changes[f"contact_center.groups[{g}].shifts[{s}].agents"] = math.ceil(
                shift.agents * SCALE
            )
    return scenario.with_changes(changes)


def column_hashes(df: pd.DataFrame) -> dict[str, str]:
    """One short hash per column (values and dtype), so a diff names the column that moved."""
    out = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(str)
        h = hashlib.sha256(str(s.dtype).encode())
        h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
        out[str(col)] = h.hexdigest()[:16]
    return out


def _kpis(kpis: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(kpis.items())}


def compute() -> dict[str, Any]:
    """Everything the golden test pins, as JSON-ready data."""
    import sim
    from sim.experiments.jobs import Variant
    from sim.experiments.runner import run_experiment

    runs: dict[str, Any] = {}
    for name in SCENARIOS:
        scenario = small(name)
        for seed in SEEDS:
            res = sim.simulate(scenario, seed=seed)
            tables = {
                "calls": res.calls(),
                "intervals": res.intervals(),
                "monthly": res.monthly(),
                "customers": res.customers(),
                "segments": res.segments(),
            }
            runs[f"{name}/seed={seed}"] = {
                "kpis": _kpis(res.kpis()),
                "rows": {t: len(df) for t, df in tables.items()},
                "tables": {t: column_hashes(df) for t, df in tables.items()},
            }
    variants = [
        Variant("baseline", small("baseline")),
        Variant("cut", small("understaffed")),
        Variant("targeted", small("baseline+targeted")),
    ]
    exp = run_experiment(variants, replications=3, executor="serial")
    summary = exp.summary().sort_values(["variant", "kpi"]).reset_index(drop=True)
    paired = exp.paired("baseline").sort_values(["variant", "kpi"]).reset_index(drop=True)
    return {
        "runs": runs,
        "experiment": {
            "summary": column_hashes(summary),
            "paired": column_hashes(paired),
            "means": {f"{r.variant}/{r.kpi}": float(r.mean) for r in summary.itertuples()},
        },
    }


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every leaf that differs, as 'path: expected -> actual'."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in sorted(set(expected) | set(actual)):
            p = f"{path}/{k}" if path else str(k)
            if k not in actual:
                out.append(f"{p}: missing now")
            elif k not in expected:
                out.append(f"{p}: new (not in golden.json)")
            else:
                out.extend(diff(expected[k], actual[k], p))
        return out
    return [] if expected == actual else [f"{path}: {expected!r} -> {actual!r}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate golden.json")
    args = parser.parse_args(argv)
    data = compute()
    if args.write:
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
        return 0
    problems = diff(json.loads(GOLDEN.read_text()), data)
    print("\n".join(problems) or "golden numbers unchanged")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
