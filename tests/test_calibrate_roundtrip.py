"""Round trips: simulate known parameters, export the logs, fit, recover the numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim import simulate
from sim.calibrate.api import fit_logs
from sim.calibrate.export import export_accounts, export_bills, export_call_log
from sim.calibrate.readers import read_call_log
from sim.core.codes import REASONS
from sim.scenario import scenario_from_dict

RATE_PER_30 = 20.0  # expected calls per half hour, open hours mon-fri
SERVICE = (300.0, 150.0)  # lognormal mean, sd
PATIENCE = 120.0  # exponential mean
BUSY_CV = 0.3


def _agents(t: pd.Timestamp) -> int:
    if t.weekday() == 6 or not (8 <= t.hour < 20):
        return 0
    if t.weekday() == 5:
        return 4 if 9 <= t.hour < 14 else 0
    return 4 if t.hour < 13 else 5


def known_scenario():
    start = pd.Timestamp("2027-01-04")
    t = pd.date_range(start, periods=56 * 48, freq="30min")  # two months = 56 days? set below
    sc0 = scenario_from_dict({"calendar": {"start": "2027-01-04", "months": 2}})
    t = pd.date_range(start, periods=sc0.calendar.n_days * 48, freq="30min")
    rows = []
    for ts in t:
        if ts.weekday() < 5 and 8 <= ts.hour < 20:
            rows.append({"start": ts.isoformat(), "calls": RATE_PER_30})
        elif ts.weekday() == 5 and 9 <= ts.hour < 14:
            rows.append({"start": ts.isoformat(), "calls": RATE_PER_30 / 2})
    zero = {"dist": "constant", "mean": 0}
    data = {
        "calendar": {"start": "2027-01-04", "months": 2},
        "customers": {
            "accounts": 2000,
            "acquisition_per_month": 0,
            "segments": [
                {
                    "name": "all",
                    "share": 1.0,
                    "patience_s": {"dist": "exponential", "mean": PATIENCE},
                }
            ],
        },
        "billing": {"contact": {"probability": {"error": 0, "shock": 0, "routine": 0}}},
        "contact_center": {
            "groups": [{"name": "agents", "skills": list(REASONS), "agents": 5}],
            "handling": {
                "verification_s": zero,
                "verification_fail_rate": 0,
                "verification_fail_extra_s": zero,
                "review_s": zero,
                "after_call_s": zero,
                "work_s": {
                    r: {"dist": "lognormal", "mean": SERVICE[0], "sd": SERVICE[1]} for r in REASONS
                },
            },
            "callers": {"retrial": {"probability": 0}, "ivr_self_service": {}},
            "resolution": {"first_contact": dict.fromkeys(REASONS, 1.0), "repeat_probability": 0},
            "forecast": {"reasons": {"question": 1.0}, "busyness_cv": BUSY_CV, "intervals": rows},
        },
        "policies": {
            "staffing": {
                "name": "table",
                "params": {"agents_by_group": {"agents": [_agents(x) for x in t]}},
            }
        },
    }
    return scenario_from_dict(data), t


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    sc, t = known_scenario()
    res = simulate(sc, seed=11)
    path = tmp_path_factory.mktemp("rt") / "calls.csv"
    export_call_log(res).to_csv(path, index=False)
    return sc, t, res, fit_logs(path)


def test_service_lognormal_parameters_inside_their_intervals(roundtrip):
    *_, fit = roundtrip
    f = fit.services["question"]
    sigma = math.sqrt(math.log1p((SERVICE[1] / SERVICE[0]) ** 2))
    mu = math.log(SERVICE[0]) - sigma**2 / 2
    assert f.mu_ci[0] <= mu <= f.mu_ci[1]
    assert f.sigma_ci[0] <= sigma <= f.sigma_ci[1]
    assert f.mean_ci[0] <= SERVICE[0] <= f.mean_ci[1]
    assert f.best == "lognormal"
    assert f.n > 5000


def test_patience_rate_inside_its_interval(roundtrip):
    *_, fit = roundtrip
    p = fit.patience
    assert p.events > 500
    assert p.rate_ci[0] <= 1 / PATIENCE <= p.rate_ci[1]
    # the Kaplan-Meier curve follows exp(-t/120) within its band at one minute
    km = p.km[p.km["time"] <= 60].iloc[-1]
    assert km["lo"] - 0.02 <= math.exp(-60 / PATIENCE) <= km["hi"] + 0.02


def test_arrival_rates_and_busyness_recovered(roundtrip):
    *_, fit = roundtrip
    r = fit.arrivals.rates
    wk = r[(r["day_type"] == "mon-fri") & r["hour"].between(8, 19)]
    inside = ((wk["lo"] <= 2 * RATE_PER_30) & (wk["hi"] >= 2 * RATE_PER_30)).mean()
    assert inside >= 0.8  # 12 hourly cells, each a 95 % interval
    assert (r[(r["day_type"] == "mon-fri") & ~r["hour"].between(8, 19)]["rate"] == 0).all()
    a = fit.arrivals
    assert a.busyness_lo <= BUSY_CV <= a.busyness_hi


def test_inferred_agents_match_the_staffing_table(roundtrip):
    _, t, _, fit = roundtrip
    ag = fit.agents.set_index("interval_start")
    truth = pd.Series([_agents(x) for x in t], index=t).reindex(ag.index)
    open_ = truth > 0
    exact = (ag["agents"][open_] == truth[open_]).mean()
    bracket = ((ag["peak"] <= truth) & (truth <= ag["agents"] + 1))[open_].mean()
    assert exact >= 0.85
    assert bracket >= 0.9
    assert (ag["agents"][~open_] <= 1).mean() >= 0.95  # calls in hand past a shift's end


def test_fitted_yaml_loads_and_reproduces_the_forecast(roundtrip, tmp_path):
    from sim import load_scenario

    *_, fit = roundtrip
    text = fit.to_yaml()
    assert "# type question: lognormal mean" in text and "rows" in text
    p = tmp_path / "fitted.yaml"
    p.write_text(text)
    sc = load_scenario(p)
    total = sum(r.calls for r in sc.contact_center.forecast.intervals)
    assert sc.contact_center.forecast.busyness_cv == pytest.approx(
        fit.arrivals.busyness_cv, rel=1e-4
    )
    days = sc.calendar.n_days
    assert total / days == pytest.approx(fit.arrivals.daily["calls"].mean(), rel=0.15)


def test_bad_rows_are_one_clear_error(tmp_path):
    from sim.calibrate.readers import DataError

    p = tmp_path / "log.csv"
    p.write_text("arrival,end,outcome\n2027-01-04T08:00:00,2027-01-04T08:05:00,answered\n")
    with pytest.raises(DataError, match=r"log.csv, row 2, column 'answer': an answered call needs"):
        read_call_log(p)
    p.write_text(
        "arrival,answer,end,outcome\n2027-01-04T08:00:00,2027-01-04T08:01:00,2027-01-04T07:05:00,answered\n"
    )
    with pytest.raises(DataError, match=r"row 2, column 'end': end is before arrival"):
        read_call_log(p)
    p.write_text("arrival,end,outcome\nyesterday,2027-01-04T08:05:00,abandoned\n")
    with pytest.raises(DataError, match=r"row 2, column 'arrival': cannot read time 'yesterday'"):
        read_call_log(p)
    p.write_text("arrival,outcome\n2027-01-04T08:00:00,abandoned\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['end'\]"):
        read_call_log(p)


def billing_scenario():
    base = scenario_from_dict({})
    return base.with_changes(
        {
            "customers.accounts": 15000,
            "customers.acquisition_per_month": 0,
            "customers.segments": [
                {
                    "name": "all",
                    "share": 1.0,
                    "churn_base_monthly": 0.015,
                    "patience_s": {"dist": "exponential", "mean": 90},
                }
            ],
            "calendar.months": 4,
            "contact_center.groups[0].agents": 3,
            "contact_center.callers.retrial.probability": 0.0,
            "contact_center.callers.ivr_self_service": {},
            "contact_center.resolution.first_contact": dict.fromkeys(REASONS, 1.0),
            "retention.effects": {
                "long_wait": 0.5,
                "abandoned": 0.7,
                "unresolved": 0.0,
                "error_uncorrected": 0.0,
                "discount": 0.0,
                "resolved": 0.0,
            },
        }
    )


@pytest.mark.slow
def test_billing_and_churn_round_trip():
    from sim.calibrate.billing import fit_billing
    from sim.calibrate.readers import read_accounts, read_bills

    sc = billing_scenario()
    res = simulate(sc, seed=5, keep_bills=True)
    log = read_call_log(export_call_log(res))
    bills = read_bills(export_bills(res))
    end = log.calls["arrival"].max() - pd.Timedelta(days=28)
    bf = fit_billing(
        log.calls, bills[bills["bill_date"] <= end], read_accounts(export_accounts(res))
    )
    prob = sc.billing.contact.probability
    c = bf.contact.set_index("flag")
    for flag in ("error", "shock", "routine"):
        truth = getattr(prob, flag)
        assert c.loc[flag, "lo"] <= truth <= c.loc[flag, "hi"], (flag, c.loc[flag].to_dict())
    mix = bf.reasons[bf.reasons["flag"] == "shock"].set_index("reason")
    assert mix.loc["high_bill", "lo"] <= 0.8 <= mix.loc["high_bill", "hi"]
    assert (
        bf.delay_ci[0] - 0.1 <= 3.0 <= bf.delay_ci[1] + 0.1
    )  # gamma(3, 2) days, placed in open hours
    co = bf.churn.set_index("term")
    assert bf.churn_events > 300
    for term, truth in (
        ("abandoned", 0.7),
        ("long_wait", 0.5),
        ("prev_shock", 0.0),
        ("tenure_years", 0.0),
    ):
        assert co.loc[term, "lo"] <= truth <= co.loc[term, "hi"], (term, co.loc[term].to_dict())


# ---- readers of the billing and account extracts: one line naming file, row, column ----

BILLS_OK = "account,bill_date,amount,previous_amount,flag\n7,2027-01-05,40.5,,routine\n"
ACCOUNTS_OK = "account,segment,start,charge,churn_date\n7,basic,2026-03-01,30,\n"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (BILLS_OK.replace(",flag", "").replace(",routine", ""), r"missing column\(s\) \['flag'\]"),
        (
            BILLS_OK.replace("2027-01-05", "5th of Jan"),
            r"bills.csv, row 2, column 'bill_date': cannot read time '5th of Jan'",
        ),
        (
            BILLS_OK.replace("40.5", "-40.5"),
            r"bills.csv, row 2, column 'amount': negative amount",
        ),
        (
            BILLS_OK + "8,2027-01-05,12,-3,shock\n",
            r"bills.csv, row 3, column 'previous_amount': negative amount",
        ),
    ],
)
def test_bill_extract_errors_name_file_row_and_column(tmp_path, text, pattern):
    from sim.calibrate.readers import DataError, read_bills

    p = tmp_path / "bills.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=pattern) as err:
        read_bills(p)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (ACCOUNTS_OK.replace("segment,", "").replace("basic,", ""), r"\['segment'\]"),
        (
            ACCOUNTS_OK.replace("2026-03-01", "March"),
            r"accounts.csv, row 2, column 'start': cannot read time 'March'",
        ),
        (
            ACCOUNTS_OK.replace(",30,", ",thirty,"),
            r"accounts.csv, row 2, column 'charge': not a number",
        ),
        (
            ACCOUNTS_OK.replace(",30,\n", ",30,2026-01-01\n"),
            r"accounts.csv, row 2, column 'churn_date': churn_date is before start",
        ),
    ],
)
def test_account_extract_errors_name_file_row_and_column(tmp_path, text, pattern):
    from sim.calibrate.readers import DataError, read_accounts

    p = tmp_path / "accounts.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=pattern) as err:
        read_accounts(p)
    assert "\n" not in str(err.value)


# ---- back-test modes, special days and the CLI on a simulated log -----------------------


@pytest.fixture(scope="module")
def log_csv(roundtrip, tmp_path_factory):
    """The round trip's two simulated months as a generic CSV log, with one held-out day
    (2027-02-10) cut to a tenth of its calls and agents, as a holiday would be."""
    _, _, res, _ = roundtrip
    df = export_call_log(res)
    arrival = pd.to_datetime(df["arrival"])
    holiday = arrival.dt.normalize() == pd.Timestamp("2027-02-10")
    keep = ~holiday | (df.index.to_series() % 10 == 0)
    path = tmp_path_factory.mktemp("cli") / "calls.csv"
    df[keep].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def modes(log_csv):
    from sim.calibrate.backtest import backtest

    fit = fit_logs(log_csv, months=["2027-01"])
    return {
        m: backtest(log_csv, ["2027-01"], ["2027-02"], 3, fit=fit, mode=m)
        for m in ("forecast", "known")
    }


def test_backtest_flags_the_holiday_and_known_volume_matches_offered(modes):
    spec = modes["forecast"].special
    flagged = spec.loc[spec["special"], "day"].dt.strftime("%Y-%m-%d").tolist()
    assert flagged == ["2027-02-10"]
    assert (
        "volume" in spec.set_index(spec["day"].dt.strftime("%Y-%m-%d")).loc["2027-02-10", "reason"]
    )
    known = modes["known"].errors().set_index(["level", "metric"])
    fc = modes["forecast"].errors().set_index(["level", "metric"])
    # the day's level is given: offered is right to Poisson noise, the forecast is not
    assert abs(known.loc[("day", "offered"), "rel_bias_pct"]) < 3
    assert known.loc[("day", "offered"), "mae"] < 0.5 * fc.loc[("day", "offered"), "mae"]
    # without the holiday, the forecast's daily offered error shrinks
    fc_reg = modes["forecast"].errors(include_special=False).set_index(["level", "metric"])
    assert fc_reg.loc[("day", "offered"), "n"] == fc.loc[("day", "offered"), "n"] - 1
    assert fc_reg.loc[("day", "offered"), "mae"] < fc.loc[("day", "offered"), "mae"]


def test_cli_fit_and_backtest_write_their_outputs(log_csv, tmp_path):
    from typer.testing import CliRunner

    from sim.faces import cli
    from sim.scenario import load_scenario

    runner = CliRunner()
    out = tmp_path / "fitted.yaml"
    r = runner.invoke(
        cli.app,
        [
            "fit",
            str(log_csv),
            "--out",
            str(out),
            "--months",
            "2027-01",
            "--report",
            str(tmp_path / "f"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert load_scenario(out).contact_center.forecast.busyness_cv > 0
    assert (tmp_path / "f" / "fit.html").stat().st_size > 1000
    r = runner.invoke(
        cli.app,
        [
            "backtest",
            str(out),
            str(log_csv),
            "--months",
            "2027-02",
            "--fit-months",
            "2027-01",
            "-r",
            "2",
            "--report",
            str(tmp_path / "bt"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "special days: 2027-02-10" in r.stdout
    assert {"forecast", "known", "regular", "asa_s"} <= set(r.stdout.split())
    assert (tmp_path / "bt" / "backtest.html").exists()
    assert (tmp_path / "bt" / "backtest_known.html").exists()


def test_cli_bad_log_is_exit_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from sim.faces import cli

    bad = tmp_path / "bad.csv"
    bad.write_text("arrival,end,outcome\n2027-01-04T08:00:00,2027-01-04T07:00:00,abandoned\n")
    runner = CliRunner()
    for args in (
        ["fit", str(bad), "--out", str(tmp_path / "x.yaml")],
        ["backtest", "scenarios/baseline.yaml", str(bad), "--months", "2027-01"],
        ["backtest", "scenarios/baseline.yaml", str(bad), "--months", "2027-01", "--mode", "x"],
    ):
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("billsim: error:"), lines
    assert "bad.csv, row 2, column 'end'" in lines[0] or "--mode" in lines[0]
    assert not (tmp_path / "x.yaml").exists()


def test_fine_agent_count_drops_an_agent_gone_after_five_minutes():
    from sim.calibrate.agents import infer_agents, infer_agents_fine

    t = pd.Timestamp("2027-01-04 08:00")
    calls = pd.DataFrame(
        {
            "arrival": [t, t + pd.Timedelta(minutes=1)],
            "wait_s": [0.0, 0.0],
            "service_s": [240.0, 1700.0],
            "outcome": ["answered", "answered"],
            "agent_id": ["a", "b"],
            "day": [t.normalize()] * 2,
        }
    )
    coarse = infer_agents(calls, 30).set_index("interval_start")["agents"]
    fine = infer_agents_fine(calls, 30, 5).set_index("interval_start")["agents"]
    assert coarse[t] == 2  # 'a' served 4 minutes and counts for the whole half hour
    assert fine[t] == 1  # 'a' in 1 of 6 slices, 'b' in all 6: mean 7/6
    with pytest.raises(ValueError, match="must divide"):
        infer_agents_fine(calls, 30, 7)
