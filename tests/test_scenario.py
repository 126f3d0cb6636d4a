"""Scenario files: loading, exact round trips, variants, and error messages a planner can act on.

Every bad input is written to a file in tmp_path and loaded the way the CLI loads it, so
each message is checked for the file name, the exact field path and the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from sim.core.codes import REASONS
from sim.policies.catalogue import DISCOUNTS
from sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_from_yaml,
)

# --------------------------------------------------------------------------- loading


def test_baseline_loads_with_the_values_in_the_file(baseline: Scenario) -> None:
    assert baseline.name == "baseline"
    assert baseline.seed == 20270104
    assert baseline.calendar.start == dt.date(2027, 1, 4)
    assert baseline.calendar.months == 3
    assert baseline.calendar.end == dt.date(2027, 4, 4)
    assert baseline.calendar.holidays == [dt.date(2027, 1, 6)]
    assert baseline.customers.accounts == 200_000
    assert [s.name for s in baseline.customers.segments] == [
        "residential",
        "small_business",
        "premium",
    ]
    assert sum(s.share for s in baseline.customers.segments) == pytest.approx(1.0)
    assert baseline.billing.cycle_days == list(range(1, 29))
    groups = baseline.contact_center.groups
    assert [g.name for g in groups] == ["billing_specialists", "tier1"]
    assert [sh.agents for sh in groups[1].shifts or []][:6] == [20, 11, 3, 2, 3, 17]  # Monday
    assert groups[0].agents is None
    assert baseline.contact_center.routing.overflow_after_s == 60
    assert baseline.policies.discount.name == "none"
    assert baseline.policies.discount.authority_pct == {"tier1": 10, "billing_specialists": 15}
    # Sunday is closed, Saturday opens 09:00-14:00
    hours = baseline.calendar.hours_by_weekday()
    assert hours[6] is None
    assert hours[5] == (9 * 3600, 14 * 3600)
    assert hours[0] == (8 * 3600, 20 * 3600)


def test_yaml_round_trip_is_exact(baseline: Scenario) -> None:
    again = scenario_from_yaml(baseline.to_yaml())
    assert again == baseline
    assert again.fingerprint() == baseline.fingerprint()
    assert again.to_yaml() == baseline.to_yaml()


def test_default_scenario_round_trips_exactly() -> None:
    default = Scenario()
    assert scenario_from_yaml(default.to_yaml()) == default
    assert scenario_from_dict(default.to_dict()) == default


def test_round_trip_through_a_file(baseline: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "resolved.yaml"
    path.write_text(baseline.to_yaml(), encoding="utf-8")
    assert load_scenario(path) == baseline


def test_scenarios_are_frozen(baseline: Scenario) -> None:
    with pytest.raises(pydantic.ValidationError):
        baseline.seed = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- variants


def test_with_changes_returns_a_new_validated_scenario(baseline: Scenario) -> None:
    before = baseline.to_dict()
    variant = baseline.with_changes(
        {"customers.accounts": 1234, "contact_center.groups[1].shifts[0].agents": 9},
        name="variant",
    )
    assert isinstance(variant, Scenario)
    assert variant is not baseline
    assert variant.name == "variant"
    assert variant.customers.accounts == 1234
    assert variant.contact_center.groups[1].shifts[0].agents == 9
    # untouched fields carry over, the original is unchanged
    assert variant.contact_center.groups[1].shifts[1].agents == 11
    assert variant.billing == baseline.billing
    assert baseline.customers.accounts == 200_000
    assert baseline.contact_center.groups[1].shifts[0].agents == 20
    assert baseline.to_dict() == before
    assert variant.fingerprint() != baseline.fingerprint()


def test_with_changes_accepts_whole_subtrees(baseline: Scenario) -> None:
    variant = baseline.with_changes(
        {"policies.discount.name": "flat", "policies.discount.params": {"pct": 5}}
    )
    assert variant.policies.discount.name == "flat"
    assert variant.policies.discount.params == {"pct": 5}
    assert baseline.policies.discount.params == {}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"customers.accounts": -1}, "customers.accounts: must be >= 0 (got -1)"),
        ({"customers.colour": 1}, "customers.colour: unknown field"),
        (
            {"contact_center.groups[5].agents": 1},
            "contact_center.groups[5]: no such field (in change 'contact_center.groups[5].agents')",
        ),
        (
            {"contact_center.groups[0].agents": 3},
            "contact_center.groups[0]: give either 'agents' or 'shifts', not both or neither",
        ),
        (
            {"policies.discount.authority_pct": {"tier2": 5}},
            "policies.discount.authority_pct: unknown group ['tier2'] "
            "(groups are ['billing_specialists', 'tier1'])",
        ),
    ],
)
def test_bad_with_changes_raises_scenario_error(
    baseline: Scenario, changes: dict[str, Any], problem: str
) -> None:
    before = baseline.to_dict()
    with pytest.raises(ScenarioError) as info:
        baseline.with_changes(changes)
    assert info.value.problems == [problem]
    assert str(info.value) == problem
    assert baseline.to_dict() == before


# --------------------------------------------------------------------------- bad input


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


TIER1 = ["contact_center", "groups", 1]
ALL_DISCOUNTS = ", ".join(DISCOUNTS)

# (case id, change to the baseline's YAML data, the exact problem reported)
BAD_FIELDS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown_top_level", _set(["colour"], "red"), "colour: unknown field"),
    (
        "unknown_nested",
        _set(["contact_center", "routing", "overflow_s"], 30),
        "contact_center.routing.overflow_s: unknown field (did you mean 'overflow_after_s'?)",
    ),
    (
        "negative_agents",
        _set([*TIER1, "shifts", 0, "agents"], -3),
        "contact_center.groups[1].shifts[0].agents: must be >= 0 (got -3)",
    ),
    (
        "negative_accounts",
        _set(["customers", "accounts"], -5),
        "customers.accounts: must be >= 0 (got -5)",
    ),
    (
        "shares_not_one",
        _set(["customers", "segments", 0, "share"], 0.7),
        "customers.segments: shares must sum to 1 (got 0.9)",
    ),
    (
        "duplicate_groups",
        _set([*TIER1, "name"], "billing_specialists"),
        "contact_center.groups: group names must be unique "
        "(got ['billing_specialists', 'billing_specialists'])",
    ),
    (
        "reason_without_skill",
        _set([*TIER1, "skills"], ["question", "high_bill", "payment", "billing_error"]),
        "contact_center.groups: no group has the skill for ['plan_change']",
    ),
    (
        "shift_outside_open_hours",
        _set([*TIER1, "shifts", 0], {"start": "21:00", "hours": 2, "days": "mon-fri", "agents": 7}),
        "contact_center.groups[1].shifts[0]: 21:00+2h runs outside the open hours "
        "08:00-20:00 on mon; shorten or move it",
    ),
    (
        "open_hours_not_a_time",
        _set(["calendar", "open_hours", "mon-fri"], "8am-8pm"),
        "calendar.open_hours: '8am' is not a time of day HH:MM",
    ),
    (
        "open_hours_backwards",
        _set(["calendar", "open_hours", "mon-fri"], "20:00-08:00"),
        "calendar.open_hours: '20:00-08:00' closes before it opens",
    ),
    (
        "open_hours_bad_weekday",
        _set(["calendar", "open_hours"], {"mon-fry": "08:00-20:00"}),
        "calendar.open_hours: unknown weekday range 'mon-fry' (use e.g. mon-fri)",
    ),
    (
        "incident_cycle_not_billed",
        _set(
            ["billing", "incident"],
            {"cycles": [29], "start": "2027-01-10", "end": "2027-02-10", "error_rate": 0.3},
        ),
        "billing.incident.cycles: [29] are not billing cycle days " + str(list(range(1, 29))),
    ),
    (
        "incident_outside_horizon",
        _set(
            ["billing", "incident"],
            {"cycles": [8], "start": "2028-01-01", "end": "2028-02-01", "error_rate": 0.3},
        ),
        "billing.incident: 2028-01-01..2028-02-01 lies outside the horizon 2027-01-04..2027-04-04",
    ),
    (
        "unknown_discount_policy",
        _set(["policies", "discount", "name"], "generous"),
        f"policies.discount.name: unknown policy 'generous' (valid: {ALL_DISCOUNTS})",
    ),
    (
        "unknown_policy_parameter",
        _set(["policies", "discount"], {"name": "flat", "params": {"percent": 5}}),
        "policies.discount.params: unknown parameter ['percent'] for 'flat' "
        "(accepts: pct, reasons, save_pct)",
    ),
    (
        "policy_parameter_out_of_range",
        _set(["policies", "discount"], {"name": "flat", "params": {"pct": 150}}),
        "policies.discount.params: pct must be a percentage 0..100 (got 150)",
    ),
    (
        "unknown_priority_policy",
        _set(["policies", "priority", "name"], "vip"),
        "policies.priority.name: unknown policy 'vip' (valid: fifo, value_first, risk_first)",
    ),
    (
        "agents_and_shifts",
        _set(["contact_center", "groups", 0, "agents"], 3),
        "contact_center.groups[0]: give either 'agents' or 'shifts', not both or neither",
    ),
    (
        "neither_agents_nor_shifts",
        _drop(["contact_center", "groups", 0, "shifts"]),
        "contact_center.groups[0]: give either 'agents' or 'shifts', not both or neither",
    ),
    (
        "interval_not_dividing_a_day",
        _set(["contact_center", "interval_minutes"], 7),
        "contact_center.interval_minutes: must divide a day into whole intervals, "
        "e.g. 15, 30, 60 (got 7)",
    ),
    (
        "distribution_missing_sd",
        _set(["customers", "segments", 0, "charge"], {"dist": "lognormal", "mean": 55}),
        "customers.segments[0].charge: lognormal needs 'sd'",
    ),
    (
        "distribution_extra_parameter",
        _set(
            ["customers", "segments", 1, "patience_s"], {"dist": "exponential", "mean": 1, "sd": 2}
        ),
        "customers.segments[1].patience_s: exponential does not take sd",
    ),
    (
        "unknown_distribution",
        _set(["customers", "segments", 0, "charge"], {"dist": "normal", "mean": 55, "sd": 3}),
        "customers.segments[0].charge.dist: must be one of 'constant', 'exponential', "
        "'lognormal', 'gamma', 'weibull' or 'uniform' (got 'normal')",
    ),
    (
        "cycle_day_out_of_range",
        _set(["billing", "cycle_days"], [1, 30]),
        "billing.cycle_days: cycle days must be 1..28 (got [30])",
    ),
    (
        "reason_mix_not_one",
        _set(["billing", "contact", "reasons", "shock"], {"high_bill": 0.5, "plan_change": 0.2}),
        "billing.contact.reasons: shock: reason shares must sum to 1 (got 0.7)",
    ),
    (
        "unknown_reason",
        _set(["billing", "contact", "reasons", "error"], {"wrong_bill": 1.0}),
        "billing.contact.reasons.error.wrong_bill: must be one of 'billing_error', "
        "'high_bill', 'question', 'plan_change', 'payment' or 'cancel' (got 'wrong_bill')",
    ),
    (
        "closed_calls_choice",
        _set(["calendar", "closed_calls"], "queue"),
        "calendar.closed_calls: must be one of 'wait' or 'drop' (got 'queue')",
    ),
    (
        "authority_for_unknown_group",
        _set(["policies", "discount", "authority_pct"], {"tier2": 5}),
        "policies.discount.authority_pct: unknown group ['tier2'] "
        "(groups are ['billing_specialists', 'tier1'])",
    ),
]


@pytest.fixture(scope="module")
def baseline_data(baseline_path: Path) -> dict[str, Any]:
    return yaml.safe_load(baseline_path.read_text(encoding="utf-8"))


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _load_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert isinstance(err.problems, list)
    assert err.problems, "an error must name at least one problem"
    assert all(isinstance(p, str) for p in err.problems)
    assert "\n" not in str(err), "the message must be a single line"
    return err


@pytest.mark.parametrize(("case", "mutate", "problem"), BAD_FIELDS, ids=[c[0] for c in BAD_FIELDS])
def test_bad_field_names_file_path_and_reason(
    baseline_data: dict[str, Any],
    tmp_path: Path,
    case: str,
    mutate: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    data = copy.deepcopy(baseline_data)
    mutate(data)
    path = _write(tmp_path, case, data)
    err = _load_error(path)
    assert err.problems == [problem]
    assert err.source == str(path.absolute())  # the full path, not the base name
    assert str(err) == f"{path.absolute()}: {problem}"


def test_at_least_ten_kinds_of_bad_input_are_covered() -> None:
    assert len({case for case, _, _ in BAD_FIELDS}) >= 10


def test_wrong_type_names_field_and_value(baseline_data: dict[str, Any], tmp_path: Path) -> None:
    data = copy.deepcopy(baseline_data)
    data["customers"]["accounts"] = "many"
    err = _load_error(_write(tmp_path, "wrong_type", data))
    assert len(err.problems) == 1
    msg = str(err)
    assert msg.startswith(f"{tmp_path / 'wrong_type.yaml'}: customers.accounts: ")
    assert "valid integer" in msg
    assert msg.endswith("(got 'many')")


def test_unknown_discount_policy_lists_every_valid_name(
    baseline_data: dict[str, Any], tmp_path: Path
) -> None:
    data = copy.deepcopy(baseline_data)
    data["policies"]["discount"]["name"] = "generous"
    msg = str(_load_error(_write(tmp_path, "policy", data)))
    assert msg.startswith(
        f"{tmp_path / 'policy.yaml'}: policies.discount.name: unknown policy 'generous'"
    )
    for name in DISCOUNTS:
        assert name in msg


def test_several_problems_are_all_reported_on_one_line(
    baseline_data: dict[str, Any], tmp_path: Path
) -> None:
    data = copy.deepcopy(baseline_data)
    data["colour"] = "red"
    data["contact_center"]["groups"][1]["shifts"][0]["agents"] = -3
    data["customers"]["accounts"] = -1
    err = _load_error(_write(tmp_path, "many", data))
    assert sorted(err.problems) == sorted(
        [
            "colour: unknown field",
            "contact_center.groups[1].shifts[0].agents: must be >= 0 (got -3)",
            "customers.accounts: must be >= 0 (got -1)",
        ]
    )
    assert str(err) == f"{tmp_path / 'many.yaml'}: " + "; ".join(err.problems)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nseed: 1\n  bad: 2\n", encoding="utf-8")
    err = _load_error(path)
    assert err.problems == [
        "not valid YAML at line 3, column 6: mapping values are not allowed here"
    ]
    assert str(err).startswith(f"{path}: not valid YAML at line 3")


def test_unclosed_bracket_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bracket.yaml"
    path.write_text("name: x\nseed: 1\ncalendar: {months: 2\nname: y\n", encoding="utf-8")
    err = _load_error(path)
    assert len(err.problems) == 1
    assert err.problems[0].startswith("not valid YAML at line 4, column 5: ")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    err = _load_error(path)
    assert err.problems == ["the file is empty"]
    assert str(err) == f"{path}: the file is empty"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    assert str(_load_error(path)) == f"{path}: must be a mapping of fields (got list)"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    err = _load_error(path)
    assert err.problems == ["no such file"]
    assert str(err) == f"{path}: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    err = _load_error(tmp_path)
    assert err.problems == ["cannot be read (a folder)"]


def test_scenario_error_is_a_value_error() -> None:
    err = ScenarioError(["a: x", "b: y"], "f.yaml")
    assert isinstance(err, ValueError)
    assert str(err) == "f.yaml: a: x; b: y"
    assert ScenarioError(["a: x"]).source is None
    assert str(ScenarioError(["a: x"])) == "a: x"


def test_every_reason_is_covered_by_the_baseline(baseline: Scenario) -> None:
    covered = {s for g in baseline.contact_center.groups for s in g.skills}
    assert covered == set(REASONS)


# --------------------------------------------------------------------------- YAML strictness


def test_impossible_date_is_one_line_naming_the_line(tmp_path: Path) -> None:
    """PyYAML's date constructor raises a bare ValueError; it must not escape as a traceback."""
    path = tmp_path / "date.yaml"
    path.write_text("name: x\ncalendar: {start: 2027-02-30}\n", encoding="utf-8")
    err = _load_error(path)
    assert err.problems == [
        "not valid YAML at line 2, column 19: '2027-02-30' is not a valid date: "
        "day is out of range for month"
    ]


