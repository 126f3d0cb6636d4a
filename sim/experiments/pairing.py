"""When two runs may be compared, and how: the one pairing rule of the CLI and the app.

Replication r of a variant is seeded from (scenario seed, r), so strategies that share
the scenario seed see the same customers, bills and first calls in replication r
(common random numbers): their difference is paired by replication. Strategies over
different horizons (start or months) are still compared, but their totals are not like
for like, and both faces say so in the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sim.scenario import Scenario


@dataclass(frozen=True)
class Comparability:
    """What a comparison of named scenarios may claim.

    ``paired``: every scenario has the same seed (differences are paired by
    replication). ``same_horizon``: same start date and months. ``notes``: one plain
    sentence per problem, for the CLI's warnings and the app's notices.
    """

    paired: bool
    same_horizon: bool
    notes: tuple[str, ...]


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def comparability(scenarios: Mapping[str, Scenario], baseline: str | None = None) -> Comparability:
    """Check named scenarios against ``baseline`` (default: the first)."""
    if not scenarios:
        return Comparability(True, True, ())
    base_name = baseline if baseline is not None else next(iter(scenarios))
    base = scenarios[base_name]
    notes: list[str] = []
    seeds = {sc.seed for sc in scenarios.values()}
    paired = len(seeds) == 1
    if not paired:
        notes.append(
            "the strategies use different seeds, so their runs are not paired: differences "
            "carry the noise of both (run them with the same seed)"
        )
    same_horizon = True
    b = base.calendar
    for name, sc in scenarios.items():
        c = sc.calendar
        if (c.start, c.months) != (b.start, b.months):
            same_horizon = False
            notes.append(
                f"'{name}' runs {_months(c.months)} from {c.start}, the baseline "
                f"{_months(b.months)} from {b.start}: totals (calls, money, churned) are not "
                "like for like"
            )
    return Comparability(paired, same_horizon, tuple(notes))


def with_common_seed(
    scenarios: Mapping[str, Scenario], seed: int | None = None
) -> dict[str, Scenario]:
    """The scenarios with one seed (default: the first one's), so that they pair."""
    if not scenarios:
        return {}
    common = next(iter(scenarios.values())).seed if seed is None else int(seed)
    return {
        name: sc if sc.seed == common else sc.with_changes(seed=common)
        for name, sc in scenarios.items()
    }
