"""The contact center: agent groups, queues, patience, retrials and callbacks on SimPy.

This is the simulation's hot path, in the shape docs/ARCHITECTURE.md explains:

- The engine's events (service ends, deadlines, overflows, retrials) live in its own
  heap keyed (time, SimPy event id) exactly as Timeouts would be, and run in one loop
  while they precede SimPy's queue (``_drain``): no Timeout object and no ``env.step``
  per event, and the same order, so the same numbers.
- Arrivals come from sorted arrays as one stream merged into that loop, not a process
  or a heap entry per caller. Retrials, which appear during the run, get an entry each.
- A caller's abandonment deadline (arrival + patience) is known on arrival, so there is
  no patience timeout: an agent who frees up takes the first queued caller whose
  deadline has not passed, and the callers skipped abandoned at their deadline. That is
  exact for each ordered queue (per priority class and group).
- A deadline becomes an event only when something depends on it happening on time: a
  caller who will retry, or an overflow to another group after a wait.
- A service completion is a heap entry with a callback. Records are flat array.arrays
  indexed by call id, handed out as numpy views once; interval statistics are computed
  afterwards from the calls table (sim/results/tables.py), not by monitors inside the run.
- ``settle()`` marks the queued callers whose deadline has passed before anybody reads
  the state mid-run, so lazy abandonment never shows up as a caller still waiting.
- Common random numbers: every draw of a call's first further attempt (a retrial's
  delay, its patience, whether it would retry again) can come with the call
  (``CallBatch.next_*``), so two staffings of the same seed deal every caller the
  same retrial; only attempts beyond that draw from shared buffers in event order.
  Adding one agent in one half hour then changes that half hour and what its callers
  do next, not every later retrial of the month (which is what the staffing optimiser
  compares, sim/experiments/optimise.py).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush

import numpy as np
import simpy

from sim.core.codes import (
    ABANDONED,
    ANSWERED,
    DROPPED,
    IN_SERVICE,
    PENDING,
    TRANSFER_ORIGIN,
    WAITING,
)

INF = float("inf")
NAN = float("nan")


class _Wake:
    """The SimPy event standing for the engine's own next event (see ``_drain``)."""

    __slots__ = ("_ok", "_value", "callbacks", "eid")

    def __init__(self, callback: Callable[[_Wake], None], eid: int) -> None:
        self.callbacks = [callback]
        self._ok = True
        self._value = None
        self.eid = eid


class DrawBuffer:
    """Pre-drawn random values handed out one at a time on the hot path.

    Drawing scalars from a numpy Generator costs about a microsecond each; drawing in
    blocks of 4096 costs a few nanoseconds per value and keeps the stream reproducible.
    """

    def __init__(self, draw: Callable[[int], np.ndarray], block: int = 4096) -> None:
        self._draw = draw
        self._block = block
        self._values: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._values):
            self._values = self._draw(self._block).tolist()
            self._i = 0
        v = self._values[self._i]
        self._i += 1
        return v


@dataclass(frozen=True)
class CenterConfig:
    """What the engine needs, resolved from the scenario into plain numbers."""

    n_groups: int
    routes: Sequence[Sequence[int]]
    """Per reason code: eligible groups, the primary first, overflow targets after."""
    n_classes: int = 1
    overflow_after_s: float | None = None
    callback_wait_s: float | None = None
    callback_accept: float = 0.0
    closed_calls: str = "wait"
    fcr: Sequence[Sequence[float]] = ()
    """First-contact resolution probability per group and reason code."""
    escalate_to: int = -1
    """Group that takes unresolved calls of other groups as a transfer (-1: none)."""
    escalate_p: float = 0.0


