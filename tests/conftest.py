"""Shared fixtures: the baseline scenario and a small variant that runs in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

SMALL_CHANGES = {
    "customers.accounts": 4000,
    "customers.acquisition_per_month": 50,
    "calendar.months": 2,
}


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return BASELINE


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """scenarios/baseline.yaml as shipped (scenarios are immutable, so one per session)."""
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small_scenario(baseline: Scenario) -> Scenario:
    """The baseline with 4 000 accounts over two months: ~800 calls, a fraction of a second."""
    return baseline.with_changes(SMALL_CHANGES)


@pytest.fixture(autouse=True)
def _private_results_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Runs made by tests go to a throw-away store, never the user's own."""
    monkeypatch.setenv("BILLSIM_STORE", str(tmp_path_factory.mktemp("store") / "runs.sqlite"))
