"""Billing-support simulator: the manager's page.

Pick, upload or edit a scenario, move the levers (staffing, discounts, billing,
customers, horizon), press Run, read the dashboard, keep runs as named strategies and
compare them with paired confidence intervals. Every number comes from ``sim``
(``sim.faces.ui`` shapes it); this page only wires widgets to those functions.

Run with ``streamlit run app.py`` (binds to 127.0.0.1, see .streamlit/config.toml).
The page body lives in ``main()`` so that worker processes importing this file (process
pools, Dask) do not render anything.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from sim.calibrate import DataError
from sim.experiments import decision
from sim.experiments.store import StoreError
from sim.faces import ui
from sim.policies.catalogue import DISCOUNTS
from sim.presentation import i18n
from sim.presentation.calibration import fit_report_html
from sim.presentation.formatting import (
    MoneyFormat,
    format_date,
    format_diff,
    format_interval,
    format_number,
    format_value,
    vega_locale,
)
from sim.scenario import Scenario, ScenarioError, scenario_from_yaml

HERE = Path(__file__).resolve().parent
SCENARIO_DIR = HERE / "scenarios"
DEFAULT_SCENARIO = "baseline.yaml"
MAX_CACHED_RUNS = 12


# What a broken results store raises: the page says so instead of a traceback. (A comment,
# not a docstring: Streamlit's magic would print a bare string on the page.)
STORE_ERRORS = (StoreError, sqlite3.Error, OSError, ValueError)


def strategy_color(names: list[str]) -> alt.Color:
    """One distinct colour per strategy, the same in every overlaid chart and listed in
    the order the strategies were kept; the legend sits below the chart in rows, so long
    names never squeeze the plot."""
    return alt.Color(
        "strategy:N",
        title=None,
        scale=alt.Scale(domain=names, scheme="category10"),
        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=600),
    )


def choose(widget: Any, label: str, options: list[str], labeller: Any, **kw: Any) -> str:
    """A select box or radio over option keys shown as labels in the reader's language;
    robust to the label a select box hands back right after the language changes."""
    lang = st.session_state.get("lang", "en")
    value = widget(label, options, format_func=lambda o: labeller(o, lang), **kw)
    return i18n.option_from_label(value, options, labeller)


def show(chart: alt.TopLevelMixin, money: MoneyFormat) -> None:
    """A chart in the scenario's number format and the reader's language."""
    lang = st.session_state.get("lang", "en")
    st.altair_chart(chart.configure(locale=vega_locale(money, lang)), width="stretch")


def tr(key: str, **kw: Any) -> str:
    """The label ``key`` in the language picked in the sidebar."""
    return i18n.t(key, st.session_state.get("lang", "en"), **kw)


def labels(keys: pd.Series) -> dict[str, str]:
    """Each distinct key of a column with its label: looked up once, not once a row."""
    return {k: tr(k) for k in keys.unique()}


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
    kb = ui.MAX_SCENARIO_BYTES // 1024
    upload = sb.file_uploader(tr("upload_limit", kb=kb), type=["yaml", "yml"], key="upload")
    source, text = file, (SCENARIO_DIR / file).read_text(encoding="utf-8")
    if upload is not None:
        refused = ui.upload_problem(upload.name, upload.size)
        if refused == "too_big":
            size = f"{upload.size / 1024:,.0f}"
            sb.error(tr("upload_too_big", file=upload.name, size=size, kb=kb))
        elif refused == "not_yaml":
            sb.error(tr("upload_not_yaml", file=upload.name))
    if upload is not None and refused is None:
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
        return source, parsed_scenario(text, source), text
    except ScenarioError as exc:
        sb.error(tr("file_bad") + "\n\n" + _bullets(exc.problems))
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def parsed_scenario(text: str, source: str) -> Scenario:
    """A scenario file parsed and validated once, not on every rerun (a Scenario is
    immutable, so every rerun and session may share it)."""
    return scenario_from_yaml(text, source)


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
    if lang == "de":  # the inputs write 2.5 even in German: say so once
        sb.caption(tr("decimal_point"))

    def key(name: str) -> str:
        return f"{prefix}|{name}"

    with sb.expander(tr("staffing"), expanded=True):
        modes = ui.staffing_modes()
        current = base.policies.staffing.name
        mode = choose(
            st.selectbox,
            tr("staffing_mode"),
            modes,
            i18n.staffing_label,
            index=modes.index(current) if current in modes else 0,
            key=key("staffing_mode"),
        )
        sl = base.contact_center.service_level
        target = st.number_input(
            tr("sl_target"),
            1.0,
            99.0,
            value=round(sl.target * 100, 1),
            step=5.0,
            format=ui.input_format(sl.target * 100, 5.0, 1),
            key=key("sl_target"),
        )
        threshold = st.number_input(
            tr("sl_threshold"),
            1.0,
            3600.0,
            value=float(sl.threshold_s),
            step=5.0,
            format=ui.input_format(sl.threshold_s, 5.0),
            key=key("sl_threshold"),
        )
        beta = None
        if mode == "sqrt":
            params = base.policies.staffing.params if current == "sqrt" else {}
            beta = st.number_input(
                tr("beta"),
                value=float(params.get("beta", 1.0)),
                step=0.25,
                format=ui.input_format(params.get("beta", 1.0), 0.25),
                key=key("beta"),
                help=tr("beta_help"),
            )
            st.caption(tr("sqrt_target_note"))
        changes.update(ui.staffing_changes(base, mode, target / 100, threshold, beta))
        if mode == "fixed":
            group = None
            for gname, label, path, agents in ui.staffing_levers(base, lang):
                if gname != group:
                    st.markdown(f"**{i18n.entity_label(gname, lang)}**")
                    group = gname
                text = tr("agents_shift", shift=label) if label else tr("agents_all_hours")
                changes[path] = st.number_input(text, value=agents, step=1, key=key(path))
        slots["staffing"] = st.empty()

    with sb.expander(tr("discounts")):
        names = list(DISCOUNTS)
        choice = base.policies.discount
        kind = choose(
            st.selectbox,
            tr("targeting"),
            list(i18n.TARGETING),
            i18n.targeting_label,
            key=key("targeting"),
            help=tr("targeting_help"),
        )
        if kind == "rule":
            policy = choose(
                st.selectbox,
                tr("discount_policy"),
                names,
                i18n.policy_label,
                index=names.index(choice.name) if choice.name in names else 0,
                key=key("discount_policy"),
                help=tr("discount_policy_help"),
            )
            pct = None
            param = ui.discount_pct_param(policy)
            if param is not None:
                default_pct = ui.default_discount_pct(base, policy)
                pct = st.number_input(
                    tr("discount_pct_of"),
                    value=default_pct,
                    step=1.0,
                    format=ui.input_format(default_pct, 1.0, 1),
                    key=key(f"discount_pct|{policy}"),
                )
            changes.update(ui.discount_changes(base, policy, pct))
        else:
            share = st.number_input(
                tr("target_share"),
                1.0,
                100.0,
                value=30.0,
                step=5.0,
                format="%.0f",
                key=key("target_share"),
            )
            tpct = st.number_input(
                tr("target_pct"),
                1.0,
                100.0,
                value=20.0,
                step=5.0,
                format="%.0f",
                key=key("target_pct"),
            )
            slots["targeting"] = st.container()
            slots["target"] = {"kind": kind, "share": share / 100, "pct": float(tpct)}
        no_cap = st.checkbox(tr("no_cap"), value=choice.budget_per_month is None, key=key("no_cap"))
        budget = None
        if not no_cap:
            budget = st.number_input(
                tr("budget_value") + f" ({MoneyFormat.from_scenario(base).unit})",
                value=float(choice.budget_per_month or 20000.0),
                step=1000.0,
                format=ui.input_format(choice.budget_per_month or 20000.0, 1000.0),
                key=key("budget"),
            )
        changes["policies.discount.budget_per_month"] = budget
        for gname, value in choice.authority_pct.items():
            changes[f"policies.discount.authority_pct.{gname}"] = st.number_input(
                tr("authority", group=i18n.entity_label(gname, lang)),
                value=float(value),
                step=1.0,
                format=ui.input_format(value, 1.0, 1),
                key=key(f"authority|{gname}"),
            )
        slots["discounts"] = st.empty()

    with sb.expander(tr("billing")):
        changes["billing.error.rate"] = (
            st.number_input(
                tr("error_rate"),
                value=round(base.billing.error.rate * 100, 2),
                step=0.5,
                format=ui.input_format(round(base.billing.error.rate * 100, 2), 0.5, 1),
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
                format=ui.input_format(round(inc_rate * 100, 1), 5.0, 1),
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
            format=ui.input_format(cu.acquisition_per_month, 100.0),
            key=key("acquisition"),
        )
        shares = {
            s.name: st.number_input(
                tr("segment_share", segment=i18n.entity_label(s.name, lang)),
                value=round(s.share * 100, 2),
                step=1.0,
                format=ui.input_format(round(s.share * 100, 2), 1.0, 1),
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


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_fit(key: str, _history: Scenario, kind: str, pct: float) -> ui.TargetingFit:
    """A fitted score per history scenario (``key``: its fingerprint), kind and pilot
    percentage: moving staffing, billing or the share never refits it."""
    return ui.fit_targeting(_history, kind, pct)


def targeting(base: Scenario, changes: dict, slots: dict) -> dict | None:
    """Fit (or take from the cache) the chosen score, show its held-out AUC and that
    the true hazard is never used; returns the run's policy options and their tag."""
    target = slots.get("target")
    if target is None:
        return None
    kind, share, pct = target["kind"], target["share"], target["pct"]
    lang = st.session_state.get("lang", "en")
    box = slots["targeting"]
    history = ui.history_scenario(base, changes)
    pilot_pct = pct if kind == "uplift" else 0.0
    try:
        with box, st.spinner(tr("target_fitting")):
            fit = cached_fit(history.fingerprint(), history, kind, pilot_pct)
        policy = ui.targeting_policy(fit, share, pct)
    except (ValueError, ScenarioError) as exc:
        box.error(f"{tr('target_failed')} {exc}")
        return None
    d = fit.discrimination
    style = "de" if lang == "de" else "en"
    auc = {k: format_number(d[k], 2, style) for k in ("auc_holdout", "auc_train")}
    box.markdown(
        tr(
            "target_auc",
            held=f"{ui.TRAIN_MONTHS + 1}–{ui.HISTORY_MONTHS}",
            auc=auc["auc_holdout"],
            train=auc["auc_train"],
            oracle=format_number(d["auc_true_hazard_holdout"], 2, style),
        )
    )
    if kind == "uplift":
        n = format_number(fit.pilot_accounts, 0, style)
        box.caption(tr("target_uplift_note", n=n, pct=format_number(pct, 0, style)))
    box.caption(tr("target_no_oracle"))
    tag = f"{kind}:{history.fingerprint()}:{share:g}:{pct:g}"
    return {
        "options": {"discount_policy": policy},
        "tag": tag,
        "label": i18n.targeted_name(kind, share, pct, lang),
    }


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
    lang = st.session_state.get("lang", "en")
    for group, found in problems.items():
        if found:
            lines = []
            for p in found:
                text, path = i18n.lever_problem(p, lang)
                lines.append(f"{text} — {tr('field')} `{path}`")
            slots[group].error(tr("not_runnable") + "\n\n" + _bullets(lines))
    return scenario


