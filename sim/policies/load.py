"""The load a staffing rule staffs for: expected calls and handling time per group and interval.

Units: times in seconds from the start of the horizon (``edges_s``), calls as expected
counts per interval, handling and patience in seconds, shares in 0..1. The world layer
(``sim.world.forecast.forecast_load``) computes it from the scenario; a researcher can
build one by hand to try a staffing rule without a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ForecastLoad:
    """Expected load per group (rows) and interval (columns) over the whole horizon.

    Fields (units in the names; times in seconds from the start of the horizon):
    ``group_names`` (row order), ``edges_s`` (interval edges, n_intervals + 1),
    ``calls`` (expected calls offered to agents, shape (groups, intervals)), ``aht_s``
    (expected talk + after-call work per group, s), ``patience_s`` (mean patience of the
    group's callers, s), ``open_share`` (share of each interval the center is open,
    0..1), ``sl_target`` (service-level target, 0..1) and ``threshold_s`` (answer-within
    threshold, s). ``interval_s`` and ``rate_per_s`` (calls per second) follow from them.
    """

    group_names: tuple[str, ...]
    edges_s: np.ndarray
    """Interval edges in seconds from the start (n_intervals + 1)."""
    calls: np.ndarray
    """Expected calls offered to agents, shape (groups, intervals)."""
    aht_s: np.ndarray
    """Expected handling time (talk + after-call work) per group."""
    patience_s: np.ndarray
    """Mean patience of the group's callers (segments weighted by their calls)."""
    open_share: np.ndarray
    """Share of each interval during which the center is open (0..1)."""
    sl_target: float
    threshold_s: float

    @property
    def interval_s(self) -> float:
        return float(self.edges_s[1] - self.edges_s[0])

    @property
    def rate_per_s(self) -> np.ndarray:
        """Arrival rate (calls per second) per group and interval."""
        return self.calls / self.interval_s

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per (interval, group) with expected calls and AHT."""
        n_g, n_i = self.calls.shape
        return pd.DataFrame(
            {
                "t_s": np.tile(self.edges_s[:-1], n_g),
                "group": np.repeat(self.group_names, n_i),
                "calls": self.calls.ravel(),
                "aht_s": np.repeat(self.aht_s, n_i),
                "open_share": np.tile(self.open_share, n_g),
            }
        )
