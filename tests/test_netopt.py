"""The net-value optimiser picks a plan that dominates by construction, excludes clearly
worse plans from the not-worse set, checks its choice on seeds the search never used, and
writes a chosen scenario that loads back equal to the choice.

The scenario *as given* is wasteful on purpose: head counts doubled (pure agent cost for
3 000 accounts that the written staffing already serves) and a flat 20 % discount whose
retention effect is set to zero (it only costs money and talk time). The plan "half the
head counts + flat 0 %" restores the written staffing without the discount and so
dominates every other candidate.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.core.rng import replication_seed
from sim.experiments.jobs import Variant
from sim.experiments.netopt import (
    AS_GIVEN,
    DiscountOption,
    SearchSpace,
    StaffingOption,
    mcb_intervals,
    not_worse_than_best,
    optimise_net,
    sample_size,
    screen,
)
from sim.experiments.runner import run_experiment
from sim.experiments.statistics import corrected_t_quantile, t_quantile
from sim.faces import cli
from sim.scenario import Scenario, load_scenario

SPACE = {
    "staffing": [{}, {"scale": 0.5}, {"scale": 1.5}],
    "discount": [{}, {"pct": 0}],
}
BEST = "staffing as given x0.5 + discount as given at 0%"
REPS, HOLDOUT = 4, 4


@pytest.fixture(scope="module")
def wasteful(baseline: Scenario) -> Scenario:
    small = baseline.with_changes(
        {
            "customers.accounts": 3000,
            "customers.acquisition_per_month": 50,
            "calendar.months": 1,
            "retention.effects.discount": 0.0,
        }
    )
    changes = {
        **StaffingOption(scale=2.0).changes(small),
        **DiscountOption("flat", 20.0, authority=20.0, budget="unlimited").changes(small),
    }
    return small.with_changes(changes, name="wasteful")


@pytest.fixture(scope="module")
def scenario_file(wasteful: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("input") / "wasteful.yaml"
    path.write_text(wasteful.to_yaml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def result(wasteful: Scenario, scenario_file: Path):
    return optimise_net(
        wasteful,
        SPACE,
        replications=REPS,
        holdout=HOLDOUT,
        executor="serial",
        source=scenario_file,
    )


def test_the_dominating_plan_is_chosen_and_holds(result) -> None:
    assert result.best.name == BEST
    ranking = result.ranking()
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert ranking.iloc[0]["candidate"] == BEST and bool(ranking.iloc[0]["best"])
    # every other plan costs agents or discounts: clearly worse ones are not in the set
    for name in (AS_GIVEN, "staffing as given x1.5 + discount as given"):
        assert name not in result.not_worse
        row = ranking.set_index("candidate").loc[name]
        assert row["diff_best_high"] < 0  # its paired 95 % interval lies below the best
    assert BEST in result.not_worse
    assert result.holds
    check = result.holdout().set_index("comparison")
    vs_given = check.loc["best vs as given"]
    assert vs_given["holdout_low"] > 0 and vs_given["search_low"] > 0
    assert bool(vs_given["holds"])


def test_the_best_has_a_confidence_interval_around_its_mean(result) -> None:
    s = result.summary()
    assert s["best_net_low"] < s["best_net"] < s["best_net_high"]
    assert s["candidates"] == 6  # the as-given combination is not repeated


def test_holdout_seeds_are_disjoint_from_the_search(result, wasteful: Scenario) -> None:
    s = result.summary()
    assert s["holdout_first"] == s["search_replications"]
    assert set(s["search_seeds"]).isdisjoint(s["holdout_seeds"])
    expected = [replication_seed(wasteful.seed, r) for r in range(s["holdout_first"], 8 + 99)]
    assert s["holdout_seeds"] == expected[:HOLDOUT]
    assert all(result.holdout()["holdout_n"] == HOLDOUT)


def test_first_replication_continues_the_seeds(wasteful: Scenario) -> None:
    v = [Variant("w", wasteful)]
    later = run_experiment(v, 2, executor="serial", tables=(), first_replication=3)
    assert sorted(later.kpis()["replication"]) == [3, 4]
    assert sorted(later.kpis()["seed"]) == sorted(
        replication_seed(wasteful.seed, r) for r in (3, 4)
    )


def test_written_scenario_extends_the_input_and_equals_the_choice(
    result, scenario_file: Path, tmp_path: Path
) -> None:
    out = result.write(tmp_path / "opt")
    text = (out / "scenario.yaml").read_text(encoding="utf-8")
    assert "extends: ../" in text and "contact_center" in text
    assert "seed" not in text.split("extends")[1]  # only the changes
    loaded = load_scenario(out / "scenario.yaml")
    assert loaded.to_dict() == result.to_scenario().to_dict()
    for name in ("ranking.csv", "holdout.csv", "report.md", "run.json"):
        assert (out / name).is_file()
    assert BEST in (out / "report.md").read_text(encoding="utf-8")


def test_a_change_extends_cannot_express_is_written_whole(
    result, wasteful: Scenario, tmp_path: Path
) -> None:
    """'none' takes no parameters: the flat policy's pct cannot be merged away."""
    none = SearchSpace.from_dict({"discount": [{"policy": "none"}]}).candidates(wasteful)[1]
    chosen = dataclasses.replace(result, best=none)
    text = chosen.scenario_yaml(result.source, tmp_path)
    assert "extends" not in text.split("\n", 2)[2]
    (tmp_path / "scenario.yaml").write_text(text, encoding="utf-8")
    loaded = load_scenario(tmp_path / "scenario.yaml")
    assert loaded.policies.discount.name == "none"
    assert loaded.to_dict() == chosen.to_scenario().to_dict()