# ---- running ---------------------------------------------------------------------------------


def run_controls(
    base: Scenario, scenario: Scenario | None, reps: int, target: dict | None = None
) -> dict | None:
    """Strategy name and Run button. Returns the run to start (at the end of the page,
    so the last results stay visible meanwhile), or None.

    An empty name takes the name made from what changed against the scenario file; a
    name already kept for other settings asks before replacing (or keeps both).
    """
    state = st.session_state
    lang = state.get("lang", "en")
    strategies: dict = state.setdefault("strategies", {})
    sb = st.sidebar
    auto = (
        i18n.strategy_name(decision.scenario_changes(base, scenario), base, lang)
        if scenario is not None
        else ""
    )
    if target is not None and scenario is not None:  # a fitted policy: say whom it targets
        today = i18n.t("name_today", lang)
        auto = target["label"] if auto == today else f"{auto} · {target['label']}"
    sb.text_input(tr("strategy_name"), key="strategy_name", placeholder=auto)
    pressed = sb.button(
        tr("run"),
        key="run",
        type="primary",
        disabled=scenario is None,
        width="stretch",
        on_click=take_name,
    )
    request = None
    if pressed and scenario is not None:
        name = state.pop("run_name", "").strip()
        name = name or auto or tr("strategy_default", n=len(strategies) + 1)
        request = {"name": name, "scenario": scenario, "reps": reps}
        if target is not None:
            request.update(options=target["options"], tag=target["tag"])
        keys = state.get("strategy_keys", {})
        if name in strategies and keys.get(name) != run_request_key(request):
            state["ask_replace"] = request
            request = None
    ask = state.get("ask_replace")
    if ask is not None:
        sb.warning(tr("name_taken", name=ask["name"]))
        left, right = sb.columns(2)
        if left.button(tr("replace"), key="replace"):
            request = state.pop("ask_replace")
        elif right.button(tr("keep_both"), key="keep_both"):
            request = state.pop("ask_replace")
            request["name"] = ui.unique_name(request["name"], list(strategies))
    again = state.pop("interrupted_request", None)
    if again is not None:
        sb.info(tr("interrupted", name=again["name"]))
        if sb.button(tr("run_again"), key="run_again"):
            request = again
        else:
            state["interrupted_request"] = again
    return request


