"""Labels of the app in English and German.

The operation the simulator was first described for works in German, so every label a
manager reads (widgets, KPI names and definitions, table columns, chart titles) exists
in both languages here, one place, and a test checks that no key lacks a translation.
Validation problems are reworded per lever (``lever_problem``) in the reader's language
and the lever's units; the field path is kept as detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sim.experiments.decision import Change, Verdict
from sim.experiments.netopt import AS_GIVEN
from sim.presentation.formatting import (
    MoneyFormat,
    format_diff,
    format_interval,
    format_number,
    format_value,
)
from sim.scenario import Scenario

LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}

STRINGS: dict[str, tuple[str, str]] = {
    # page and tabs
    "title": ("Billing-support simulator", "Simulator Rechnungs-Hotline"),
    "language": ("Language", "Sprache"),
    "tab_dashboard": ("Dashboard", "Übersicht"),
    "tab_compare": ("Compare strategies", "Strategien vergleichen"),
    "tab_past": ("Past runs", "Frühere Läufe"),
    "tab_scenario": ("Scenario file", "Szenario-Datei"),
    # scenario source
    "scenario": ("Scenario", "Szenario"),
    "scenario_file": ("Scenario file", "Szenario-Datei"),
    "upload": ("…or upload a scenario (YAML)", "…oder ein Szenario hochladen (YAML)"),
    "upload_bad": (
        "This upload cannot be used, showing {file} instead:",
        "Diese Datei ist nicht verwendbar, stattdessen wird {file} gezeigt:",
    ),
    "file_bad": ("This scenario cannot be used:", "Dieses Szenario ist nicht verwendbar:"),
    "no_files": (
        "No scenario files (*.yaml) in {path}",
        "Keine Szenario-Dateien (*.yaml) in {path}",
    ),
    "edited_note": (
        "Edited in the app (not saved to the file).",
        "In der App geändert (nicht in der Datei gespeichert).",
    ),
    "editor": ("Scenario as YAML", "Szenario als YAML"),
    "editor_help": (
        "Edit and press Apply; the levers then start from the edited scenario.",
        "Bearbeiten und Übernehmen drücken; die Regler gehen dann vom geänderten Szenario aus.",
    ),
    "apply": ("Apply", "Übernehmen"),
    "reset": ("Back to the original", "Zurück zum Original"),
    "edit_bad": ("The edit was not applied:", "Die Änderung wurde nicht übernommen:"),
    "download": (
        "Download scenario with the levers applied",
        "Szenario mit Reglerstand herunterladen",
    ),
    "download_base": ("Download the edited scenario", "Geändertes Szenario herunterladen"),
    "download_file": ("Download the scenario file", "Szenario-Datei herunterladen"),
    # lever groups
    "staffing": ("Staffing", "Personal"),
    "staffing_mode": ("How agents are planned", "Personalplanung"),
    "mode_fixed": ("Fixed shifts (set below)", "Feste Schichten (unten)"),
    "mode_erlang_c": ("Automatic: Erlang C", "Automatisch: Erlang C"),
    "mode_erlang_a": ("Automatic: Erlang A", "Automatisch: Erlang A"),
    "mode_sqrt": ("Automatic: square-root rule", "Automatisch: Wurzelregel"),
    "sl_target": ("Service-level target (%)", "Servicelevel-Ziel (%)"),
    "sl_threshold": ("…answered within (s)", "…angenommen innerhalb (s)"),
    "beta": ("Safety factor β", "Sicherheitsfaktor β"),
    "beta_help": (
        "Agents = load + β·√load per interval; 0.5-1 balances cost and quality.",
        "Agenten = Last + β·√Last je Intervall; 0,5-1 wägt Kosten und Qualität ab.",
    ),
    "agents": ("Agents", "Agenten"),
    "agents_all_hours": ("Agents (all open hours)", "Agenten (alle Öffnungszeiten)"),
    "discounts": ("Discounts", "Rabatte"),
    "discount_policy": ("Discount policy", "Rabattregel"),
    "discount_policy_help": (
        "Offered to answered callers; each group's authority and the monthly budget "
        "still cap what is granted.",
        "Wird angenommenen Anrufern angeboten; Befugnis der Gruppe und Monatsbudget "
        "begrenzen, was gewährt wird.",
    ),
    "discount_pct": ("Discount % ({param})", "Rabatt % ({param})"),
    "budget": (
        "Monthly discount budget (empty: no cap)",
        "Rabattbudget pro Monat (leer: ohne Grenze)",
    ),
    "authority": ("Authority of {group} (%)", "Befugnis {group} (%)"),
    "targeting": ("Whom to offer", "Wem anbieten"),
    "targeting_help": (
        "A discount rule, or offer to the callers most at risk (score from observable "
        "history) or most likely to respond (uplift from a randomised pilot).",
        "Eine Rabattregel, oder Angebot an die Anrufer mit höchstem Risiko (Score aus der "
        "sichtbaren Historie) bzw. mit der stärksten Wirkung (Uplift aus einem Zufallspiloten).",
    ),
    "target_rule": ("As the rule picks", "Wie die Regel wählt"),
    "target_risk": ("Most at risk (history)", "Höchstes Risiko (Historie)"),
    "target_uplift": ("Most responsive (pilot)", "Stärkste Wirkung (Pilot)"),
    "target_share": ("Share of callers offered (%)", "Anteil der Anrufer mit Angebot (%)"),
    "target_pct": ("Discount offered (%)", "Angebotener Rabatt (%)"),
    "target_fitting": (
        "Fitting the score on a simulated history…",
        "Score wird auf simulierter Historie geschätzt …",
    ),
    "target_auc": (
        "Churn score AUC on held-out months {held}: **{auc}** (fitting months: {train}; "
        "the true hazard would reach {oracle}).",
        "AUC des Abwanderungsscores in zurückgehaltenen Monaten {held}: **{auc}** "
        "(Schätzmonate: {train}; das wahre Risiko erreichte {oracle}).",
    ),
    "target_uplift_note": (
        "Uplift fitted on a pilot of {n} accounts, half offered {pct} %, half held out.",
        "Wirkung geschätzt aus einem Piloten mit {n} Konten: die Hälfte mit {pct} % "
        "Angebot, die Hälfte ohne.",
    ),
    "target_no_oracle": (
        "The score sees only what the account screen shows (segment, bills, calls, "
        "waits); the model's true churn hazard is never used, only shown as a yardstick.",
        "Der Score sieht nur, was die Kundenmaske zeigt (Segment, Rechnungen, Anrufe, "
        "Wartezeiten); das wahre Abwanderungsrisiko des Modells wird nie verwendet, nur "
        "zum Vergleich gezeigt.",
    ),
    "target_failed": ("The score could not be fitted:", "Der Score ließ sich nicht schätzen:"),
    "target_name_risk": (
        "{pct} % to the {share} % most at risk",
        "{pct} % an die {share} % mit höchstem Risiko",
    ),
    "target_name_uplift": (
        "{pct} % to the {share} % most responsive",
        "{pct} % an die {share} % mit größter Wirkung",
    ),
    "plan_as_given": ("as set", "wie eingestellt"),
    "plan_staffing_as_given": ("staffing as set", "Personal wie eingestellt"),
    "plan_staffing": ("staffing", "Personal"),
    "plan_discount_as_given": ("discounts as set", "Rabatte wie eingestellt"),
    "plan_authority": ("authority {pct}", "Befugnis {pct}"),
    "plan_budget": ("budget {amount}", "Budget {amount}"),
    "plan_no_budget": ("no budget cap", "ohne Budgetgrenze"),
    "plan_cancelled": ("The plan search was cancelled.", "Die Plansuche wurde abgebrochen."),
    "plan_interrupted": (
        "The plan search was interrupted by a change; press the button to search again.",
        "Die Plansuche wurde durch eine Änderung unterbrochen; zum erneuten Suchen den "
        "Knopf drücken.",
    ),
    "policy_none": ("No discounts", "Keine Rabatte"),
    "policy_flat": ("Flat", "Pauschal"),
    "policy_tenure_based": ("By tenure", "Nach Kundentreue"),
    "policy_value_based": ("High-value accounts", "Wertvolle Kunden"),
    "policy_churn_risk_targeted": ("Churn risk", "Nach Abwanderungsrisiko"),
    "policy_error_credit": ("Goodwill on billing errors", "Kulanz bei Rechnungsfehlern"),
    "billing": ("Billing", "Abrechnung"),
    "error_rate": ("Bills with an error (%)", "Fehlerhafte Rechnungen (%)"),
    "incident": ("Billing incident", "Abrechnungsstörung"),
    "incident_rate": ("Error rate during the incident (%)", "Fehlerquote während der Störung (%)"),
    "incident_from": ("From", "Von"),
    "incident_to": ("To", "Bis"),
    "incident_cycles": ("Affected bill cycles (day of month)", "Betroffene Rechnungsläufe (Tag)"),
    "customers": ("Customers", "Kunden"),
    "accounts": ("Accounts", "Kundenkonten"),
    "acquisition": ("New accounts per month", "Neukunden pro Monat"),
    "segment_share": ("Share {segment} (%)", "Anteil {segment} (%)"),
    "horizon": ("Horizon and runs", "Zeitraum und Läufe"),
    "months": ("Months", "Monate"),
    "replications": ("Replications", "Wiederholungen"),
    "decimal_point": (
        "Number fields take a decimal point (2.5); results are written in the "
        "scenario's number format.",
        "Zahlenfelder erwarten einen Dezimalpunkt (2.5 statt 2,5; Streamlit kennt kein "
        "Dezimalkomma). Ergebnisse stehen im deutschen Zahlenformat.",
    ),
    "replications_help": (
        "More replications give narrower confidence intervals and take longer.",
        "Mehr Wiederholungen ergeben engere Konfidenzintervalle und dauern länger.",
    ),
    "seed": ("Seed", "Startwert (Seed)"),
    "strategy_name": ("Keep as strategy", "Als Strategie speichern"),
    "strategy_placeholder": ("e.g. more agents", "z. B. mehr Personal"),
    "strategy_default": ("Strategy {n}", "Strategie {n}"),
    "run": ("Run", "Starten"),
    "not_runnable": (
        "These settings cannot be simulated:",
        "Diese Einstellungen sind nicht simulierbar:",
    ),
    "run_failed": ("The run failed:", "Der Lauf ist fehlgeschlagen:"),
    "starting": ("Starting the simulation", "Simulation startet"),
    # dashboard
    "press_run": (
        "Set the levers in the sidebar and press **Run**.",
        "Regler in der Seitenleiste einstellen und **Starten** drücken.",
    ),
    "stale": (
        "The levers changed since this run; press **Run** to simulate them. Shown: the last run.",
        "Die Regler wurden seit diesem Lauf geändert; **Starten** simuliert sie. "
        "Gezeigt: der letzte Lauf.",
    ),
    "show_strategy": ("Strategy shown", "Gezeigte Strategie"),
    "run_caption": (
        "Scenario **{name}** · fingerprint `{fp}` · seed {seed} · {accounts} accounts · "
        "{months} months from {start} · {reps} replication(s)",
        "Szenario **{name}** · Fingerabdruck `{fp}` · Seed {seed} · {accounts} Konten · "
        "{months} Monate ab {start} · {reps} Wiederholung(en)",
    ),
    "ci": ("95 % CI {ci}", "95-%-KI {ci}"),
    "ci_one_rep": (
        "Confidence intervals need at least 2 replications.",
        "Konfidenzintervalle brauchen mindestens 2 Wiederholungen.",
    ),
    "save_run": ("Save to past runs", "Unter frühere Läufe speichern"),
    "saved": ("Saved as run {run_id}.", "Gespeichert als Lauf {run_id}."),
    "heatmap": ("By weekday and hour", "Nach Wochentag und Stunde"),
    "heat_measure": ("Measure", "Kennzahl"),
    "waits": ("Wait distribution", "Verteilung der Wartezeit"),
    "wait_quantiles": (
        "Answered calls: half waited at most {q50}, 90 % at most {q90}.",
        "Angenommene Anrufe: die Hälfte wartete höchstens {q50}, 90 % höchstens {q90}.",
    ),
    "abandonment": ("Abandonment by hour of day", "Abbruchquote nach Tageszeit"),
    "staffing_week": (
        "Queue and agents on duty versus needed",
        "Warteschlange und Agenten im Dienst gegenüber Bedarf",
    ),
    "staffing_week_help": (
        "The busiest week (or daily means over the whole horizon), averaged over the "
        "replications; needed = Erlang C for the service-level target at the offered "
        "load.",
        "Die stärkste Woche (oder Tagesmittel über den ganzen Zeitraum), gemittelt über "
        "die Wiederholungen; benötigt = Erlang C für das Servicelevel-Ziel bei der "
        "angebotenen Last.",
    ),
    "whole_horizon": ("Whole horizon (daily means)", "Ganzer Zeitraum (Tagesmittel)"),
    "retention_chart": (
        "Active accounts and churn by month",
        "Aktive Konten und Kündigungen je Monat",
    ),
    "waterfall": ("From billed to net", "Von der Rechnungssumme zum Ergebnis"),
    "by_month": ("By month", "Nach Monat"),
    "not_kept": (
        "This run did not keep its {table} table.",
        "Dieser Lauf hat seine Tabelle {table} nicht behalten.",
    ),
    "no_calls": (
        "No answered or abandoned calls.",
        "Keine angenommenen oder abgebrochenen Anrufe.",
    ),
    "money_in": (
        "Money in {unit}; means over replications.",
        "Beträge in {unit}; Mittel über Wiederholungen.",
    ),
    # compare
    "compare_none": (
        "Run at least two strategies (the name field above Run keeps each), or open past "
        "runs, to compare them here.",
        "Mindestens zwei Strategien laufen lassen (das Namensfeld über Starten behält jede) "
        "oder frühere Läufe öffnen, um sie hier zu vergleichen.",
    ),
    "compare_pick": ("Strategies", "Strategien"),
    "compare_base": ("Baseline", "Referenz"),
    "compare_seeds": (
        "These strategies use different seeds, so the differences are not paired and "
        "their intervals are not meaningful.",
        "Diese Strategien nutzen verschiedene Seeds; die Differenzen sind nicht gepaart "
        "und ihre Intervalle nicht aussagekräftig.",
    ),
    "compare_table": (
        "Mean [95 % CI]; differences paired by replication (common random numbers).",
        "Mittel [95-%-KI]; Differenzen gepaart je Wiederholung (gemeinsame Zufallszahlen).",
    ),
    "kpi": ("KPI", "Kennzahl"),
    "diff_vs": ("Δ vs {name}", "Δ zu {name}"),
    "overlay_active": ("Active accounts by month", "Aktive Konten je Monat"),
    "overlay_sl": ("Service level by hour of day", "Servicelevel nach Tageszeit"),
    "overlay_waits": ("Answered within x seconds", "Angenommen innerhalb x Sekunden"),
    "frontier": ("Discount frontier", "Rabatt-Grenzkurve"),
    "frontier_help": (
        "Accounts kept (fewer churned than the baseline) against the extra discount "
        "cost; bars are 95 % intervals.",
        "Gehaltene Konten (weniger Kündigungen als die Referenz) gegen die zusätzlichen "
        "Rabattkosten; Balken sind 95-%-Intervalle.",
    ),
    "sweep": (
        "Sweep a discount policy for the frontier",
        "Rabattregel für die Grenzkurve variieren",
    ),
    "sweep_help": (
        "Runs the levers as set, with this policy at each percentage (and the "
        "replications chosen); each point is kept as a strategy. Pick a strategy without "
        "discounts as the baseline to read the frontier.",
        "Rechnet den aktuellen Reglerstand mit dieser Regel bei jedem Prozentsatz (und den "
        "gewählten Wiederholungen); jeder Punkt wird als Strategie behalten. Eine Strategie "
        "ohne Rabatte als Referenz wählen, um die Grenzkurve zu lesen.",
    ),
    "sweep_pcts": ("Percentages", "Prozentsätze"),
    "sweep_run": ("Run the sweep", "Variation starten"),
    "sweep_bad": (
        "Percentages must be numbers like 0, 5, 10.",
        "Prozentsätze als Zahlen wie 0, 5, 10 angeben.",
    ),
    "forget": ("Forget all strategies", "Alle Strategien verwerfen"),
    # past runs
    "past_none": (
        "No results store in this version.",
        "In dieser Version gibt es keinen Ergebnisspeicher.",
    ),
    "past_empty": ("No runs saved yet.", "Noch keine Läufe gespeichert."),
    "past_pick": ("Run", "Lauf"),
    "col_created": ("created", "angelegt"),
    "col_status": ("status", "Status"),
    "past_open": ("Open (no re-run)", "Öffnen (ohne neu zu rechnen)"),
    "past_opened": ("Opened {name} as strategy.", "{name} als Strategie geöffnet."),
    "past_bad": ("This run cannot be opened:", "Dieser Lauf kann nicht geöffnet werden:"),
    # axes, chart labels
    "col_month": ("Month", "Monat"),
    "hour": ("hour of day", "Stunde"),
    "weekday": ("weekday", "Wochentag"),
    "wait_s": ("wait (s)", "Wartezeit (s)"),
    "calls_per_run": ("calls per replication", "Anrufe je Wiederholung"),
    "outcome": ("outcome", "Ergebnis"),
    "answered": ("answered", "angenommen"),
    "abandoned": ("abandoned", "abgebrochen"),
    "agents_on_duty": ("agents on duty", "Agenten im Dienst"),
    "agents_needed": ("agents needed", "Agenten benötigt"),
    "mean_queue": ("mean queue", "mittlere Warteschlange"),
    "amount": ("amount ({unit})", "Betrag ({unit})"),
    "step": ("step", "Schritt"),
    "strategy": ("strategy", "Strategie"),
    "value": ("value", "Wert"),
    "share": ("share", "Anteil"),
    "kept": ("accounts kept", "gehaltene Konten"),
    "extra_discount": ("extra discount cost ({unit})", "zusätzliche Rabattkosten ({unit})"),
    "week_time": ("weekday and time", "Wochentag und Uhrzeit"),
    "wd_0": ("Mon", "Mo"),
    "wd_1": ("Tue", "Di"),
    "wd_2": ("Wed", "Mi"),
    "wd_3": ("Thu", "Do"),
    "wd_4": ("Fri", "Fr"),
    "wd_5": ("Sat", "Sa"),
    "wd_6": ("Sun", "So"),
    # waterfall steps and monthly columns
    "billed": ("Billed", "Abgerechnet"),
    "error_credits": ("Error refunds", "Fehlergutschriften"),
    "telephony_cost": ("Telephony", "Telefonie"),
    "net_step": ("Net result", "Ergebnis"),
    "calls_abandoned": ("Calls abandoned", "Abgebrochene Anrufe"),
    "acquired": ("New accounts", "Neukunden"),
    "churn_rate": ("Churn rate", "Kündigungsquote"),
    "active_end": ("Active at month end", "Aktiv am Monatsende"),
    # decision cockpit
    "ranking": ("Ranking by net value", "Rangfolge nach Ergebnis"),
    "rank": ("rank", "Rang"),
    "net_ci": ("net value [95 % CI]", "Ergebnis [95-%-KI]"),
    "diff_ref": ("Δ vs {name} [95 % CI]", "Δ zu {name} [95-%-KI]"),
    "verdict": ("Verdict", "Fazit"),
    "ci_explained": (
        "95 % CI: the range that holds the true mean with 95 % confidence, from the "
        "spread over replications (Student t). A difference is marked ★ when its paired "
        "interval excludes zero.",
        "95-%-KI: der Bereich, der den wahren Mittelwert mit 95 % Sicherheit enthält, aus "
        "der Streuung über die Wiederholungen (Student-t). Eine Differenz ist mit ★ "
        "markiert, wenn ihr gepaartes Intervall die Null ausschließt.",
    ),
    "multiple_caveat": (
        "Each ★ is one test at the 5 % level: with many KPIs and strategies, about one "
        "in twenty marks can appear by chance. Green: better, red: worse than the "
        "baseline.",
        "Jeder ★ ist ein Test zum 5-%-Niveau: bei vielen Kennzahlen und Strategien kann "
        "etwa jede zwanzigste Markierung zufällig sein. Grün: besser, Rot: schlechter "
        "als die Referenz.",
    ),
    "verdict_beats": (
        "**{best}** beats **{other}** on net value by {diff} {ci}",
        "**{best}** schlägt **{other}** beim Ergebnis um {diff} {ci}",
    ),
    "verdict_tie": (
        "**{best}** has the highest net value, {diff} {ci} above **{other}**, but the "
        "difference is not significant",
        "**{best}** hat das höchste Ergebnis, {diff} {ci} über **{other}**, aber der "
        "Unterschied ist nicht signifikant",
    ),
    "verdict_costs": (
        "; it costs {agents} {more_less} in agents and {discounts} {disc_more_less} in "
        "discounts, and keeps {kept} {kept_word} accounts",
        "; es kostet {agents} {more_less} an Personal und {discounts} {disc_more_less} an "
        "Rabatten und hält {kept} {kept_word} Konten",
    ),
    "more": ("more", "mehr"),
    "less": ("less", "weniger"),
    "fewer": ("fewer", "weniger"),
    "verdict_sl_sig": (
        "; the difference in service level ({sl}) is significant.",
        "; der Unterschied im Servicelevel ({sl}) ist signifikant.",
    ),
    "verdict_sl_not": (
        "; the difference in service level ({sl}) is not significant.",
        "; der Unterschied im Servicelevel ({sl}) ist nicht signifikant.",
    ),
    "verdict_one_rep": (
        " (One replication: no intervals, so no difference can be called significant.)",
        " (Eine Wiederholung: keine Intervalle, daher ist kein Unterschied signifikant.)",
    ),
    "frontier_money": ("Net value against total cost", "Ergebnis gegen Gesamtkosten"),
    "frontier_money_help": (
        "Total cost = agents + discounts (deducted and still owed). Up and to the left "
        "is better. Bars: 95 % CI of the net value. Strategies with identical results "
        "share one point.",
        "Gesamtkosten = Personal + Rabatte (abgezogen und noch zugesagt). Oben links ist "
        "besser. Balken: 95-%-KI des Ergebnisses. Strategien mit gleichem Ergebnis "
        "teilen einen Punkt.",
    ),
    "total_cost": (
        "total cost: agents + discounts ({unit})",
        "Gesamtkosten: Personal + Rabatte ({unit})",
    ),
    "net_value": ("net value ({unit})", "Ergebnis ({unit})"),
    "identical": ("{names} give identical results.", "{names} ergeben identische Ergebnisse."),
    "authority_binds": (
        "**{name}**: offers of {pct} are capped by the authority of {groups} "
        "({share} of the groups).",
        "**{name}**: Angebote von {pct} werden durch die Befugnis von {groups} begrenzt "
        "({share} der Gruppen).",
    ),
    "budget_binds": (
        "**{name}**: the monthly budget binds ({used} of it committed); later offers in a "
        "month are refused.",
        "**{name}**: das Monatsbudget greift ({used} davon gebunden); spätere Angebote im "
        "Monat werden abgelehnt.",
    ),
    "name_taken": (
        "A strategy named **{name}** exists. Replace it?",
        "Eine Strategie **{name}** gibt es schon. Ersetzen?",
    ),
    "replace": ("Replace", "Ersetzen"),
    "keep_both": ("Keep both", "Beide behalten"),
    "name_today": ("Today", "Heute"),
    "cancel": ("Cancel the run", "Lauf abbrechen"),
    "stopped": (
        "Stopped: **{name}** was not finished; nothing was kept from it.",
        "Abgebrochen: **{name}** wurde nicht beendet; davon wurde nichts behalten.",
    ),
    "interrupted": (
        "The run of **{name}** was interrupted by a change to the page. Run it again?",
        "Der Lauf **{name}** wurde durch eine Änderung unterbrochen. Erneut starten?",
    ),
    "run_again": ("Run it again", "Erneut starten"),
    "running": ("Running **{name}**: {what}", "Läuft: **{name}**: {what}"),
    "forget_confirm": (
        "Forget all {n} strategies? This cannot be undone.",
        "Alle {n} Strategien verwerfen? Das lässt sich nicht rückgängig machen.",
    ),
    "forget_yes": ("Yes, forget them", "Ja, verwerfen"),
    "forget_no": ("No, keep them", "Nein, behalten"),
    "upload_limit": (
        "…or upload a scenario (YAML, at most {kb} kB)",
        "…oder ein Szenario hochladen (YAML, höchstens {kb} kB)",
    ),
    "upload_too_big": (
        "{file} is {size} kB; scenario files may be at most {kb} kB.",
        "{file} hat {size} kB; Szenario-Dateien dürfen höchstens {kb} kB haben.",
    ),
    "upload_not_yaml": (
        "{file} is not a YAML file (.yaml or .yml expected).",
        "{file} ist keine YAML-Datei (.yaml oder .yml erwartet).",
    ),
    # tabs added for the decision cockpit
    "tab_best": ("Best plan", "Bester Plan"),
    "tab_calibrate": ("Calibrate", "Kalibrieren"),
    "yes": ("yes", "ja"),
    "no": ("no", "nein"),
    # the value definition, next to every money KPI (one place: value_definition())
    "value_title": ("What is the net value?", "Was ist das Ergebnis?"),
    "value_definition": (
        "**Net value = margin − agent cost − telephony cost + change in the value of the "
        "base.** Margin is revenue (billed − discounts − refunded errors) minus the cost "
        "of service. The value of the base is the retention-adjusted customer value "
        "(CLV) of the accounts: at the end of the horizon for those still active, minus "
        "at the start (plus each new account when it joins). So an account lost, or a "
        "discount still owed after the horizon, counts now, and a plan that buys service "
        "today at the price of customers tomorrow does not look better than it is.",
        "**Ergebnis = Marge − Personalkosten − Telefoniekosten + Wertänderung des "
        "Kundenstamms.** Die Marge ist der Umsatz (abgerechnet − Rabatte − erstattete "
        "Fehler) abzüglich der Leistungskosten. Der Wert des Kundenstamms ist der um die "
        "Kundenbindung bereinigte Kundenwert (CLV) der Konten: am Ende des Zeitraums für "
        "die noch aktiven, abzüglich des Werts am Anfang (plus jedes neuen Kontos beim "
        "Zugang). Ein verlorenes Konto oder ein nach dem Zeitraum noch zugesagter Rabatt "
        "zählt also schon jetzt, und ein Plan, der heute Service auf Kosten künftiger "
        "Kunden kauft, sieht nicht besser aus, als er ist.",
    ),
    # best plan (the net-value optimiser)
    "plan_intro": (
        "Tries {n} plans around the current levers (staffing as set, ×0.85, ×1.15 and "
        "Erlang A at the target; discounts as set and two alternatives) on a short "
        "horizon, with the same customers in every plan, and keeps the one with the "
        "highest net value.",
        "Prüft {n} Pläne rund um den aktuellen Reglerstand (Personal wie eingestellt, "
        "×0,85, ×1,15 und Erlang A zum Ziel; Rabatte wie eingestellt und zwei "
        "Alternativen) auf einem kurzen Zeitraum, mit denselben Kunden in jedem Plan, und "
        "wählt den mit dem höchsten Ergebnis.",
    ),
    "plan_months": ("Months to simulate", "Zu simulierende Monate"),
    "plan_months_help": (
        "A short horizon keeps the search quick; the chosen plan is then run on the "
        "scenario's own horizon when you keep it.",
        "Ein kurzer Zeitraum hält die Suche schnell; der gewählte Plan läuft beim "
        "Übernehmen auf dem eigenen Zeitraum des Szenarios.",
    ),
    "plan_reps": ("Replications per plan (first stage)", "Wiederholungen je Plan (erste Stufe)"),
    "plan_reps_help": (
        "Every plan runs this often; plans that are not clearly worse run more (up to 4×).",
        "Jeder Plan läuft so oft; Pläne, die nicht klar schlechter sind, laufen öfter (bis 4×).",
    ),
    "plan_holdout": ("Fresh-seed check runs", "Läufe der Prüfung mit neuen Zufallszahlen"),
    "plan_holdout_help": (
        "The best, the runner-up and the plan as set run again on seeds the search never "
        "used, to see whether the choice holds.",
        "Der beste Plan, der zweitbeste und der eingestellte laufen erneut mit "
        "Zufallszahlen, die die Suche nie benutzt hat, um zu sehen, ob die Wahl hält.",
    ),
    "plan_run": ("Find the best plan", "Besten Plan suchen"),
    "plan_running": ("Best plan: {what}", "Bester Plan: {what}"),
    "plan_failed": ("The search stopped:", "Die Suche brach ab:"),
    "plan_stale": (
        "This result is for other levers or settings; press the button to search again.",
        "Dieses Ergebnis gehört zu anderen Reglern oder Einstellungen; zum erneuten Suchen "
        "den Knopf drücken.",
    ),
    "plan_chosen": (
        "**Best plan: {name}** — net value {net} {ci} over {runs} runs of {months} month(s).",
        "**Bester Plan: {name}** — Ergebnis {net} {ci} aus {runs} Läufen über {months} Monat(e).",
    ),
    "plan_not_worse_n": (
        "{k} of {n} plans are not significantly worse than the best (marked ≈): among "
        "them the data cannot tell which is best.",
        "{k} von {n} Plänen sind nicht signifikant schlechter als der beste (mit ≈ "
        "markiert): zwischen ihnen können die Daten nicht entscheiden.",
    ),
    "plan_holds": (
        "On fresh seeds the choice **holds**.",
        "Mit neuen Zufallszahlen **hält** die Wahl.",
    ),
    "plan_fails": (
        "On fresh seeds the choice **does not hold**: treat it as a tie, or search with "
        "more replications.",
        "Mit neuen Zufallszahlen **hält** die Wahl **nicht**: als Gleichstand behandeln "
        "oder mit mehr Wiederholungen suchen.",
    ),
    "plan_no_guarantee": (
        "The runs were capped before the plans could be told apart to within {delta}; "
        "the ranking among the ≈ plans is not settled.",
        "Die Läufe wurden begrenzt, bevor sich die Pläne auf {delta} genau unterscheiden "
        "ließen; die Rangfolge unter den ≈-Plänen ist offen.",
    ),
    "plan_method": (
        "Screening with paired differences, more runs for the survivors, multiple "
        "comparisons with the best (joint error rate {alpha}); {runs} runs in {secs} s.",
        "Vorauswahl mit gepaarten Differenzen, mehr Läufe für die verbliebenen Pläne, "
        "Vergleiche mit dem Besten (gemeinsame Fehlerrate {alpha}); {runs} Läufe in "
        "{secs} s.",
    ),
    "plan": ("plan", "Plan"),
    "plan_verdict": ("against the best", "gegen den besten"),
    "plan_best": ("★ best", "★ bester"),
    "plan_not_worse": ("≈ not significantly worse", "≈ nicht signifikant schlechter"),
    "plan_worse": ("worse", "schlechter"),
    "plan_diff_best": ("Δ vs best [95 % CI]", "Δ zum besten [95-%-KI]"),
    "plan_runs": ("runs", "Läufe"),
    "plan_check_title": (
        "Does the choice hold on fresh seeds?",
        "Hält die Wahl mit neuen Zufallszahlen?",
    ),
    "plan_check": ("comparison", "Vergleich"),
    "plan_check_best": ("best vs as set", "bester gegen eingestellt"),
    "plan_check_runner_up": ("runner-up vs best", "zweitbester gegen besten"),
    "plan_search": ("in the search [95 % CI]", "in der Suche [95-%-KI]"),
    "plan_fresh": ("on fresh seeds [95 % CI]", "mit neuen Zufallszahlen [95-%-KI]"),
    "plan_holds_col": ("holds", "hält"),
    "plan_pair": ("plans compared", "verglichene Pläne"),
    "plan_keep": ("Keep as strategy (for Compare)", "Als Strategie übernehmen (für Vergleich)"),
    "plan_keep_help": (
        "Runs the chosen plan on the scenario's own horizon with the replications set in "
        "the sidebar, so Compare shows it next to your other strategies.",
        "Rechnet den gewählten Plan auf dem eigenen Zeitraum des Szenarios mit den "
        "Wiederholungen aus der Seitenleiste, damit der Vergleich ihn neben Ihren anderen "
        "Strategien zeigt.",
    ),
    "plan_strategy": ("Best plan: {name}", "Bester Plan: {name}"),
    "plan_download": ("Download the plan (YAML)", "Plan herunterladen (YAML)"),
    # calibrate
    "cal_intro": (
        "Upload a call log to fit arrivals, talk times, patience and staffing, and get a "
        "scenario that reproduces it.",
        "Ein Anrufprotokoll hochladen, um Anrufaufkommen, Gesprächsdauern, Geduld und "
        "Besetzung anzupassen und ein Szenario zu erhalten, das es nachbildet.",
    ),
    "cal_upload": (
        "Call log: CSV or Parquet (columns arrival, end, outcome, …) or Anonymous Bank "
        "monthly file (.txt, .txt.gz), at most {mb} MB",
        "Anrufprotokoll: CSV oder Parquet (Spalten arrival, end, outcome, …) oder "
        "Monatsdatei der Anonymous Bank (.txt, .txt.gz), höchstens {mb} MB",
    ),
    "cal_too_big": (
        "{file} is {size} MB; call logs may be at most {mb} MB.",
        "{file} hat {size} MB; Anrufprotokolle dürfen höchstens {mb} MB haben.",
    ),
    "cal_wrong_type": (
        "{file} is not a call log (.csv, .parquet, .txt or .txt.gz expected).",
        "{file} ist kein Anrufprotokoll (.csv, .parquet, .txt oder .txt.gz erwartet).",
    ),
    "cal_bad": (
        "This log cannot be used: {reason}",
        "Dieses Protokoll ist nicht verwendbar: {reason}",
    ),
    "cal_fitting": ("Fitting {file}…", "{file} wird angepasst…"),
    "cal_summary": (
        "{calls} calls on {days} days ({answered} answered, {abandoned} abandoned) from {sources}.",
        "{calls} Anrufe an {days} Tagen ({answered} angenommen, {abandoned} abgebrochen) "
        "aus {sources}.",
    ),
    "cal_arrivals": ("Arrival profile", "Anrufaufkommen"),
    "cal_arrivals_help": (
        "Mean calls per hour by day type; the band is the 95 % CI over the days seen.",
        "Mittlere Anrufe je Stunde nach Tagestyp; das Band ist das 95-%-KI über die "
        "beobachteten Tage.",
    ),
    "cal_busyness": (
        "Day-to-day busyness (CV) {cv} [95 % CI {lo} – {hi}] over {days} days.",
        "Schwankung von Tag zu Tag (VK) {cv} [95-%-KI {lo} – {hi}] über {days} Tage.",
    ),
    "calls_per_hour": ("calls per hour", "Anrufe je Stunde"),
    "day_type": ("day type", "Tagestyp"),
    "cal_service": ("Talk time", "Gesprächsdauer"),
    "cal_service_help": (
        "Per call type: the family that fits best and its Kolmogorov-Smirnov distance "
        "(0 = perfect; below about 0.05 is a close fit), and the mean talk time with its "
        "95 % CI.",
        "Je Anruftyp: die am besten passende Verteilung und ihr Kolmogorov-Smirnov-"
        "Abstand (0 = perfekt; unter etwa 0,05 passt sie gut) sowie die mittlere "
        "Gesprächsdauer mit 95-%-KI.",
    ),
    "call_type": ("call type", "Anruftyp"),
    "rows": ("calls", "Anrufe"),
    "best_family": ("best family", "beste Verteilung"),
    "ks": ("KS distance", "KS-Abstand"),
    "ks_lognormal": ("KS lognormal", "KS Lognormal"),
    "mean_talk": ("mean talk [95 % CI]", "mittlere Dauer [95-%-KI]"),
    "cal_patience": ("Patience", "Geduld"),
    "cal_patience_text": (
        "{events} of {n} queued callers hung up. Best model: **{best}**, mean patience "
        "{mean} [95 % CI {lo} – {hi}].",
        "{events} von {n} wartenden Anrufern legten auf. Bestes Modell: **{best}**, "
        "mittlere Geduld {mean} [95-%-KI {lo} – {hi}].",
    ),
    "cal_staffing": ("Inferred staffing", "Ermittelte Besetzung"),
    "cal_staffing_help": (
        "Agents on duty, counted as distinct agents serving in each half hour: median "
        "over the days, band from the lower to the upper quartile.",
        "Diensthabende Agenten, gezählt als verschiedene Agenten mit Gesprächen je halbe "
        "Stunde: Median über die Tage, Band vom unteren zum oberen Quartil.",
    ),
    "cal_quirks": ("Quirks in the data", "Besonderheiten der Daten"),
    "cal_no_quirks": ("No quirks found.", "Keine Besonderheiten gefunden."),
    "quirk": ("quirk", "Besonderheit"),
    "handling": ("what was done", "Behandlung"),
    "cal_download_yaml": (
        "Download the fitted scenario (YAML)",
        "Angepasstes Szenario herunterladen (YAML)",
    ),
    "cal_download_report": (
        "Download the fit report (HTML)",
        "Anpassungsbericht herunterladen (HTML)",
    ),
    "store_broken": (
        "The results store cannot be used, so past runs are unavailable: {reason}",
        "Der Ergebnisspeicher ist nicht nutzbar, frühere Läufe fehlen daher: {reason}",
    ),
    "no_cap": ("No cap", "Ohne Grenze"),
    "budget_value": ("Monthly discount budget", "Rabattbudget pro Monat"),
    "sqrt_target_note": (
        "The square-root rule staffs by β, not by the target; the target above is what "
        "the service level is measured against.",
        "Die Wurzelregel plant nach β, nicht nach dem Ziel; das Ziel oben ist der "
        "Maßstab, an dem der Servicelevel gemessen wird.",
    ),
    "discount_pct_of": ("Discount (%)", "Rabatt (%)"),
    "agents_shift": ("Agents {shift}", "Agenten {shift}"),
    "rule_max": ("at most {limit} (you entered {got})", "höchstens {limit} (eingegeben: {got})"),
    "rule_below": ("below {limit} (you entered {got})", "unter {limit} (eingegeben: {got})"),
    "rule_min": ("at least {limit} (you entered {got})", "mindestens {limit} (eingegeben: {got})"),
    "rule_above": ("above {limit} (you entered {got})", "über {limit} (eingegeben: {got})"),
    "rule_pct": (
        "a percentage 0–100 (you entered {got})",
        "ein Prozentsatz 0–100 (eingegeben: {got})",
    ),
    "must_be": ("{lever}: must be {rule}", "{lever}: muss {rule} sein"),
    "segment_total": (
        "Segment shares add up to {total} % (must be 100 %)",
        "Segmentanteile ergeben {total} % (müssen 100 % sein)",
    ),
    "field": ("field", "Feld"),
}

KPI_STRINGS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "service_level": (
        ("Service level", "Servicelevel"),
        (
            "answered within T / (answered + abandoned)",
            "angenommen innerhalb T / (angenommen + abgebrochen)",
        ),
    ),
    "asa_s": (
        ("Average speed of answer", "Mittlere Wartezeit"),
        ("mean wait of answered attempts", "mittlere Wartezeit angenommener Anrufe"),
    ),
    "abandonment_rate": (
        ("Abandonment", "Abbruchquote"),
        ("abandoned / (answered + abandoned)", "abgebrochen / (angenommen + abgebrochen)"),
    ),
    "occupancy": (
        ("Agent occupancy", "Auslastung"),
        ("busy agent-seconds / on-duty agent-seconds", "Gesprächszeit / Dienstzeit der Agenten"),
    ),
    "aht_s": (
        ("Average handling time", "Mittlere Bearbeitungszeit"),
        ("mean talk + after-call work, answered", "mittlere Gesprächs- und Nachbearbeitungszeit"),
    ),
    "fcr": (
        ("First-contact resolution", "Erstlösungsquote"),
        ("resolved answered / answered attempts", "beim ersten Anruf gelöst / angenommen"),
    ),
    "calls_offered": (
        ("Calls offered", "Angebotene Anrufe"),
        ("attempts that reached the queue", "Anrufe, die die Warteschlange erreichten"),
    ),
    "calls_answered": (
        ("Calls answered", "Angenommene Anrufe"),
        ("attempts answered by an agent", "von einem Agenten angenommene Anrufe"),
    ),
    "monthly_churn": (
        ("Monthly churn", "Monatliche Kündigungsquote"),
        ("churned / accounts facing a bill date", "Kündigungen / Konten mit Rechnungstermin"),
    ),
    "retention": (
        ("Retention", "Kundenbindung"),
        ("initial accounts still active at the end", "Anfangsbestand, der am Ende noch aktiv ist"),
    ),
    "churned": (
        ("Accounts churned", "Gekündigte Konten"),
        ("accounts that left during the horizon", "im Zeitraum gekündigte Konten"),
    ),
    "cancel_calls": (
        ("Cancel calls", "Kündigungsanrufe"),
        (
            "accounts set to leave that called to cancel",
            "Konten mit Kündigungsabsicht, die anriefen",
        ),
    ),
    "save_rate": (
        ("Save rate", "Halterate"),
        ("saved / cancel callers answered", "gehalten / angenommene Kündigungsanrufe"),
    ),
    "cost_per_save": (
        ("Cost per save", "Kosten je Haltung"),
        ("discount committed on saves / saves", "zugesagter Rabatt der Haltungen / Haltungen"),
    ),
    "revenue": (
        ("Revenue", "Umsatz"),
        ("billed − discounts − refunded errors", "abgerechnet − Rabatte − erstattete Fehler"),
    ),
    "discount_cost": (
        ("Discount cost", "Rabattkosten"),
        ("discounts deducted on bills", "auf Rechnungen abgezogene Rabatte"),
    ),
    "agent_cost": (
        ("Agent cost", "Personalkosten"),
        ("scheduled agent-hours × hourly cost", "geplante Agentenstunden × Stundensatz"),
    ),
    "telephony_cost": (
        ("Telephony cost", "Telefoniekosten"),
        ("(wait + talk) minutes × rate", "(Warte- + Gesprächsminuten) × Tarif"),
    ),
    "service_cost": (
        ("Cost of service", "Leistungskosten"),
        ("correct billed × (1 − gross margin)", "korrekt abgerechnet × (1 − Bruttomarge)"),
    ),
    "margin": (
        ("Margin", "Marge"),
        ("revenue − cost of service", "Umsatz − Leistungskosten"),
    ),
    "base_value_change": (
        ("Change in value of the base", "Wertänderung des Kundenstamms"),
        (
            "CLV of the base at the end − at the start",
            "Kundenwert des Bestands am Ende − am Anfang",
        ),
    ),
    "lost_value": (
        ("Lost customer value", "Verlorener Kundenwert"),
        (
            "CLV of churned accounts when they left",
            "Kundenwert gekündigter Konten beim Abgang",
        ),
    ),
    "discount_owed": (
        ("Discounts owed", "Zugesagte Rabatte"),
        (
            "granted discounts still to come after the horizon",
            "gewährte Rabatte, die nach dem Zeitraum noch anfallen",
        ),
    ),
    "net": (
        ("Net result", "Ergebnis"),
        (
            "margin − agent − telephony + change in value of the base",
            "Marge − Personal − Telefonie + Wertänderung des Kundenstamms",
        ),
    ),
}


def _index(lang: str) -> int:
    return 1 if lang == "de" else 0


def t(key: str, lang: str = "en", **kw: object) -> str:
    """The label ``key`` in ``lang`` with ``{placeholders}`` filled; an unknown key is
    shown as itself so that a missing label is visible rather than fatal."""
    pair = STRINGS.get(key)
    text = pair[_index(lang)] if pair else key
    return text.format(**kw) if kw else text


def value_definition(lang: str = "en") -> str:
    """What net value means, in words: the one text shown next to every money KPI (the
    net card, Compare, Best plan), so the definition cannot drift between them."""
    return t("value_definition", lang)


def kpi_label(kpi: str, lang: str = "en") -> str:
    """A KPI's name for cards and tables."""
    pair = KPI_STRINGS.get(kpi)
    return pair[0][_index(lang)] if pair else kpi


