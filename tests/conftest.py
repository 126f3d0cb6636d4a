"""Shared fixtures: the baseline scenario and a small variant that runs in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

SMALL_FACTOR = 0.02
"""The small scenario is the baseline at 2 % of its size (4 000 accounts)."""


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """scenarios/baseline.yaml as shipped (scenarios are immutable, so one per session)."""
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small_scenario(baseline: Scenario) -> Scenario:
    """The baseline at 2 % (4 000 accounts, one agent per shift) over two months: ~800
    calls, a fraction of a second."""
    return baseline.scaled(SMALL_FACTOR).with_changes({"calendar.months": 2})


def simple_staffing(sc: Scenario, specialists: int, tier1: int) -> Scenario:
    """The baseline's two groups with one head count each from opening to closing
    (Mon-Fri 08-20, Sat 09-14), so a test reads its staffing off one line."""
    groups = []
    for g, agents in zip(sc.contact_center.groups, (specialists, tier1), strict=True):
        shifts = [
            {"start": "08:00", "hours": 12, "days": "mon-fri", "agents": agents},
            {"start": "09:00", "hours": 5, "days": "sat", "agents": agents},
        ]
        groups.append({**g.model_dump(mode="json"), "shifts": shifts, "agents": None})
    return sc.with_changes({"contact_center.groups": groups})


@pytest.fixture(autouse=True)
def _private_results_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Runs made by tests go to a throw-away store, never the user's own."""
    monkeypatch.setenv("BILLSIM_STORE", str(tmp_path_factory.mktemp("store") / "runs.sqlite"))