def take_name() -> None:
    """The Run button's callback: the typed name leaves with the run and the box is
    empty for the next one (a widget's value can be set only before it is drawn, and
    the run now happens after the sidebar is drawn)."""
    state = st.session_state
    state["run_name"] = state.get("strategy_name", "")
    state["strategy_name"] = ""


def run_request_key(request: dict) -> str:
    """What identifies a run's results: scenario, replications and any fitted policy."""
    key = f"{request['scenario'].fingerprint()}:{request['reps']}"
    return f"{key}:{request['tag']}" if request.get("tag") else key


def execute_run(request: dict, slot: Any, *, rerun: bool = False) -> None:
    """Run a requested strategy with progress and a Cancel button in ``slot``; with
    ``rerun``, draw the page again afterwards (for a run requested further down it).

    A run the page interrupts (Cancel, or a lever touched meanwhile: Streamlit restarts
    the script) stops its workers (the runner cancels what has not started) and is
    reported on the next page instead of vanishing silently."""
    state = st.session_state
    name, scenario, reps = request["name"], request["scenario"], request["reps"]
    runs: dict = state.setdefault("runs", {})
    run_key = run_request_key(request)
    if run_key not in runs:
        state["running"] = request
        with slot.container():
            st.button(tr("cancel"), key="cancel", on_click=lambda: state.update(cancelled=True))
            bar = st.progress(0.0, text=tr("running", name=name, what=tr("starting")))

        def progress(fraction: float, message: str) -> None:
            text = tr("running", name=name, what=message)
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

        try:
            runs[run_key] = ui.run_strategy(
                name, scenario, reps, progress, options=request.get("options")
            )
        except (RuntimeError, ValueError) as exc:
            state.pop("running", None)
            slot.error(f"{tr('run_failed')} {exc}")
            return
        state.pop("running", None)
        while len(runs) > MAX_CACHED_RUNS:
            runs.pop(next(iter(runs)))
    state.setdefault("strategies", {})[name] = ui.rename(runs[run_key], name)
    state["strategy_keys"] = {**state.get("strategy_keys", {}), name: run_key}
    state["current"] = name
    slot.empty()
    if rerun:
        st.rerun()