def kpi_definition(kpi: str, lang: str = "en") -> str:
    """A KPI's formula in words (the one sim/results/tables.py implements)."""
    pair = KPI_STRINGS.get(kpi)
    return pair[1][_index(lang)] if pair else ""


def column_label(column: str, lang: str = "en") -> str:
    """A monthly-table column: a KPI name where one exists, else a label of its own."""
    if column in KPI_STRINGS:
        return kpi_label(column, lang)
    return t(column, lang) if column in STRINGS else column


def policy_label(name: str, lang: str = "en") -> str:
    """A discount policy's name for the select box (the scenario name when unknown)."""
    key = f"policy_{name}"
    return t(key, lang) if key in STRINGS else name


def staffing_label(mode: str, lang: str = "en") -> str:
    """A staffing rule's name for the select box."""
    key = f"mode_{mode}"
    return t(key, lang) if key in STRINGS else mode


def option_from_label(
    value: Any, options: Sequence[str], labeller: Callable[[str, str], str]
) -> str:
    """The option a select box means, also when it hands back a *label*.

    Streamlit's select box returns the formatted label it last showed when that label
    is not among the current labels, which is what happens right after the language
    changes ("No discounts" while the options now read "Keine Rabatte"). Any language's
    label is mapped back to its option; anything else falls back to the first option.
    """
    if value in options:
        return str(value)
    for option in options:
        if any(labeller(option, lang) == value for lang in LANGUAGES):
            return option
    return options[0]


