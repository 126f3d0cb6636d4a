"""Billing-support simulator: the manager's page.

Pick, upload or edit a scenario, move the levers (staffing, discounts, billing,
customers, horizon), press Run, read the dashboard, keep runs as named strategies and
compare them with paired confidence intervals. Every number comes from ``sim``
(``sim.ui`` shapes it); this page only wires widgets to those functions.

Run with ``streamlit run app.py`` (binds to 127.0.0.1, see .streamlit/config.toml).
The page body lives in ``main()`` so that worker processes importing this file (process
pools, Dask) do not render anything.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from sim.faces import ui
from sim.policies.catalogue import DISCOUNTS
from sim.presentation import i18n
from sim.presentation.formatting import MoneyFormat, format_value, vega_locale
from sim.scenario import Scenario, ScenarioError, scenario_from_yaml

HERE = Path(__file__).resolve().parent
SCENARIO_DIR = HERE / "scenarios"
DEFAULT_SCENARIO = "baseline.yaml"
MAX_CACHED_RUNS = 12


def strategy_color() -> alt.Color:
    """One distinct colour per strategy in every overlaid chart."""
    return alt.Color("strategy:N", title=tr("strategy"), scale=alt.Scale(scheme="category10"))


def show(chart: alt.TopLevelMixin, money: MoneyFormat) -> None:
    """A chart in the scenario's number format and the reader's language."""
    lang = st.session_state.get("lang", "en")
    st.altair_chart(chart.configure(locale=vega_locale(money, lang)), width="stretch")


def tr(key: str, **kw: Any) -> str:
    """The label ``key`` in the language picked in the sidebar."""
    return i18n.t(key, st.session_state.get("lang", "en"), **kw)


# ---- scenario source -----------------------------------------------------------------------


def pick_scenario() -> tuple[str, Scenario, str] | None:
    """Scenario file or upload, with in-app edits applied: (source, scenario, yaml text)."""
    sb = st.sidebar
    sb.header(tr("scenario"))
    files = sorted(p.name for p in SCENARIO_DIR.glob("*.yaml"))
    if not files:
        sb.error(tr("no_files", path=SCENARIO_DIR))
        return None
    index = files.index(DEFAULT_SCENARIO) if DEFAULT_SCENARIO in files else 0
    file = sb.selectbox(tr("scenario_file"), files, index=index, key="scenario_file")
    upload = sb.file_uploader(tr("upload"), type=["yaml", "yml"], key="upload")
    source, text = file, (SCENARIO_DIR / file).read_text(encoding="utf-8")
    if upload is not None:
        data = upload.getvalue()
        try:
            ui.read_upload(upload.name, data)
        except ScenarioError as exc:
            sb.error(tr("upload_bad", file=file) + "\n\n" + _bullets(exc.problems))
        else:
            digest = hashlib.sha256(data).hexdigest()[:8]
            source, text = f"upload:{upload.name}:{digest}", data.decode("utf-8")
    edits: dict[str, str] = st.session_state.setdefault("edits", {})
    if source in edits:
        text = edits[source]
        sb.caption(tr("edited_note"))
    try:
        return source, scenario_from_yaml(text, source), text
    except ScenarioError as exc:
        sb.error(tr("file_bad") + "\n\n" + _bullets(exc.problems))
        return None


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"- {p}" for p in problems)


def lever_prefix(source: str) -> str:
    """Widget-key prefix: new after an edit, so the levers start from the edited file."""
    rev = st.session_state.setdefault("edit_rev", {}).get(source, 0)
    return source if rev == 0 else f"{source}#{rev}"


# ---- levers ----------------------------------------------------------------------------------


def levers(prefix: str, base: Scenario) -> tuple[dict, dict, int, dict]:
    """Sidebar levers grouped as a manager thinks.

    Returns (scenario changes, lever-level problems by group, replications, error slots).
    """
    lang = st.session_state.get("lang", "en")
    changes: dict[str, Any] = {}
    problems: dict[str, list[str]] = {g: [] for g in ui.LEVER_GROUPS}
    slots: dict[str, Any] = {}
    sb = st.sidebar

    def key(name: str) -> str:
        return f"{prefix}|{name}"

    with sb.expander(tr("staffing"), expanded=True):
        modes = ui.staffing_modes()
        current = base.policies.staffing.name
        mode = st.selectbox(
            tr("staffing_mode"),
            modes,
            index=modes.index(current) if current in modes else 0,
            format_func=lambda m: i18n.staffing_label(m, lang),
            key=key("staffing_mode"),
        )
        sl = base.contact_center.service_level
        target = st.number_input(
            tr("sl_target"),
            1.0,
            99.0,
            value=round(sl.target * 100, 1),
            step=5.0,
            key=key("sl_target"),
        )
        threshold = st.number_input(
            tr("sl_threshold"),
            1.0,
            3600.0,
            value=float(sl.threshold_s),
            step=5.0,
            key=key("sl_threshold"),
        )
        beta = None
        if mode == "sqrt":
            params = base.policies.staffing.params if current == "sqrt" else {}
            beta = st.number_input(
                tr("beta"),
                value=float(params.get("beta", 1.0)),
                step=0.25,
                key=key("beta"),
                help=tr("beta_help"),
            )
        changes.update(ui.staffing_changes(base, mode, target / 100, threshold, beta))
        if mode == "fixed":
            group = None
            for gname, label, path, agents in ui.staffing_levers(base):
                if gname != group:
                    st.markdown(f"**{gname}**")
                    group = gname
                text = f"{tr('agents')} {label}" if label else tr("agents_all_hours")
                changes[path] = st.number_input(text, value=agents, step=1, key=key(path))
        slots["staffing"] = st.empty()

    with sb.expander(tr("discounts")):
        names = list(DISCOUNTS)
        choice = base.policies.discount
        policy = st.selectbox(
            tr("discount_policy"),
            names,
            index=names.index(choice.name) if choice.name in names else 0,
            format_func=lambda n: i18n.policy_label(n, lang),
            key=key("discount_policy"),
            help=tr("discount_policy_help"),
        )
        pct = None
        param = ui.discount_pct_param(policy)
        if param is not None:
            pct = st.number_input(
                tr("discount_pct", param=param),
                value=ui.default_discount_pct(base, policy),
                step=1.0,
                key=key(f"discount_pct|{policy}"),
            )
        changes.update(ui.discount_changes(base, policy, pct))
        budget = st.number_input(
            tr("budget"),
            value=choice.budget_per_month,
            step=1000.0,
            key=key("budget"),
        )
        changes["policies.discount.budget_per_month"] = budget
        for gname, value in choice.authority_pct.items():
            changes[f"policies.discount.authority_pct.{gname}"] = st.number_input(
                tr("authority", group=gname),
                value=float(value),
                step=1.0,
                key=key(f"authority|{gname}"),
            )
        slots["discounts"] = st.empty()

    with sb.expander(tr("billing")):
        changes["billing.error.rate"] = (
            st.number_input(
                tr("error_rate"),
                value=round(base.billing.error.rate * 100, 2),
                step=0.5,
                key=key("error_rate"),
            )
            / 100
        )
        inc_rate, inc_from, inc_to, inc_cycles = ui.default_incident(base)
        on = st.checkbox(
            tr("incident"), value=base.billing.incident is not None, key=key("incident")
        )
        if on:
            rate = st.number_input(
                tr("incident_rate"),
                value=round(inc_rate * 100, 1),
                step=5.0,
                key=key("incident_rate"),
            )
            start = st.date_input(tr("incident_from"), value=inc_from, key=key("incident_from"))
            end = st.date_input(tr("incident_to"), value=inc_to, key=key("incident_to"))
            cycles = st.multiselect(
                tr("incident_cycles"),
                base.billing.cycle_days,
                default=inc_cycles,
                key=key("incident_cycles"),
            )
            changes.update(ui.incident_changes(True, rate / 100, start, end, cycles))
        else:
            changes.update(ui.incident_changes(False))
        slots["billing"] = st.empty()

    with sb.expander(tr("customers")):
        cu = base.customers
        changes["customers.accounts"] = st.number_input(
            tr("accounts"), value=cu.accounts, step=1000, key=key("accounts")
        )
        changes["customers.acquisition_per_month"] = st.number_input(
            tr("acquisition"),
            value=float(cu.acquisition_per_month),
            step=100.0,
            key=key("acquisition"),
        )
        shares = {
            s.name: st.number_input(
                tr("segment_share", segment=s.name),
                value=round(s.share * 100, 2),
                step=1.0,
                key=key(f"share|{s.name}"),
            )
            for s in cu.segments
        }
        try:
            changes.update(ui.segment_mix_changes(base, shares))
        except ValueError as exc:
            problems["customers"].append(str(exc))
        slots["customers"] = st.empty()

    with sb.expander(tr("horizon")):
        changes["calendar.months"] = st.number_input(
            tr("months"), value=base.calendar.months, step=1, key=key("months")
        )
        reps = st.number_input(
            tr("replications"),
            min_value=1,
            max_value=50,
            value=1,
            step=1,
            key=key("replications"),
            help=tr("replications_help"),
        )
        changes["seed"] = st.number_input(tr("seed"), value=base.seed, step=1, key=key("seed"))
        slots["horizon"] = st.empty()
    return changes, problems, int(reps), slots


def build_scenario(base: Scenario, changes: dict, problems: dict, slots: dict) -> Scenario | None:
    """The scenario the levers describe; problems are shown inside the group they concern."""
    scenario = None
    if not any(problems.values()):
        try:
            scenario = base.with_changes(changes)
        except ScenarioError as exc:
            for p in exc.problems:
                problems[ui.lever_group(p)].append(p)
        except ValueError as exc:
            problems[ui.lever_group(str(exc))].append(str(exc))
    for group, found in problems.items():
        if found:
            slots[group].error(tr("not_runnable") + "\n\n" + _bullets(found))
    return scenario


# ---- running ---------------------------------------------------------------------------------


def run_controls(scenario: Scenario | None, reps: int) -> None:
    """Strategy name and Run button; a run is cached by scenario fingerprint and
    replications, so pressing Run again or re-rendering never simulates twice."""
    state = st.session_state
    strategies: dict = state.setdefault("strategies", {})
    runs: dict = state.setdefault("runs", {})
    sb = st.sidebar
    name = sb.text_input(
        tr("strategy_name"), key="strategy_name", placeholder=tr("strategy_placeholder")
    )
    pressed = sb.button(
        tr("run"), key="run", type="primary", disabled=scenario is None, width="stretch"
    )
    error_slot = sb.empty()
    if not pressed or scenario is None:
        return
    run_key = f"{scenario.fingerprint()}:{reps}"
    name = name.strip() or _existing_name(run_key) or tr("strategy_default", n=len(strategies) + 1)
    if run_key not in runs:
        bar = st.progress(0.0, text=tr("starting"))

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            runs[run_key] = ui.run_strategy(name, scenario, reps, progress)
        except (RuntimeError, ValueError) as exc:
            error_slot.error(f"{tr('run_failed')} {exc}")
            return
        finally:
            bar.empty()
        while len(runs) > MAX_CACHED_RUNS:
            runs.pop(next(iter(runs)))
    strategies[name] = ui.rename(runs[run_key], name)
    state["strategy_keys"] = {**state.get("strategy_keys", {}), name: run_key}
    state["current"] = name


def _existing_name(run_key: str) -> str | None:
    for name, k in st.session_state.get("strategy_keys", {}).items():
        if k == run_key:
            return name
    return None


# ---- dashboard ------------------------------------------------------------------------------


def weekday_axis_expr(lang: str) -> str:
    """Vega expression naming weekday numbers 0..6 in ``lang``."""
    names = [i18n.t(f"wd_{d}", lang) for d in range(7)]
    return f"{names}[datum.value]"


def dashboard(scenario: Scenario | None, reps: int) -> None:
    state = st.session_state
    lang = state.get("lang", "en")
    strategies: dict = state.get("strategies", {})
    if not strategies:
        st.info(tr("press_run"))
        return
    names = list(strategies)
    current = state.get("current", names[-1])
    shown = st.selectbox(
        tr("show_strategy"), names, index=names.index(current) if current in names else 0
    )
    result = strategies[shown]
    sc = result.variants[0].scenario
    money = MoneyFormat.from_scenario(sc)
    if (
        scenario is not None
        and shown in state.get("strategy_keys", {})
        and state["strategy_keys"][shown] != f"{scenario.fingerprint()}:{reps}"
        and shown == current
    ):
        st.info(tr("stale"))
    st.caption(
        tr(
            "run_caption",
            name=sc.name,
            fp=sc.fingerprint(),
            seed=sc.seed,
            accounts=format_value(sc.customers.accounts, "accounts", money),
            months=sc.calendar.months,
            start=sc.calendar.start,
            reps=result.replications,
        )
    )
    cards = ui.kpi_cards(result, money, lang)
    for row in range(0, len(cards), 5):
        for col, card in zip(st.columns(5), cards[row : row + 5], strict=False):
            col.metric(card.label, card.value, help=card.help)
            if card.interval:
                col.caption(tr("ci", ci=card.interval))
    if result.replications < 2:
        st.caption(tr("ci_one_rep"))
    save_to_store(shown, result)

    tables = {name: result.table(name) for name in ("intervals", "waits", "monthly")}
    charts = [
        (heatmap_chart, "intervals"),
        (waits_chart, "waits"),
        (abandonment_chart, "intervals"),
        (queue_chart, "intervals"),
        (retention_chart, "monthly"),
        (waterfall_chart, "monthly"),
    ]
    for row in range(0, len(charts), 2):
        for col, (draw, table) in zip(st.columns(2), charts[row : row + 2], strict=True):
            with col:
                draw_if_kept(draw, tables[table], table, money, lang)
    draw_if_kept(monthly_table, tables["monthly"], "monthly", money, lang)


def draw_if_kept(draw: Any, df: pd.DataFrame, table: str, money: MoneyFormat, lang: str) -> None:
    """Draw a chart whose table the run kept; a stored run from the CLI may lack some."""
    if df.empty or len(df.columns) <= 3:  # only variant, replication, seed
        st.info(tr("not_kept", table=table))
    else:
        draw(df, money, lang)


def heatmap_chart(intervals: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """Service level, ASA or abandonment by weekday × hour."""
    st.subheader(tr("heatmap"))
    measures = ["service_level", "asa_s", "abandonment_rate"]
    measure = st.radio(
        tr("heat_measure"),
        measures,
        horizontal=True,
        key="heat_measure",
        format_func=lambda m: i18n.kpi_label(m, lang),
    )
    heat = ui.weekday_hour(intervals, measure)
    if heat.empty:
        st.write(tr("no_calls"))
    else:
        fmt = ".0%" if measure != "asa_s" else ".0f"
        scheme = "redyellowgreen" if measure == "service_level" else "yelloworangered"
        chart = (
            alt.Chart(heat)
            .mark_rect()
            .encode(
                x=alt.X("hour:O", title=tr("hour")),
                y=alt.Y(
                    "weekday:O",
                    title=tr("weekday"),
                    axis=alt.Axis(labelExpr=weekday_axis_expr(lang)),
                ),
                color=alt.Color(
                    "value:Q",
                    title=i18n.kpi_label(measure, lang),
                    scale=alt.Scale(scheme=scheme),
                    legend=alt.Legend(format=fmt),
                ),
                tooltip=["weekday", "hour", alt.Tooltip("value:Q", format=fmt)],
            )
        )
        show(chart, money)


def waits_chart(waits: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """How long answered and abandoned callers waited."""
    st.subheader(tr("waits"))
    dist = ui.wait_distribution(waits)
    if dist.empty:
        st.write(tr("no_calls"))
    else:
        dist["outcome"] = dist["outcome"].map(lambda o: tr(o))
        chart = (
            alt.Chart(dist)
            .mark_bar()
            .encode(
                x=alt.X("wait_from_s:Q", title=tr("wait_s"), bin="binned"),
                x2="wait_to_s:Q",
                y=alt.Y(
                    "share:Q",
                    title=tr("share"),
                    stack=True,
                    axis=alt.Axis(format="%"),
                    scale=alt.Scale(type="sqrt"),
                ),
                color=alt.Color(
                    "outcome:N",
                    title=tr("outcome"),
                    scale=alt.Scale(
                        domain=[tr("answered"), tr("abandoned")], range=["#1f77b4", "#d62728"]
                    ),
                ),
            )
        )
        show(chart, money)
        q = ui.wait_quantiles(waits)
        st.caption(
            tr(
                "wait_quantiles",
                q50=format_value(q[0.5], "s", money),
                q90=format_value(q[0.9], "s", money),
            )
        )


def abandonment_chart(intervals: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """Abandonment by hour of day."""
    st.subheader(tr("abandonment"))
    ab = ui.abandonment_by_hour(intervals)
    if ab.empty:
        st.write(tr("no_calls"))
    else:
        show(
            alt.Chart(ab)
            .mark_line(point=True)
            .encode(
                x=alt.X("hour:Q", title=tr("hour")),
                y=alt.Y(
                    "value:Q",
                    title=i18n.kpi_label("abandonment_rate", lang),
                    axis=alt.Axis(format=".1%"),
                ),
            ),
            money,
        )


def queue_chart(intervals: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """Queue and agents on duty against the agents needed."""
    st.subheader(tr("staffing_week"), help=tr("staffing_week_help"))
    whole = st.toggle(tr("whole_horizon"), key="whole_horizon")
    qa = ui.queue_and_agents(intervals, None if whole else 7, "D" if whole else None)
    qa["series"] = qa["series"].map(lambda s: tr(s))
    show(
        alt.Chart(qa)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("interval_start:T", title=None),
            y=alt.Y("value:Q", title=tr("agents")),
            color=alt.Color("series:N", title=None),
        ),
        money,
    )


def retention_chart(monthly: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """Active accounts and churn per month."""
    st.subheader(tr("retention_chart"))
    ret = ui.retention_by_month(monthly)
    base_chart = alt.Chart(ret).encode(x=alt.X("yearmonth(month_start):O", title=tr("col_month")))
    bars = base_chart.mark_bar(opacity=0.6, color="#d62728").encode(
        y=alt.Y("churned:Q", title=i18n.kpi_label("churned", lang))
    )
    line = base_chart.mark_line(point=True).encode(
        y=alt.Y("active_end:Q", title=tr("active_end"), scale=alt.Scale(zero=False))
    )
    show(alt.layer(bars, line).resolve_scale(y="independent"), money)


def waterfall_chart(monthly: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """From billed money to the net result."""
    st.subheader(tr("waterfall"))
    wf = ui.money_waterfall(monthly)
    wf["label"] = [tr("net_step") if s == "net" else i18n.column_label(s, lang) for s in wf["step"]]
    wf["text"] = [format_value(a, "money", money, money_decimals=0) for a in wf["amount"]]
    order = list(wf["label"])
    chart = (
        alt.Chart(wf)
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=order, title=None),
            y=alt.Y("start:Q", title=tr("amount", unit=money.unit), axis=alt.Axis(format="$,.0f")),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                legend=None,
                scale=alt.Scale(domain=["total", "delta"], range=["#1f77b4", "#d62728"]),
            ),
            tooltip=["label", "text"],
        )
    )
    show(chart, money)


def monthly_table(monthly: pd.DataFrame, money: MoneyFormat, lang: str) -> None:
    """The monthly table in the scenario's number format."""
    st.subheader(tr("by_month"))
    st.caption(tr("money_in", unit=money.unit))
    st.dataframe(ui.monthly_display(monthly, money, lang), hide_index=True)


