"""Scenario layer: the validated, immutable scenario tree, its files and its calendar."""

from sim.core.codes import REASONS
from sim.scenario.loading import (
    load_scenario,
    load_yaml,
    parse_yaml,
    read_text_file,
    scenario_from_yaml,
)
from sim.scenario.schema import Calendar, Scenario, ScenarioError, scenario_from_dict

__all__ = [
    "REASONS",
    "Calendar",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "load_yaml",
    "parse_yaml",
    "read_text_file",
    "scenario_from_dict",
    "scenario_from_yaml",
]