def report_interrupted() -> None:
    """Say what happened to a run that did not finish: cancelled, or interrupted by a
    change (then offer to run it again)."""
    state = st.session_state
    running = state.pop("running", None)
    if running is None:
        return
    if state.pop("cancelled", False):
        st.warning(tr("stopped", name=running["name"]))
    else:
        state["interrupted_request"] = running


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
        and state["strategy_keys"][shown]
        != run_request_key({"scenario": scenario, "reps": reps, "tag": state.get("target_tag")})
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
            start=format_date(sc.calendar.start, lang),
            reps=result.replications,
        )
    )
    kpi_cards(ui.kpi_cards(result, money, lang))
    value_explained()
    if result.replications < 2:
        st.caption(tr("ci_one_rep"))
    else:
        st.caption(tr("ci_explained"))
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


# Pixels per KPI card: wide enough for the longest label and value in both languages (the
# browser test checks that none is cut at 1280 and 1920 px). A comment, not a docstring:
# Streamlit's magic would print a bare string on the page.
CARD_WIDTH = 250


def kpi_cards(cards: list[ui.Card]) -> None:
    """KPI cards of a fixed width that wrap onto as many rows as the page needs (five
    equal columns cut labels and values on a laptop screen)."""
    with st.container(horizontal=True, wrap=True, gap="small"):
        for card in cards:
            with st.container(width=CARD_WIDTH, border=True, gap=None):
                st.metric(card.label, card.value, help=card.help)
                if card.interval:
                    st.caption(tr("ci", ci=card.interval))


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
    measure = choose(
        st.radio, tr("heat_measure"), measures, i18n.kpi_label, horizontal=True, key="heat_measure"
    )
    heat = ui.weekday_hour(intervals, measure)
    if heat.empty:
        st.write(tr("no_calls"))
    else:
        fmt = ".0%" if measure != "asa_s" else ".0f"
        scheme = "redyellowgreen" if measure == "service_level" else "yelloworangered"
        # a fixed scale: the same colour means the same value in every run
        domain = [0, 1] if measure != "asa_s" else [0, 300]
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
                    scale=alt.Scale(scheme=scheme, domain=domain, clamp=True),
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
        dist["outcome"] = dist["outcome"].map(labels(dist["outcome"]))
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
    qa["series"] = qa["series"].map(labels(qa["series"]))
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
        y=alt.Y(
            "active_end:Q",
            title=tr("active_end"),
            scale=alt.Scale(zero=False),
            axis=alt.Axis(format=",.0f"),
        )
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
            # no label limit: German steps ("Verlorener Kundenwert") were cut with "…"
            x=alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=0)),
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
            saved[name] = ui.open_store().save(result)
        except (*STORE_ERRORS, RuntimeError) as exc:
            st.error(tr("store_broken", reason=exc))
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
            state["confirm_forget"] = True
        if state.get("confirm_forget"):
            st.warning(tr("forget_confirm", n=len(strategies)))
            yes, no = st.columns(2)
            if yes.button(tr("forget_yes"), key="forget_yes"):
                for k in ("strategies", "strategy_keys", "current", "saved", "confirm_forget"):
                    state.pop(k, None)
                st.rerun()
            if no.button(tr("forget_no"), key="forget_no"):
                state.pop("confirm_forget", None)
                st.rerun()
    if scenario is not None:
        sweep_controls(scenario, reps)


def show_comparison(chosen: dict, lang: str) -> None:
    """Ranking and verdict first, then every KPI side by side, overlays and frontier."""
    names = list(chosen)
    base = choose(st.selectbox, tr("compare_base"), names, lambda n, _l: n, key="compare_base")
    combined = ui.combine(chosen)
    money = MoneyFormat.from_scenario(chosen[base].variants[0].scenario)
    if not ui.same_seed(chosen):
        st.warning(tr("compare_seeds"))

    facts = decision.verdict(combined, base)
    if facts is not None:
        st.subheader(tr("verdict"))
        st.markdown(i18n.verdict_text(facts, money, lang), help=tr("multiple_caveat"))
    st.subheader(tr("ranking"), help=tr("ci_explained"))
    value_explained()
    ranked = decision.ranking(combined, base)
    st.dataframe(ranking_display(ranked, base, money), hide_index=True)

    st.caption(tr("compare_table"), help=tr("multiple_caveat"))
    table = ui.compare_table(combined, base, money, lang)
    effects = ui.compare_effects(combined, base, lang)
    st.dataframe(
        style_effects(table, effects),
        hide_index=True,
        height=35 * (len(table) + 1) + 3,
        column_config={table.columns[0]: st.column_config.TextColumn(pinned=True)},
    )

    overlays(chosen, money, lang)
    frontier_section(combined, chosen, money)