def save_to_store(name: str, result: Any) -> None:
    """A button that keeps this strategy in the results store (past runs)."""
    saved: dict = st.session_state.setdefault("saved", {})
    sc = result.variants[0].scenario
    name = f"{name}:{sc.fingerprint()}:{result.replications}"  # a re-run is saved anew
    if st.button(tr("save_run"), key="save_run", disabled=name in saved):
        try:
            store = ui.open_store()
            if store is None:
                st.info(tr("past_none"))
                return
            saved[name] = store.save(result)
        except (OSError, ValueError, RuntimeError) as exc:
            st.error(f"{tr('run_failed')} {exc}")
            return
    if name in saved:
        st.caption(tr("saved", run_id=saved[name]))


# ---- compare -------------------------------------------------------------------------------


def compare(scenario: Scenario | None, reps: int) -> None:
    state = st.session_state
    lang = state.get("lang", "en")
    strategies: dict = state.get("strategies", {})
    if len(strategies) < 2:
        st.info(tr("compare_none"))
    if strategies:
        names = list(strategies)
        # keyed by the kept strategies: a new strategy joins the comparison at once
        picked = st.multiselect(
            tr("compare_pick"), names, default=names, key="compare_pick|" + "|".join(names)
        )
        picked = [n for n in picked if n in strategies]
        if len(picked) >= 2:
            show_comparison({n: strategies[n] for n in picked}, lang)
        if st.button(tr("forget"), key="forget"):
            for k in ("strategies", "strategy_keys", "current", "saved"):
                state.pop(k, None)
            st.rerun()
    if scenario is not None:
        sweep_controls(scenario, reps)


