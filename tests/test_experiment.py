"""The experiment runner: seeds, common random numbers, intervals, executors, failures,
resuming from the results store, sweep files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.core.rng import replication_seed
from sim.experiments.jobs import RunSummary, Variant, jobs_for
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import run_experiment
from sim.experiments.statistics import paired_differences, summarise_kpis, t_interval
from sim.experiments.store import Store, StoreError
from sim.experiments.sweeps import load_sweep, sweep_variants
from sim.model.replication import simulate
from sim.scenario import Scenario, ScenarioError
from tests.conftest import simple_staffing

TINY = {
    "customers.accounts": 3000,
    "calendar.months": 1,
    "customers.acquisition_per_month": 20,
}


@pytest.fixture(scope="module")
def tiny(baseline: Scenario) -> Scenario:
    """3 000 accounts, one month; one specialist and three tier-1 agents (one and two on
    the phones) from opening to closing, so queues form."""
    return simple_staffing(baseline.with_changes(TINY), specialists=1, tier1=3)


@pytest.fixture(scope="module")
def two_variants(tiny: Scenario) -> list[Variant]:
    shifts = tiny.contact_center.groups[1].shifts or []
    fewer = tiny.with_changes(
        {f"contact_center.groups[1].shifts[{i}].agents": 1 for i in range(len(shifts))}
    )
    return [Variant("today", tiny), Variant("fewer", fewer)]


@pytest.fixture(scope="module")
def serial_result(two_variants: list[Variant]) -> ExperimentResult:
    return run_experiment(two_variants, 4, executor="serial", tables=("monthly", "waits"))


class Exploding:
    """A discount policy that fails: stands for a researcher's buggy plug-in."""

    def discount_pct(self, ctx):
        raise RuntimeError("policy bug")


# ---- seeds and common random numbers --------------------------------------------------


def test_replication_seed_depends_only_on_scenario_seed_and_number():
    assert replication_seed(7, 0) == 7  # replication 0 is the scenario's own run
    seeds = [replication_seed(7, r) for r in range(50)]
    assert len(set(seeds)) == 50
    assert seeds == [replication_seed(7, r) for r in range(50)]
    assert replication_seed(8, 3) != replication_seed(7, 3)


def test_jobs_share_seeds_across_variants(two_variants):
    jobs = jobs_for(two_variants, 3)
    by_rep: dict[int, set[int]] = {}
    for j in jobs:
        by_rep.setdefault(j.replication, set()).add(j.seed)
    assert all(len(s) == 1 for s in by_rep.values())  # same seed for every variant
    assert [j.replication for j in jobs[:2]] == [0, 0]  # replications outermost


def test_a_run_equals_simulate_with_its_seed(serial_result, tiny):
    seed = replication_seed(tiny.seed, 2)
    direct = simulate(tiny, seed).kpis()
    stored = serial_result.runs[("today", 2)].kpis
    assert stored == pytest.approx(direct, nan_ok=True)


def test_common_random_numbers_make_paired_intervals_tighter(serial_result):
    # staffing changes only the queue: the bills, hence the calls offered on first
    # attempt, are identical, and the paired interval is narrower than the unpaired one
    wide = serial_result.kpis()
    a = wide[wide.variant == "today"]["service_level"].to_numpy()
    b = wide[wide.variant == "fewer"]["service_level"].to_numpy()
    paired = serial_result.paired("today").set_index("kpi")
    row = paired.loc["service_level"]
    assert row["mean_diff"] == pytest.approx(np.mean(b - a))
    unpaired_half = stats.t.ppf(0.975, 6) * np.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 4)
    assert (row["ci_high"] - row["ci_low"]) / 2 < unpaired_half
    assert row["mean_diff"] < 0 and row["significant"]  # fewer agents, worse service
    bills = serial_result.table("monthly").pivot_table(
        index="replication", columns="variant", values="bills", observed=True
    )
    assert (bills["today"] == bills["fewer"]).all()


# ---- summaries --------------------------------------------------------------------------


