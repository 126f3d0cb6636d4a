"""Export a simulated run in the generic schemas, for round-trip tests of the fits.

Why: the only way to know that a fit recovers what generated the data is to generate
data with known parameters. The simulator does not track agents by name, so answered
calls are given agent ids here: each call goes to the agent, among the group's first
``on duty`` agents, who has been idle longest (another free agent if a shift just
ended with calls in hand).
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

from sim.results.tables import Results

FLAG_NAMES = ("routine", "shock", "error")


def export_call_log(results: Results) -> pd.DataFrame:
    """Answered and abandoned attempts as a generic call log (readers.read_call_log)."""
    c = results.calls()
    c = c[c["outcome"].isin(["answered", "abandoned"])].sort_values("t_answer_s", kind="stable")
    start = pd.Timestamp(results.scenario.calendar.start)
    ans = (c["outcome"] == "answered").to_numpy()
    t_ans = c["t_answer_s"].to_numpy()
    t_end = c["t_end_s"].to_numpy()
    agent = np.full(len(c), None, dtype=object)
    plan = results.raw.staffing.on_duty
    groups = c["group"].astype(str).to_numpy()
    for g, name in enumerate(results.raw.group_names):
        times, levels = plan[g]
        free_at: dict[int, float] = {}
        idle: list[tuple[float, int]] = []  # (free since, agent) heap of free agents
        busy: list[tuple[float, int]] = []
        rows = np.flatnonzero(ans & (groups == name))
        for i in rows:
            t = t_ans[i]
            while busy and busy[0][0] <= t:
                e, a = heapq.heappop(busy)
                heapq.heappush(idle, (e, a))
            n_on = int(levels[max(np.searchsorted(times, t, side="right") - 1, 0)])
            for a in range(n_on):
                if a not in free_at:
                    free_at[a] = -1.0
                    heapq.heappush(idle, (-1.0, a))
            keep: list[tuple[float, int]] = []
            pick = None
            while idle:
                e, a = heapq.heappop(idle)
                if a < n_on:
                    pick = a
                    break
                keep.append((e, a))
            if pick is None and keep:
                pick = keep.pop(0)[1]
            if pick is None:
                pick = len(free_at)
                free_at[pick] = -1.0
            for item in keep:
                heapq.heappush(idle, item)
            heapq.heappush(busy, (t_end[i], pick))
            agent[i] = f"{name}-{pick:03d}"
    arrival = start + pd.to_timedelta(c["t_arrive_s"].to_numpy(), unit="s")
    out = pd.DataFrame(
        {
            "arrival": arrival,
            "queue_entry": arrival,
            "answer": (start + pd.to_timedelta(t_ans, unit="s")).where(ans),
            "end": start + pd.to_timedelta(t_end, unit="s"),
            "outcome": c["outcome"].astype(str).to_numpy(),
            "call_type": c["reason"].astype(str).to_numpy(),
            "agent_id": agent,
            "account_id": c["account"].astype(str).to_numpy(),
            "priority": c["priority"].to_numpy(),
        }
    )
    return out.sort_values("arrival", kind="stable").reset_index(drop=True)


def export_bills(results: Results) -> pd.DataFrame:
    """Every bill of the run: account, bill_date, amount, previous_amount, flag."""
    if not results.raw.ledger.bill_rows and results.monthly()["bills"].sum() > 0:
        raise ValueError("export_bills needs a run simulated with simulate(..., keep_bills=True)")
    start = pd.Timestamp(results.scenario.calendar.start)
    parts = []
    for day, acct, amount, flag in results.raw.ledger.bill_rows:
        parts.append(pd.DataFrame({"account": acct, "day": day, "amount": amount, "flag": flag}))
    if not parts:
        return pd.DataFrame(columns=["account", "bill_date", "amount", "previous_amount", "flag"])
    b = pd.concat(parts, ignore_index=True).sort_values(["account", "day"], kind="stable")
    prev = b.groupby("account")["amount"].shift(1)
    return pd.DataFrame(
        {
            "account": b["account"].astype(str).to_numpy(),
            "bill_date": start + pd.to_timedelta(b["day"].to_numpy(), unit="D"),
            "amount": b["amount"].to_numpy(),
            "previous_amount": prev.to_numpy(),
            "flag": np.array(FLAG_NAMES)[b["flag"].to_numpy().astype(int)],
        }
    ).reset_index(drop=True)


def export_accounts(results: Results) -> pd.DataFrame:
    """Every account: account, segment, start, charge, churn_date (empty if active)."""
    cust = results.customers()
    start = pd.Timestamp(results.scenario.calendar.start)
    joined = start + pd.to_timedelta(cust["joined_s"].to_numpy(), unit="s")
    churned = start + pd.to_timedelta(cust["churned_s"].to_numpy(), unit="s")
    return pd.DataFrame(
        {
            "account": cust["account"].astype(str).to_numpy(),
            "segment": cust["segment"].astype(str).to_numpy(),
            "start": joined.normalize(),
            "charge": cust["charge"].to_numpy(),
            "churn_date": churned.normalize(),
        }
    )