def test_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: x\nseed: 5\ncalendar: {months: 2}\nseed: 6\n", encoding="utf-8")
    err = _load_error(path)
    assert err.problems == [
        "not valid YAML at line 4, column 1: duplicate key 'seed' (first given at line 2)"
    ]


def test_duplicate_key_in_a_nested_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text("name: x\ncalendar:\n  months: 2\n  months: 4\n", encoding="utf-8")
    assert _load_error(path).problems == [
        "not valid YAML at line 4, column 3: duplicate key 'months' (first given at line 3)"
    ]


def test_merge_keys_may_still_be_overridden() -> None:
    """``<<: *defaults`` followed by one of its keys is an override, not a duplicate."""
    sc = scenario_from_yaml(
        "name: x\ncalendar:\n  <<: &cal {months: 2, closed_calls: drop}\n  months: 1\n"
    )
    assert sc.calendar.months == 1 and sc.calendar.closed_calls == "drop"


# --------------------------------------------------------------------------- horizon months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2027-01-04", 3, ["2027-01-04", "2027-02-04", "2027-03-04", "2027-04-04"]),
        ("2027-01-31", 3, ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),
        ("2027-11-30", 4, ["2027-11-30", "2027-12-30", "2028-01-30", "2028-02-29", "2028-03-30"]),
    ],
)
def test_months_are_anchored_on_the_start_date(
    start: str, months: int, expected: list[str]
) -> None:
    """Month m = start + m months (day clamped to the month's length), never a chain of
    clamps (Jan 31 -> Feb 28 -> Mar 31, not Mar 28); the last one is the horizon's end."""
    cal = scenario_from_dict({"calendar": {"start": start, "months": months}}).calendar
    got = [cal.month_start(m).isoformat() for m in range(months + 1)]
    assert got == expected
    assert cal.end == cal.month_start(months)
    assert cal.n_days == (cal.end - cal.start).days


