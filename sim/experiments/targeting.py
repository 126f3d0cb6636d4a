"""Whom to offer a discount: scores fitted on simulated history, their AUC, a pilot, uplift.

Why here: a company can only target from what it observes. These functions build the
evidence it would have -- a history run without targeting, a randomised pilot -- from
the simulation, fit the scores on it (logistic regressions, scikit-learn) and set the
policies of sim.policies.targeting, which then run anywhere with numpy alone.

The workflow (README, "Targeting discounts from what a company can see"):

1. ``call_history(scenario, seed)``: one row per call with its observable columns
   (``sim.policies.targeting.OBSERVED``), its month and when the account left.
2. ``fit_churn_score(history, train_months=k)`` on calls of months < k, label: the
   account left within ``days`` days of the call (its next bill); ``discrimination``
   reports the AUC on the held-out later months (and the true hazard's, as a yardstick).
3. ``call_history(scenario, seed, discount_policy=PilotDiscount(...))`` then
   ``pilot_table`` (first call of each account, its arm) and ``fit_uplift`` (T-learner:
   one churn model per arm; uplift = P(leave | no offer) − P(leave | offer)).
4. ``targeted(score, history, share, pct)``: the policy offering to the top ``share`` of
   callers by the score (the threshold is that quantile on the history's calls), so risk
   and uplift targeting with the same share make about the same number of offers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from sim.core.codes import REASONS
from sim.core.optional import require
from sim.model.replication import simulate
from sim.policies.catalogue import build_priority
from sim.policies.context import DiscountPolicy
from sim.policies.targeting import (
    ChurnScore,
    ContextRecorder,
    PilotDiscount,
    RiskTargetedDiscount,
    UpliftScore,
    UpliftTargetedDiscount,
    design,
    feature_names,
)
from sim.results import Results
from sim.scenario import Scenario
from sim.scenario.calendar import DAY_S

LABEL_DAYS = 32.0
"""Window of the churn label: an account bills once a month, so 32 days after a call
hold its next bill date."""

REASON_CODES: dict[str, int] = {r: i for i, r in enumerate(REASONS)}

UPLIFT_DAYS = 92.0
"""Window of the pilot's outcome: a discount's effect spans its bills and fades later."""


@dataclass(frozen=True)
class History:
    """A simulated history: one row per call (``frame``) and the run it came from."""

    frame: pd.DataFrame
    results: Results
    n_segments: int

    def label(self, days: float = LABEL_DAYS) -> tuple[np.ndarray, np.ndarray]:
        """(left within ``days`` days of the call, whether that is known by the end)."""
        return churn_label(self.frame, days)


def call_history(
    scenario: Scenario,
    seed: int | None = None,
    *,
    discount_policy: DiscountPolicy | None = None,
) -> History:
    """Run ``scenario`` once and keep the observable screen of every call created.

    Columns: ``OBSERVED``, ``true_risk`` (the model's hazard: a yardstick, never a
    feature), ``month`` (of the horizon), ``churned_s`` (when the account left, NaN if
    it stayed), ``horizon_s``.
    """
    p = scenario.policies.priority
    recorder = ContextRecorder(build_priority(p.name, p.params))
    results = simulate(scenario, seed, discount_policy=discount_policy, priority_policy=recorder)
    frame = pd.DataFrame(recorder.columns())
    raw = results.raw
    account = frame["account"].to_numpy(dtype=np.int64)
    frame["month"] = np.searchsorted(raw.month_starts_s, frame["time_s"], side="right") - 1
    frame["churned_s"] = np.asarray(raw.customers["churned_s"], dtype=float)[account]
    frame["horizon_s"] = float(raw.month_starts_s[-1])
    return History(frame, results, len(raw.segment_names))


def churn_label(frame: pd.DataFrame, days: float) -> tuple[np.ndarray, np.ndarray]:
    """Whether each call's account left within ``days`` days after the screen was read,
    and whether the window ended inside the horizon (else the label is unknown)."""
    t = frame["time_s"].to_numpy(dtype=float)
    left = frame["churned_s"].to_numpy(dtype=float)
    end = t + days * DAY_S
    y = np.nan_to_num(left, nan=np.inf) <= end
    y &= np.nan_to_num(left, nan=-np.inf) > t
    known = end <= frame["horizon_s"].to_numpy(dtype=float)
    return y, known


def fit_score(frame: pd.DataFrame, y: np.ndarray, n_segments: int, c: float = 1.0) -> ChurnScore:
    """Logistic regression of ``y`` on the observable features of ``frame`` (L2 penalty
    ``1/c`` on standardised features, so rare flags and one-hot columns stay finite)."""
    if frame.shape[0] != y.size or y.size == 0:
        raise ValueError(f"need one label per row and some rows (got {y.size}, {frame.shape[0]})")
    if y.all() or not y.any():
        raise ValueError("labels must contain both outcomes to fit a score")
    linear = require("sklearn.linear_model")
    x = design(frame, n_segments)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = linear.LogisticRegression(C=c, max_iter=1000)
    model.fit((x - mean) / scale, y.astype(int))
    return ChurnScore(
        coef=model.coef_[0].astype(float),
        intercept=float(model.intercept_[0]),
        mean=mean,
        scale=scale,
        n_segments=n_segments,
        names=tuple(feature_names(n_segments)),
    )


def fit_churn_score(
    history: History, train_months: int, days: float = LABEL_DAYS, c: float = 1.0
) -> ChurnScore:
    """Churn score fitted on the calls of months ``< train_months`` whose label is known."""
    y, known = history.label(days)
    rows = known & (history.frame["month"].to_numpy() < train_months)
    return fit_score(history.frame[rows], y[rows], history.n_segments, c)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count half), by the Mann–Whitney rank sum."""
    y = np.asarray(y, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs both outcomes")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def discrimination(
    score: ChurnScore, history: History, train_months: int, days: float = LABEL_DAYS
) -> dict[str, float]:
    """AUC of ``score`` on the fitting months and on the held-out later months of
    ``history`` (labels known), beside the true hazard's AUC on the held-out months
    (what an oracle would reach) and the held-out churn rate."""
    y, known = history.label(days)
    month = history.frame["month"].to_numpy()
    pred = score.predict(history.frame)
    risk = history.frame["true_risk"].to_numpy()
    train = known & (month < train_months)
    held = known & (month >= train_months)
    return {
        "auc_train": auc(y[train], pred[train]),
        "auc_holdout": auc(y[held], pred[held]),
        "auc_true_hazard_holdout": auc(y[held], risk[held]),
        "n_train": float(train.sum()),
        "n_holdout": float(held.sum()),
        "churn_rate_holdout": float(y[held].mean()),
    }


