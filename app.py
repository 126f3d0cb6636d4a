"""Billing-support simulator: the manager's page.

Pick a scenario, move the levers (staffing per shift, discount policy, accounts, seed),
press Run, read the KPIs, the wait times, the service level by hour and the monthly
table. Every number comes from ``sim``; this page only turns widgets into scenario
changes (``Scenario.with_changes``) and shows the results.

Run with ``streamlit run app.py`` (binds to 127.0.0.1, see .streamlit/config.toml).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sim import KPI_DEFINITIONS, Scenario, ScenarioError, load_scenario, simulate, ui
from sim.metrics import MONEY_COLUMNS
from sim.policies import DISCOUNTS

HERE = Path(__file__).resolve().parent
SCENARIO_DIR = HERE / "scenarios"
DEFAULT_SCENARIO = "baseline.yaml"
MAX_CACHED_RUNS = 8


def pick_scenario() -> tuple[str, Scenario] | None:
    """Scenario file selectbox; returns (file name, scenario) or None after an error."""
    files = sorted(p.name for p in SCENARIO_DIR.glob("*.yaml"))
    if not files:
        st.sidebar.error(f"No scenario files (*.yaml) in {SCENARIO_DIR}")
        return None
    index = files.index(DEFAULT_SCENARIO) if DEFAULT_SCENARIO in files else 0
    name = st.sidebar.selectbox("Scenario", files, index=index, key="scenario_file")
    try:
        return name, load_scenario(SCENARIO_DIR / name)
    except ScenarioError as exc:
        st.sidebar.error(f"This scenario cannot be used: {exc}")
        return None


def levers(file: str, base: Scenario) -> tuple[dict, int]:
    """Sidebar levers; returns the scenario changes and the seed."""
    changes: dict = {}
    sb = st.sidebar

    sb.header("Staffing")
    group = None
    for gname, label, path, agents in ui.staffing_levers(base):
        if gname != group:
            sb.markdown(f"**{gname}**")
            group = gname
        changes[path] = sb.number_input(label, value=agents, step=1, key=f"{file}|{path}")

    sb.header("Discounts")
    names = list(DISCOUNTS)
    current = base.policies.discount.name
    policy = sb.selectbox(
        "Discount policy",
        names,
        index=names.index(current) if current in names else 0,
        key=f"{file}|discount_policy",
        help="Offered to answered callers; each group's authority and the monthly "
        "budget in the scenario still cap what is granted.",
    )
    pct = None
    param = ui.discount_pct_param(policy)
    if param is not None:
        pct = sb.number_input(
            f"Discount % ({param})",
            value=ui.default_discount_pct(base, policy),
            step=1.0,
            key=f"{file}|discount_pct|{policy}",
        )
    changes.update(ui.discount_changes(base, policy, pct))

    sb.header("Run")
    changes["customers.accounts"] = sb.number_input(
        "Accounts", value=base.customers.accounts, step=1000, key=f"{file}|accounts"
    )
    seed = sb.number_input("Seed", value=base.seed, step=1, key=f"{file}|seed")
    changes["seed"] = seed
    return changes, int(seed)


def run_simulation(scenario: Scenario, seed: int):
    """Simulate with a progress bar."""
    bar = st.progress(0.0, text="Starting the simulation")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    results = simulate(scenario, seed=seed, progress=progress)
    bar.empty()
    return results


def show_results(results, current: bool) -> None:
    sc = results.scenario
    if not current:
        st.info(
            "The levers changed since this run; press **Run** to simulate them. "
            "Shown: the last run."
        )
    st.caption(
        f"Scenario **{sc.name}** · fingerprint `{sc.fingerprint()}` · seed {results.seed} · "
        f"{sc.customers.accounts:,} accounts · {sc.calendar.months} months from "
        f"{sc.calendar.start}"
    )
    kpis = results.kpis()
    names = ui.HEADLINE_KPIS
    for row in range(0, len(names), 5):
        for col, name in zip(st.columns(5), names[row : row + 5], strict=False):
            kpi = KPI_DEFINITIONS[name]
            col.metric(
                kpi.label,
                ui.format_kpi(name, kpis[name], sc.economics.currency),
                help=kpi.definition,
            )

    left, right = st.columns(2)
    with left:
        st.subheader("Wait of answered calls")
        hist = ui.wait_histogram(results)
        if hist.empty:
            st.write("No answered calls.")
        else:
            st.bar_chart(hist, x="wait_from_s", y="calls", x_label="wait (s)", y_label="calls")
    with right:
        st.subheader("Service level by hour of day")
        by_hour = ui.service_level_by_hour(results)
        if by_hour.empty:
            st.write("No answered or abandoned calls.")
        else:
            threshold = sc.contact_center.service_level.threshold_s
            st.line_chart(
                by_hour,
                x="hour",
                y=["service_level", "target"],
                x_label="hour of day",
                y_label=f"answered within {threshold:g} s",
            )

    st.subheader("By month")
    config = {c: st.column_config.NumberColumn(format="localized") for c in MONEY_COLUMNS}
    config.update(
        {
            c: st.column_config.NumberColumn(format="percent")
            for c in ("service_level", "churn_rate")
        }
    )
    st.caption(f"Money in {sc.economics.currency}; shares as percentages.")
    st.dataframe(results.monthly, hide_index=True, column_config=config)


def main() -> None:
    st.set_page_config(page_title="Billing-support simulator", layout="wide")
    st.title("Billing-support simulator")
    runs: dict = st.session_state.setdefault("runs", {})

    picked = pick_scenario()
    if picked is None:
        st.stop()
    file, base = picked
    changes, seed = levers(file, base)

    scenario = None
    try:
        scenario = base.with_changes(changes)
    except ScenarioError as exc:
        st.sidebar.error(
            "These settings cannot be simulated:\n\n" + "\n".join(f"- {p}" for p in exc.problems)
        )
    pressed = st.sidebar.button(
        "Run", key="run", type="primary", disabled=scenario is None, width="stretch"
    )

    key = f"{scenario.fingerprint()}:{seed}" if scenario is not None else None
    if pressed and scenario is not None and key not in runs:
        runs[key] = run_simulation(scenario, seed)
        while len(runs) > MAX_CACHED_RUNS:
            runs.pop(next(iter(runs)))
    if pressed and key is not None:
        st.session_state["last_run"] = key

    if key is not None and key in runs:
        show_results(runs[key], current=True)
    elif st.session_state.get("last_run") in runs:
        show_results(runs[st.session_state["last_run"]], current=False)
    else:
        st.info("Set the levers in the sidebar and press **Run**.")


if __name__ == "__main__":
    main()