def ranking_display(ranked: pd.DataFrame, base: str, money: MoneyFormat) -> pd.DataFrame:
    """The ranking as text: net value [CI] and the paired difference to the baseline."""

    def diff(r: pd.Series) -> str:
        if r["strategy"] == base:
            return "—"
        text = f"{format_diff(r['diff'], 'money', money)} "
        text += format_interval(r["diff_low"], r["diff_high"], "money", money)
        return text.strip() + (" ★" if r["significant"] else "")

    return pd.DataFrame(
        {
            tr("rank"): ranked["rank"],
            tr("strategy"): ranked["strategy"],
            tr("net_ci"): [
                f"{format_value(r.net, 'money', money, money_decimals=0)} "
                f"{format_interval(r.net_low, r.net_high, 'money', money)}".strip()
                for r in ranked.itertuples()
            ],
            tr("diff_ref", name=base): [diff(r) for _, r in ranked.iterrows()],
        }
    )


def style_effects(table: pd.DataFrame, effects: pd.DataFrame) -> Any:
    """Difference cells green when better, red when worse (bold when significant)."""
    colours = {1: "color: #1a7f37", -1: "color: #cf222e", 0: ""}

    def paint(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for col in effects.columns:
            if col in frame.columns:
                out[col] = [
                    colours[int(e)] + ("; font-weight: bold" if str(v).endswith("★") else "")
                    for e, v in zip(effects[col], frame[col], strict=True)
                ]
        return out

    return table.style.apply(paint, axis=None)


def overlays(chosen: dict, money: MoneyFormat, lang: str) -> None:
    """Monthly accounts, service level by hour and waits per strategy: overlaid lines
    for up to three strategies, small multiples (one panel each, shared axes) beyond."""
    many = len(chosen) > 3
    specs = [
        (
            tr("overlay_active"),
            ui.overlay_monthly(chosen, "active_end"),
            alt.X("yearmonth(month_start):T", title=None, axis=alt.Axis(format="%b %y")),
            alt.Y(
                "value:Q",
                title=tr("active_end"),
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=",.0f"),
            ),
        ),
        (
            tr("overlay_sl"),
            ui.overlay_service_level(chosen),
            alt.X("hour:Q", title=tr("hour")),
            alt.Y(
                "value:Q",
                title=i18n.kpi_label("service_level", lang),
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
        ),
        (
            tr("overlay_waits"),
            ui.overlay_waits(chosen).rename(columns={"share": "value"}),
            alt.X("wait_s:Q", title=tr("wait_s")),
            alt.Y("value:Q", title=tr("share"), axis=alt.Axis(format="%")),
        ),
    ]
    cols = st.columns(1 if many else 3)
    for i, (title, data, x, y) in enumerate(specs):
        with cols[0 if many else i]:
            st.subheader(title)
            if data.empty:
                continue
            chart = alt.Chart(data).mark_line(point=not many).encode(x=x, y=y)
            chart = chart.encode(color=strategy_color(list(chosen)))
            if many:
                chart = chart.properties(width=220, height=160).facet(
                    facet=alt.Facet("strategy:N", title=None, header=alt.Header(labelLimit=300)),
                    columns=3,
                )
            show(chart, money)


def frontier_section(combined: Any, chosen: dict, money: MoneyFormat) -> None:
    """Net value against total cost (agents + discounts), coinciding points labelled
    once, and what caps the discounts."""
    st.subheader(tr("frontier_money"), help=tr("frontier_money_help"))
    pts = decision.frontier_points(combined)
    pts = pts.assign(
        cost_text=[format_value(v, "money", money, money_decimals=0) for v in pts["cost"]],
        net_text=[format_value(v, "money", money, money_decimals=0) for v in pts["net"]],
    )
    fmt = "$,.0f"
    x = alt.X("cost:Q", title=tr("total_cost", unit=money.unit), axis=alt.Axis(format=fmt))
    x = x.scale(zero=False)
    y = alt.Y("net:Q", title=tr("net_value", unit=money.unit), axis=alt.Axis(format=fmt))
    y = y.scale(zero=False)
    data = pts.drop(columns=["names"])
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=90)
        .encode(x=x, y=y, tooltip=["label", "cost_text", "net_text"])
    )
    bars = alt.Chart(data).mark_rule().encode(x="cost:Q", y="net_low:Q", y2="net_high:Q")
    # labels point inwards: left of the points in the right half, so none leaves the plot
    middle = float(data["cost"].min() + data["cost"].max()) / 2
    right = f"datum.cost > {middle!r}" if len(data) > 1 else "false"
    labels = [
        alt.Chart(data)
        .transform_filter(test)
        .mark_text(align=align, dx=dx, dy=-8, limit=300)
        .encode(x="cost:Q", y="net:Q", text="label:N")
        for test, align, dx in ((f"!({right})", "left", 8), (right, "right", -8))
    ]
    show(alt.layer(bars, points, *labels), money)
    lang = st.session_state.get("lang", "en")
    for group in decision.identical_outcomes(pts):
        st.caption(tr("identical", names=", ".join(group)))
    for name in chosen:
        b = decision.binding(combined, name)
        if b.capped_groups:
            groups = ", ".join(i18n.entity_label(g, lang) for g in b.capped_groups)
            share = format_value(b.authority_share, "share", money)
            pct = f"{b.offered_pct:g} %"
            st.caption(tr("authority_binds", name=name, pct=pct, groups=groups, share=share))
        if b.budget_binds:
            used = format_value(b.budget_used, "share", money)
            st.caption(tr("budget_binds", name=name, used=used))