def show_comparison(chosen: dict, lang: str) -> None:
    names = list(chosen)
    base = st.selectbox(tr("compare_base"), names, index=0, key="compare_base")
    combined = ui.combine(chosen)
    money = MoneyFormat.from_scenario(chosen[base].variants[0].scenario)
    if not ui.same_seed(chosen):
        st.warning(tr("compare_seeds"))
    st.caption(tr("compare_table"))
    table = ui.compare_table(combined, base, money, lang)
    st.dataframe(table, hide_index=True, height=35 * (len(table) + 1) + 3)

    left, mid, right = st.columns(3)
    with left:
        st.subheader(tr("overlay_active"))
        data = ui.overlay_monthly(chosen, "active_end")
        show(
            alt.Chart(data)
            .mark_line(point=True)
            .encode(
                x=alt.X("yearmonth(month_start):O", title=tr("col_month")),
                y=alt.Y("value:Q", title=tr("active_end"), scale=alt.Scale(zero=False)),
                color=strategy_color(),
            ),
            money,
        )
    with mid:
        st.subheader(tr("overlay_sl"))
        data = ui.overlay_service_level(chosen)
        if not data.empty:
            show(
                alt.Chart(data)
                .mark_line(point=True)
                .encode(
                    x=alt.X("hour:Q", title=tr("hour")),
                    y=alt.Y(
                        "value:Q",
                        title=i18n.kpi_label("service_level", lang),
                        axis=alt.Axis(format="%"),
                    ),
                    color=strategy_color(),
                ),
                money,
            )
    with right:
        st.subheader(tr("overlay_waits"))
        data = ui.overlay_waits(chosen)
        if not data.empty:
            show(
                alt.Chart(data)
                .mark_line()
                .encode(
                    x=alt.X("wait_s:Q", title=tr("wait_s")),
                    y=alt.Y("share:Q", title=tr("share"), axis=alt.Axis(format="%")),
                    color=strategy_color(),
                ),
                money,
            )

    st.subheader(tr("frontier"), help=tr("frontier_help"))
    fr = ui.frontier(combined, base)
    enc = {
        "x": alt.X(
            "discount_cost:Q",
            title=tr("extra_discount", unit=money.unit),
            axis=alt.Axis(format="$,.0f"),
        ),
        "y": alt.Y("kept:Q", title=tr("kept")),
    }
    points = (
        alt.Chart(fr)
        .mark_point(filled=True, size=80)
        .encode(**enc, tooltip=["strategy", "discount_cost", "kept", "retention_pp", "net_diff"])
    )
    bars = alt.Chart(fr).mark_rule().encode(x="discount_cost:Q", y="kept_low:Q", y2="kept_high:Q")
    labels = alt.Chart(fr).mark_text(align="left", dx=8).encode(**enc, text="strategy:N")
    show(alt.layer(bars, points, labels), money)