ENTITY_STRINGS: dict[str, tuple[str, str]] = {
    "billing_specialists": ("Billing specialists", "Rechnungsspezialisten"),
    "tier1": ("Tier 1", "First Level"),
    "tier2": ("Tier 2", "Second Level"),
    "residential": ("Residential", "Privatkunden"),
    "small_business": ("Small business", "Kleingewerbe"),
    "premium": ("Premium", "Premium"),
}
"""Display names of the scenario entities the shipped scenarios use."""


def entity_label(name: str, lang: str = "en") -> str:
    """A group or segment as people write it: a known translation, else the identifier
    with spaces and a capital ("night_shift" → "Night shift")."""
    pair = ENTITY_STRINGS.get(name)
    if pair:
        return pair[_index(lang)]
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def days_label(days: str, lang: str = "en") -> str:
    """Shift days in words: "mon-fri" → "Mon–Fri" / "Mo–Fr"; unknown tokens unchanged."""

    def one(token: str) -> str:
        token = token.strip().lower()
        return t(f"wd_{_DAYS.index(token)}", lang) if token in _DAYS else token

    parts = []
    for item in str(days).split(","):
        ends = item.split("-")
        parts.append("–".join(one(e) for e in ends))
    return ", ".join(parts)


def shift_label(days: str, start: str, hours: float, lang: str = "en") -> str:
    """A shift as a time span: "Mon–Fri 08:00–16:30"."""
    h, m = (int(x) for x in str(start).split(":")[:2])
    end_min = (h * 60 + m + round(hours * 60)) % (24 * 60)
    return f"{days_label(days, lang)} {h:02d}:{m:02d}–{end_min // 60:02d}:{end_min % 60:02d}"


