"""Targeting from observables: AUC of the fitted churn score and, in the retention-futility
case, risk vs uplift vs oracle targeting on net value (paired, common random numbers).

python benchmarks/targeting.py [replications]
"""

import sys
import time

import numpy as np

from sim.experiments.jobs import Variant
from sim.experiments.runner import run_experiment
from sim.experiments.targeting import (
    call_history,
    discrimination,
    fit_churn_score,
    fit_uplift,
    observed_uplift,
    pilot_table,
    targeted,
)
from sim.policies.discount import ChurnRiskDiscount
from sim.policies.targeting import PilotDiscount
from sim.scenario.loading import load_scenario

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
base = load_scenario("scenarios/baseline.yaml")

# 1. discrimination on the baseline's own customers (10 000 accounts, 6 months)
b = base.with_changes(
    {"customers.accounts": 10000, "customers.acquisition_per_month": 120, "calendar.months": 6}
)
h = call_history(b, seed=11)
print("baseline", {k: round(v, 3) for k, v in discrimination(fit_churn_score(h, 4), h, 4).items()})


def segment(name, churn, response):
    return {
        "name": name,
        "share": 0.5,
        "charge": {"dist": "lognormal", "mean": 60, "sd": 20},
        "tenure_months": {"dist": "exponential", "mean": 40},
        "patience_s": {"dist": "exponential", "mean": 300},
        "churn_base_monthly": churn,
        "gross_margin": 0.4,
        "discount_response": response,
    }


# 2. the futility case of tests/test_targeting.py
sc = base.with_changes(
    {
        "customers.accounts": 5000,
        "customers.acquisition_per_month": 60,
        "calendar.months": 6,
        "customers.segments": [segment("fragile", 0.05, 0.0), segment("responsive", 0.01, 1.0)],
        "retention.effects.discount": -3.0,
        "policies.discount.budget_per_month": None,
        "policies.discount.authority_pct": {"tier1": 100, "billing_specialists": 100},
    }
)
h = call_history(sc, seed=11)
score = fit_churn_score(h, 4)
print("futility", {k: round(v, 3) for k, v in discrimination(score, h, 4).items()})
pilot = PilotDiscount(pct=20, share=0.5, seed=5)
big = sc.with_changes({"customers.accounts": 20000, "customers.acquisition_per_month": 240})
table = pilot_table(call_history(big, seed=12, discount_policy=pilot), pilot)
print(observed_uplift(table).round(4).to_string())
uplift = fit_uplift(table, h.n_segments)
oracle = ChurnRiskDiscount(pct=20, min_risk=float(np.quantile(h.frame["true_risk"], 0.7)))
variants = [
    Variant("risk", sc, {"discount_policy": targeted(score, h, 0.3, 20)}),
    Variant("uplift", sc, {"discount_policy": targeted(uplift, h, 0.3, 20)}),
    Variant("oracle_risk", sc, {"discount_policy": oracle}),
]
t = time.perf_counter()
ex = run_experiment(variants, replications=reps, executor="serial", tables=())
print(f"{3 * reps} runs in {time.perf_counter() - t:.0f} s")
p = ex.paired("risk")
cols = ["variant", "kpi", "mean_base", "mean_diff", "ci_low", "ci_high"]
print(p[p["kpi"].isin(["net", "discount_cost", "retention"])][cols].round(4).to_string())