def sweep_controls(scenario: Scenario, reps: int) -> None:
    """Run one discount policy at several percentages as strategies for the frontier."""
    lang = st.session_state.get("lang", "en")
    with st.expander(tr("sweep")):
        st.caption(tr("sweep_help"))
        names = [n for n in DISCOUNTS if ui.discount_pct_param(n) is not None]
        policy = st.selectbox(
            tr("discount_policy"),
            names,
            key="sweep_policy",
            format_func=lambda n: i18n.policy_label(n, lang),
        )
        text = st.text_input(tr("sweep_pcts"), value="5, 10, 20", key="sweep_pcts")
        if not st.button(tr("sweep_run"), key="sweep_run"):
            return
        try:
            pcts = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
            points = ui.discount_sweep(scenario, policy, pcts)
        except ScenarioError as exc:
            st.error(tr("not_runnable") + "\n\n" + _bullets(exc.problems))
            return
        except ValueError:
            st.error(tr("sweep_bad"))
            return
        state = st.session_state
        bar = st.progress(0.0, text=tr("starting"))
        for i, (name, sc) in enumerate(points):
            bar.progress(i / len(points), text=name)
            try:
                res = ui.run_strategy(name, sc, reps)
            except (RuntimeError, ValueError) as exc:
                st.error(f"{tr('run_failed')} {exc}")
                break
            state["strategies"][name] = res
        bar.empty()
        st.rerun()