# ---- lever problems in the lever's own words and units -----------------------------------

LEVER_PATHS: tuple[tuple[str, str, float], ...] = (
    (r"policies\.discount\.params", "discount_pct_of", 1.0),
    (r"policies\.discount\.authority_pct", "authority_any", 1.0),
    (r"policies\.discount\.budget_per_month", "budget_value", 1.0),
    (r"billing\.error\.rate", "error_rate", 100.0),
    (r"billing\.incident\.error_rate", "incident_rate", 100.0),
    (r"billing\.incident", "incident", 1.0),
    (r"contact_center\.service_level\.target", "sl_target", 100.0),
    (r"contact_center\.service_level\.threshold_s", "sl_threshold", 1.0),
    (r"contact_center\.groups\[\d+\](\.shifts\[\d+\])?\.agents", "agents", 1.0),
    (r"customers\.accounts", "accounts", 1.0),
    (r"customers\.acquisition_per_month", "acquisition", 1.0),
    (r"customers\.segments", "customers", 1.0),
    (r"calendar\.months", "months", 1.0),
    (r"seed", "seed", 1.0),
)
"""Field path → (label of the lever that sets it, factor from field to lever units)."""

STRINGS.setdefault("authority_any", ("Authority (%)", "Befugnis (%)"))

_RULE = re.compile(r"must be (<=|>=|<|>) ([-\d.eE+]+) \(got ([-\d.eE+]+)\)")
_PCT = re.compile(r"must be a percentage 0\.\.100 \(got (.+)\)")
_SEGMENTS = re.compile(r"shares add up to ([\d.,]+) %")