@pytest.mark.parametrize("minutes", [15, 30, 60, 1440])
def test_interval_count_is_the_clocks(baseline: Scenario, minutes: int) -> None:
    from sim.scenario.calendar import Clock
    from sim.scenario.schema import n_intervals

    sc = baseline.with_changes({"contact_center.interval_minutes": minutes})
    edges = Clock(sc).interval_edges(minutes)
    assert edges.size - 1 == n_intervals(sc.calendar, minutes) == 90 * 1440 // minutes
    assert edges[-1] == Clock(sc).horizon_s


# --------------------------------------------------------------------------- staffing tables


def _table(data: dict[str, Any], agents_by_group: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["policies"]["staffing"] = {"name": "table", "params": {"agents_by_group": agents_by_group}}
    return data


def test_staffing_table_of_the_wrong_length_fails_validation(
    baseline_data: dict[str, Any], tmp_path: Path
) -> None:
    """A one-month table on the three-month baseline used to pass validate and crash run."""
    n = 90 * 48  # 2027-01-04 + 3 months = 90 days of 48 half hours
    data = _table(baseline_data, {"billing_specialists": [2] * 1488, "tier1": [5] * n})
    err = _load_error(_write(tmp_path, "short", data))
    assert err.problems == [
        "policies.staffing.params: 'billing_specialists' has 1488 intervals, the horizon "
        f"has {n} (calendar.start 2027-01-04 + 3 months = 90 days of 48 intervals of "
        "contact_center.interval_minutes 30)"
    ]


def test_staffing_table_must_name_every_group(
    baseline_data: dict[str, Any], tmp_path: Path
) -> None:
    """An empty table used to run with no agents at all; a group left out is an error."""
    data = copy.deepcopy(baseline_data)
    data["policies"]["staffing"] = {"name": "table", "params": {}}
    err = _load_error(_write(tmp_path, "empty_table", data))
    assert err.problems == [
        "policies.staffing.params: agents_by_group has no agents for group "
        "['billing_specialists', 'tier1']; the 'table' rule needs a list of agents on duty "
        "per interval for every group ['billing_specialists', 'tier1']"
    ]
    one = _table(baseline_data, {"tier1": [5] * 4320})
    assert "no agents for group ['billing_specialists']" in str(
        _load_error(_write(tmp_path, "one_group", one))
    )


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"tier2": [1]}, "unknown group ['tier2']"),
        ({"tier1": 5}, "agents_by_group['tier1'] must be a list of agents per interval"),
        ({"tier1": [1, -1]}, "agents for 'tier1' must be whole numbers >= 0 (interval 1: -1)"),
        ({"tier1": [1, 1.5]}, "(interval 1: 1.5)"),
        ({"tier1": [True]}, "(interval 0: True)"),
        ({"tier1": ["3"]}, "(interval 0: '3')"),
        ([1, 2], "agents_by_group must map each group name to its agents per interval"),
    ],
)
def test_staffing_table_entries_are_checked(
    baseline_data: dict[str, Any], tmp_path: Path, table: Any, problem: str
) -> None:
    err = _load_error(_write(tmp_path, "bad_table", _table(baseline_data, table)))
    assert len(err.problems) == 1
    assert err.problems[0].startswith("policies.staffing.params: ")
    assert problem in err.problems[0]