def test_t_interval_matches_scipy():
    x = np.array([1.0, 2.0, 4.0, 7.0, np.nan])
    n, mean, sd, lo, hi = t_interval(x)
    v = x[:4]
    lo2, hi2 = stats.t.interval(0.95, 3, loc=v.mean(), scale=stats.sem(v))
    assert (n, mean, sd) == (4, pytest.approx(3.5), pytest.approx(v.std(ddof=1)))
    assert (lo, hi) == (pytest.approx(lo2), pytest.approx(hi2))
    assert np.isnan(t_interval(np.array([3.0]))[3])  # one value: no interval
    assert t_interval(np.array([]))[0] == 0


def test_summary_is_tidy_and_consistent(serial_result):
    s = serial_result.summary()
    assert list(s.columns) == [
        "variant", "kpi", "label", "unit", "n", "mean", "sd", "ci_low", "ci_high",
    ]  # fmt: skip
    sl = s[(s.variant == "today") & (s.kpi == "service_level")].iloc[0]
    values = serial_result.kpis().query("variant == 'today'")["service_level"]
    assert sl["n"] == 4 and sl["mean"] == pytest.approx(values.mean())
    assert sl["ci_low"] <= sl["mean"] <= sl["ci_high"]
    assert sl["label"] == "Service level" and sl["unit"] == "share"


def test_tables_carry_run_keys(serial_result):
    waits = serial_result.table("waits")
    assert list(waits.columns[:3]) == ["variant", "replication", "seed"]
    assert set(waits["outcome"].unique()) <= {"answered", "abandoned"}
    assert (waits["wait_s"] >= 0).all()
    kpis = serial_result.table("kpis")
    assert set(kpis.columns) == {"variant", "replication", "seed", "kpi", "value"}
    assert len(kpis) == 8 * kpis["kpi"].nunique()
    with pytest.raises(ValueError, match="unknown table"):
        serial_result.table("nonsense")


def test_paired_rejects_unknown_baseline(serial_result):
    with pytest.raises(ValueError, match="baseline 'x' is not a variant"):
        serial_result.paired("x")


def test_bad_experiments_are_refused(tiny):
    with pytest.raises(ValueError, match="unique"):
        jobs_for([Variant("a", tiny), Variant("a", tiny)], 2)
    with pytest.raises(ValueError, match="replications must be >= 1"):
        jobs_for([Variant("a", tiny)], 0)
    with pytest.raises(ValueError, match="at least one variant"):
        jobs_for([], 2)
    with pytest.raises(ValueError, match="unknown executor"):
        run_experiment([Variant("a", tiny)], 2, executor="cloud")


# ---- executors ---------------------------------------------------------------------------


def test_process_pool_gives_identical_results(two_variants, serial_result):
    pooled = run_experiment(two_variants, 4, executor="process", workers=2,
                            tables=("monthly", "waits"))  # fmt: skip
    pd.testing.assert_frame_equal(pooled.kpis(), serial_result.kpis())
    pd.testing.assert_frame_equal(pooled.table("waits"), serial_result.table("waits"))