def lever_problem(problem: str, lang: str = "en") -> tuple[str, str]:
    """A validation problem as (message in the lever's words and units, field path).

    "billing.error.rate: must be <= 1.0 (got 1.5)" becomes "Bills with an error (%):
    must be at most 100 (you entered 150)"; problems no rule matches are returned as
    they are, so nothing is hidden.
    """
    path, _, rest = problem.partition(": ")
    label_key, factor = None, 1.0
    for pattern, key, f in LEVER_PATHS:
        if re.match(pattern, path):
            label_key, factor = key, f
            break
    if label_key is None:
        return problem, path
    lever = t(label_key, lang)
    style = "de" if lang == "de" else "en"

    def num(x: str) -> str:
        v = round(float(x) * factor, 6)
        if v.is_integer():
            return format_number(v, 0, style)
        return format_number(v, 2, style).rstrip("0")

    if m := _SEGMENTS.search(rest):
        return t("segment_total", lang, total=m.group(1)), path
    if m := _RULE.search(rest):
        op, limit, got = m.groups()
        key = {"<=": "rule_max", "<": "rule_below", ">=": "rule_min", ">": "rule_above"}[op]
        rule = t(key, lang, limit=num(limit), got=num(got))
        return t("must_be", lang, lever=lever, rule=rule), path
    if m := _PCT.search(rest):
        got = num(m.group(1)) if re.fullmatch(r"[-\d.eE+]+", m.group(1)) else m.group(1)
        return t("must_be", lang, lever=lever, rule=t("rule_pct", lang, got=got)), path
    return f"{lever}: {rest}", path