def test_a_full_staffing_table_validates_and_follows_horizon_changes(baseline: Scenario) -> None:
    table = {"billing_specialists": [2] * 4320, "tier1": [5] * 4320}
    sc = baseline.with_changes(
        {"policies.staffing": {"name": "table", "params": {"agents_by_group": table}}}
    )
    assert sc.policies.staffing.name == "table"
    with pytest.raises(
        ScenarioError,
        match=r"policies.staffing.params: 'billing_specialists' has 4320 intervals, "
        r"the horizon has 2832",
    ):
        sc.with_changes({"calendar.months": 2})
    with pytest.raises(ScenarioError, match=r"has 4320 intervals, the horizon has 8640"):
        sc.with_changes({"contact_center.interval_minutes": 15})


def test_the_understaffed_what_if_follows_the_baseline_with_fewer_agents(
    baseline: Scenario,
) -> None:
    """The what-if repeats the groups (lists are given whole): same shifts, 15 % fewer
    agents rounded half up, as its header says."""
    lean = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "understaffed.yaml")
    assert [g.name for g in lean.contact_center.groups] == [
        g.name for g in baseline.contact_center.groups
    ]
    for g_lean, g_base in zip(
        lean.contact_center.groups, baseline.contact_center.groups, strict=True
    ):
        assert g_lean.skills == g_base.skills and g_lean.shrinkage == g_base.shrinkage
        assert [(s.start, s.hours, s.days) for s in g_lean.shifts] == [
            (s.start, s.hours, s.days) for s in g_base.shifts
        ]
        for s_lean, s_base in zip(g_lean.shifts, g_base.shifts, strict=True):
            assert s_lean.agents == int(0.85 * s_base.agents + 0.5)


