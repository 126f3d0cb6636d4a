"""Report: pooled data shaping, the two interval columns it needs, and atomic, offline output.

Hand-made tables with known answers check the weighting (a mean of per-interval ratios
would pass a test built on equal intervals, so the intervals here are deliberately
unequal); a hand-made call log checks mean_queue and agents_needed exactly; one small
simulated run checks that the report is complete, self-contained and atomic.
"""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import sim
from sim.core.codes import ABANDONED, ANSWERED, IVR, REASONS, WAITING
from sim.core.erlang import staff_erlang_c
from sim.core.files import atomic_dir
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import run_experiment
from sim.experiments.sweeps import sweep_variants
from sim.presentation import report
from sim.results.tables import MONEY_COLUMNS, Results, erlang_c_needed
from sim.scenario import Scenario

# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(small_scenario: Scenario) -> Results:
    return sim.simulate(small_scenario, 7)


@pytest.fixture(scope="module")
def strategies(small_scenario: Scenario) -> dict[str, list[Results]]:
    """Two strategies × two replications: the shape an experiment hands to the report."""
    lean = small_scenario.with_changes({"contact_center.groups[1].shifts[0].agents": 2})
    return {
        "baseline": [sim.simulate(small_scenario, s) for s in (1, 2)],
        "lean": [sim.simulate(lean, s) for s in (1, 2)],
    }