# ---- the verdict and strategy names ----------------------------------------------------------


def verdict_text(v: Verdict, money: MoneyFormat, lang: str = "en") -> str:
    """The verdict paragraph in plain words from ``decision.verdict``'s facts."""
    diff = format_diff(v.net_diff, "money", money)
    ci = format_interval(v.net_low, v.net_high, "money", money)
    key = "verdict_beats" if v.net_significant else "verdict_tie"
    text = t(key, lang, best=v.best, other=v.other, diff=diff, ci=ci)
    agents = format_value(abs(v.agent_cost_diff), "money", money, money_decimals=0)
    more_less = t("more" if v.agent_cost_diff >= 0 else "less", lang)
    # amounts without sign and a word for the direction: "-2.030 € in discounts" read
    # as a cost of minus two thousand
    discounts = format_value(abs(v.discount_diff), "money", money, money_decimals=0)
    disc_more_less = t("more" if v.discount_diff >= 0 else "less", lang)
    kept = format_value(abs(round(v.kept, 1)), "accounts", money)
    kept_word = t("more" if v.kept >= 0 else "fewer", lang)
    text += t(
        "verdict_costs",
        lang,
        agents=agents,
        more_less=more_less,
        discounts=discounts,
        disc_more_less=disc_more_less,
        kept=kept,
        kept_word=kept_word,
    )
    sl = format_diff(v.service_level_diff, "share", money)
    text += t("verdict_sl_sig" if v.service_level_significant else "verdict_sl_not", lang, sl=sl)
    if v.replications < 2:
        text += t("verdict_one_rep", lang)
    return text