def test_multiplicity_correction_widens_with_more_candidates() -> None:
    for method in ("bonferroni", "sidak"):
        q = [corrected_t_quantile(0.05, m, 4, method) for m in (1, 2, 5, 11, 50)]
        assert all(a < b for a, b in itertools.pairwise(q))
    assert corrected_t_quantile(0.05, 1, 4) == pytest.approx(t_quantile(0.90, 4))
    assert corrected_t_quantile(0.05, 10, 4) == pytest.approx(stats.t.ppf(1 - 0.005, 4))
    assert corrected_t_quantile(0.05, 10, 4, "sidak") < corrected_t_quantile(0.05, 10, 4)
    with pytest.raises(ValueError, match="comparisons"):
        corrected_t_quantile(0.05, 0, 4)


def test_screen_and_mcb_on_paired_outputs() -> None:
    rng = np.random.default_rng(3)
    common = rng.normal(1000.0, 50.0, size=8)  # common random numbers: a shared part
    noise = rng.normal(0.0, 1.0, size=(4, 8))
    y = common + noise + np.array([[10.0], [0.0], [0.0], [10.2]])
    keep = screen(y, 0.05)
    assert keep.tolist() == [True, False, False, True]
    low, high = mcb_intervals(y[keep], 0.05)
    assert (low <= 0).all() and (high >= 0).all() and (high > 0).all()
    assert not_worse_than_best(y[keep], 0.05).tolist() == [True, True]  # a near tie
    # the gap of 10 is ~10 sd of a paired difference: 8 runs tell 1 apart from 10
    assert sample_size(y[keep], 0.05, delta=1.0) > sample_size(y[keep], 0.05, delta=10.0)
    assert sample_size(y[keep], 0.05, delta=10.0) == 8


def test_not_worse_set_excludes_a_survivor_clearly_behind_the_best() -> None:
    """Hsu's subset must not keep a plan whose whole interval lies below the best (the
    constrained MCB upper bound is clipped at 0, so it cannot be the criterion)."""
    rng = np.random.default_rng(5)
    common = rng.normal(2_400_000.0, 50_000.0, size=12)
    noise = rng.normal(0.0, 1_000.0, size=(3, 12))
    y = common + noise + np.array([[0.0], [-38_000.0], [-300.0]])
    mask = not_worse_than_best(y, 0.05)
    assert mask.tolist() == [True, False, True]
    _low, high = mcb_intervals(y, 0.05)
    assert high[1] == 0.0  # the clipped bound would have kept it


def test_space_from_dict_refuses_unknown_fields_and_default_has_twelve(
    wasteful: Scenario,
) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        SearchSpace.from_dict({"staffing": [{"rule": "fixed", "heads": 3}]})
    with pytest.raises(ValueError, match="staffing rule"):
        SearchSpace.from_dict({"staffing": [{"rule": "magic"}]})
    default = SearchSpace.default(wasteful)
    assert len(default.staffing) * len(default.discount) == 12
    assert len(default.candidates(wasteful)) == 12


runner = CliRunner()


def test_cli_writes_outputs_and_exit_code_follows_the_holdout(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    result,
    baseline: Scenario,
) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "staffing: [{}, {scale: 0.5}]\ndiscount: [{}, {policy: none}]\n", encoding="utf-8"
    )
    out = tmp_path / "cli"
    args = ["optimise", str(scenario_file), "-r", "3", "--holdout", "3", "--space", str(space)]
    done = runner.invoke(cli.app, [*args, "--workers", "1", "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    assert "holds on fresh seeds" in done.output
    assert "staffing as given x0.5 + no discount" in done.output
    loaded = load_scenario(out / "scenario.yaml")
    assert loaded.policies.discount.name == "none"
    # the wasteful input doubled the baseline's head counts; x0.5 undoes that
    assert loaded.contact_center.groups[1].shifts[0].agents == (
        baseline.contact_center.groups[1].shifts[0].agents
    )
    assert (out / "ranking.csv").is_file() and (out / "report.md").is_file()

    failed = dataclasses.replace(result, holds=False)
    monkeypatch.setattr(cli, "optimise_net", lambda *a, **k: failed)
    done = runner.invoke(cli.app, [*args, "-q"])
    assert done.exit_code == 1, done.output
    assert "does NOT hold" in done.output

    bad = runner.invoke(cli.app, ["optimise", str(scenario_file), "--holdout", "1"])
    assert bad.exit_code == 2
