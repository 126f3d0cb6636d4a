"""The Anonymous Bank (Technion SEE Lab): reading, fits and a back-test on real data.

Skipped when the data folder is absent (it is never copied into the repository).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.calibrate.readers import anonymous_bank_dir, anonymous_bank_files, read_anonymous_bank

pytestmark = pytest.mark.skipif(
    not anonymous_bank_files(), reason=f"Anonymous Bank data not found at {anonymous_bank_dir()}"
)


@pytest.fixture(scope="module")
def bank():
    return read_anonymous_bank(anonymous_bank_files(["1999-01", "1999-02"]))


def test_reader_counts_match_the_data_readme(bank):
    c = bank.calls
    jan = c[c["arrival"].dt.month == 1]
    # README: January agent stage 30,161 of which 27,060 served and 3,101 abandoned in queue
    assert (jan["outcome"] == "answered").sum() == 27060
    assert (jan["outcome"] == "abandoned").sum() == 3101
    assert bank.quirks["agent_without_server"] > 0 and bank.quirks["negative_vru_time"] > 0
    assert bank.excluded["phantom"] > 0
    assert set(bank.day_types.values()) == {"sun-thu", "fri", "sat"}


def test_fit_finds_lognormal_service_and_abandonment_rising_with_wait(bank):
    from sim.calibrate.api import fit_logs

    fit = fit_logs(bank, months=["1999-01"])
    ps = fit.services["PS"]
    ks = ps.families.set_index("family")["ks"]
    assert ps.best == "lognormal"
    assert ks["lognormal"] < 0.5 * ks["exponential"]
    assert np.corrcoef(ps.qq["empirical"], ps.qq["lognormal"])[0, 1] > 0.99
    assert fit.patience.spearman > 0.5
    bh = fit.patience.by_hour[fit.patience.by_hour["calls"] >= 200]
    slope = np.polyfit(bh["mean_wait_s"], bh["abandon_pct"], 1)[0]
    assert slope > 0
    assert fit.arrivals.busyness_lo > 0


@pytest.mark.slow
def test_backtest_report_is_produced(bank, tmp_path):
    from sim.calibrate.backtest import backtest

    bt = backtest(bank, ["1999-01"], ["1999-02"], replications=3)
    known = backtest(bank, ["1999-01"], ["1999-02"], replications=3, fit=bt.fit, mode="known")
    k = known.errors().set_index(["level", "metric"])
    assert abs(k.loc[("day", "offered"), "rel_bias_pct"]) < 2
    assert set(known.pooled(False).index) == {"observed", "simulated"}
    err = bt.errors()
    assert set(err["metric"]) == {"offered", "abandon_pct", "asa_s", "service_level_pct"}
    day = err[err["level"] == "day"].set_index("metric")
    assert abs(day.loc["offered", "rel_bias_pct"]) < 25
    from sim.presentation.calibration import backtest_report_html

    html = backtest_report_html(bt)
    assert "data:image/png;base64," in html and "Where it is off" in html and "Guedj" in html