def sweep_controls(scenario: Scenario, reps: int) -> None:
    """Run one discount policy at several percentages as strategies for the frontier."""
    st.session_state.get("lang", "en")
    with st.expander(tr("sweep")):
        st.caption(tr("sweep_help"))
        names = [n for n in DISCOUNTS if ui.discount_pct_param(n) is not None]
        policy = choose(
            st.selectbox, tr("discount_policy"), names, i18n.policy_label, key="sweep_policy"
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


def value_explained() -> None:
    """What net value means, next to the money KPIs (the text lives in the presentation
    layer, one place for every tab)."""
    lang = st.session_state.get("lang", "en")
    with st.expander(tr("value_title")):
        st.markdown(i18n.value_definition(lang))


# ---- best plan (the net-value optimiser) ---------------------------------------------------


def best_plan(scenario: Scenario | None, reps: int) -> dict | None:
    """Search the default plans around the current levers for the highest net value;
    show the ranking, the not-worse set and the fresh-seed check. Returns a run request
    when the reader keeps the chosen plan as a strategy."""
    state = st.session_state
    lang = state.get("lang", "en")
    if scenario is None:
        st.info(tr("not_runnable"))
        return None
    left, mid, right = st.columns(3)
    months = left.number_input(
        tr("plan_months"),
        min_value=1,
        max_value=max(1, scenario.calendar.months),
        value=min(2, scenario.calendar.months),
        step=1,
        key=f"plan_months|{scenario.calendar.months}",  # new bounds when the horizon changes
        help=tr("plan_months_help"),
    )
    n0 = mid.number_input(
        tr("plan_reps"), 2, 20, value=3, step=1, key="plan_reps", help=tr("plan_reps_help")
    )
    holdout = right.number_input(
        tr("plan_holdout"), 2, 20, value=3, step=1, key="plan_holdout", help=tr("plan_holdout_help")
    )
    try:
        n = plan_count(scenario.fingerprint(), scenario, int(months), int(n0), int(holdout))
    except (ScenarioError, ValueError) as exc:
        st.error(f"{tr('plan_failed')} {exc}")
        return None
    st.caption(tr("plan_intro", n=n))
    run_key = f"{scenario.fingerprint()}:{months}:{n0}:{holdout}"
    if state.pop("plan_searching", False):  # the last search never finished
        st.warning(tr("plan_cancelled" if state.pop("plan_cancel", False) else "plan_interrupted"))
    if st.button(tr("plan_run"), key="plan_run", type="primary"):
        # Cancel works as for strategy runs: its click makes Streamlit rerun the page,
        # which stops this script at the next progress update; the runner then cancels
        # the jobs not yet started, and the flag above reports it on the new page.
        state["plan_searching"] = True
        slot = st.empty()
        with slot.container():
            st.button(
                tr("cancel"),
                key="plan_cancel_button",
                on_click=lambda: state.update(plan_cancel=True),
            )
            bar = st.progress(0.0, text=tr("plan_running", what=tr("starting")))

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=tr("plan_running", what=message))

        try:
            found = ui.optimise_plan(scenario, int(months), int(n0), int(holdout), progress)
        except (RuntimeError, ValueError) as exc:
            state.pop("plan_searching", None)
            slot.empty()
            st.error(f"{tr('plan_failed')} {exc}")
            return None
        state.pop("plan_searching", None)
        slot.empty()
        state["netopt"] = {"key": run_key, "result": found, "scenario": scenario}
    kept = state.get("netopt")
    if kept is None:
        return None
    if kept["key"] != run_key:
        st.info(tr("plan_stale"))
    return show_plan(kept["result"], kept["scenario"], reps, lang)


@st.cache_data(max_entries=16, show_spinner=False)
def plan_count(key: str, _scenario: Scenario, months: int, n0: int, holdout: int) -> int:
    """How many plans the search would evaluate, once per scenario (``key``: its
    fingerprint) and settings, not on every rerun of the page."""
    return ui.plan_search(_scenario, months, n0, holdout)[2]