def _intervals(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["interval_start"] = pd.to_datetime(df["interval_start"])
    handled = df["answered"] + df["abandoned"]
    df["service_level"] = df["answered_within_threshold"] / handled
    return df


# ---- data shaping --------------------------------------------------------------------------


def test_weekday_hour_pools_counts_not_ratios() -> None:
    # Monday 09:00 and 09:30 fall in one hour: a busy good interval and a quiet bad one.
    iv = _intervals(
        [
            {"interval_start": "2027-01-04 09:00", "offered": 10, "answered": 10, "abandoned": 0,
             "answered_within_threshold": 10, "asa_s": 0.0, "busy_agent_s": 900.0,
             "agent_s_on_duty": 1800.0},
            {"interval_start": "2027-01-04 09:30", "offered": 2, "answered": 1, "abandoned": 1,
             "answered_within_threshold": 0, "asa_s": 110.0, "busy_agent_s": 1800.0,
             "agent_s_on_duty": 1800.0},
            {"interval_start": "2027-01-11 09:00", "offered": 4, "answered": 0, "abandoned": 0,
             "answered_within_threshold": 0, "asa_s": np.nan, "busy_agent_s": 0.0,
             "agent_s_on_duty": 0.0},
        ]
    )  # fmt: skip
    sl = report.weekday_hour(iv, "service_level")
    assert sl.shape == (7, 24)
    assert sl.loc["Mon", 9] == pytest.approx(10 / 12)  # not (1.0 + 0.0) / 2
    assert np.isnan(sl.loc["Tue", 9]) and np.isnan(sl.loc["Mon", 10])
    asa = report.weekday_hour(iv, "asa_s")
    assert asa.loc["Mon", 9] == pytest.approx(110 / 11)  # wait-weighted by answered calls
    occ = report.weekday_hour(iv, "occupancy")
    assert occ.loc["Mon", 9] == pytest.approx(2700 / 3600)
    ab = report.weekday_hour(iv, "abandonment_rate")
    assert ab.loc["Mon", 9] == pytest.approx(1 / 12)
    offered = report.weekday_hour(iv, "offered")  # per hour of an average Monday (2 Mondays)
    assert offered.loc["Mon", 9] == pytest.approx((10 + 2 + 4) / 2)


def test_weekday_hour_by_variant_and_replication() -> None:
    base = {"interval_start": "2027-01-04 09:00", "offered": 4, "asa_s": 0.0,
            "busy_agent_s": 0.0, "agent_s_on_duty": 1.0}  # fmt: skip
    iv = _intervals(
        [
            {**base, "variant": "a", "replication": 0, "answered": 4, "abandoned": 0,
             "answered_within_threshold": 4},
            {**base, "variant": "a", "replication": 1, "answered": 1, "abandoned": 3,
             "answered_within_threshold": 1},
            {**base, "variant": "b", "replication": 0, "answered": 2, "abandoned": 0,
             "answered_within_threshold": 1},
        ]
    )  # fmt: skip
    sl = report.weekday_hour(iv)
    assert sl.index.names == ["variant", "weekday"]
    assert sl.loc[("a", "Mon"), 9] == pytest.approx(5 / 8)
    assert sl.loc[("b", "Mon"), 9] == pytest.approx(0.5)
    # two runs of the same Monday count as two days for per-day volumes
    assert report.weekday_hour(iv, "offered").loc[("a", "Mon"), 9] == pytest.approx(4.0)


def test_service_level_by_interval_pools_over_runs_and_periods() -> None:
    iv = _intervals(
        [
            {"interval_start": "2027-01-04 09:00", "answered": 9, "abandoned": 1,
             "answered_within_threshold": 9, "replication": 0},
            {"interval_start": "2027-01-04 09:00", "answered": 1, "abandoned": 1,
             "answered_within_threshold": 0, "replication": 1},
            {"interval_start": "2027-01-04 09:30", "answered": 0, "abandoned": 0,
             "answered_within_threshold": 0, "replication": 0},
        ]
    )  # fmt: skip
    per = report.service_level_by_interval(iv)
    assert per["service_level"].iloc[0] == pytest.approx(9 / 12)
    assert np.isnan(per["service_level"].iloc[1])
    daily = report.service_level_by_interval(iv, "D")
    assert len(daily) == 1 and daily["handled"].iloc[0] == 12


def test_money_waterfall_steps_sum_to_net(run: Results) -> None:
    wf = report.money_waterfall(run.monthly())
    assert list(wf["step"]) == [
        "billed", "discount_cost", "error_credits", "service_cost", "agent_cost",
        "telephony_cost", "base_value_change", "net",
    ]  # fmt: skip
    deltas = wf[wf["step"] != "net"]
    assert np.allclose(deltas["start"].to_numpy()[1:], deltas["end"].to_numpy()[:-1])
    assert deltas["amount"].sum() == pytest.approx(run.monthly()["net"].sum())
    assert wf["end"].iloc[-1] == pytest.approx(run.monthly()["net"].sum())
    assert (wf.loc[wf["step"].isin(MONEY_COLUMNS[1:3]), "amount"] <= 0).all()


def test_money_waterfall_averages_runs_per_variant() -> None:
    m = pd.DataFrame(
        {
            "variant": ["a", "a", "a", "b"],
            "replication": [0, 0, 1, 0],
            "month": [0, 1, 0, 0],
            "billed": [100.0, 100.0, 300.0, 50.0],
            "discount_cost": [10.0, 0.0, 10.0, 0.0],
            "error_credits": 0.0,
            "agent_cost": [20.0, 20.0, 40.0, 5.0],
            "telephony_cost": 0.0,
            "service_cost": [5.0, 5.0, 0.0, 0.0],
        }
    )
    wf = report.money_waterfall(m)
    net = wf[wf["step"] == "net"].set_index("variant")["end"]
    # variant a: run 0 nets 200 − 10 − 40 − 10 = 140, run 1 nets 250 → mean 195
    assert net["a"] == pytest.approx(195.0)
    assert net["b"] == pytest.approx(45.0)
    billed = wf[wf["step"] == "billed"].set_index("variant")["amount"]
    assert billed["a"] == pytest.approx(250.0)


def test_wait_distribution_counts_every_call(run: Results) -> None:
    dist = report.wait_distribution(run.calls())
    done = run.calls()["outcome"].isin(["answered", "abandoned"]).sum()
    assert dist["calls"].sum() == done
    assert dist["share"].sum() == pytest.approx(1.0)
    assert np.isinf(dist["wait_to_s"]).sum() == 2  # one open-ended bin per outcome
    empty = report.wait_distribution(run.calls().iloc[:0])
    assert empty.empty and "share" in empty.columns


def test_monthly_retention_is_survival(run: Results) -> None:
    mr = report.monthly_retention(run.monthly())
    expected = np.cumprod(1 - run.monthly()["churn_rate"].to_numpy())
    assert np.allclose(mr["retained"], expected)
    m0 = run.monthly().iloc[0]
    start = m0["active_end"] - m0["acquired"] + m0["churned"]
    assert start == run.raw.initial_accounts
    assert mr["active_vs_start"].iloc[-1] == pytest.approx(
        run.monthly()["active_end"].iloc[-1] / start
    )


def test_queue_and_agents_averages_replications() -> None:
    iv = pd.DataFrame(
        {
            "interval_start": pd.to_datetime(["2027-01-04 09:00"] * 2 + ["2027-01-04 09:30"]),
            "replication": [0, 1, 0],
            "mean_queue": [1.0, 3.0, 0.5],
            "agents_on_duty": [5.0, 5.0, 4.0],
            "agents_needed": [6.0, 4.0, 4.0],
            "offered": [10, 20, 5],
        }
    )
    qa = report.queue_and_agents(iv)
    assert qa["mean_queue"].tolist() == [2.0, 0.5]
    assert qa["gap"].tolist() == [0.0, 0.0]
    hourly = report.queue_and_agents(iv, "h")
    assert hourly["offered"].tolist() == [20.0]  # 15 per interval on average, summed
    with pytest.raises(report.MissingColumnsError):
        report.queue_and_agents(iv.drop(columns="agents_needed"))


# ---- the interval columns behind the figures -------------------------------------------------


def _hand_run(run: Results) -> Results:
    """The small run with its call log replaced by four callers with known waits."""
    horizon = run.raw.clock.horizon_s
    nan = np.nan
    reason = REASONS.index("question")
    calls = {
        # 1: waits 300 s in interval 0; 2: arrives 09:28:20, abandons after 300 s (100 s in
        # interval 0, 200 s in 1); 3: answered at once; 4: alone in interval 2, abandons;
        # 5: settled in the IVR (never queued); 6: still waiting at the end of the horizon.
        "t_arrive": np.array([100.0, 1700.0, 1000.0, 3700.0, 500.0, horizon - 600.0]),
        "t_answer": np.array([400.0, nan, 1000.0, nan, nan, nan]),
        "deadline": np.array([np.inf, 2000.0, np.inf, 3760.0, np.inf, np.inf]),
        "status": np.array([ANSWERED, ABANDONED, ANSWERED, ABANDONED, IVR, WAITING]),
        "talk": np.array([200.0, 0.0, 400.0, 0.0, 0.0, 0.0]),
        "acw": np.array([30.0, 0.0, 30.0, 0.0, 0.0, 0.0]),
        "reason": np.full(6, reason),
    }
    return Results(dataclasses.replace(run.raw, calls=calls))


def test_mean_queue_matches_hand_computed_waits(run: Results) -> None:
    iv = _hand_run(run).intervals()
    span = 1800.0
    assert iv["mean_queue"].iloc[0] == pytest.approx((300 + 100) / span)
    assert iv["mean_queue"].iloc[1] == pytest.approx(200 / span)
    assert iv["mean_queue"].iloc[2] == pytest.approx(60 / span)
    assert iv["mean_queue"].iloc[-1] == pytest.approx(600 / span)
    assert iv["mean_queue"].iloc[3:-1].sum() == 0.0
    # Little's law over the horizon: queue-seconds equal the waits of queued callers
    assert (iv["mean_queue"] * span).sum() == pytest.approx(300 + 300 + 0 + 60 + 600)


def test_agents_needed_is_erlang_c_for_the_interval_load(run: Results) -> None:
    sc = run.scenario
    sl = sc.contact_center.service_level
    iv = _hand_run(run).intervals()
    # interval 0: 3 offered (one abandoned), AHT measured on the two answered calls
    aht = ((200 + 30) + (400 + 30)) / 2
    assert iv["agents_needed"].iloc[0] == staff_erlang_c(3 / 1800, aht, sl.target, sl.threshold_s)
    # interval 2: nobody answered, so the scenario's expected handling time stands in
    h = sc.contact_center.handling
    expected = (
        h.verification_s.expected
        + h.verification_fail_rate * h.verification_fail_extra_s.expected
        + h.review_s.expected
        + h.work_s["question"].expected
        + h.after_call_s.expected
    )
    assert iv["agents_needed"].iloc[2] == staff_erlang_c(
        1 / 1800, expected, sl.target, sl.threshold_s
    )
    assert iv["agents_needed"].iloc[1] == 0  # no calls arrived: nobody needed


def test_agents_needed_on_a_simulated_run(run: Results) -> None:
    iv = run.intervals()
    sl = run.scenario.contact_center.service_level
    busy = iv[iv["answered"] > 0].head(20)
    for _, row in busy.iterrows():
        lam = row["offered"] / 1800
        assert row["agents_needed"] == staff_erlang_c(lam, row["aht_s"], sl.target, sl.threshold_s)
    assert (iv.loc[iv["offered"] == 0, "agents_needed"] == 0).all()
    assert iv["agents_needed"].notna().all()
    calls = run.calls()
    queued = calls["outcome"].isin(["answered", "abandoned", "waiting", "in_service"])
    assert (iv["mean_queue"] * 1800).sum() == pytest.approx(calls.loc[queued, "wait_s"].sum())


def test_erlang_c_needed_is_nan_safe_and_shares_work() -> None:
    out = erlang_c_needed(
        np.array([0.0, 10.0, 10.0, 5.0]),
        np.full(4, 1800.0),
        np.array([np.nan, 300.0, 300.0, np.nan]),
        0.8,
        20.0,
    )
    assert out[0] == 0.0 and np.isnan(out[3])
    assert out[1] == out[2] == staff_erlang_c(10 / 1800, 300.0, 0.8, 20.0)


# ---- figures and the written report ------------------------------------------------------------


def test_figures_are_agg_figures_outside_pyplot(strategies: dict[str, list[Results]]) -> None:
    t = report.report_tables(strategies)
    assert t.intervals is not None and set(t.intervals["variant"]) == {"baseline", "lean"}
    figs = [
        report.fig_service_level(t.intervals, 0.8, 20),
        report.fig_wait_distribution(t.calls),
        report.fig_queue_and_agents(t.intervals),
        report.fig_monthly_retention(t.monthly),
        report.fig_money_waterfall(t.monthly, t.money),
        report.fig_weekday_hour(t.intervals, "asa_s"),
    ]
    for fig in figs:
        assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert len(figs[4].axes) == 2  # one waterfall panel per strategy


def _check_self_contained(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert "<link" not in page and "<script" not in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_write_report_single_run(tmp_path: Path, run: Results) -> None:
    out = report.write_report(tmp_path / "report", run, title="Small run", dpi=40)
    names = {spec.name for spec in report.FIGURES}
    assert {p.stem for p in out.glob("*.png")} == names
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text(encoding="utf-8")
    _check_self_contained(page)
    assert page.count("data:image/png;base64,") == len(names)
    assert "Small run" in page and run.scenario.name in page
    assert str(run.seed) in page and sim.__version__ in page
    assert report.MoneyFormat.from_scenario(run.scenario).unit in page
    assert 'data-kpi="net"' in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temp folder left


def test_write_report_strategies_with_summary(
    tmp_path: Path, strategies: dict[str, list[Results]]
) -> None:
    t = report.report_tables(strategies)
    summary = report.kpi_summary_from_runs(t.kpis)
    assert {"kpi", "label", "unit", "mean", "ci_low", "ci_high", "variant"} <= set(summary)
    net = summary[(summary["kpi"] == "net") & (summary["variant"] == "lean")].iloc[0]
    assert net["ci_low"] <= net["mean"] <= net["ci_high"]
    out = report.write_report(tmp_path / "cmp", t, kpi_summary=summary, dpi=40)
    page = (out / "report.html").read_text(encoding="utf-8")
    _check_self_contained(page)
    assert "baseline: mean" in page and "lean: 95 % CI" in page
    assert page.count("data:image/png;base64,") == len(report.FIGURES)


def test_write_report_notes_missing_tables(tmp_path: Path, run: Results) -> None:
    tables = {"monthly": run.monthly(), "intervals": run.intervals().drop(columns="mean_queue")}
    out = report.write_report(tmp_path / "partial", tables, dpi=40)
    pngs = {p.stem for p in out.glob("*.png")}
    assert "queue_and_agents" not in pngs and "wait_distribution" not in pngs
    assert {"money", "service_level", "weekday_hour_asa"} <= pngs
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Not available" in page and "No KPI summary given" in page


def test_write_report_is_atomic(tmp_path: Path, run: Results, monkeypatch) -> None:
    def boom(_t: report.ReportTables) -> Figure:
        raise RuntimeError("disk full")

    broken = (*report.FIGURES[:2], report.FigureSpec("broken", "fails", boom))
    monkeypatch.setattr(report, "FIGURES", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_report(tmp_path / "new", run, dpi=40)
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temp folder

    old = tmp_path / "old"
    with atomic_dir(old) as tmp:  # an earlier report: a folder billsim wrote (marker)
        (tmp / "report.html").write_text("previous report", encoding="utf-8")
    with pytest.raises(RuntimeError):
        report.write_report(old, run, dpi=40)
    assert (old / "report.html").read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_report_of_a_run_without_calls(tmp_path: Path, small_scenario: Scenario) -> None:
    quiet = small_scenario.with_changes(
        {
            "customers.accounts": 300,
            "calendar.months": 1,
            "billing.contact.probability": {"error": 0.0, "shock": 0.0, "routine": 0.0},
        }
    )
    res = sim.simulate(quiet, 1)
    iv = res.intervals()
    assert len(res.calls()) == 0
    assert (iv["mean_queue"] == 0).all() and (iv["agents_needed"] == 0).all()
    out = report.write_report(tmp_path / "quiet", res, dpi=30)
    assert len(list(out.glob("*.png"))) == len(report.FIGURES)


def test_report_tables_rejects_what_it_cannot_draw(run: Results) -> None:
    with pytest.raises(TypeError):
        report.report_tables(42)
    with pytest.raises(ValueError, match="unknown table"):
        report.report_tables({"calls": run.calls(), "months": run.monthly()})
    with pytest.raises(ValueError, match="nothing to report"):
        report.report_tables([])


def test_write_report_shows_paired_differences(tmp_path: Path, run: Results) -> None:
    paired = pd.DataFrame(
        [
            {"variant": "lean", "baseline": "today", "kpi": "service_level",
             "label": "Service level", "unit": "share", "mean_diff": -0.05,
             "ci_low": -0.07, "ci_high": -0.03, "significant": True},
            {"variant": "lean", "baseline": "today", "kpi": "retention", "label": "Retention",
             "unit": "share", "mean_diff": 0.0002, "ci_low": -0.0001, "ci_high": 0.0005,
             "significant": False},
        ]
    )  # fmt: skip
    out = report.write_report(tmp_path / "rep", run, paired=paired)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Differences to today" in page
    # the baseline scenario writes numbers the German way (economics.number_format: de)
    assert "-5,0 pp *" in page and "+0,020 pp</td>" in page and "[-7,0 pp; -3,0 pp]" in page


# ---- sweeps of many variants -------------------------------------------------------------------


@pytest.fixture(scope="module", params=[6, 12], ids=["6 variants", "12 variants"])
def sweep(request, small_scenario: Scenario) -> ExperimentResult:
    """Saturday head count × discount policy, one replication of a small base each."""
    base = small_scenario.with_changes({"customers.accounts": 1200, "calendar.months": 1})
    grid = {
        "contact_center.groups[1].shifts[2].agents": list(range(4, 4 + request.param // 2)),
        "policies.discount.name": ["none", "churn_risk_targeted"],
    }
    variants = sweep_variants(base, grid)
    return run_experiment(
        variants,
        1,
        executor="serial",
        name="sweep",
        baseline=variants[0].name,
        tables=("monthly", "segments", "intervals", "waits"),
    )


def _head_cells(table: str) -> int:
    head = re.search(r"<thead>(.*?)</thead>", table, re.S)
    assert head is not None
    return len(re.findall(r"<th[ >]", head.group(1)))


def test_sweep_report_is_readable(tmp_path: Path, sweep: ExperimentResult) -> None:
    names = sweep.variant_names
    out = report.write_report(
        tmp_path / "sweep",
        sweep,
        kpi_summary=sweep.summary(),
        paired=sweep.paired(),
        retention=sweep.retention(),
        dpi=30,
    )
    page = (out / "report.html").read_text(encoding="utf-8")
    _check_self_contained(page)
    legends = re.findall(r'<table class="legend">.*?</table>', page, re.S)
    assert len(legends) == 1
    for i, name in enumerate(names):
        assert f'<th scope="row">V{i + 1}</th><td>{html.escape(name)}</td>' in legends[0]
    rest = page.replace(legends[0], "")
    assert not any(html.escape(n) in rest for n in names[1:])  # elsewhere: short labels only
    assert page.count('<figure id="money">') == 1 and page.count("data:image/png") == len(
        report.FIGURES
    )
    assert 'id="retention"' in page
    retention_rows = re.search(r'<table class="kpis wide retention">.*?</table>', page, re.S)
    assert retention_rows is not None and "V2</th>" in retention_rows.group(0)
    tables = re.findall(r"<table.*?</table>", page, re.S)
    assert len(tables) == 4  # legend, KPIs, paired differences, retention
    for table in tables:  # a column per variant (or per retention measure): 13 fit a page
        assert _head_cells(table) <= max(len(names) + 1, 8)
    paired = next(t for t in tables if "paired" in t)
    assert "V12" in paired if len(names) == 12 else "V6" in paired
    assert 'class="sig"' not in paired  # one replication: no interval, nothing is marked


def test_sweep_figures_keep_legends_off_the_data(sweep: ExperimentResult) -> None:
    t = report.report_tables(sweep)
    money = report.fig_money(t.monthly, t.money)
    assert len(money.axes) == 1  # one chart compares the variants
    mc = report.money_comparison(t.monthly)
    assert list(mc["variant"]) == sweep.variant_names
    parts = mc[[k for k, _ in report.MONEY_PARTS[:-1]]].sum(axis=1)
    assert np.allclose(parts, mc["net"])  # margin − agent − telephony + value change = net
    for spec in report.FIGURES:
        fig = spec.draw(t)
        renderer = fig.canvas.get_renderer()
        fig.canvas.draw()
        assert all(ax.get_legend() is None for ax in fig.axes)
        boxes = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
        if spec.name not in ("weekday_hour_service_level", "weekday_hour_asa"):
            assert len(fig.legends) == 1, spec.name  # every variant gets a colour key
        for legend in fig.legends:
            box = legend.get_window_extent(renderer)
            assert not any(box.overlaps(b) for b in boxes), spec.name
            assert box.y1 <= min(b.y0 for b in boxes)  # below the plots
