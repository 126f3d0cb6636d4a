"""One pairing rule for the CLI and the app: same seed → paired; other horizons flagged."""

from __future__ import annotations

from sim.experiments.pairing import comparability, with_common_seed
from sim.scenario import Scenario


def test_same_seed_and_horizon_pair_without_notes(small_scenario: Scenario) -> None:
    fewer = small_scenario.with_changes({"contact_center.groups[1].shifts[0].agents": 3})
    c = comparability({"today": small_scenario, "fewer": fewer})
    assert c.paired and c.same_horizon and c.notes == ()


def test_other_seed_is_unpaired_and_common_seed_repairs_it(small_scenario: Scenario) -> None:
    other = small_scenario.with_changes(seed=small_scenario.seed + 1)
    named = {"today": small_scenario, "other": other}
    c = comparability(named)
    assert not c.paired and len(c.notes) == 1 and "seeds" in c.notes[0]
    fixed = with_common_seed(named)
    assert {sc.seed for sc in fixed.values()} == {small_scenario.seed}
    assert fixed["today"] is small_scenario  # unchanged scenarios are not rebuilt
    assert comparability(fixed).paired


def test_other_horizon_is_flagged_by_name(small_scenario: Scenario) -> None:
    longer = small_scenario.with_changes({"calendar.months": small_scenario.calendar.months + 1})
    c = comparability({"today": small_scenario, "longer": longer})
    assert c.paired and not c.same_horizon
    assert len(c.notes) == 1 and c.notes[0].startswith("'longer' runs 3 months")