def show_plan(result: Any, scenario: Scenario, reps: int, lang: str) -> dict | None:
    """The optimiser's answer: the choice, the ranking with the not-worse set, the
    fresh-seed check, and the buttons to keep or download the chosen plan."""
    money = MoneyFormat.from_scenario(scenario)
    s = result.summary()
    best = ui.plan_names(result, money, lang)[result.best.name]
    st.markdown(
        tr(
            "plan_chosen",
            name=best,
            net=format_value(s["best_net"], "money", money, money_decimals=0),
            ci=format_interval(s["best_net_low"], s["best_net_high"], "money", money),
            runs=s["search_replications"],
            months=result.scenario.calendar.months,
        )
    )
    if s["holds"]:
        st.success(tr("plan_holds"))
    else:
        st.warning(tr("plan_fails"))
    value_explained()
    st.subheader(tr("ranking"), help=tr("ci_explained"))
    st.caption(tr("plan_not_worse_n", k=len(result.not_worse), n=len(result.candidates)))
    table = ui.plan_ranking_display(result, money, lang)
    st.dataframe(
        table,
        hide_index=True,
        height=35 * (len(table) + 1) + 3,
        column_config={table.columns[1]: st.column_config.TextColumn(width=270)},
    )
    if not s["guarantee"]:
        st.caption(tr("plan_no_guarantee", delta=format_value(s["delta"], "money", money)))
    st.caption(
        tr("plan_method", alpha=f"{s['alpha']:g}", runs=s["runs"], secs=f"{s['elapsed_s']:.0f}")
    )
    st.subheader(tr("plan_check_title"))
    st.dataframe(ui.plan_holdout_display(result, money, lang), hide_index=True)
    plan = ui.chosen_plan(result, scenario)
    left, right = st.columns(2)
    request = None
    if left.button(tr("plan_keep"), key="plan_keep", help=tr("plan_keep_help")):
        request = {
            "name": tr("plan_strategy", name=best),
            "scenario": plan,
            "reps": reps,
        }
    right.download_button(
        tr("plan_download"),
        plan.to_yaml(),
        file_name=f"{plan.name}.yaml",
        mime="application/x-yaml",
        key="plan_download",
    )
    return request


# ---- calibrate ------------------------------------------------------------------------------


def calibrate() -> None:
    """Upload a call log, see the fit, download the fitted scenario and the report."""
    state = st.session_state
    lang = state.get("lang", "en")
    st.caption(tr("cal_intro"))
    mb = ui.MAX_LOG_BYTES // 1024**2
    upload = st.file_uploader(
        tr("cal_upload", mb=mb),
        type=[s.rsplit(".", 1)[-1] for s in ui.LOG_SUFFIXES],
        key="cal_upload",
        max_upload_size=mb,
    )
    if upload is None:
        return
    refused = ui.log_upload_problem(upload.name, upload.size)
    if refused == "too_big":
        size = f"{upload.size / 1024**2:,.1f}"
        st.error(tr("cal_too_big", file=upload.name, size=size, mb=mb))
        return
    if refused == "wrong_type":
        st.error(tr("cal_wrong_type", file=upload.name))
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    kept = state.get("fit")
    if kept is None or kept["digest"] != digest:
        with st.spinner(tr("cal_fitting", file=upload.name)):
            try:
                fit = ui.fit_log_upload(upload.name, data)
            except DataError as exc:
                st.error(tr("cal_bad", reason=exc))
                state.pop("fit", None)
                return
        kept = {"digest": digest, "fit": fit, "yaml": fit.to_yaml()}
        state["fit"] = kept
    show_fit(kept["fit"], kept["yaml"], upload.name, lang)


def day_type_colour() -> alt.Color:
    """Day types in clearly different colours (the theme's default blues blur them)."""
    return alt.Color(
        "type:N",
        title=tr("day_type"),
        scale=alt.Scale(scheme="category10"),
        legend=alt.Legend(orient="bottom"),
    )


def show_fit(fit: Any, yaml_text: str, name: str, lang: str) -> None:
    """The fit summary: counts, arrival profile, talk time with KS, patience, inferred
    staffing and quirks, then the two downloads."""
    calls = fit.log.calls
    answered = int((calls["outcome"] == "answered").sum())
    st.markdown(
        tr(
            "cal_summary",
            calls=f"{len(calls):,}",
            days=calls["day"].nunique(),
            answered=f"{answered:,}",
            abandoned=f"{len(calls) - answered:,}",
            sources=", ".join(fit.sources),
        )
    )
    stem = name.split(".")[0]
    left, right = st.columns(2)
    left.download_button(
        tr("cal_download_yaml"),
        yaml_text,
        file_name=f"{stem}-fitted.yaml",
        mime="application/x-yaml",
        key="cal_yaml",
    )
    right.download_button(
        tr("cal_download_report"),
        lambda: fit_report_html(fit),
        file_name=f"{stem}-fit-report.html",
        mime="text/html",
        key="cal_report",
    )
    a = fit.arrivals
    money = MoneyFormat()
    left, right = st.columns(2)
    with left:
        st.subheader(tr("cal_arrivals"), help=tr("cal_arrivals_help"))
        rates = a.rates.rename(columns={"day_type": "type"})
        x = alt.X("hour:Q", title=tr("hour"), scale=alt.Scale(domain=[0, 24]))
        colour = day_type_colour()
        band = (
            alt.Chart(rates).mark_area(opacity=0.25).encode(x=x, y="lo:Q", y2="hi:Q", color=colour)
        )
        line = (
            alt.Chart(rates)
            .mark_line()
            .encode(x=x, y=alt.Y("rate:Q", title=tr("calls_per_hour")), color=colour)
        )
        show(alt.layer(band, line), money)
        st.caption(
            tr(
                "cal_busyness",
                cv=f"{a.busyness_cv:.2f}",
                lo=f"{a.busyness_lo:.2f}",
                hi=f"{a.busyness_hi:.2f}",
                days=a.n_days_busyness,
            )
        )
    with right:
        st.subheader(tr("cal_staffing"), help=tr("cal_staffing_help"))
        prof = ui.staffing_profile_hours(fit).rename(columns={"day_type": "type"})
        x = alt.X("hour:Q", title=tr("hour"), scale=alt.Scale(domain=[0, 24]))
        colour = day_type_colour()
        band = (
            alt.Chart(prof)
            .mark_area(opacity=0.25, interpolate="step-after")
            .encode(x=x, y="q1:Q", y2="q3:Q", color=colour)
        )
        line = (
            alt.Chart(prof)
            .mark_line(interpolate="step-after")
            .encode(x=x, y=alt.Y("median:Q", title=tr("agents")), color=colour)
        )
        show(alt.layer(band, line), money)
    st.subheader(tr("cal_service"), help=tr("cal_service_help"))
    svc = ui.service_fit_table(fit)
    st.dataframe(
        pd.DataFrame(
            {
                tr("call_type"): svc["call_type"],
                tr("rows"): svc["rows"],
                tr("best_family"): svc["best"],
                tr("ks"): svc["ks"].round(3),
                tr("ks_lognormal"): svc["ks_lognormal"].round(3),
                tr("mean_talk"): [
                    f"{format_value(m, 's', money)} {format_interval(lo, hi, 's', money)}"
                    for m, lo, hi in zip(svc["mean_s"], svc["mean_lo"], svc["mean_hi"], strict=True)
                ],
            }
        ),
        hide_index=True,
    )
    st.subheader(tr("cal_patience"))
    p = fit.patience
    best = p.models.set_index("family").loc[p.best]
    st.markdown(
        tr(
            "cal_patience_text",
            events=f"{p.events:,}",
            n=f"{p.n:,}",
            best=p.best,
            mean=format_value(best["mean"], "s", money),
            lo=format_value(best["mean_lo"], "s", money),
            hi=format_value(best["mean_hi"], "s", money),
        )
    )
    st.subheader(tr("cal_quirks"))
    quirks = fit.log.quirks_table()
    if quirks.empty:
        st.caption(tr("cal_no_quirks"))
    else:
        st.dataframe(
            quirks.rename(
                columns={"quirk": tr("quirk"), "rows": tr("rows"), "handling": tr("handling")}
            ),
            hide_index=True,
        )