@pytest.fixture(scope="module")
def dask_scheduler():
    """A two-worker cluster standing for a remote one: the runner only gets its address."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.mark.slow
def test_dask_cluster_by_address_gives_identical_results(
    two_variants, serial_result, dask_scheduler
):
    dasked = run_experiment(two_variants, 4, executor="dask", dask=dask_scheduler,
                            tables=("monthly", "waits"))  # fmt: skip
    assert not dasked.failures
    pd.testing.assert_frame_equal(dasked.kpis(), serial_result.kpis())
    pd.testing.assert_frame_equal(dasked.table("waits"), serial_result.table("waits"))


@pytest.mark.slow
def test_dask_cli_sweep_on_a_cluster(tmp_path, tiny, dask_scheduler):
    from typer.testing import CliRunner

    from sim.faces import cli

    (tmp_path / "base.yaml").write_text(tiny.to_yaml(), encoding="utf-8")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("scenario: base.yaml\nreplications: 2\ngrid: {seed: [1, 2]}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.app, ["sweep", str(sweep), "--dask", dask_scheduler, "--no-store", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    kpis = pd.read_csv(out / "kpis.csv")
    assert len(kpis) == 4
    direct = simulate(tiny.with_changes(seed=2), replication_seed(2, 1)).kpis()
    row = kpis[(kpis.variant == "seed=2") & (kpis.replication == 1)].iloc[0]
    assert row["service_level"] == pytest.approx(direct["service_level"])


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_results(two_variants, serial_result):
    pytest.importorskip("distributed")
    dasked = run_experiment(two_variants, 4, executor="dask", workers=2,
                            tables=("monthly", "waits"))  # fmt: skip
    assert not dasked.failures
    pd.testing.assert_frame_equal(dasked.kpis(), serial_result.kpis())


@pytest.mark.slow
def test_dask_client_passed_in_is_warmed_once_and_gives_identical_results(
    two_variants, serial_result
):
    pytest.importorskip("distributed")
    from sim.experiments.cluster import WarmWorkers, connect, local_cluster

    with local_cluster(2) as cluster, connect(cluster) as client:
        # Dask's malloc trimming made every job 25-40 % slower: not on our workers,
        env = [nanny.pre_spawn_env for nanny in cluster.workers.values()]
        assert all("MALLOC_TRIM_THRESHOLD_" not in e for e in env)
        for _ in range(2):  # the second experiment registers the warm-up plugin again
            dasked = run_experiment(two_variants, 4, executor=client,
                                    tables=("monthly", "waits"))  # fmt: skip
            pd.testing.assert_frame_equal(dasked.kpis(), serial_result.kpis())
            pd.testing.assert_frame_equal(dasked.table("waits"), serial_result.table("waits"))
        plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
        assert all(WarmWorkers.name in names for names in plugins.values())


def test_unreachable_dask_scheduler_is_a_clear_error(tiny):
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        run_experiment([Variant("a", tiny)], 2, executor="dask", dask="tcp://127.0.0.1:9")


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_failing_job_is_reported_and_others_kept(tiny, executor):
    variants = [Variant("ok", tiny), Variant("buggy", tiny, {"discount_policy": Exploding()})]
    result = run_experiment(variants, 2, executor=executor, workers=2)
    assert sorted(result.runs) == [("ok", 0), ("ok", 1)]
    assert len(result.failures) == 2
    fail = min(result.failures, key=lambda f: f.replication)
    assert fail.variant == "buggy" and fail.seed == tiny.seed
    assert "policy bug" in str(fail) and f"seed {tiny.seed}" in str(fail)
    assert "RuntimeError" in fail.traceback
    assert result.summary()["variant"].eq("ok").all()


def test_progress_reaches_one(tiny):
    seen: list[tuple[float, str]] = []
    run_experiment([Variant("a", tiny)], 3, executor="serial",
                   progress=lambda f, m: seen.append((f, m)))  # fmt: skip
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "3/3" in seen[-1][1]


# ---- the results store and resuming ----------------------------------------------------


def test_interrupted_experiment_resumes_from_the_store(tmp_path, two_variants, serial_result):
    store = Store(tmp_path / "runs.sqlite")
    calls = {"n": 0}

    def interrupt_after_three(fraction: float, message: str) -> None:
        if fraction > 0:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(two_variants, 4, executor="serial", tables=("monthly", "waits"),
                       store=store, progress=interrupt_after_three)  # fmt: skip
    listed = store.list_runs()
    assert listed.loc[0, "status"] == "interrupted" and listed.loc[0, "runs_done"] == 3

    resumed = run_experiment(two_variants, 4, executor="serial", tables=("monthly", "waits"),
                             store=store)  # fmt: skip
    assert resumed.resumed == 3
    pd.testing.assert_frame_equal(resumed.kpis(), serial_result.kpis())
    pd.testing.assert_frame_equal(resumed.table("waits"), serial_result.table("waits"))
    assert store.list_runs().loc[0, "status"] == "complete"

    again = run_experiment(two_variants, 4, executor="serial", tables=("monthly", "waits"),
                           store=store)  # fmt: skip
    assert again.resumed == 8  # nothing left to run


def test_store_reopens_a_run_without_running(tmp_path, two_variants, serial_result):
    store = Store(tmp_path / "runs.sqlite")
    run_id = store.save(serial_result)
    loaded = store.load(run_id)
    pd.testing.assert_frame_equal(loaded.kpis(), serial_result.kpis())
    pd.testing.assert_frame_equal(loaded.summary(), serial_result.summary())
    assert loaded.scenario("fewer") == two_variants[1].scenario
    means = store.query(
        "SELECT variant, mean FROM kpi_means WHERE experiment_id = ? AND kpi = 'service_level'",
        [run_id],
    ).set_index("variant")["mean"]
    expected = serial_result.summary().query("kpi == 'service_level'").set_index("variant")
    assert means["today"] == pytest.approx(expected.loc["today", "mean"])
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.load("nope")


def test_a_failed_write_leaves_no_half_record(tmp_path, tiny):
    store = Store(tmp_path / "runs.sqlite")
    v = Variant("a", tiny)
    store.begin_experiment("x1", "x", [v], 1, ("monthly",), None)
    bad = RunSummary("a", 0, 1, {"service_level": 0.9, "broken": "not a number"}, {}, 0.1)
    with pytest.raises(ValueError):
        store.record_run("x1", bad)
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM kpis").fetchone()[0] == 0


def test_store_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(StoreError, match="cannot use results store"):
        Store(path)


# ---- sweeps ---------------------------------------------------------------------------------


def _sweep(tmp_path: Path, text: str, scenario: Scenario) -> Path:
    (tmp_path / "base.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    path = tmp_path / "sweep.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sweep_grid_and_named_variants(tmp_path, tiny):
    path = _sweep(
        tmp_path,
        """