# ---- past runs -----------------------------------------------------------------------------


def past_runs() -> None:
    store = ui.open_store()
    if store is None:
        st.info(tr("past_none"))
        return
    try:
        runs = store.list_runs()
    except (OSError, ValueError) as exc:
        st.error(f"{tr('past_bad')} {exc}")
        return
    if runs is None or len(runs) == 0:
        st.info(tr("past_empty"))
        return
    cols = {
        "name": tr("strategy"),
        "created": tr("col_created"),
        "replications": tr("replications"),
        "variant_names": tr("compare_pick"),
        "status": tr("col_status"),
        "run_id": tr("past_pick"),
    }
    shown = runs[[c for c in cols if c in runs.columns]].rename(columns=cols)
    st.dataframe(shown, hide_index=True)
    rows = runs.to_dict("records")
    ids = [r["run_id"] for r in rows]
    labels = {r["run_id"]: ui.run_label(r) for r in rows}
    run_id = st.selectbox(tr("past_pick"), ids, format_func=lambda i: labels[i], key="past_pick")
    if st.button(tr("past_open"), key="past_open"):
        try:
            result = store.load(run_id)
        except (OSError, KeyError, ValueError) as exc:
            st.error(f"{tr('past_bad')} {exc}")
            return
        state = st.session_state
        strategies = state.setdefault("strategies", {})
        row = next(r for r in rows if r["run_id"] == run_id)
        for variant in result.variant_names:
            one = ui.single_variant(result, variant)
            label = str(row.get("name") or variant)
            name = label if len(result.variants) == 1 else f"{label}: {variant}"
            strategies[name] = ui.rename(one, name)
            state["current"] = name
        state["opened"] = state["current"]
        st.rerun()  # the dashboard above shows the reopened run
    if "opened" in st.session_state:
        st.success(tr("past_opened", name=st.session_state.pop("opened")))