# ---- past runs -----------------------------------------------------------------------------


def past_runs() -> None:
    lang = st.session_state.get("lang", "en")
    try:
        store = ui.open_store()
        runs = store.list_runs()
        kpis = store.kpi_means(ui.PAST_RUN_KPIS)
    except STORE_ERRORS as exc:
        st.error(tr("store_broken", reason=exc))
        return
    if runs is None or len(runs) == 0:
        st.info(tr("past_empty"))
        return
    st.dataframe(ui.past_runs_table(runs, lang, kpis), hide_index=True)
    rows = runs.to_dict("records")
    ids = [r["run_id"] for r in rows]
    labels = {r["run_id"]: ui.run_label(r, lang) for r in rows}
    run_id = st.selectbox(tr("past_pick"), ids, format_func=lambda i: labels[i], key="past_pick")
    if st.button(tr("past_open"), key="past_open"):
        try:
            result = store.load(run_id)
        except (*STORE_ERRORS, KeyError) as exc:
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
            scenario.to_yaml,  # written when clicked, not on every rerun
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

TABS = ("dashboard", "compare", "best", "calibrate", "past", "scenario")


def page_tabs() -> Any:
    """The tabs, the chosen one kept in session state: a Run or any widget's rerun
    never sends the reader back to the Dashboard, and a language switch keeps the tab
    (the widget is keyed per language, the choice is kept as a language-free id)."""
    state = st.session_state
    lang = state.get("lang", "en")
    labels = [tr(f"tab_{t}") for t in TABS]
    key = f"tab|{lang}"

    def remember() -> None:
        label = state.get(key)
        if label in labels:
            state["tab"] = TABS[labels.index(label)]

    chosen = state.get("tab", TABS[0])
    default = labels[TABS.index(chosen)] if chosen in TABS else labels[0]
    return st.tabs(labels, key=key, default=default, on_change=remember)


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
    report_interrupted()
    progress_slot = st.empty()
    changes, problems, reps, slots = levers(lever_prefix(source), base)
    scenario = build_scenario(base, changes, problems, slots)
    target = targeting(base, changes, slots)
    state = st.session_state
    state["target_tag"] = None if target is None else target["tag"]
    if "target" in slots and target is None:  # targeting chosen but no score: not runnable
        scenario = None
    request = run_controls(base, scenario, reps, target)
    if request is not None:
        # run first, then draw the page once with the results: a click costs one script
        # run, not the page, the run and the page again (Streamlit keeps the last page on
        # screen meanwhile)
        execute_run(request, progress_slot)

    tabs = page_tabs()
    with tabs[0]:
        dashboard(scenario, reps)
    with tabs[1]:
        compare(scenario, reps)
    with tabs[2]:
        plan = best_plan(scenario, reps)
    with tabs[3]:
        calibrate()
    with tabs[4]:
        past_runs()
    with tabs[5]:
        editor(source, text, scenario)
    if plan is not None:  # the chosen plan kept as a strategy: drawn by a rerun
        execute_run(plan, progress_slot, rerun=True)


if __name__ == "__main__":
    main()
