"""Stationary queues run through the real contact-center engine, to hold it to theory.

``stationary_queue`` feeds Poisson arrivals with exponential handling and patience to
``engine.ContactCenter`` -- the same engine a scenario uses, every mechanism
available -- so that tests and benchmarks can compare it with Erlang C and Erlang A.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import simpy

from sim.center.engine import CallBatch, CenterConfig, ContactCenter, DrawBuffer
from sim.core.codes import ABANDONED, ANSWERED
from sim.core.rng import Streams


@dataclass(frozen=True)
class QueueStats:
    """Outcomes of the calls that arrived after the warm-up."""

    calls: int
    answered: int
    abandoned: int
    p_abandon: float
    asa_s: float
    service_level: float
    """answered within threshold / (answered + abandoned)."""
    p_wait: float
    occupancy: float
    wall_s: float = 0.0
    mean_wait_all_s: float = math.nan
    """E[W] over answered and abandoned calls (an abandoner's wait is its patience):
    the quantity Erlang A's ``asa_s`` gives; ``asa_s`` above counts answered waits only."""


def stationary_queue(
    lam_per_s: float,
    aht_s: float,
    agents: int,
    hours: float,
    seed: int,
    patience_s: float = math.inf,
    threshold_s: float = 20.0,
    warmup_s: float = 1800.0,
) -> QueueStats:
    """M/M/c (+M when patience is finite) through ContactCenter; stats after warm-up."""
    streams = Streams(seed)
    horizon = hours * 3600.0
    rng_a = streams["arrivals"]
    n = int(rng_a.poisson(lam_per_s * horizon))
    t = np.sort(rng_a.uniform(0.0, horizon, n))
    rng_s = streams["service"]
    talk = rng_s.exponential(aht_s, n)
    patience = (
        streams["patience"].exponential(patience_s, n)
        if math.isfinite(patience_s)
        else np.full(n, math.inf)
    )
    env = simpy.Environment()
    center = ContactCenter(
        env,
        CenterConfig(n_groups=1, routes=[[0]] * 5),
        retrial_delay=DrawBuffer(lambda k: np.ones(k)),
        retrial_patience=lambda a: math.inf,
        retrial_intent=DrawBuffer(lambda k: np.ones(k)),
        retrial_probability=0.0,
        callback_uniform=DrawBuffer(lambda k: np.ones(k)),
        next_open=lambda x: x,
    )
    center.set_agents(0, agents)
    zeros = np.zeros(n, dtype=np.int64)
    center.add_calls(
        CallBatch(
            t_arrive=t,
            account=zeros,
            reason=zeros,
            klass=zeros,
            talk=talk,
            acw=np.zeros(n),
            patience=patience,
            retry_intent=np.zeros(n, dtype=bool),
            resolved=np.zeros(n, dtype=bool),
            resolve_u=np.zeros(n),
            escalate_u=np.ones(n),
            talk2=talk,
            target=np.full(n, -1),
            attempt=zeros,
            origin=zeros,
        )
    )
    t0 = time.perf_counter()
    env.run(until=horizon)
    center.settle()
    wall = time.perf_counter() - t0
    c = center.columns()
    keep = c["t_arrive"] >= warmup_s
    st = c["status"][keep]
    ans = st == ANSWERED
    ab = st == ABANDONED
    wait = (c["t_answer"] - c["t_arrive"])[keep]
    done = int(ans.sum() + ab.sum())
    # time in queue of every settled call; an abandoner waited until its deadline
    queued_s = np.where(ans, wait, 0.0) + np.where(ab, (c["deadline"] - c["t_arrive"])[keep], 0.0)
    busy = np.minimum(c["t_answer"] + c["talk"], horizon) - np.maximum(c["t_answer"], warmup_s)
    busy_s = float(np.nansum(np.clip(busy, 0, None)))
    return QueueStats(
        calls=int(keep.sum()),
        answered=int(ans.sum()),
        abandoned=int(ab.sum()),
        p_abandon=ab.sum() / done if done else math.nan,
        asa_s=float(np.nansum(np.where(ans, wait, 0.0)) / done) if done else math.nan,
        service_level=float(np.sum(ans & (wait <= threshold_s)) / done) if done else math.nan,
        p_wait=float(np.sum(ab | (ans & (wait > 0))) / done) if done else math.nan,
        occupancy=busy_s / (agents * (horizon - warmup_s)) if agents else math.nan,
        wall_s=wall,
        mean_wait_all_s=float(queued_s.sum() / done) if done else math.nan,
    )
