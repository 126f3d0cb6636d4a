"""Agents on duty per interval, inferred from who answered calls when.

Why: call logs carry no staffing field (the Anonymous Bank has none), yet a back-test
must give the simulator the staffing of the days it replays. An agent counts as on duty
in an interval if one of their services overlaps it (Brown et al. 2005 count distinct
``server`` names); the peak number of simultaneous services is a lower bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def infer_agents(calls: pd.DataFrame, minutes: int = 30) -> pd.DataFrame:
    """interval_start, agents (distinct ids serving), peak (most simultaneous services),
    busy (mean agents busy) for every interval of every day that has calls."""
    width = minutes * 60.0
    ok = (calls["outcome"] == "answered") & calls["agent_id"].notna() & calls["service_s"].notna()
    c = calls[ok]
    t0 = calls["day"].min()
    start = (c["arrival"] - t0).dt.total_seconds().to_numpy() + c["wait_s"].to_numpy()
    end = start + np.minimum(c["service_s"].to_numpy(), 3 * 3600.0)
    b0 = np.floor(start / width).astype(np.int64)
    b1 = np.floor(np.maximum(end - 1e-9, start) / width).astype(np.int64)
    reps = b1 - b0 + 1
    bins = np.repeat(b0, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
    ids = np.repeat(c["agent_id"].to_numpy(dtype=object), reps)
    distinct = pd.DataFrame({"bin": bins, "id": ids}).drop_duplicates().groupby("bin").size()
    # busy seconds per bin
    s_rep, e_rep = np.repeat(start, reps), np.repeat(end, reps)
    overlap = np.minimum(e_rep, (bins + 1) * width) - np.maximum(s_rep, bins * width)
    busy = pd.Series(np.maximum(overlap, 0.0)).groupby(bins).sum() / width
    # peak simultaneous services: running level over start/end events
    tt = np.concatenate([start, end])
    dd = np.concatenate([np.ones(start.size), -np.ones(end.size)])
    order = np.lexsort((dd, tt))
    level = np.cumsum(dd[order])
    peak = pd.Series(level).groupby(np.floor(tt[order] / width).astype(np.int64)).max()
    days = pd.to_datetime(calls["day"].unique())
    n_bins_day = int(86400 // width)
    all_bins = np.concatenate([((d - t0).days * n_bins_day) + np.arange(n_bins_day) for d in days])
    out = pd.DataFrame({"bin": np.sort(all_bins)})
    out["interval_start"] = t0 + pd.to_timedelta(out["bin"] * width, unit="s")
    out["agents"] = distinct.reindex(out["bin"]).fillna(0).to_numpy().astype(np.int64)
    out["peak"] = peak.reindex(out["bin"]).fillna(0).clip(lower=0).to_numpy().astype(np.int64)
    out["peak"] = np.minimum(out["peak"], out["agents"])
    out["busy"] = busy.reindex(out["bin"]).fillna(0.0).to_numpy()
    return out.drop(columns="bin")


def staffing_profile(agents: pd.DataFrame, day_types: dict[int, str]) -> pd.DataFrame:
    """Median agents (and the quartiles) per day type and interval of the day: the
    staffing of a future month whose actual roster is not known."""
    a = agents.copy()
    a["day_type"] = [day_types[d.weekday()] for d in a["interval_start"]]
    a["slot"] = a["interval_start"].dt.hour * 60 + a["interval_start"].dt.minute
    g = a.groupby(["day_type", "slot"])["agents"]
    return pd.DataFrame(
        {"median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75), "days": g.size()}
    ).reset_index()


def infer_agents_fine(calls: pd.DataFrame, minutes: int = 30, resolution: int = 5) -> pd.DataFrame:
    """interval_start, agents: distinct agents serving per ``resolution``-minute slice,
    averaged over each ``minutes`` interval and rounded.

    Why: a 30-minute count takes an agent who served once before a break as present for
    the whole interval, which overstates capacity under heavy load (the bank); short
    slices miss agents idle for a whole slice, which understates it under light load.
    """
    if minutes % resolution:
        raise ValueError(f"resolution {resolution} min must divide the interval {minutes} min")
    a = infer_agents(calls, resolution)
    slot = a["interval_start"].dt.floor(f"{minutes}min")
    g = a.groupby(slot)["agents"].mean()
    return pd.DataFrame(
        {"interval_start": g.index, "agents": np.round(g.to_numpy()).astype(np.int64)}
    )