def strategy_name(changes: Sequence[Change], base: Scenario, lang: str = "en") -> str:
    """A short name from what a strategy changed ("Tier 1 Mon–Fri 08:00–16:00: 7→9
    agents · Flat 10 %"); "Today" when nothing changed. At most four changes are named."""
    if not changes:
        return t("name_today", lang)
    parts = [_change_words(c, base, lang) for c in changes]
    parts = list(dict.fromkeys(p for p in parts if p))
    more = f" +{len(parts) - 4}" if len(parts) > 4 else ""
    return " · ".join(parts[:4]) + more


def _change_words(c: Change, base: Scenario, lang: str) -> str:
    style = "de" if lang == "de" else "en"
    m = re.match(r"contact_center\.groups\[(\d+)\](?:\.shifts\[(\d+)\])?\.agents", c.path)
    if m:
        g = base.contact_center.groups[int(m.group(1))]
        where = entity_label(g.name, lang)
        if m.group(2) is not None and g.shifts:
            sh = g.shifts[int(m.group(2))]
            where += " " + shift_label(sh.days, sh.start, sh.hours, lang)
        return f"{where}: {c.old}→{c.new} {t('agents', lang).lower()}"
    if c.path == "policies.discount.name":
        return policy_label(str(c.new), lang)
    if c.path.startswith("policies.discount.params."):
        return f"{format_number(float(c.new), 0 if float(c.new).is_integer() else 1, style)} %"
    if c.path == "policies.discount.budget_per_month":
        new = t("no_cap", lang) if c.new is None else format_number(float(c.new), 0, style)
        return f"{t('budget_value', lang)} {new}"
    if c.path.startswith("policies.staffing"):
        return staffing_label(str(c.new), lang) if c.path.endswith("name") else ""
    if c.path.startswith("policies.discount.authority_pct."):
        group = c.path.rsplit(".", 1)[1]
        return f"{t('authority', lang, group=entity_label(group, lang))} {c.new:g}"
    for pattern, key, factor in LEVER_PATHS:
        if re.match(pattern, c.path) and isinstance(c.new, int | float):
            v = float(c.new) * factor
            return f"{t(key, lang)} {format_number(v, 0 if v.is_integer() else 1, style)}"
    return f"{c.path.rsplit('.', 1)[-1]} {c.new}"


