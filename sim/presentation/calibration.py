"""Self-contained HTML reports of a fit and of a back-test (figures as base64 PNG).

Why: a planner judges a fit by eye first (does the lognormal follow the data, does
abandonment rise with the wait?) and must be able to mail one file.
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd
from matplotlib.figure import Figure

from sim.calibrate.api import CalibrationFit
from sim.calibrate.backtest import BacktestResult

ACK = (
    "Anonymous Bank data: Technion Service Enterprise Engineering (SEE) Lab, organised by "
    "Ilan Guedj and Avi Mandelbaum; analysed in Brown, Gans, Mandelbaum, Sakov, Shen, Zeltyn "
    "&amp; Zhao (2005), JASA 100(469), 36-50."
)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")  # no pyplot: no global state
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


def _subplots(*grid: int, figsize: tuple[float, float]):
    """A figure outside pyplot (the app and parallel tests draw side by side) and its axes."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid)


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t")


def _page(title: str, body: list[str]) -> str:
    css = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table.t td,table.t th{padding:2px 8px}"
    )
    t = html.escape(title)
    head = f"<head><meta charset='utf-8'><title>{t}</title><style>{css}</style></head>"
    foot = f"<p><small>{ACK}</small></p>"
    return f"<!doctype html><html>{head}<body><h1>{t}</h1>{''.join(body)}{foot}</body></html>"


def fit_report_html(fit: CalibrationFit) -> str:
    """Arrival profile, service QQ, Kaplan-Meier and hazard, abandonment against mean
    wait, inferred staffing, and the tables behind them."""
    body = [
        f"<p>Sources: {html.escape(', '.join(fit.sources))}</p>",
        "<h2>Quirks</h2>",
        _table(fit.log.quirks_table()),
    ]
    fig, ax = _subplots(figsize=(8, 3.5))
    for t, r in fit.arrivals.rates.groupby("day_type"):
        ax.plot(r["hour"], r["rate"], label=t)
        ax.fill_between(r["hour"], r["lo"], r["hi"], alpha=0.25)
    ax.set(xlabel="hour", ylabel="calls per hour", title="Arrival profile by day type (95 % CI)")
    ax.legend()
    a = fit.arrivals
    body += [
        "<h2>Arrivals</h2>",
        _png(fig),
        f"<p>Busyness CV {a.busyness_cv:.3g} "
        f"[95 % {a.busyness_lo:.3g}, {a.busyness_hi:.3g}] (NB2 GLM, "
        f"{a.n_days_busyness} days); method of moments {a.busyness_mom:.3g}.</p>",
    ]
    fig, axes = _subplots(1, 2, figsize=(9, 4))
    for k, f in list(fit.services.items())[:6]:
        axes[0].plot(f.qq["lognormal"], f.qq["empirical"], ".", label=f"{k} (n={f.n})")
    lim = axes[0].get_xlim()
    axes[0].plot(lim, lim, "k--", lw=1)
    axes[0].set(
        xlabel="lognormal quantile (log s)",
        ylabel="empirical quantile (log s)",
        title="Service time QQ",
    )
    axes[0].legend(fontsize=7)
    fam = pd.concat([f.families.assign(call_type=k) for k, f in fit.services.items()])
    fam.pivot(index="call_type", columns="family", values="ks").plot.bar(ax=axes[1])
    axes[1].set(ylabel="KS distance", title="Goodness of fit by family")
    body += ["<h2>Service time</h2>", _png(fig), _table(fit.tables()["service_lognormal"])]
    p = fit.patience
    fig, axes = _subplots(1, 3, figsize=(13, 3.8))
    axes[0].step(p.km["time"], p.km["survival"], where="post")
    axes[0].fill_between(p.km["time"], p.km["lo"], p.km["hi"], step="post", alpha=0.3)
    axes[0].set(
        xlabel="wait (s)",
        ylabel="P(patience > t)",
        title="Kaplan-Meier (Greenwood 95 %)",
        xlim=(0, p.hazard["bin_end"].max()),
    )
    axes[1].plot(p.hazard["bin_start"], p.hazard["hazard_per_s"], "o-")
    axes[1].axhline(p.rate, color="k", ls="--", label="exponential")
    axes[1].set(xlabel="wait (s)", ylabel="hazard per s", title="Abandonment hazard")
    axes[1].legend()
    bh = p.by_hour[p.by_hour["calls"] >= 50]
    axes[2].scatter(bh["mean_wait_s"], bh["abandon_pct"])
    for _, r in bh.iterrows():
        axes[2].annotate(str(int(r["hour"])), (r["mean_wait_s"], r["abandon_pct"]), fontsize=7)
    axes[2].set(
        xlabel="mean wait (s)", ylabel="abandonment %", title=f"By hour (Spearman {p.spearman:.2f})"
    )
    body += ["<h2>Patience</h2>", _png(fig), _table(p.models.drop(columns="k"))]
    fig, ax = _subplots(figsize=(9, 3.5))
    prof = fit.staffing_profile
    for t, r in prof.groupby("day_type"):
        ax.plot(r["slot"] / 60, r["median"], label=t)
        ax.fill_between(r["slot"] / 60, r["q1"], r["q3"], alpha=0.25)
    ax.set(xlabel="hour", ylabel="agents", title="Inferred agents on duty (median, quartiles)")
    ax.legend()
    body += ["<h2>Inferred staffing</h2>", _png(fig)]
    if fit.billing is not None:
        body += [
            "<h2>Billing and churn</h2>",
            _table(fit.billing.contact),
            _table(fit.billing.churn),
        ]
    return _page("billsim fit report", body)


def backtest_report_html(bt: BacktestResult) -> str:
    """Per-day and per-hour comparisons, the error table and where the model is off."""
    body = [
        f"<p>Fitted on {', '.join(bt.fit_months)}; held out {', '.join(bt.test_months)}; "
        f"{bt.replications} replications; {bt.seconds_per_month:.1f} s per held-out month.</p>",
        "<h2>Bias and error</h2>",
        _table(bt.errors()),
    ]
    for level, df, x in (("day", bt.daily, "day"), ("hour", bt.hourly, "hour")):
        fig, axes = _subplots(2, 2, figsize=(11, 6))
        for ax, (m, sub) in zip(axes.ravel(), df.groupby("metric", sort=False), strict=False):
            sub = sub.sort_values(x)
            ax.plot(sub[x], sub["observed"], "k.-", label="log")
            ax.plot(sub[x], sub["sim_mean"], "-", label="simulated")
            ax.fill_between(sub[x], sub["sim_lo"], sub["sim_hi"], alpha=0.3)
            ax.set(title=m)
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        axes[0, 0].legend()
        body += [f"<h2>Per {level}</h2>", _png(fig)]
    body += [
        "<h2>Where it is off, and why</h2><ul>",
        *[f"<li>{html.escape(n)}</li>" for n in bt.notes],
        "</ul>",
    ]
    return _page("billsim back-test", body)