class CallBatch:
    """Columns for a batch of new calls (numpy arrays of equal length)."""

    __slots__ = (
        "account",
        "acw",
        "attempt",
        "escalate_u",
        "klass",
        "next_delay",
        "next_intent",
        "next_patience",
        "origin",
        "patience",
        "reason",
        "resolve_u",
        "resolved",
        "retry_intent",
        "t_arrive",
        "talk",
        "talk2",
        "target",
    )

    _OPTIONAL = (
        "escalate_u",
        "resolve_u",
        "resolved",
        "retry_intent",
        "next_delay",
        "next_patience",
        "next_intent",
        "talk2",
        "target",
    )

    def __init__(self, **cols: np.ndarray) -> None:
        """Required: t_arrive, account, reason, klass, talk, acw, patience, attempt,
        origin. Optional columns default to: never retries, resolved on contact (a
        resolve draw of 0), never escalated, routed by reason, same talk on transfer,
        and the next attempt's draws taken from the engine's buffers when needed.

        ``next_delay``, ``next_patience`` and ``next_intent`` are the call's own draws
        for the attempt that follows it (a retrial's delay, the next attempt's patience
        and whether it would retry again; NaN / -1: draw from the buffers then). Drawn
        with the call, they stay the same whatever the staffing: with buffers shared by
        every retrial, one more agent on a Monday morning re-dealt every later retrial
        of the month (see ``ContactCenter``: common random numbers)."""
        unknown = set(cols) - set(self.__slots__)
        if unknown:
            raise TypeError(f"unknown call columns {sorted(unknown)}")
        n = np.asarray(cols["t_arrive"]).size
        defaults = {
            "escalate_u": np.ones(n),
            "resolve_u": np.zeros(n),
            "resolved": np.zeros(n, dtype=bool),
            "retry_intent": np.zeros(n, dtype=bool),
            "next_delay": np.full(n, np.nan),
            "next_patience": np.full(n, np.nan),
            "next_intent": np.full(n, -1),
            "talk2": cols.get("talk", np.zeros(n)),
            "target": np.full(n, -1),
        }
        for name in self.__slots__:
            value = cols[name] if name in cols or name not in self._OPTIONAL else defaults[name]
            setattr(self, name, np.asarray(value))