def test_the_save_desk_what_if_repeats_the_baseline_groups_and_adds_the_desk(
    baseline: Scenario,
) -> None:
    desk = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "save_desk.yaml")
    groups = desk.contact_center.groups

    def plain(g):  # the baseline's generalist takes 'cancel' when no group has it
        return {**g.model_dump(), "skills": [s for s in g.skills if s != "cancel"]}

    assert [plain(g) for g in groups[:-1]] == [plain(g) for g in baseline.contact_center.groups]
    assert groups[-1].name == "retention_desk" and groups[-1].skills == ["cancel"]
    assert desk.retention.save_desk.cancel_call_probability > 0


def test_scaled_keeps_load_per_agent_and_covers_every_shift(baseline: Scenario) -> None:
    half = baseline.scaled(0.5)
    assert half.customers.accounts == 100_000
    assert half.customers.acquisition_per_month == baseline.customers.acquisition_per_month / 2
    for g_half, g in zip(half.contact_center.groups, baseline.contact_center.groups, strict=True):
        for s_half, s in zip(g_half.shifts or [], g.shifts or [], strict=True):
            assert s_half.agents == max(1, int(s.agents * 0.5 + 0.5))
            assert (s_half.start, s_half.hours, s_half.days) == (s.start, s.hours, s.days)
    tiny = baseline.scaled(0.001)  # 200 accounts: still one agent on every shift
    assert tiny.customers.accounts == 200
    assert all(sh.agents == 1 for g in tiny.contact_center.groups for sh in g.shifts or [])
    flat = baseline.with_changes(
        {"contact_center.groups[0].shifts": None, "contact_center.groups[0].agents": 7}
    )
    assert flat.scaled(2).contact_center.groups[0].agents == 14
    assert baseline.scaled(1.0) == baseline
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="factor"):
            baseline.scaled(bad)