scenario: base.yaml
replications: 3
seed: 5
variants:
  - name: lean
    changes:
      contact_center.groups[1].shifts[0].agents: 4
  - name: rich
    changes: {"contact_center.groups[1].shifts[0].agents": 9}
grid:
  policies.discount.name: [none, flat]
  customers.accounts: {from: 2000, to: 3000, step: 1000}
""",
        tiny,
    )
    sweep = load_sweep(path)
    assert sweep.replications == 3 and len(sweep.variants) == 8
    names = [v.name for v in sweep.variants]
    assert names[0] == "lean, discount.name=none, customers.accounts=2000"
    last = sweep.variants[-1].scenario
    assert last.seed == 5 and last.customers.accounts == 3000
    assert last.policies.discount.name == "flat"
    assert last.contact_center.groups[1].shifts[0].agents == 9


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("scenario: base.yaml\nrepetitions: 3\n", "repetitions: unknown field"),
        ("scenario: base.yaml\nreplications: 0\n", "replications:"),
        ("scenario: missing.yaml\n", "scenario: no such file"),
        ("scenario: base.yaml\ngrid: {customers.accounts: []}\n", "has no values"),
        ("scenario: base.yaml\ngrid: {customers.acounts: [1, 2]}\n", "customers.acounts: unknown"),
        ("scenario: base.yaml\ngrid: {customers.accounts: [-5]}\n", "grid: customers.accounts"),
        ("scenario: base.yaml\nbaseline: nope\n", "baseline: 'nope' is not one of"),
        ("scenario: base.yaml\ngrid: [1, 2\n", "not valid YAML at line"),
        ("- just a list\n", "must be a mapping"),
        ("scenario: base.yaml\ntables: [calls]\n", "unknown tables"),
        ("scenario: base.yaml\ngrid: {seed: {from: 8, to: 4, step: 2}}\n", "is below 'from'"),
        ("scenario: base.yaml\nreplications: 2\nreplications: 3\n", "duplicate key"),
        ("scenario: base.yaml\nchanges: {calendar.start: 2027-02-30}\n", "not a valid date"),
    ],
)
def test_bad_sweep_files_get_one_line_errors(tmp_path, tiny, text, fragment):
    path = _sweep(tmp_path, text, tiny)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert message.startswith(f"{path.absolute()}: ")  # the full path


def test_sweep_variants_without_grid_is_the_base(tiny):
    (only,) = sweep_variants(tiny, {})
    assert only.scenario == tiny and only.name == tiny.name


def test_store_marks_failed_experiments(tmp_path, tiny):
    store = Store(tmp_path / "runs.sqlite")
    variants = [Variant("ok", tiny), Variant("buggy", tiny, {"discount_policy": Exploding()})]
    result = run_experiment(variants, 2, executor="serial", store=store)
    row = store.list_runs().iloc[0]
    assert (row["status"], row["runs_done"], row["runs_failed"]) == ("failed", 2, 2)
    assert result.resumed == 0
    again = run_experiment(variants, 1, executor="serial", store=store)
    assert again.resumed == 1  # only replication 0 of 'ok' counts towards one replication


def test_summary_intervals_respect_natural_bounds():
    from sim.experiments.statistics import summarise_kpis

    long = pd.DataFrame(
        {"kpi": ["service_level"] * 3 + ["asa_s"] * 3, "value": [1.0, 1.0, 0.9, 0.0, 0.0, 3.0]}
    )
    s = summarise_kpis(long).set_index("kpi")
    assert s.loc["service_level", "ci_high"] == 1.0 and s.loc["service_level", "ci_low"] < 0.9
    assert s.loc["asa_s", "ci_low"] == 0.0 and s.loc["asa_s", "ci_high"] > 3.0


def test_stored_economics_read_by_libyaml_as_by_pyyaml():
    """The past-runs listing reads each stored scenario's economics block with libyaml
    (the app lists past runs at every click): the same block PyYAML's own parser reads,
    for every shipped scenario (also with dates, lists and a non-default money format),
    a fresh copy each time, and {} for text that is no YAML mapping."""
    import yaml

    from sim.experiments.store import _economics
    from sim.scenario import load_scenario

    root = Path(__file__).resolve().parents[1] / "scenarios"
    files = sorted(root.glob("*.yaml"))
    assert files
    for path in files:
        text = load_scenario(path).with_changes({"economics.number_format": "en"}).to_yaml()
        expected = yaml.safe_load(text)["economics"]
        assert _economics(text) == expected, path.name
        assert expected["number_format"] == "en"
    first = _economics(text)
    first["currency"] = "changed"
    assert _economics(text)["currency"] == expected["currency"]  # the cache is not shared
    from sim.experiments import store as store_module

    kept = store_module._ECONOMICS_KEPT
    try:  # the cache stays bounded, oldest out first
        store_module._ECONOMICS_KEPT = 2
        for currency in ("AAA", "BBB", "CCC"):
            assert _economics(f"economics: {{currency: {currency}}}") == {"currency": currency}
        assert len(store_module._ECONOMICS) == 2
    finally:
        store_module._ECONOMICS_KEPT = kept
    assert _economics("economics: [unclosed") == {}
    assert _economics("- a list") == {}
    assert _economics("economics: 5") == {}


def test_tables_are_built_once_and_handed_out_as_copies(serial_result):
    """summary, paired, kpis and table are memoised per result (the app asks for them
    at every click); each call gets its own copy, a result with other runs builds its
    own, and a pickle carries the runs, not the memo."""
    import dataclasses
    import pickle

    first = serial_result.summary()
    first.loc[:, "mean"] = -1.0  # a caller changing its copy
    assert serial_result.summary().equals(summarise_kpis(serial_result.table("kpis"), 0.95))
    assert (serial_result.summary()["mean"] != -1.0).any()
    paired = serial_result.paired("today")
    assert paired.equals(
        paired_differences(serial_result.kpis(), "today", serial_result.variant_names, 0.95)
    )
    narrower = serial_result.paired("today", 0.9)  # a level of its own, not the memo's
    assert ((narrower["ci_low"] >= paired["ci_low"]) | paired["ci_low"].isna()).all()
    assert (narrower["ci_low"] > paired["ci_low"]).any()
    fewer_runs = {k: v for k, v in serial_result.runs.items() if k[1] < 2}
    smaller = dataclasses.replace(serial_result, runs=fewer_runs)
    assert len(smaller.kpis()) == len(fewer_runs) < len(serial_result.kpis())
    copy = pickle.loads(pickle.dumps(serial_result))
    assert copy._memo == {} and copy.summary().equals(serial_result.summary())
