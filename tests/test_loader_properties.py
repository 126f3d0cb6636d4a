"""Property-based attacks on the scenario and sweep loaders: any input gives a valid
scenario or one ScenarioError line, quickly and without a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.experiments.sweeps import load_sweep
from sim.scenario import Scenario, ScenarioError, scenario_from_yaml
from sim.scenario.loading import check_upload

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
FAST = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates().map(str),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


PATHS = list(_paths(BASE))


def _check(text: str) -> None:
    start = time.perf_counter()
    try:
        result = scenario_from_yaml(text, "prop.yaml")
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith("prop.yaml: ") and "\n" not in message
        assert len(message) < 10_000
    else:
        assert isinstance(result, Scenario)
    assert time.perf_counter() - start < 2


@FAST
@given(path=st.sampled_from(PATHS), value=values)
def test_any_field_mutation_gives_scenario_or_one_line(path, value) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    _check(yaml.safe_dump(data, allow_unicode=True))


@FAST
@given(text=st.text(max_size=300))
def test_any_text_gives_scenario_or_one_line(text: str) -> None:
    _check(text)


@FAST
@given(data=st.binary(max_size=300))
def test_any_upload_bytes_give_scenario_or_one_line(data: bytes) -> None:
    try:
        check_upload(data, "up.yaml")
    except ScenarioError as exc:
        assert "\n" not in str(exc)


@FAST
@given(
    grid=st.dictionaries(
        st.sampled_from(["seed", "customers.accounts", "calendar.months", "nope.x"]),
        st.one_of(
            st.lists(values, max_size=3),
            st.fixed_dictionaries({"from": scalars, "to": scalars, "step": scalars}),
            values,
        ),
        max_size=2,
    ),
    replications=values,
)
def test_any_sweep_gives_sweep_or_one_line(tmp_path_factory, grid, replications) -> None:
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
        "customers: {accounts: 1000}\ncalendar: {months: 1}\n"
    )
    path = folder / "sweep.yaml"
    text = yaml.safe_dump(
        {"scenario": "base.yaml", "grid": grid, "replications": replications}, allow_unicode=True
    )
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    try:
        sweep = load_sweep(path)
    except ScenarioError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 10_000
    else:
        assert 1 <= len(sweep.variants) <= 1000
    assert time.perf_counter() - start < 5