# ---- plans of the net-value optimiser and targeted discounts ------------------------------

RULE_SHORT: dict[str, tuple[str, str]] = {
    "fixed": ("fixed shifts", "feste Schichten"),
    "erlang_c": ("Erlang C", "Erlang C"),
    "erlang_a": ("Erlang A", "Erlang A"),
    "sqrt": ("square-root rule", "Wurzelregel"),
    "table": ("staffing table", "Personaltabelle"),
}
"""Staffing rules as a plan name says them (shorter than the select box's labels)."""


def _pct(value: float, lang: str) -> str:
    style = "de" if lang == "de" else "en"
    return f"{format_number(value, 0 if float(value).is_integer() else 1, style)} %"


def plan_staffing_label(staffing: Any, lang: str = "en") -> str:
    """A ``netopt.StaffingOption`` in words: its rule and target, then the head-count
    factor ("Erlang A 80 %", "Personal wie eingestellt × 0,85")."""
    style = "de" if lang == "de" else "en"
    if staffing.rule is None:
        key = "plan_staffing_as_given" if staffing.scale == 1 else "plan_staffing"
        text = t(key, lang)
    else:
        pair = RULE_SHORT.get(staffing.rule)
        text = pair[_index(lang)] if pair else staffing.rule
    if staffing.target is not None:
        text += " " + _pct(round(staffing.target * 100, 1), lang)
    if staffing.scale != 1:
        text += f" × {format_number(staffing.scale, 2, style).rstrip('0').rstrip(',.')}"
    return text


def plan_discount_label(discount: Any, money: MoneyFormat, lang: str = "en") -> str:
    """A ``netopt.DiscountOption`` in words: policy and percentage, then authority and
    budget when the plan sets them ("Pauschal 5 % (Befugnis 10 %; Budget 20.000 €)")."""
    if discount.policy is None and discount.pct is None:
        text = t("plan_discount_as_given", lang)
    elif discount.policy == "none":
        text = policy_label("none", lang)
    else:
        text = (
            policy_label(discount.policy, lang)
            if discount.policy
            else t("plan_discount_as_given", lang)
        )
        if discount.pct is not None:
            text += " " + _pct(discount.pct, lang)
    extra = []
    if isinstance(discount.authority, Mapping):
        extra.append(
            t(
                "plan_authority",
                lang,
                pct=", ".join(
                    f"{entity_label(k, lang)} {_pct(v, lang)}"
                    for k, v in discount.authority.items()
                ),
            )
        )
    elif discount.authority is not None:
        extra.append(t("plan_authority", lang, pct=_pct(discount.authority, lang)))
    if discount.budget == "unlimited":
        extra.append(t("plan_no_budget", lang))
    elif discount.budget is not None:
        amount = format_value(float(discount.budget), "money", money, money_decimals=0)
        extra.append(t("plan_budget", lang, amount=amount))
    return f"{text} ({'; '.join(extra)})" if extra else text


def plan_label(candidate: Any, money: MoneyFormat, lang: str = "en") -> str:
    """A candidate plan's display name from its structured options (the optimiser's own
    names are English): "as set" for the scenario as given, else staffing + discounts."""
    if candidate.name == AS_GIVEN:
        return t("plan_as_given", lang)
    staffing = plan_staffing_label(candidate.staffing, lang)
    return f"{staffing} + {plan_discount_label(candidate.discount, money, lang)}"


TARGETING: tuple[str, ...] = ("rule", "risk", "uplift")
"""Whom a discount is offered to: the scenario's rule, a fitted risk or uplift score."""


def targeting_label(kind: str, lang: str = "en") -> str:
    """A targeting choice for the select box."""
    return t(f"target_{kind}", lang)


def targeted_name(kind: str, share: float, pct: float, lang: str = "en") -> str:
    """A strategy name part for a targeted discount ("20 % to the 30 % most at risk")."""
    style = "de" if lang == "de" else "en"
    share_text = format_number(share * 100, 0 if (share * 100).is_integer() else 1, style)
    pct_text = format_number(pct, 0 if float(pct).is_integer() else 1, style)
    return t(f"target_name_{kind}", lang, pct=pct_text, share=share_text)