class ContactCenter:
    """Agent groups serving queued calls; see the module docstring for the design."""

    def __init__(
        self,
        env: simpy.Environment,
        config: CenterConfig,
        retrial_delay: DrawBuffer,
        retrial_patience: Callable[[int], float],
        retrial_intent: DrawBuffer,
        retrial_probability: float,
        callback_uniform: DrawBuffer,
        next_open: Callable[[float], float],
        on_answer: Callable[[int, int, bool], float] | None = None,
    ) -> None:
        """``on_answer(call id, group, resolved)`` -- if given -- returns talk seconds
        added when an agent answers (e.g. a discount offer decided during the call,
        once the answering group and the outcome are known); it still occupies the agent."""
        self.env = env
        self._on_answer = on_answer
        self.cfg = config
        self._retrial_delay = retrial_delay
        self._retrial_patience = retrial_patience
        self._retrial_intent = retrial_intent
        self._retrial_p = retrial_probability
        self._cb_uniform = callback_uniform
        self._next_open = next_open
        self._routes = [list(r) for r in config.routes]
        self._fcr = [list(row) for row in config.fcr] or [[1.0] * 5] * config.n_groups
        self._overflow_s = config.overflow_after_s
        self._callback_s = config.callback_wait_s
        self._escalation = config.escalate_to >= 0
        g = config.n_groups
        self.free = [0] * g
        self.staffed = [0] * g
        self.owed = [0] * g  # busy agents who leave when their call ends
        self.last_wait = [0.0] * g  # wait of the last caller answered (predicts waits)
        self.queues: list[list[deque[int]]] = [
            [deque() for _ in range(config.n_classes)] for _ in range(g)
        ]
        # Per-call columns, indexed by call id. array.array keeps numbers unboxed (8 bytes
        # a float instead of ~32 in a list), which is what lets a year of a million
        # accounts fit in memory, and hands numpy a zero-copy view (``column``).
        self.t_arrive = array("d")
        self.account = array("q")
        self.reason = array("b")
        self.klass = array("b")
        self.talk = array("d")
        self.acw = array("d")
        self.patience = array("d")
        self.retry_intent = array("b")
        self.resolved = array("b")
        self.attempt = array("h")
        self.origin = array("b")
        self.status = array("b")
        self.deadline = array("d")
        self.t_answer = array("d")
        self.group = array("h")
        self.callback = array("b")
        self.resolve_u = array("f")  # resolved iff below the answering group's FCR
        self.escalate_u = array("f")
        self.talk2 = array("d")  # talk time of a transferred leg (no second verification)
        self.target = array("h")  # a group the call must go to (-1: route by reason)
        # the next attempt's own draws (NaN / -1: from the buffers), see CallBatch
        self.next_delay = array("f")
        self.next_patience = array("f")
        self.next_intent = array("b")
        # call ids in the order their outcome became known (int32: internal, never output)
        self.finished = array("i")
        # The engine's own events: (time, SimPy event id, handler, argument) in a heap,
        # keyed exactly as SimPy would key a Timeout, so the order of events is the one
        # the Timeouts gave (see ``_at`` and ``_drain``).
        self._heap: list[tuple[float, int, Callable[[int, float], None], int]] = []
        self._sim_queue = env._queue
        self._sim_eid = env._eid
        self._draining = False
        self._woken: set[int] = set()
        # arrival feed: every pending arrival in (time, id) order as arrays, for merging
        # new calls in; the event loop reads a window of the next _WINDOW of them as
        # lists (see _window)
        self._pend_t_arr = np.empty(0)
        self._pend_id_arr = np.empty(0, dtype=np.int64)
        self._pw = 0  # where the window starts in the arrays
        self._pend_t: list[float] = []  # the window, read by the event loop
        self._pend_id: list[int] = []
        self._pi = 0  # the next arrival's place in the window
        self._feed_at = INF  # time of the next arrival
        self._feed_t = INF  # time of the event that feeds it, as a Timeout computed it
        self._feed_eid = -1
        # Bound once: a heap entry per service would otherwise build a bound method.
        self._done = self._on_done

    @property
    def n_calls(self) -> int:
        return len(self.t_arrive)

    # ---- building the load ------------------------------------------------------------

    def add_calls(self, batch: CallBatch, status: np.ndarray | None = None) -> np.ndarray:
        """Register calls and feed those with status PENDING to the queue at their time.

        ``status`` may mark calls settled before reaching an agent (IVR self-service,
        dropped while closed); they are recorded but never queued. Returns the call ids.
        """
        n = batch.t_arrive.size
        first = self.n_calls
        ids = np.arange(first, first + n)
        if status is None:
            status = np.full(n, PENDING, dtype=np.int64)
        _append(self.t_arrive, batch.t_arrive)
        _append(self.account, batch.account)
        _append(self.reason, batch.reason)
        _append(self.klass, batch.klass)
        _append(self.talk, batch.talk)
        _append(self.acw, batch.acw)
        _append(self.patience, batch.patience)
        _append(self.retry_intent, batch.retry_intent)
        _append(self.resolved, batch.resolved)
        _append(self.attempt, batch.attempt)
        _append(self.origin, batch.origin)
        _append(self.status, status)
        _append(self.deadline, np.full(n, INF))
        _append(self.t_answer, np.full(n, np.nan))
        _append(self.group, np.full(n, -1))
        _append(self.callback, np.zeros(n))
        _append(self.resolve_u, batch.resolve_u)
        _append(self.escalate_u, batch.escalate_u)
        _append(self.talk2, batch.talk2)
        _append(self.target, batch.target)
        _append(self.next_delay, batch.next_delay)
        _append(self.next_patience, batch.next_patience)
        _append(self.next_intent, batch.next_intent)
        settled = np.flatnonzero(status != PENDING)
        _append(self.finished, ids[settled])
        live = status == PENDING
        self._feed(batch.t_arrive[live], ids[live])
        return ids

    def _feed(self, times: np.ndarray, ids: np.ndarray) -> None:
        if times.size == 0:
            return
        now = self.env.now
        if np.any(times < now):
            raise ValueError("calls cannot arrive in the past")
        # Pending calls are in (time, id) order and have smaller ids than new ones, so
        # merging the sorted new calls in after pending ones of an equal time gives the
        # order of a full sort by (time, id), without converting the lists back.
        order = np.lexsort((ids, times))
        times, ids = np.asarray(times, dtype=float)[order], np.asarray(ids, dtype=np.int64)[order]
        first = self._pw + self._pi
        rest_t, rest_id = self._pend_t_arr[first:], self._pend_id_arr[first:]
        at = np.searchsorted(rest_t, times, side="right")
        self._pend_t_arr = np.insert(rest_t, at, times)
        self._pend_id_arr = np.insert(rest_id, at, ids)
        self._window(0)
        head = self._pend_t[0]
        if head < self._feed_at:
            # The next arrival event moves earlier; the one scheduled before is dropped
            # (it was a Timeout that would have found nothing to do).
            self._feed_at = head
            self._feed_t = now + (head - now)
            self._feed_eid = next(self._sim_eid)
            self._wake_head()

    def _window(self, start: int) -> None:
        """Let the event loop read pending arrivals ``start`` onwards, the next _WINDOW
        of them as lists.

        The loop indexes Python lists (a numpy scalar per arrival costs more), but
        converting every pending arrival each time a batch of calls is merged in cost
        more still: a bill run's calls arrive over the following weeks, so at ten
        million accounts ~600 000 arrivals were converted ~650 times a year.
        """
        self._pw = start
        self._pend_t = self._pend_t_arr[start : start + _WINDOW].tolist()
        self._pend_id = self._pend_id_arr[start : start + _WINDOW].tolist()
        self._pi = 0

    # ---- the engine's own event calendar -------------------------------------------------

    def _at(self, delay: float, handler: Callable[[int, float], None], arg: int) -> None:
        """Call ``handler(arg, time)`` after ``delay``, ordered as a SimPy Timeout made now.

        A Timeout costs an object, a callback list and a pass through ``env.step``;
        this costs a heap entry. It takes the next SimPy event id, as a Timeout would,
        so ties between equal times resolve exactly as they did with Timeouts.
        """
        t = self.env._now + delay
        eid = next(self._sim_eid)
        heappush(self._heap, (t, eid, handler, arg))
        if not self._draining:
            self._wake_head()

    def _wake_head(self) -> None:
        """Make sure SimPy's queue holds an event at the key (time, NORMAL, id) of our
        next event, the earlier of the heap's head and the next arrival."""
        t, eid = self._feed_t, self._feed_eid
        if self._heap:
            ht, he = self._heap[0][0], self._heap[0][1]
            if ht < t or (ht == t and he < eid):
                t, eid = ht, he
        if t < INF and eid not in self._woken:
            self._woken.add(eid)
            heappush(self._sim_queue, (t, simpy.events.NORMAL, eid, _Wake(self._drain, eid)))

    def _drain(self, ev: _Wake) -> None:
        """Run our events -- the heap and the arrival feed, merged by (time, id) -- for
        as long as they come before the head of SimPy's queue (a staffing change,
        ``run(until=...)``); then leave a wake-up for the next one.

        Nothing our handlers do touches SimPy's queue or the arrival feed, so the
        queue's head is read once and the feed's position lives in locals until the end.
        """
        self._woken.discard(ev.eid)
        heap, queue, env = self._heap, self._sim_queue, self.env
        if queue:
            q_t, q_prio, q_eid = queue[0][:3]
            # at an equal time, SimPy's event goes first if urgent or made earlier
            q_lim = q_eid if q_prio == simpy.events.NORMAL else (-1 if q_prio < 1 else INF)
        else:
            q_t, q_lim = INF, INF
        ts, ids, arrive, sim_eid = self._pend_t, self._pend_id, self._arrive, self._sim_eid
        i, n = self._pi, len(ts)
        feed_t, feed_eid = self._feed_t, self._feed_eid
        self._draining = True
        try:
            while True:
                if heap:
                    head = heap[0]
                    t = head[0]
                    if t < feed_t or (t == feed_t and head[1] < feed_eid):
                        if t > q_t or (t == q_t and head[1] > q_lim):
                            break
                        env._now = t
                        heappop(heap)
                        head[2](head[3], t)
                        continue
                t = feed_t
                if t > q_t or (t == q_t and feed_eid > q_lim) or t == INF:
                    break
                env._now = t
                while True:
                    while i < n and ts[i] <= t:
                        arrive(ids[i], t)
                        i += 1
                    if i < n or self._pw + n >= self._pend_t_arr.size:
                        break
                    self._window(self._pw + n)  # the window is used up: the next one
                    ts, ids, i, n = self._pend_t, self._pend_id, 0, len(self._pend_t)
                if i < n:
                    feed_t = t + (ts[i] - t)  # as a Timeout made now would compute it
                    feed_eid = next(sim_eid)
                else:
                    feed_t = INF
        finally:
            self._draining = False
            self._pi, self._feed_t, self._feed_eid = i, feed_t, feed_eid
            self._feed_at = ts[i] if i < n else INF
        self._wake_head()

    # ---- staffing -------------------------------------------------------------------------

    def schedule_staffing(self, group: int, times: np.ndarray, agents: np.ndarray) -> None:
        """Change group ``group``'s head count to ``agents[k]`` at ``times[k]``."""
        self.env.process(self._staffing(group, times.tolist(), agents.tolist()))

    def _staffing(self, g: int, times: list[float], agents: list[int]):
        env = self.env
        for t, n in zip(times, agents, strict=True):
            if t > env.now:
                yield env.timeout(t - env.now)
            self.set_agents(g, int(n))

    def set_agents(self, g: int, target: int) -> None:
        """Agents arriving take queued callers; agents leaving finish the call in hand."""
        delta = target - self.staffed[g]
        self.staffed[g] = target
        if delta > 0:
            stay = min(self.owed[g], delta)
            self.owed[g] -= stay
            self.free[g] += delta - stay
            self._dispatch(g)
        elif delta < 0:
            take = min(self.free[g], -delta)
            self.free[g] -= take
            self.owed[g] += -delta - take

    def _dispatch(self, g: int) -> None:
        now = self.env.now
        while self.free[g] > 0:
            cid = self._next_in_queue(g, now)
            if cid < 0:
                return
            self.free[g] -= 1
            self._start(cid, g, now)

    # ---- the hot path ---------------------------------------------------------------------

    def _arrive(self, cid: int, now: float) -> None:
        target = self.target[cid]
        groups = self._routes[self.reason[cid]] if target < 0 else (target,)
        g = groups[0]
        ov = self._overflow_s
        if ov is not None and not self.staffed[g]:
            # Overflow routing is on and nobody is on duty here: waiting is pointless.
            for g2 in groups[1:]:
                if self.staffed[g2]:
                    g = g2
                    break
        if self.free[g] > 0:
            self.free[g] -= 1
            self._start(cid, g, now)
            return
        patience = self.patience[cid]
        cb_wait = self._callback_s
        if (
            cb_wait is not None
            and self.last_wait[g] > cb_wait
            and self._cb_uniform.next() < self.cfg.callback_accept
        ):
            self.callback[cid] = True
            patience = INF
        self.deadline[cid] = now + patience
        self.status[cid] = WAITING
        self.queues[g][self.klass[cid]].append(cid)
        if patience < INF and self.retry_intent[cid]:
            self._at(patience, self._on_deadline, cid)
        if ov is not None and len(groups) > 1 and ov < patience:
            self._at(ov, self._on_overflow, cid)

    def _start(self, cid: int, g: int, now: float) -> None:
        self.status[cid] = IN_SERVICE
        self.t_answer[cid] = now
        self.group[cid] = g
        if self._callback_s is not None:  # only callback offers read it
            self.last_wait[g] = now - self.t_arrive[cid]
        resolved = self.resolve_u[cid] < self._fcr[g][self.reason[cid]]
        self.resolved[cid] = resolved
        talk = self.talk[cid]
        if self._on_answer is not None:
            extra = self._on_answer(cid, g, resolved)
            if extra:
                talk += extra
                self.talk[cid] = talk
        # ``_at(talk + acw, self._on_done, cid)``, inlined: this runs once per call
        heappush(self._heap, (now + (talk + self.acw[cid]), next(self._sim_eid), self._done, cid))
        if not self._draining:
            self._wake_head()
        if self._escalation and self._escalates(cid, g):
            self._at(talk, self._on_talk_end, cid)  # put through at the end of talk

    def _escalates(self, cid: int, g: int) -> bool:
        cfg = self.cfg
        return (
            cfg.escalate_to >= 0
            and g != cfg.escalate_to
            and not self.resolved[cid]
            and cfg.escalate_to in self._routes[self.reason[cid]]
            and self.escalate_u[cid] < cfg.escalate_p
        )

    def _on_talk_end(self, cid: int, now: float) -> None:
        self._transfer(cid, self.group[cid], self.cfg.escalate_to, now)

    def _on_done(self, cid: int, now: float) -> None:
        g = self.group[cid]
        self.status[cid] = ANSWERED
        self.finished.append(cid)
        if self.owed[g]:
            self.owed[g] -= 1
            return
        for dq in self.queues[g]:
            if dq:
                break
        else:  # nobody queued for this group: the agent is free
            self.free[g] += 1
            return
        nxt = self._next_in_queue(g, now)
        if nxt < 0:
            self.free[g] += 1
        else:
            self._start(nxt, g, now)

    def _next_in_queue(self, g: int, now: float) -> int:
        status, deadline = self.status, self.deadline
        for dq in self.queues[g]:
            while dq:
                cid = dq.popleft()
                if status[cid] != WAITING:
                    continue  # served by another group or already counted as abandoned
                if deadline[cid] < now:
                    self._abandon(cid)
                    continue
                return cid
        return -1

    def _abandon(self, cid: int) -> None:
        self.status[cid] = ABANDONED
        self.finished.append(cid)

    def _on_deadline(self, cid: int, now: float) -> None:
        if self.status[cid] != WAITING:
            return
        self._abandon(cid)
        delay = self.next_delay[cid]
        if delay != delay:  # NaN: no draw came with the call
            delay = self._retrial_delay.next()
        self._retry(cid, now + delay, now)

    def _retry(self, cid: int, t: float, now: float) -> None:
        t_open = self._next_open(t)
        dropped = t_open > t and self.cfg.closed_calls == "drop"
        if t_open == INF:
            return  # no opening left in the horizon: the caller gives up for now
        if not dropped:
            t = t_open
        # A retrial is a new call: it is routed by reason again, even after a transfer.
        new = self._copy_call(cid, t, self.attempt[cid] + 1, self.talk[cid], -1)
        if dropped:
            self.status[new] = DROPPED
            self.finished.append(new)
            return
        self._at(t - now, self._on_retrial, new)

    def _transfer(self, cid: int, g_from: int, g: int, now: float) -> None:
        """Escalate an unresolved call: the caller is put through to group ``g``'s queue
        at the end of the first agent's talk; that agent then does the after-call work."""
        new = self._copy_call(cid, now, self.attempt[cid], self.talk2[cid], g)
        self.origin[new] = TRANSFER_ORIGIN
        # Given that the first group failed (u >= f), (u - f) / (1 - f) is a fresh uniform.
        f = self._fcr[g_from][self.reason[cid]]
        self.resolve_u[new] = (self.resolve_u[cid] - f) / (1.0 - f) if f < 1 else 0.0
        self._arrive(new, now)

    def _copy_call(self, cid: int, t: float, attempt: int, talk: float, target: int) -> int:
        """A further attempt of the same issue; returns its call id (status PENDING)."""
        new = self.n_calls
        acct = self.account[cid]
        self.t_arrive.append(t)
        self.account.append(acct)
        self.reason.append(self.reason[cid])
        self.klass.append(self.klass[cid])
        self.talk.append(talk)
        self.acw.append(self.acw[cid])
        patience = self.next_patience[cid]
        self.patience.append(patience if patience == patience else self._retrial_patience(acct))
        intent = self.next_intent[cid]
        self.retry_intent.append(
            bool(intent) if intent >= 0 else self._retrial_intent.next() < self._retrial_p
        )
        self.resolved.append(False)
        self.attempt.append(attempt)
        self.origin.append(self.origin[cid])
        self.status.append(PENDING)
        self.deadline.append(INF)
        self.t_answer.append(np.nan)
        self.group.append(-1)
        self.callback.append(False)
        self.resolve_u.append(self.resolve_u[cid])
        self.escalate_u.append(self.escalate_u[cid])
        self.talk2.append(self.talk2[cid])
        self.target.append(target)
        self.next_delay.append(NAN)  # a third attempt draws from the buffers
        self.next_patience.append(NAN)
        self.next_intent.append(-1)
        return new

    def _on_retrial(self, cid: int, now: float) -> None:
        self._arrive(cid, now)

    def _on_overflow(self, cid: int, now: float) -> None:
        if self.status[cid] != WAITING:
            return
        for g2 in self._routes[self.reason[cid]][1:]:
            if self.free[g2] > 0:
                self.free[g2] -= 1
                self._start(cid, g2, now)
                return
        for g2 in self._routes[self.reason[cid]][1:]:
            self.queues[g2][self.klass[cid]].append(cid)

    # ---- reading state mid-run ---------------------------------------------------------

    def settle(self) -> None:
        """Record every queued caller whose deadline has passed as abandoned."""
        now = self.env.now
        status, deadline = self.status, self.deadline
        for per_class in self.queues:
            for k, dq in enumerate(per_class):
                keep: deque[int] = deque()
                for cid in dq:
                    if status[cid] != WAITING:
                        continue
                    if deadline[cid] < now:
                        self._abandon(cid)
                    else:
                        keep.append(cid)
                per_class[k] = keep

    def column(self, name: str) -> np.ndarray:
        """A read-only numpy view of one per-call column (valid until calls are added)."""
        arr = getattr(self, name)
        view = (
            np.frombuffer(arr, dtype=_DTYPES[arr.typecode])
            if len(arr)
            else np.empty(0, dtype=_DTYPES[arr.typecode])
        )
        view.flags.writeable = False
        return view

    def columns(self) -> dict[str, np.ndarray]:
        """The call records as read-only arrays (call id = row), for when the run is over.

        Views, not copies: a copy doubled the calls' memory at the end of a long run.
        The engine refuses to add calls while they live (array.array cannot resize
        under an exported buffer), so a view never goes stale silently.
        """
        out = {name: self.column(name) for name in _COLUMNS}
        for name in ("retry_intent", "resolved", "callback"):
            out[name] = out[name].astype(bool)
        return out

    # ---- dropping records a streamed run has written -------------------------------------

    def compact(self, consumed: int) -> np.ndarray:
        """Forget every call no event can touch again; returns old row → new row (-1: gone).

        For runs that stream their calls to disk (sim/model/sink.py), so memory holds the
        live calls, not the history. A row stays if its call is not final (pending, waiting,
        in service), if the model has not yet read it (``finished[consumed:]``), or if an
        entry of the heap, a queue or the arrival feed still names it (a deadline of a
        caller answered in time fires later and must still find that caller's status).
        Rows keep their order, so ties in the arrival feed, broken by call id, break the
        same way, and every later number is the one of a run that kept everything.
        """
        n = self.n_calls
        status = np.frombuffer(self.status, dtype=np.int8) if n else np.empty(0, np.int8)
        keep = (status == PENDING) | (status == WAITING) | (status == IN_SERVICE)
        del status  # the buffer must not be exported while the arrays are replaced
        named = [e[3] for e in self._heap]
        for per_class in self.queues:
            for dq in per_class:
                named.extend(dq)
        named.extend(self.finished[consumed:])
        keep[np.asarray(named, dtype=np.int64)] = True
        first = self._pw + self._pi
        keep[self._pend_id_arr[first:]] = True
        rows = np.flatnonzero(keep)
        new = np.full(n, -1, dtype=np.int64)
        new[rows] = np.arange(rows.size)
        records = [k for k, v in vars(self).items() if isinstance(v, array) and k != "finished"]
        if set(records) != set(_RECORDS):  # a column added to the engine but not here
            raise RuntimeError(f"compact() does not know the call columns {sorted(records)}")
        for name in _RECORDS:
            old = getattr(self, name)
            kept = array(old.typecode)
            if n:
                kept.frombytes(np.frombuffer(old, dtype=_DTYPES[old.typecode])[rows].tobytes())
            setattr(self, name, kept)
        # the heap keeps its order: its keys (time, event id) do not change
        self._heap = [(t, eid, fn, int(new[cid])) for t, eid, fn, cid in self._heap]
        for per_class in self.queues:
            for k, dq in enumerate(per_class):
                per_class[k] = deque(new[np.asarray(dq, dtype=np.int64)].tolist())
        self._pend_t_arr = self._pend_t_arr[first:]
        self._pend_id_arr = new[self._pend_id_arr[first:]]
        self._window(0)
        tail = np.asarray(self.finished[consumed:], dtype=np.int64)
        self.finished = array(self.finished.typecode)
        _append(self.finished, new[tail])
        return new


_WINDOW = 4096
"""Pending arrivals the event loop reads as lists at a time (see ``_window``)."""

_DTYPES = {
    "d": np.float64,
    "f": np.float32,
    "q": np.int64,
    "i": np.int32,
    "b": np.int8,
    "h": np.int16,
}
_COLUMNS = (
    "t_arrive",
    "account",
    "reason",
    "klass",
    "talk",
    "acw",
    "patience",
    "retry_intent",
    "resolved",
    "attempt",
    "origin",
    "status",
    "deadline",
    "t_answer",
    "group",
    "callback",
    "resolve_u",
    "talk2",
    "target",
)
_RECORDS = (*_COLUMNS, "escalate_u", "next_delay", "next_patience", "next_intent")
"""Every per-call column of the engine (``columns()`` hands out the model's, not the
draws kept for a call's next attempt)."""


def _append(arr: array, values: np.ndarray) -> None:
    """Append a numpy array to an array.array without a Python object per value (and
    through a memoryview, without an intermediate bytes copy)."""
    flat = np.ascontiguousarray(values, dtype=_DTYPES[arr.typecode])
    arr.frombytes(memoryview(flat).cast("B"))
