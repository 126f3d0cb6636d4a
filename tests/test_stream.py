"""Streamed runs (``simulate(stream_to=...)``, ``billsim run --stream-to``): the same
numbers and tables as a run in memory, only live calls held, nothing half-written."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import sim
from sim.center.engine import ContactCenter
from sim.core.codes import IN_SERVICE, PENDING, WAITING
from sim.faces import cli
from sim.model import sink
from sim.results.stream import StreamTargetError

SEED = 7
#: Exercises every path that keeps or renumbers a call record: discount offers with an
#: escalated authority, transfers, callbacks, priority classes, overflow, retrials (one
#: agent a shift, so that queues form).
RICH = {
    "contact_center.groups[0].shifts[0].agents": 1,
    **{f"contact_center.groups[1].shifts[{s}].agents": 1 for s in range(5)},
    "policies.discount.name": "churn_risk_targeted",
    "policies.discount.escalate_to": "billing_specialists",
    "policies.priority.name": "risk_first",
    "policies.discount.accept_half_pct": 5,
    "contact_center.callers.callback.offer_when_wait_s": 5,
    "contact_center.resolution.escalation": {
        "to_group": "billing_specialists",
        "probability": 0.5,
    },
}
TABLES = ("calls", "customers", "monthly", "segments", "waits", "intervals")


@pytest.fixture(scope="module")
def scenario(small_scenario: sim.Scenario) -> sim.Scenario:
    return small_scenario.with_changes(RICH)


@pytest.fixture(scope="module")
def in_memory(scenario: sim.Scenario) -> sim.Results:
    return sim.simulate(scenario, seed=SEED)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write (and forget) at every midnight with anything booked: many row groups."""
    monkeypatch.setattr(sink, "CHUNK_ROWS", 1)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_streamed_kpis_and_tables_equal_in_memory(
    tmp_path: Path, scenario: sim.Scenario, in_memory: sim.Results, small_chunks: None
) -> None:
    streamed = sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run")
    assert streamed.raw.stream == tmp_path / "run"
    k, ks = in_memory.kpis(), streamed.kpis()
    assert k.keys() == ks.keys()
    assert all(same(k[name], ks[name]) for name in k), {
        name: (k[name], ks[name]) for name in k if not same(k[name], ks[name])
    }
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(in_memory, name)(), getattr(streamed, name)())
    calls = in_memory.calls()
    assert calls["discount_pct"].gt(0).any() and calls["callback"].any()
    assert calls["origin"].eq("transfer").any() and calls["attempt"].gt(0).any()
    # the folder: streamed tables in many row groups, the small ones beside them
    out = tmp_path / "run"
    assert pq.ParquetFile(out / "calls.parquet").metadata.num_row_groups > 10
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "calls.parquet",
        "customers.parquet",
        "intervals.parquet",
        "kpis.parquet",
        "monthly.parquet",
        "run.json",
        "scenario.yaml",
    ]
    kpis = pd.read_parquet(out / "kpis.parquet").set_index("kpi")["value"]
    assert all(same(kpis[name], k[name]) for name in k)


def test_default_chunks_give_the_same_numbers(
    tmp_path: Path, scenario: sim.Scenario, in_memory: sim.Results
) -> None:
    """One row group at the end (the small run never gathers a chunk): same numbers."""
    streamed = sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run")
    assert streamed.kpis() == pytest.approx(in_memory.kpis(), nan_ok=True, rel=0, abs=0)


def test_columns_read_back_by_call_id_and_a_short_file_is_refused(
    tmp_path: Path, scenario: sim.Scenario, in_memory: sim.Results, small_chunks: None
) -> None:
    """Each column is scattered by the call ids read once: in many row groups written in
    the order calls finished, every column comes back in call-id order; a calls file
    that lost rows is named in the error, not read as if complete."""
    from sim.results.stream import StreamedCalls

    streamed = sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run")
    calls = streamed.raw.calls
    assert isinstance(calls, StreamedCalls)
    path = tmp_path / "run" / "calls.parquet"
    order = pq.read_table(path, columns=["call_id"]).column(0).to_numpy()
    assert not (np.diff(order) > 0).all()  # the file is not in call-id order
    for name in ("t_arrive", "status", "group", "account", "attempt"):
        np.testing.assert_array_equal(calls[name], in_memory.raw.calls[name])
    short = tmp_path / "short.parquet"
    pq.write_table(pq.read_table(path).slice(1), short)
    lost = StreamedCalls(short, calls.n_calls, calls._groups)
    with pytest.raises(ValueError, match=r"short\.parquet holds \d+ calls, expected"):
        lost["t_arrive"]


def test_engine_holds_only_live_calls(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scenario: sim.Scenario,
    in_memory: sim.Results,
    small_chunks: None,
) -> None:
    """After each midnight's write, every record the engine keeps is of a call still
    open (waiting, in service, placed for later) or named by a pending event."""
    held: list[tuple[int, int]] = []
    compact = ContactCenter.compact

    def checked(self: ContactCenter, consumed: int) -> np.ndarray:
        new = compact(self, consumed)
        status = np.asarray(self.status)
        open_ = np.isin(status, (PENDING, WAITING, IN_SERVICE))
        named = {e[3] for e in self._heap} | set(self.finished)
        named |= {cid for per_class in self.queues for dq in per_class for cid in dq}
        assert all(open_[r] or r in named for r in range(status.size))
        held.append((status.size, int(open_.sum())))
        return new

    monkeypatch.setattr(ContactCenter, "compact", checked)
    sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run")
    total = len(in_memory.calls())
    assert len(held) > 30  # a write most midnights of two months
    assert max(n for n, _ in held) < total / 5  # never more than a few days' calls
    assert sum(n - live for n, live in held) <= sum(live for _, live in held)


def test_interrupted_run_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: sim.Scenario, small_chunks: None
) -> None:
    def stop(fraction: float, message: str) -> None:
        if fraction > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run", progress=stop)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary


def test_failed_write_surfaces_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: sim.Scenario, small_chunks: None
) -> None:
    """A write fails in the writer's thread (a full disk): the run stops with that error
    and the temporary folder goes."""

    def full(self: pq.ParquetWriter, table: object, row_group_size: object = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OSError, match="No space left on device"):
        sim.simulate(scenario, seed=SEED, stream_to=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_refuses_an_existing_or_unwritable_target(tmp_path: Path, scenario: sim.Scenario) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(StreamTargetError, match="it exists; choose a new folder"):
        sim.simulate(scenario, stream_to=taken)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StreamTargetError, match="is not a folder"):
        sim.simulate(scenario, stream_to=blocker / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "taken"]


def test_cli_stream_to(tmp_path: Path, scenario: sim.Scenario, in_memory: sim.Results) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(scenario.to_yaml(), encoding="utf-8")
    out = tmp_path / "streamed"
    runner = CliRunner()
    args = ["run", str(path), "--seed", str(SEED), "--stream-to", str(out), "-q", "--no-store"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert f"streamed {len(in_memory.calls()):,} calls; wrote 7 files to {out}" in result.stdout
    calls = pd.read_parquet(out / "calls.parquet").sort_values("call_id", ignore_index=True)
    pd.testing.assert_frame_equal(calls, in_memory.calls())
    again = runner.invoke(cli.app, args)
    assert again.exit_code == 2
    assert again.stderr.strip() == (
        f"billsim: error: cannot stream results to {out}: it exists; choose a new folder"
    )
    both = runner.invoke(cli.app, [*args[:-2], "--out", str(tmp_path / "o"), "-q"])
    assert both.exit_code == 2 and "not both" in both.stderr