# ---- scenario editor -----------------------------------------------------------------------


def editor(source: str, text: str, scenario: Scenario | None) -> None:
    state = st.session_state
    rev = state.setdefault("edit_rev", {}).get(source, 0)
    edited = st.text_area(
        tr("editor"), value=text, height=480, key=f"editor|{source}|{rev}", help=tr("editor_help")
    )
    left, right = st.columns(2)
    if left.button(tr("apply"), key="apply_yaml"):
        try:
            scenario_from_yaml(edited, "edit")
        except ScenarioError as exc:
            st.error(tr("edit_bad") + "\n\n" + _bullets(exc.problems))
        else:
            state["edits"][source] = edited
            state["edit_rev"][source] = rev + 1
            st.rerun()
    if source in state.get("edits", {}) and right.button(tr("reset"), key="reset_yaml"):
        state["edits"].pop(source)
        state["edit_rev"][source] = rev + 1
        st.rerun()
    stem = source.split(":")[1] if source.startswith("upload:") else source
    stem = stem.rsplit(".", 1)[0]
    if scenario is not None:
        st.download_button(
            tr("download"),
            scenario.to_yaml(),
            file_name=f"{stem}-levers.yaml",
            mime="application/x-yaml",
            key="download_yaml",
        )
    st.download_button(
        tr("download_base") if source in state.get("edits", {}) else tr("download_file"),
        text,
        file_name=f"{stem}-edited.yaml",
        mime="application/x-yaml",
        key="download_base",
    )


# ---- page ----------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="Billing-support simulator", layout="wide")
    st.sidebar.selectbox(
        "Language / Sprache", list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, key="lang"
    )
    st.title(tr("title"))
    picked = pick_scenario()
    if picked is None:
        st.stop()
    source, base, text = picked
    changes, problems, reps, slots = levers(lever_prefix(source), base)
    scenario = build_scenario(base, changes, problems, slots)
    run_controls(scenario, reps)

    tabs = st.tabs([tr("tab_dashboard"), tr("tab_compare"), tr("tab_past"), tr("tab_scenario")])
    with tabs[0]:
        dashboard(scenario, reps)
    with tabs[1]:
        compare(scenario, reps)
    with tabs[2]:
        past_runs()
    with tabs[3]:
        editor(source, text, scenario)


if __name__ == "__main__":
    main()
