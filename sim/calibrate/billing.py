"""Contacts after bills and churn hazard, from billing and account extracts and a log.

Why: the simulator's calls come from bills (a flag decides the chance of a call and its
reason) and customers leave at bill dates after bad experiences. These fits recover
those numbers from the data a planner has: P(contact | flag) and the reason mix with
Wilson 95 % intervals, the delay after the bill, and a discrete-time logistic churn
model (statsmodels) with one row per account and bill date faced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.codes import REASONS
from sim.core.optional import require

FLAGS = ("error", "shock", "routine")
EXPERIENCE_COLUMNS = ("long_wait", "abandoned")
"""Experiences a call log shows without resolution data (sim.world.retention's names)."""


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    z = 1.959964
    p = k / n
    c = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    return (max(0.0, mid - c), min(1.0, mid + c))


@dataclass
class BillingFit:
    contact: pd.DataFrame
    """flag, bills, contacted, p, lo, hi."""
    reasons: pd.DataFrame
    """flag, reason, calls, share, lo, hi."""
    delay_mean: float
    delay_sd: float
    delay_ci: tuple[float, float]
    delay_n: int
    churn: pd.DataFrame
    """term, coef, lo, hi (logistic regression), and rows/events in attrs."""
    churn_rows: int
    churn_events: int
    base_monthly: float

    def apply(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Put the fitted billing numbers into a scenario dict (bill-driven arrivals
        replace the forecast table); comments per field."""
        com: dict[str, str] = {}
        c = self.contact.set_index("flag")
        prob = {f: round(float(c.loc[f, "p"]), 6) if f in c.index else 0.0 for f in FLAGS}
        for f in FLAGS:
            if f in c.index:
                r = c.loc[f]
                com[f"billing.contact.probability.{f}"] = (
                    f"{r['p']:.4g} [95% {r['lo']:.4g}, {r['hi']:.4g}]; {int(r['bills'])} bills"
                )
        mixes = {}
        for f in FLAGS:
            sub = self.reasons[self.reasons["flag"] == f]
            mix = {
                r: float(s)
                for r, s in zip(sub["reason"], sub["share"], strict=True)
                if r in REASONS and s > 0
            }
            mixes[f] = mix or {"question": 1.0}
        total = self.delay_sd
        data["billing"] = {
            "contact": {
                "probability": prob,
                "reasons": mixes,
                "delay_days": {
                    "dist": "gamma",
                    "mean": round(self.delay_mean, 4),
                    "sd": round(max(total, 1e-3), 4),
                },
            }
        }
        com["billing.contact.delay_days"] = (
            f"mean {self.delay_mean:.3g} days [95% {self.delay_ci[0]:.3g}, "
            f"{self.delay_ci[1]:.3g}]; {self.delay_n} first calls"
        )
        data["contact_center"].pop("forecast", None)
        eff = self.churn.set_index("term")
        effects = {
            k: round(float(eff.loc[k, "coef"]), 4) for k in EXPERIENCE_COLUMNS if k in eff.index
        }
        data["retention"] = {"effects": effects}
        for k in effects:
            com[f"retention.effects.{k}"] = (
                f"logit coefficient {eff.loc[k, 'coef']:.3g} "
                f"[95% {eff.loc[k, 'lo']:.3g}, {eff.loc[k, 'hi']:.3g}]; "
                f"{self.churn_rows} account-bills, {self.churn_events} churned"
            )
        data["customers"]["segments"][0]["churn_base_monthly"] = round(self.base_monthly, 6)
        return data, com


def link_calls_to_bills(
    calls: pd.DataFrame, bills: pd.DataFrame, window_days: float = 28
) -> pd.DataFrame:
    """Each call with an account id, joined to that account's latest bill before it
    (within ``window_days``): account, bill_date, flag, delay_days, call_type."""
    c = calls[calls["account_id"].notna()][["account_id", "arrival", "call_type"]].copy()
    c["account"] = c["account_id"].astype(str)
    c = c.sort_values("arrival")
    b = bills[["account", "bill_date", "flag"]].sort_values("bill_date")
    m = pd.merge_asof(
        c, b, left_on="arrival", right_on="bill_date", by="account", direction="backward"
    )
    m["delay_days"] = (m["arrival"] - m["bill_date"]).dt.total_seconds() / 86400
    return m[m["bill_date"].notna() & (m["delay_days"] <= window_days)]


def fit_billing(
    calls: pd.DataFrame,
    bills: pd.DataFrame,
    accounts: pd.DataFrame,
    memory_months: float = 3.0,
    long_wait_s: float = 180.0,
    window_days: float = 28,
) -> BillingFit:
    """Contact probabilities, reason mix, delay and churn coefficients (see module)."""
    sm = require("statsmodels.api")

    linked = link_calls_to_bills(calls, bills, window_days)
    first = linked.sort_values("arrival").drop_duplicates(["account", "bill_date"])
    b = bills.merge(
        first[["account", "bill_date", "delay_days", "call_type"]],
        on=["account", "bill_date"],
        how="left",
    )
    rows = []
    for f in FLAGS:
        sub = b[b["flag"] == f]
        k, n = int(sub["delay_days"].notna().sum()), len(sub)
        lo, hi = wilson(k, n)
        rows.append(
            {
                "flag": f,
                "bills": n,
                "contacted": k,
                "p": k / n if n else float("nan"),
                "lo": lo,
                "hi": hi,
            }
        )
    contact = pd.DataFrame(rows)
    rrows = []
    for f in FLAGS:
        sub = b[(b["flag"] == f) & b["delay_days"].notna()]
        n = len(sub)
        for r, k in sub["call_type"].value_counts().items():
            lo, hi = wilson(int(k), n)
            rrows.append(
                {"flag": f, "reason": r, "calls": int(k), "share": k / n, "lo": lo, "hi": hi}
            )
    reasons = pd.DataFrame(rrows, columns=["flag", "reason", "calls", "share", "lo", "hi"])
    d = first["delay_days"].to_numpy()
    dn = d.size
    dm, dsd = (float(d.mean()), float(d.std(ddof=1))) if dn > 1 else (float("nan"), float("nan"))
    q = stats.t.ppf(0.975, max(dn - 1, 1))
    delay_ci = (dm - q * dsd / math.sqrt(max(dn, 1)), dm + q * dsd / math.sqrt(max(dn, 1)))
    panel = churn_panel(calls, bills, accounts, memory_months, long_wait_s)
    X = sm.add_constant(panel[[*EXPERIENCE_COLUMNS, "prev_shock", "tenure_years"]].astype(float))
    res = sm.Logit(panel["churned"].astype(float), X).fit(disp=0, maxiter=200)
    ci = res.conf_int()
    churn = pd.DataFrame(
        {
            "term": X.columns,
            "coef": res.params.to_numpy(),
            "lo": ci[0].to_numpy(),
            "hi": ci[1].to_numpy(),
        }
    )
    base = float(1 / (1 + math.exp(-res.params["const"])))
    return BillingFit(
        contact,
        reasons,
        dm,
        dsd,
        delay_ci,
        dn,
        churn,
        len(panel),
        int(panel["churned"].sum()),
        base,
    )


def churn_panel(
    calls: pd.DataFrame,
    bills: pd.DataFrame,
    accounts: pd.DataFrame,
    memory_months: float,
    long_wait_s: float,
) -> pd.DataFrame:
    """One row per account and bill date faced (a bill, or the churn date): churned, the
    faded experience counts (abandoned, long waits) of the calls ended on earlier days,
    the previous bill's shock flag and the tenure."""
    acc = accounts.set_index("account")
    faced = (
        bills[["account", "bill_date", "flag"]]
        .rename(columns={"bill_date": "date"})
        .assign(churned=0)
    )
    ch = accounts[accounts["churn_date"].notna()][["account", "churn_date"]].rename(
        columns={"churn_date": "date"}
    )
    faced = pd.concat([faced, ch.assign(flag="none", churned=1)], ignore_index=True)
    faced = faced.sort_values(["account", "date", "churned"], kind="stable").reset_index(drop=True)
    faced["prev_shock"] = (faced.groupby("account")["flag"].shift(1) == "shock").astype(float)
    c = calls[calls["account_id"].notna()].copy()
    c["account"] = c["account_id"].astype(str)
    ended = c["wait_s"] + c["service_s"].fillna(0.0)  # an experience counts once the call ends
    end_day = (c["arrival"] + pd.to_timedelta(ended, unit="s")).dt.normalize()
    c["day"] = end_day + pd.Timedelta(days=1)  # experiences count from the next midnight on
    c["abandoned"] = (c["outcome"] == "abandoned").astype(float)
    c["long_wait"] = ((c["outcome"] == "answered") & (c["wait_s"] > long_wait_s)).astype(float)
    ev = c[["account", "day", "abandoned", "long_wait"]].sort_values("day")
    # experiences between consecutive faced dates, then faded by exp(-1/memory) per date
    faced["k"] = faced.groupby("account").cumcount()
    key = faced[["account", "date", "k"]].sort_values("date")
    ev = pd.merge_asof(
        ev,
        key.rename(columns={"date": "day"}),
        on="day",
        by="account",
        direction="forward",
        allow_exact_matches=True,
    )
    ev = ev[ev["k"].notna()]
    add = ev.groupby(["account", "k"])[["abandoned", "long_wait"]].sum()
    faced = faced.join(add, on=["account", "k"]).fillna({"abandoned": 0.0, "long_wait": 0.0})
    delta = math.exp(-1.0 / memory_months)
    for col in ("abandoned", "long_wait"):
        x = faced[col].to_numpy()
        acct = faced["account"].to_numpy()
        out = np.empty_like(x)
        run = 0.0
        for i in range(x.size):
            if i == 0 or acct[i] != acct[i - 1]:
                run = 0.0
            run = run + x[i]
            out[i] = run
            run *= delta
        faced[col] = out
    start = acc["start"].reindex(faced["account"]).to_numpy()
    faced["tenure_years"] = (faced["date"].to_numpy() - start) / np.timedelta64(365, "D")
    return faced