def pilot_table(history: History, pilot: PilotDiscount, days: float = UPLIFT_DAYS) -> pd.DataFrame:
    """First eligible call of each account in a pilot run, with its arm (``treated``),
    its outcome (``left``: left within ``days`` days) and only rows whose outcome is known."""
    frame = history.frame
    ok = np.ones(len(frame), dtype=bool)
    if pilot.reasons is not None:
        codes = [REASON_CODES[r] for r in pilot.reasons]
        ok = np.isin(frame["reason"].to_numpy(), codes)
    y, known = churn_label(frame, days)
    out = frame.assign(left=y, known=known)[ok]
    out = out.drop_duplicates("account", keep="first")
    out = out[out["known"]].drop(columns="known")
    return out.assign(treated=pilot.assigned(out["account"].to_numpy(dtype=np.int64)))


def fit_uplift(table: pd.DataFrame, n_segments: int, c: float = 1.0) -> UpliftScore:
    """T-learner on a pilot table: a churn model per arm on the observable features;
    uplift = P(leave | hold-out) − P(leave | offer)."""
    treated = table["treated"].to_numpy(dtype=bool)
    y = table["left"].to_numpy(dtype=bool)
    return UpliftScore(
        treated=fit_score(table[treated], y[treated], n_segments, c),
        control=fit_score(table[~treated], y[~treated], n_segments, c),
    )


def observed_uplift(table: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Churn of each arm and their difference per ``by`` group of a pilot table (the
    pilot's direct, model-free estimate, to check the T-learner against)."""
    g = table.groupby([by, "treated"])["left"].agg(["mean", "size"]).unstack("treated")
    out = pd.DataFrame(
        {
            "churn_holdout": g[("mean", False)],
            "churn_offer": g[("mean", True)],
            "n_holdout": g[("size", False)],
            "n_offer": g[("size", True)],
        }
    )
    out["uplift"] = out["churn_holdout"] - out["churn_offer"]
    return out


def targeted(
    score: ChurnScore | UpliftScore,
    history: History,
    share: float,
    pct: float,
    reasons: tuple[str, ...] | None = None,
) -> RiskTargetedDiscount | UpliftTargetedDiscount:
    """The policy offering ``pct`` to the top ``share`` of eligible callers by ``score``:
    the threshold is the (1 − share) quantile of the score over the history's calls."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1] (got {share})")
    frame = history.frame
    if reasons is not None:
        frame = frame[np.isin(frame["reason"].to_numpy(), [REASON_CODES[r] for r in reasons])]
    threshold = float(np.quantile(score.predict(frame), 1.0 - share))
    if isinstance(score, UpliftScore):
        return UpliftTargetedDiscount(score, pct, threshold, reasons)
    return RiskTargetedDiscount(score, pct, threshold, reasons)
