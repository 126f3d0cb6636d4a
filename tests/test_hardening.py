"""Attacks on the CLI and the library (issue #15): each test names the problem it guards."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
from sim.core.files import ForeignFolderError, atomic_dir
from sim.experiments.executors import JobRunner
from sim.experiments.jobs import Variant
from sim.experiments.runner import (
    ExperimentFailed,
    ExperimentFailuresWarning,
    StoreFailedWarning,
    run_experiment,
)
from sim.experiments.store import Store, StoreError
from sim.experiments.sweeps import load_sweep
from sim.faces import cli
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.limits import WorkLimitError, check_work, estimate_work
from sim.scenario.loading import check_upload, scenario_from_yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
TINY = {"customers.accounts": 800, "customers.acquisition_per_month": 10, "calendar.months": 1}
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(cli.app, [str(a) for a in args])


def one_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("billsim: error: ")]
    assert len(errors) == 1, lines
    assert "Traceback" not in result.output
    return errors[0]


@pytest.fixture(scope="module")
def tiny() -> sim.Scenario:
    return load_scenario(BASELINE).with_changes(TINY)


@pytest.fixture
def tiny_file(tmp_path: Path, tiny: sim.Scenario) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny.to_yaml(), encoding="utf-8")
    return path


def _alias_bomb(field: str, levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for c in "bcdefghijk"[: levels - 1]:
        lines.append(f"{c}: &{c} [{', '.join(['*' + prev] * 9)}]")
        prev = c
    return "x_bomb:\n" + "\n".join("  " + line for line in lines) + f"\n{field}: *{prev}\n"


# ---- 1. bounded work -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["description", "name", "calendar.holidays"])
def test_alias_bomb_is_refused_fast_and_small(field: str) -> None:
    top, _, sub = field.partition(".")
    text = _alias_bomb(top if not sub else "calendar")
    if sub:
        text = text.replace("calendar: *", f"calendar:\n  {sub}: *")
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        scenario_from_yaml(text, "bomb.yaml")
    assert time.perf_counter() - start < 2
    assert "aliases" in str(info.value) and len(str(info.value)) < 300


def test_upload_too_large_is_refused_before_parsing() -> None:
    with pytest.raises(ScenarioError, match="more than the limit"):
        check_upload(b"name: x\n" + b"#" * (5 * 1024 * 1024), "big.yaml")
    assert check_upload(BASELINE.read_bytes(), "baseline.yaml").name == "baseline"


def test_long_bad_value_is_quoted_short() -> None:
    text = "name: x\ncalendar: {months: '" + "9" * 100_000 + "'}\n"
    with pytest.raises(ScenarioError) as info:
        scenario_from_yaml(text, "long.yaml")
    assert len(str(info.value)) < 500


@pytest.mark.parametrize(
    "changes",
    [{"customers.accounts": 50_000_000}, {"customers.acquisition_per_month": 1e9}],
)
def test_work_beyond_limits_refused_unless_allowed(changes: dict) -> None:
    big = load_scenario(BASELINE).with_changes(changes)
    with pytest.raises(WorkLimitError, match="too much work"):
        check_work(big)
    assert check_work(big, allow_large=True).accounts == big.customers.accounts
    assert estimate_work(load_scenario(BASELINE)).problems() == []


def test_cli_refuses_big_run_up_front(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("extends: " + str(BASELINE) + "\ncustomers: {accounts: 50000000}\n")
    start = time.perf_counter()
    line = one_error(invoke("run", path, "--no-store", "-q"))
    assert "too much work" in line and "--allow-large" in line
    assert time.perf_counter() - start < 10


def test_sweep_grid_and_replications_capped(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(f"extends: {BASELINE}\n")
    huge = tmp_path / "huge.yaml"
    huge.write_text(
        "scenario: base.yaml\ngrid:\n  seed: {from: 0, to: 999, step: 1}\n"
        "  customers.accounts: {from: 1000, to: 1999, step: 1}\n"
    )
    with pytest.raises(ScenarioError, match="more than 1,000 variants"):
        load_sweep(huge)
    tiny_step = tmp_path / "step.yaml"
    tiny_step.write_text("scenario: base.yaml\ngrid:\n  seed: {from: 0, to: 1, step: 1e-6}\n")
    with pytest.raises(ScenarioError, match="more than the limit"):
        load_sweep(tiny_step)
    inf = tmp_path / "inf.yaml"
    inf.write_text("scenario: base.yaml\ngrid:\n  seed: {from: 0, to: .inf, step: 1}\n")
    with pytest.raises(ScenarioError, match="finite"):
        load_sweep(inf)
    ok = tmp_path / "ok.yaml"
    ok.write_text("scenario: base.yaml\n")
    line = one_error(invoke("sweep", ok, "-r", 100_000_000, "--no-store"))
    assert "--replications must be 1..10,000" in line


# ---- 2./3. only billsim's own folders are replaced ----------------------------------------


def test_foreign_folder_with_run_json_is_never_replaced(tmp_path: Path, tiny_file: Path) -> None:
    out = tmp_path / "thesis"
    (out / "data").mkdir(parents=True)
    (out / "thesis.tex").write_text("my thesis")
    (out / "run.json").write_text("{}")
    line = one_error(invoke("run", tiny_file, "--out", out, "--no-store", "-q"))
    assert "refusing to replace" in line and str(out) in line
    assert (out / "thesis.tex").read_text() == "my thesis" and (out / "data").is_dir()
    (out / "experiment.json").write_text("{}")
    line = one_error(invoke("sweep", tiny_file, "--out", out, "--no-store"))
    assert (out / "thesis.tex").is_file()


def test_own_folder_replaced_but_not_after_a_user_adds_a_file(tmp_path: Path) -> None:
    out = tmp_path / "res"
    for _ in range(2):
        with atomic_dir(out) as tmp:
            (tmp / "a.csv").write_text("x")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ForeignFolderError, match=r"notes\.txt"), atomic_dir(out) as tmp:
        (tmp / "a.csv").write_text("y")
    assert (out / "notes.txt").read_text() == "mine"


def test_stale_temporary_folder_from_a_killed_write_is_cleaned(tmp_path: Path) -> None:
    code = (
        "import os, sys; from sim.core.files import atomic_dir\n"
        f"with atomic_dir({str(tmp_path / 'out')!r}) as t:\n"
        "    (t / 'x').write_text('1'); os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "y").write_text("2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---- 4. finite numbers, seeds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("retention: {effects: {abandoned: .nan}}", "retention.effects.abandoned"),
        ("customers: {acquisition_per_month: .inf}", "customers.acquisition_per_month"),
        ("billing: {contact: {weekday_factor: {mon: .inf}}}", "weekday_factor.mon"),
        ("contact_center: {handling: {after_call_s: {dist: exponential, mean: .nan}}}", "mean"),
    ],
)
def test_nan_and_inf_refused(text: str, field: str) -> None:
    with pytest.raises(ScenarioError, match="finite") as info:
        scenario_from_yaml(f"extends: baseline.yaml\n{text}\n", "f.yaml", SCENARIOS)
    assert field in str(info.value)


def test_seed_beyond_sqlite_refused_at_load(tiny_file: Path) -> None:
    with pytest.raises(ScenarioError, match="seed: must be <= 2\\*\\*63"):
        scenario_from_yaml("seed: 9223372036854775808\n", "s.yaml")
    line = one_error(invoke("run", tiny_file, "--seed", 2**63, "--no-store", "-q"))
    assert "--seed must be 0..2**63-1" in line


# ---- 5. one line for every expected failure ---------------------------------------------------


@pytest.mark.parametrize("name", ["/dev/zero", "/proc/self/mem", "loop", "fifo", "dir"])
def test_non_regular_inputs_refused_with_full_path(tmp_path: Path, name: str) -> None:
    path = Path(name)
    if name == "loop":
        path = tmp_path / "loop.yaml"
        path.symlink_to(path)
    elif name == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    elif name == "dir":
        path = tmp_path
    start = time.perf_counter()
    line = one_error(invoke("validate", path))
    assert str(path.absolute()) in line and "cannot be read" in line
    assert time.perf_counter() - start < 5


def test_corrupt_store_is_one_line(tmp_path: Path, tiny_file: Path) -> None:
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    line = one_error(invoke("run", tiny_file, "--store", db, "-q"))
    assert str(db) in line


def test_store_failure_keeps_out_results(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self, *a, **k):
        raise StoreError(f"cannot use results store {self.path}: database or disk is full")

    monkeypatch.setattr(Store, "save", disk_full)
    out = tmp_path / "out"
    result = invoke("run", tiny_file, "--out", out, "--store", tmp_path / "s.sqlite", "-q")
    assert "disk is full" in one_error(result, code=1)
    assert (out / "run.json").is_file()


def test_store_failure_mid_experiment_finishes_in_memory(
    tiny: sim.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.sqlite")

    def disk_full(*a, **k):
        raise StoreError("cannot use results store: database or disk is full")

    monkeypatch.setattr(store, "record_run", disk_full)
    with pytest.warns(StoreFailedWarning, match="disk is full"):
        res = run_experiment([Variant("t", tiny)], 2, executor="serial", store=store)
    assert len(res.runs) == 2


def test_sqlite_error_in_store_becomes_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    with sqlite3.connect(store.path) as con:
        con.execute("DROP TABLE jobs")
    with pytest.raises(StoreError, match=str(store.path)):
        store.finished_runs("x")


def test_oserror_while_writing_is_one_line(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "calls.csv"))

    monkeypatch.setattr(sim.Results, "write", full)
    line = one_error(invoke("run", tiny_file, "--out", tmp_path / "out", "--no-store", "-q"))
    assert "No space left on device" in line


def test_overlong_out_path_is_one_line(tiny_file: Path, tmp_path: Path) -> None:
    line = one_error(invoke("run", tiny_file, "--out", tmp_path / ("x" * 300), "--no-store"))
    assert "too long" in line


# ---- 6. faults survived -------------------------------------------------------------------------


def _kill_one_worker_job(job):
    """run_job, but the first attempt of replication 1 kills its own worker process."""
    from sim.experiments import jobs as jobs_module

    flag = Path(os.environ["BILLSIM_TEST_FLAG"])
    if job.replication == 1 and not flag.exists():
        flag.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return jobs_module.run_job(job)


def test_killed_pool_worker_costs_only_a_retry(
    tiny: sim.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.experiments import executors

    monkeypatch.setenv("BILLSIM_TEST_FLAG", str(tmp_path / "flag"))
    monkeypatch.setattr(executors, "run_job", _kill_one_worker_job)
    res = run_experiment([Variant("t", tiny)], 4, executor="process", workers=2)
    assert (tmp_path / "flag").exists(), "a worker was killed"
    assert not res.failures and len(res.runs) == 4
    serial = run_experiment([Variant("t", tiny)], 4, executor="serial")
    assert res.summary().equals(serial.summary())


def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = f"""
import os, time
from sim.experiments.pool import process_pool
pool = process_pool(2)
ps = [pool.submit(os.getpid) for _ in range(4)]
open({str(pids)!r}, "w").write(" ".join(str(f.result()) for f in ps))
time.sleep(60)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.time() + 30
    while not pids.exists() or not pids.read_text():
        assert time.time() < deadline
        time.sleep(0.1)
    workers = {int(p) for p in pids.read_text().split()}
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = {p for p in alive if _alive(p)}
    assert not alive, f"orphaned workers {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_experiment_left_running_by_dead_process_is_interrupted(
    tiny: sim.Scenario, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.begin_experiment("e1", "x", [Variant("t", tiny)], 1, ["monthly"], None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with sqlite3.connect(store.path) as con:
        con.execute("UPDATE experiments SET pid=? WHERE experiment_id='e1'", (dead.pid,))
    assert Store(store.path).list_runs()["status"].tolist() == ["interrupted"]


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, tiny: sim.Scenario) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(load_scenario(BASELINE).with_changes({"calendar.months": 6}).to_yaml())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILLSIM_STORE": str(tmp_path / "s.sqlite")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "compare", path, path, "-r", "4", "--executor", "serial"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stderr.readline()  # the first progress line: the run has started
    assert first.startswith("billsim: compare"), first
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert Store(tmp_path / "s.sqlite").list_runs()["status"].tolist() == ["interrupted"]


