"""The horizon as a grid of days and open hours, in SimPy seconds from the start date.

Everything that places an event in calendar time goes through here: bill dates, the day
and time of day a customer calls, the next opening for a call placed while closed, and
the interval grid of the reports. Calls are drawn by inverting cumulative weights, so a
million contacts cost a few vectorised numpy calls, not a process each.
"""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np

from sim.core.distributions import Dist
from sim.scenario.schema import Scenario, n_intervals, parse_days

DAY_S = 86_400.0


class Clock:
    """Open hours and call-timing weights of one scenario's horizon."""

    def __init__(self, scenario: Scenario) -> None:
        cal = scenario.calendar
        contact = scenario.billing.contact
        self.start: dt.date = cal.start
        self.calendar = cal
        self.n_days = cal.n_days
        self.horizon_s = self.n_days * DAY_S
        self._pmf: dict[tuple[Dist, int], tuple[np.ndarray, np.ndarray]] = {}  # _delay_pmf
        self.dates = [cal.start + dt.timedelta(days=d) for d in range(self.n_days)]
        self.weekday = np.array([d.weekday() for d in self.dates], dtype=np.int64)
        holidays = set(cal.holidays)
        by_wd = cal.hours_by_weekday()
        self.open_lo = np.full(self.n_days, np.nan)
        self.open_hi = np.full(self.n_days, np.nan)
        for d, date in enumerate(self.dates):
            hours = by_wd[date.weekday()]
            if hours is not None and date not in holidays:
                self.open_lo[d], self.open_hi[d] = hours
        is_open = ~np.isnan(self.open_lo)
        days = np.arange(self.n_days)
        self._open_starts = (days[is_open] * DAY_S + self.open_lo[is_open]).tolist()
        self._open_ends = (days[is_open] * DAY_S + self.open_hi[is_open]).tolist()

        wd_factor = np.ones(7)
        for spec, f in contact.weekday_factor.items():
            for wd in parse_days(spec):
                wd_factor[wd] = f
        profile = np.asarray(contact.intraday_profile, dtype=float)
        hour_lo = np.arange(24) * 3600.0
        lo = np.clip(np.nan_to_num(self.open_lo, nan=0.0)[:, None], hour_lo, hour_lo + 3600)
        hi = np.clip(np.nan_to_num(self.open_hi, nan=0.0)[:, None], hour_lo, hour_lo + 3600)
        span = np.where(is_open[:, None], hi - lo, 0.0)
        slot_w = profile[None, :] * span / 3600.0  # weight of each open hour slot
        day_w = slot_w.sum(axis=1)
        # A day open but with a zero profile over its hours still takes calls, evenly.
        flat = is_open & (day_w <= 0)
        slot_w[flat] = span[flat] / 3600.0
        day_w = slot_w.sum(axis=1)
        self._slot_lo = (days[:, None] * DAY_S + lo).ravel()
        self._slot_span = span.ravel()
        self._slot_w = slot_w.ravel()
        self._slot_cum = np.cumsum(self._slot_w)
        self._day_cum_start = np.concatenate([[0.0], np.cumsum(day_w)])[:-1]
        self._day_total = day_w
        rel = day_w * wd_factor[self.weekday]
        mean_open = rel[is_open].mean() if is_open.any() else 1.0
        self.day_weight = rel / mean_open  # 0 on closed days, about 1 on a typical open day

    # ---- calendar look-ups -----------------------------------------------------

    def day_start_s(self, date: dt.date) -> float:
        return (date - self.start).days * DAY_S

    def is_open(self, t: float) -> bool:
        i = bisect.bisect_right(self._open_starts, t) - 1
        return i >= 0 and t < self._open_ends[i]

    def next_open(self, t: float) -> float:
        """``t`` itself when open, else the next opening; inf when none is left."""
        i = bisect.bisect_right(self._open_starts, t) - 1
        if i >= 0 and t < self._open_ends[i]:
            return t
        return self._open_starts[i + 1] if i + 1 < len(self._open_starts) else float("inf")

    def open_windows(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end seconds of every open window of the horizon."""
        return np.array(self._open_starts), np.array(self._open_ends)

    # ---- contact timing ----------------------------------------------------------

    def contact_times(
        self,
        base_day: int,
        delay_days: Dist,
        u_day: np.ndarray,
        u_time: np.ndarray,
        min_days: int = 0,
    ) -> np.ndarray:
        """Times of contacts made ``delay_days`` after ``base_day``, from two uniforms each.

        The delay picks the calendar day (weighted by weekday factor and by how long the
        center is open that day, so a customer who would call on a Sunday calls on
        another day); the intraday profile picks the time inside open hours. Contacts
        that fall after the horizon come back as NaN. Taking uniforms instead of a
        generator keeps one customer's call time independent of everyone else's.
        """
        n = u_day.size
        if n == 0:
            return np.empty(0)
        k, p = self._delay_pmf(delay_days, min_days)
        day = base_day + k
        inside = day < self.n_days
        g = np.ones(k.size)
        g[inside] = self.day_weight[day[inside]]
        q = p * g
        if q.sum() <= 0:
            return np.full(n, np.nan)
        cq = np.cumsum(q / q.sum())
        chosen = day[np.minimum(np.searchsorted(cq, u_day, side="right"), k.size - 1)]
        times = np.full(n, np.nan)
        ok = chosen < self.n_days
        d = chosen[ok]
        u = self._day_cum_start[d] + u_time[ok] * self._day_total[d]
        slot = np.minimum(np.searchsorted(self._slot_cum, u, side="right"), self._slot_cum.size - 1)
        w = self._slot_w[slot]
        before = self._slot_cum[slot] - w
        frac = np.clip((u - before) / np.where(w > 0, w, 1.0), 0.0, 1.0)
        times[ok] = self._slot_lo[slot] + frac * self._slot_span[slot]
        return times

    def _delay_pmf(self, delay_days: Dist, min_days: int) -> tuple[np.ndarray, np.ndarray]:
        """Days of delay 0..k_max and their probabilities, computed once per distribution
        (the CDF costs more than the draws of a day's contacts); read-only, shared."""
        key = (delay_days, min_days)
        cached = self._pmf.get(key)
        if cached is None:
            spread = delay_days.expected * 6 + 3 * delay_days.variance**0.5
            k_max = min(max(min_days + 1, int(np.ceil(spread))), 366)
            k = np.arange(k_max + 1)
            p = np.diff(delay_days.cdf(np.arange(k_max + 2, dtype=float)))
            p[-1] += max(0.0, 1 - p.sum())  # the far tail lands on the last day considered
            p[k < min_days] = 0.0
            k.flags.writeable = p.flags.writeable = False
            cached = self._pmf[key] = (k, p)
        return cached

    # ---- interval grid -------------------------------------------------------------

    def interval_edges(self, minutes: int) -> np.ndarray:
        """Edges in seconds of the ``n_intervals`` intervals of the horizon."""
        return np.arange(n_intervals(self.calendar, minutes) + 1) * (minutes * 60.0)
