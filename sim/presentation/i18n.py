"""Labels of the app in English and German.

The operation the simulator was first described for works in German, so every label a
manager reads (widgets, KPI names and definitions, table columns, chart titles) exists
in both languages here, one place, and a test checks that no key lacks a translation.
Error messages from the scenario validator stay in English: they name field paths that
are English in the YAML file too.
"""

from __future__ import annotations

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


def kpi_label(kpi: str, lang: str = "en") -> str:
    """A KPI's name for cards and tables."""
    pair = KPI_STRINGS.get(kpi)
    return pair[0][_index(lang)] if pair else kpi


def kpi_definition(kpi: str, lang: str = "en") -> str:
    """A KPI's formula in words (the one metrics.py implements)."""
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