# ---- 7. planner comforts -------------------------------------------------------------------------


def test_what_if_files_are_the_baseline_plus_their_change() -> None:
    base = load_scenario(BASELINE)
    for name in ("understaffed", "billing_incident", "growth"):
        sc = load_scenario(SCENARIOS / f"{name}.yaml")
        assert sc.policies.discount.handling_s == base.policies.discount.handling_s == 60
        assert sc.economics == base.economics
        assert "extends: baseline.yaml" in (SCENARIOS / f"{name}.yaml").read_text()


def test_extends_cycle_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ScenarioError, match=r"nowhere\.yaml: no such file"):
        load_scenario(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text(f"extends: {BASELINE}\nname: d\n")
    assert (
        load_scenario(tmp_path / "d.yaml").contact_center == load_scenario(BASELINE).contact_center
    )


def test_did_you_mean_and_bracket_key_named() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'accounts'"):
        scenario_from_yaml("customers: {acounts: 5}\n")
    with pytest.raises(ScenarioError, match=r"contact_center.groups\[0\]: unknown field"):
        scenario_from_yaml("contact_center: {'groups[0]': 1}\n")


def test_control_characters_in_names_are_not_printed(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(f'extends: {BASELINE}\nname: "a\\e[31mred\\u202e"\n')
    result = invoke("validate", path)
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\u202e" not in result.stdout


def test_progress_lines_when_not_a_terminal(tiny_file: Path) -> None:
    result = invoke("run", tiny_file, "--no-store")
    assert result.exit_code == 0
    assert "billsim: Simulating baseline: 100%" in result.stderr


def test_named_grid_values_and_quoted_name_listing(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(f"extends: {BASELINE}\n")
    path = tmp_path / "sw.yaml"
    path.write_text(
        "scenario: base.yaml\nbaseline: 'nope'\n"
        "grid:\n  policies.discount.name: {values: {today: none, 'targeted, big': flat}}\n"
    )
    with pytest.raises(ScenarioError, match=r"\('discount.name=today', 'discount.name=targeted"):
        load_sweep(path)
    path.write_text(path.read_text().replace("'nope'", "'discount.name=today'"))
    assert [v.name for v in load_sweep(path).variants] == [
        "discount.name=today",
        "discount.name=targeted, big",
    ]


def test_run_experiment_warns_or_raises_on_failures(tiny: sim.Scenario) -> None:
    bad = Variant("bad", tiny, {"discount_policy": object()})
    with pytest.warns(ExperimentFailuresWarning, match="bad"):
        run_experiment([bad], 1, executor="serial")
    with pytest.raises(ExperimentFailed), warnings.catch_warnings():
        run_experiment([bad], 1, executor="serial", raise_on_failure=True)


def test_dask_dashboard_on_loopback() -> None:
    pytest.importorskip("distributed")
    from sim.experiments.cluster import DASHBOARD

    assert DASHBOARD.startswith("127.0.0.1")
    assert JobRunner("dask", 1, None).dask is None


def test_staff_months_clips_a_later_incident(tmp_path: Path) -> None:
    path = tmp_path / "inc.yaml"
    path.write_text(
        f"extends: {SCENARIOS / 'billing_incident.yaml'}\n"
        "customers: {accounts: 2000, acquisition_per_month: 10}\n"
    )
    result = invoke("staff", path, "--months", "1", "-r", "1", "--holdout", "0", "--no-prune", "-q")
    assert "billing.incident ends 2027-02-28" in result.stderr
    assert "clipped to 2027-02-03" in result.stderr
    assert "Traceback" not in result.output and result.exit_code in (0, 1)


def test_shift_past_closing_is_refused() -> None:
    with pytest.raises(ScenarioError, match="runs outside the open hours 08:00-20:00 on mon"):
        load_scenario(BASELINE).with_changes({"contact_center.groups[1].shifts[0].hours": 13})
