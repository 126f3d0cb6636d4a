"""The scenario tree: every input of a simulation, validated once, immutable afterwards.

A scenario is the single value that the CLI, the app and the tests hand to the model. It
holds no random state. Units are in the field names (``_s`` seconds, ``_days``,
``_pct``, ``per_month``). Anything wrong with it is reported as one ``ScenarioError``
naming the field path and the reason, so a planner can fix a file without reading code.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import difflib
import hashlib
import json
import math
import re
import types
import typing
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.core.codes import REASONS, WEEKDAYS
from sim.core.distributions import Dist, exponential, lognormal
from sim.policies.catalogue import check_policy_choices
from sim.scenario.limits import MAX_SEED, excerpt

Reason = Literal["billing_error", "high_bill", "question", "plan_change", "payment", "cancel"]


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the field and the reason."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        # bounded: a message never echoes a huge value, nor more than a screenful
        lines = [" ".join(str(p).split()) for p in problems[:20]]  # always one line
        self.problems = [p if len(p) <= 400 else p[:400] + "..." for p in lines]
        if len(problems) > 20:
            self.problems.append(f"... and {len(problems) - 20} more problems")
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(self.problems))


def parse_days(spec: str) -> tuple[int, ...]:
    """Weekday numbers (Mon=0) for 'mon-fri', 'sat', 'mon,wed,fri', 'daily'."""
    text = spec.strip().lower()
    if text in ("daily", "all", "mon-sun"):
        return tuple(range(7))
    days: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = (p.strip() for p in part.split("-", 1))
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"unknown weekday range '{part}' (use e.g. mon-fri)")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            if j < i:
                raise ValueError(f"weekday range '{part}' runs backwards")
            days.extend(range(i, j + 1))
        elif part in WEEKDAYS:
            days.append(WEEKDAYS.index(part))
        else:
            raise ValueError(f"unknown weekday '{part}' (use mon..sun, ranges or 'daily')")
    return tuple(sorted(set(days)))


_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def parse_clock(text: str) -> float:
    """Seconds after midnight for 'HH:MM' (24:00 allowed as the end of a day)."""
    m = _CLOCK.match(text.strip())
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError(f"'{text}' is not a time of day HH:MM")
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60


def parse_hours(text: str) -> tuple[float, float] | None:
    """(open, close) seconds after midnight for '08:00-20:00'; None for 'closed'."""
    if text.strip().lower() == "closed":
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f"'{text}' is not an opening time like 08:00-20:00 or 'closed'")
    a, b = parse_clock(parts[0]), parse_clock(parts[1])
    if b <= a:
        raise ValueError(f"'{text}' closes before it opens")
    return a, b


def _within_unit_interval(v: dict[str, float], what: str) -> dict[str, float]:
    """Reject probabilities outside 0..1 in a dict keyed by reason."""
    bad = {k: p for k, p in v.items() if not 0 <= p <= 1}
    if bad:
        raise ValueError(f"{what} must be within 0..1 (got {bad})")
    return v


def n_intervals(calendar: Calendar, interval_minutes: int) -> int:
    """Intervals of ``interval_minutes`` in the horizon: the grid of ``interval_edges``,
    of the forecast and of per-interval staffing tables. Validation calls it before
    any Clock exists, so both count alike. A length that does not divide the
    horizon gets a last interval reaching past it, so that every call is counted."""
    return -(-calendar.n_days * 1440 // interval_minutes)


class Strict(BaseModel):
    """Base of every scenario node: unknown keys rejected, values frozen, numbers finite
    (NaN and inf would silently change results: NaN churn weights make churn 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Calendar(Strict):
    start: dt.date = dt.date(2027, 1, 4)
    months: int = Field(3, ge=1, le=60)
    open_hours: dict[str, str] = Field(
        default_factory=lambda: {"mon-fri": "08:00-20:00", "sat": "09:00-14:00"}
    )
    holidays: list[dt.date] = Field(default_factory=list)
    closed_calls: Literal["wait", "drop"] = "wait"
    """A call placed while closed (a retrial, a callback) waits for opening or is dropped."""

    @field_validator("open_hours")
    @classmethod
    def _hours_parse(cls, v: dict[str, str]) -> dict[str, str]:
        seen: set[int] = set()
        for spec, hours in v.items():
            days = parse_days(spec)
            parse_hours(hours)
            overlap = seen.intersection(days)
            if overlap:
                names = ", ".join(WEEKDAYS[d] for d in sorted(overlap))
                raise ValueError(f"{names} given twice")
            seen.update(days)
        if not v or all(parse_hours(h) is None for h in v.values()):
            raise ValueError("the center is never open")
        return v

    def month_start(self, m: int) -> dt.date:
        """First day of month ``m`` of the horizon: ``start`` + m months, the day of month
        clamped to the month's length (Jan 31 + 1 month = Feb 28).

        Months are anchored on the start date, not on calendar months, so that every
        month of the horizon (a row of the monthly table, a discount budget period) is a
        whole month; counting from ``start`` each time keeps Jan 31 + 2 months = Mar 31.
        """
        y, mm = divmod(self.start.month - 1 + m, 12)
        year, month = self.start.year + y, mm + 1
        return dt.date(year, month, min(self.start.day, calendar.monthrange(year, month)[1]))

    @property
    def end(self) -> dt.date:
        """First day after the horizon: ``month_start(months)``."""
        return self.month_start(self.months)

    @property
    def n_days(self) -> int:
        """Days in the horizon (sim.scenario.calendar builds its day grid from this)."""
        return (self.end - self.start).days

    def hours_by_weekday(self) -> list[tuple[float, float] | None]:
        """Opening (start_s, end_s) per weekday Mon..Sun; None when closed all day."""
        table: list[tuple[float, float] | None] = [None] * 7
        for spec, hours in self.open_hours.items():
            for d in parse_days(spec):
                table[d] = parse_hours(hours)
        return table


class Segment(Strict):
    name: str = Field(min_length=1)
    share: float = Field(gt=0, le=1)
    charge: Dist = lognormal(55, 20)
    tenure_months: Dist = exponential(40)
    patience_s: Dist = exponential(150)
    churn_base_monthly: float = Field(0.012, ge=0, le=1)
    churn_sensitivity: float = Field(1.0, ge=0)
    call_propensity: float = Field(1.0, ge=0)
    gross_margin: float = Field(0.35, gt=0, le=1)
    """Share of the correct bill that is margin (after the cost of serving the account);
    customer value is computed from margin, not revenue."""
    discount_response: float = Field(1.0, ge=0)
    """Multiplier of a granted discount's retention response in this segment (1 = as
    ``retention.effects.discount`` says, 0 = a discount keeps no one): heterogeneous
    response, e.g. high-risk customers who respond least (Ascarza 2018)."""


def _default_segments() -> list[Segment]:
    return [
        Segment(name="residential", share=0.8),
        Segment(
            name="small_business",
            share=0.15,
            charge=lognormal(140, 60),
            tenure_months=exponential(55),
            patience_s=exponential(120),
            churn_base_monthly=0.008,
            call_propensity=1.3,
        ),
        Segment(
            name="premium",
            share=0.05,
            charge=lognormal(220, 80),
            tenure_months=exponential(70),
            patience_s=exponential(100),
            churn_base_monthly=0.006,
            churn_sensitivity=1.3,
            call_propensity=1.2,
        ),
    ]


class Customers(Strict):
    accounts: int = Field(50_000, ge=0, le=50_000_000)
    acquisition_per_month: float = Field(600, ge=0)
    segments: list[Segment] = Field(default_factory=_default_segments, min_length=1)

    @field_validator("segments")
    @classmethod
    def _shares_and_names(cls, v: list[Segment]) -> list[Segment]:
        total = sum(s.share for s in v)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1 (got {total:.6g})")
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique (got {names})")
        return v


class BillError(Strict):
    rate: float = Field(0.02, ge=0, le=1)
    size: Dist = lognormal(25, 15)


class OneOff(Strict):
    probability: float = Field(0.05, ge=0, le=1)
    size: Dist = lognormal(30, 20)


class Incident(Strict):
    """A billing-system fault: a raised error rate on some cycles between two dates."""

    cycles: list[int] = Field(min_length=1)
    start: dt.date
    end: dt.date
    error_rate: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Incident:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


def _default_reasons() -> dict[str, dict[str, float]]:
    return {
        "error": {"billing_error": 1.0},
        "shock": {"high_bill": 0.8, "plan_change": 0.2},
        "routine": {"question": 0.55, "plan_change": 0.25, "payment": 0.20},
    }


class ContactProbability(Strict):
    error: float = Field(0.55, ge=0, le=1)
    shock: float = Field(0.25, ge=0, le=1)
    routine: float = Field(0.03, ge=0, le=1)


_DEFAULT_INTRADAY = [0, 0, 0, 0, 0, 0, 0, 0, 6, 10, 11, 10, 8, 8, 9, 9, 8, 7, 6, 5, 0, 0, 0, 0]


class ContactSettings(Strict):
    probability: ContactProbability = ContactProbability()
    delay_days: Dist = Dist(dist="gamma", mean=3, sd=2)
    reasons: dict[Literal["error", "shock", "routine"], dict[Reason, float]] = Field(
        default_factory=_default_reasons
    )
    intraday_profile: list[float] = Field(default_factory=lambda: list(_DEFAULT_INTRADAY))
    """Relative call weight per hour of day (24 values); only open hours are used."""
    weekday_factor: dict[str, float] = Field(default_factory=lambda: {"mon": 1.2, "sat": 0.6})
    """Relative volume by weekday; days not named weigh 1."""

    @field_validator("reasons")
    @classmethod
    def _mixes_sum_to_one(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for flag in ("error", "shock", "routine"):
            if flag not in v:
                raise ValueError(f"a reason mix for '{flag}' bills is required")
            mix = v[flag]
            if any(p < 0 for p in mix.values()):
                raise ValueError(f"{flag}: reason shares must be >= 0")
            total = sum(mix.values())
            if not math.isclose(total, 1.0, abs_tol=1e-6):
                raise ValueError(f"{flag}: reason shares must sum to 1 (got {total:.6g})")
        return v

    @field_validator("intraday_profile")
    @classmethod
    def _profile(cls, v: list[float]) -> list[float]:
        if len(v) != 24:
            raise ValueError(f"needs 24 hourly weights (got {len(v)})")
        if any(w < 0 for w in v) or sum(v) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return v

    @field_validator("weekday_factor")
    @classmethod
    def _weekdays(cls, v: dict[str, float]) -> dict[str, float]:
        for spec, f in v.items():
            parse_days(spec)
            if f < 0:
                raise ValueError(f"{spec}: factor must be >= 0 (got {f})")
        return v


class Billing(Strict):
    cycle_days: list[int] = Field(default_factory=lambda: [1, 8, 15, 22], min_length=1)
    usage_variation_sd: float = Field(0.10, ge=0, le=2)
    one_off: OneOff = OneOff()
    error: BillError = BillError()
    shock_threshold: float = Field(0.30, gt=0)
    incident: Incident | None = None
    contact: ContactSettings = ContactSettings()
    plan_change_reduction: float = Field(0.15, ge=0, lt=1)
    """Share of the plan charge saved by a customer who moves to a cheaper plan."""

    @field_validator("cycle_days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        bad = [d for d in v if not 1 <= d <= 28]
        if bad:
            raise ValueError(f"cycle days must be 1..28 (got {bad})")
        if len(set(v)) != len(v):
            raise ValueError(f"cycle days must be unique (got {v})")
        return sorted(v)


class Shift(Strict):
    start: str = "08:00"
    hours: float = Field(8, gt=0, le=24)
    days: str = "mon-fri"
    agents: int = Field(ge=0)

    @field_validator("start")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v

    @field_validator("days")
    @classmethod
    def _days(cls, v: str) -> str:
        parse_days(v)
        return v


class Group(Strict):
    """Agents who share skills; staffed by a constant head count or by shifts."""

    name: str = Field(min_length=1)
    skills: list[Reason] = Field(min_length=1)
    agents: int | None = Field(default=None, ge=0)
    """Agents on the phones whenever the center is open (before shrinkage)."""
    shifts: list[Shift] | None = None
    shrinkage: float = Field(0.0, ge=0, lt=1)
    """Paid time off the phones (breaks, training, absence)."""
    cost_per_hour: float | None = Field(default=None, ge=0)
    """Loaded hourly cost; economics.agent_cost_per_hour when not given."""
    first_contact: dict[Reason, float] = Field(default_factory=dict)
    """This group's first-contact resolution by reason, where it differs from
    contact_center.resolution.first_contact (specialists resolve more)."""

    @field_validator("first_contact")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        return _within_unit_interval(v, "rates")

    @model_validator(mode="after")
    def _one_staffing(self) -> Group:
        if (self.agents is None) == (self.shifts is None):
            raise ValueError("give either 'agents' or 'shifts', not both or neither")
        return self


class ServiceLevel(Strict):
    target: float = Field(0.80, gt=0, lt=1)
    threshold_s: float = Field(20, gt=0)


class Routing(Strict):
    overflow_after_s: float | None = Field(default=None, ge=0)
    """Wait after which a caller may also be taken by the next group with the skill."""


def _default_work() -> dict[str, Dist]:
    return {
        "billing_error": lognormal(420, 200),
        "high_bill": lognormal(300, 150),
        "question": lognormal(180, 90),
        "plan_change": lognormal(360, 160),
        "payment": lognormal(240, 100),
        "cancel": lognormal(480, 240),
    }


CANCEL_DEFAULTS: dict[str, Any] = {"work_s": lognormal(480, 240), "first_contact": 1.0}
"""What a scenario file written before the ``cancel`` reason gets for it: a save
conversation of ~8 minutes (retention calls run longer than billing questions) and
always resolved (the caller is either saved or processed as leaving)."""


def _with_cancel(v: Any, default: Any) -> Any:
    """Fill ``cancel`` into a per-reason mapping written before the reason existed."""
    if isinstance(v, dict) and "cancel" not in v:
        return {**v, "cancel": default}
    return v


class Handling(Strict):
    verification_s: Dist = lognormal(45, 20)
    verification_fail_rate: float = Field(0.05, ge=0, le=1)
    verification_fail_extra_s: Dist = lognormal(90, 40)
    review_s: Dist = lognormal(60, 30)
    work_s: dict[Reason, Dist] = Field(default_factory=_default_work)
    after_call_s: Dist = lognormal(30, 15)

    @field_validator("work_s", mode="before")
    @classmethod
    def _cancel_work(cls, v: Any) -> Any:
        return _with_cancel(v, CANCEL_DEFAULTS["work_s"])

    @field_validator("work_s")
    @classmethod
    def _all_reasons(cls, v: dict[str, Dist]) -> dict[str, Dist]:
        missing = [r for r in REASONS if r not in v]
        if missing:
            raise ValueError(f"work time missing for {missing}")
        return v

    def expected_s(self) -> list[float]:
        """Expected handling time (talk + after-call work) of a first call, per reason in
        REASONS order: what a planner's forecast and Erlang staffing assume."""
        common = (
            self.verification_s.expected
            + self.verification_fail_rate * self.verification_fail_extra_s.expected
            + self.review_s.expected
            + self.after_call_s.expected
        )
        return [common + self.work_s[r].expected for r in REASONS]


class Retrial(Strict):
    probability: float = Field(0.6, ge=0, le=1)
    delay_s: Dist = exponential(600)


class Callback(Strict):
    offer_when_wait_s: float | None = Field(default=None, gt=0)
    accept: float = Field(0.5, ge=0, le=1)


class Callers(Strict):
    retrial: Retrial = Retrial()
    callback: Callback = Callback()
    ivr_self_service: dict[Reason, float] = Field(default_factory=lambda: {"question": 0.15})

    @field_validator("ivr_self_service")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        return _within_unit_interval(v, "shares")


def _default_fcr() -> dict[str, float]:
    return {
        "billing_error": 0.70,
        "high_bill": 0.80,
        "question": 0.90,
        "plan_change": 0.85,
        "payment": 0.90,
        "cancel": 1.0,
    }


class Escalation(Strict):
    """Unresolved calls of other groups are transferred to ``to_group``."""

    to_group: str
    probability: float = Field(0.5, ge=0, le=1)


class Resolution(Strict):
    escalation: Escalation | None = None
    first_contact: dict[Reason, float] = Field(default_factory=_default_fcr)
    repeat_probability: float = Field(0.7, ge=0, le=1)
    """Chance that a customer whose issue stayed unresolved calls again."""
    repeat_after_days: Dist = Dist(dist="gamma", mean=3, sd=2)

    @field_validator("first_contact", mode="before")
    @classmethod
    def _cancel_fcr(cls, v: Any) -> Any:
        return _with_cancel(v, CANCEL_DEFAULTS["first_contact"])

    @field_validator("first_contact")
    @classmethod
    def _all(cls, v: dict[str, float]) -> dict[str, float]:
        missing = [r for r in REASONS if r not in v]
        if missing:
            raise ValueError(f"resolution rate missing for {missing}")
        return _within_unit_interval(v, "rates")


def _default_groups() -> list[Group]:
    return [Group(name="billing", skills=list(REASONS), agents=40, shrinkage=0.3)]


class ForecastRow(Strict):
    start: dt.datetime
    calls: float = Field(ge=0)
    """Expected calls arriving in [start, start + interval_minutes)."""


class Forecast(Strict):
    """Volume forecast made outside the tool: Poisson arrivals at the given expected
    count per interval, on top of the bill-driven calls (set billing.contact
    probabilities to 0 to use the forecast alone). Callers are drawn from the active
    accounts, so their experience still moves churn."""

    reasons: dict[Reason, float] = Field(default_factory=lambda: {"question": 1.0})
    intervals: list[ForecastRow] = Field(default_factory=list)
    busyness_cv: float = Field(0.0, ge=0, le=5)
    """CV of a daily gamma multiplier (mean 1) on the expected calls: day-to-day
    over-dispersion (Poisson-gamma) as fitted by sim.calibrate; 0 = plain Poisson."""

    @field_validator("reasons")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        total = sum(v.values())
        if any(p < 0 for p in v.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"reason shares must be >= 0 and sum to 1 (got {total:.6g})")
        return v


class ContactCenter(Strict):
    interval_minutes: int = 30
    service_level: ServiceLevel = ServiceLevel()
    groups: list[Group] = Field(default_factory=_default_groups, min_length=1)
    routing: Routing = Routing()
    handling: Handling = Handling()
    callers: Callers = Callers()
    resolution: Resolution = Resolution()
    forecast: Forecast | None = None

    @field_validator("interval_minutes")
    @classmethod
    def _interval(cls, v: int) -> int:
        if v <= 0 or 1440 % v:
            raise ValueError(f"must divide a day into whole intervals, e.g. 15, 30, 60 (got {v})")
        return v

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[Group]) -> list[Group]:
        names = [g.name for g in v]
        if len(set(names)) != len(names):
            raise ValueError(f"group names must be unique (got {names})")
        covered = {s for g in v for s in g.skills}
        for i, g in enumerate(v):
            unknown = [r for r in g.first_contact if r not in g.skills]
            if unknown:
                raise ValueError(f"[{i}].first_contact: {unknown} not among its skills")
        missing = [r for r in REASONS if r not in covered and r != "cancel"]
        if "cancel" not in covered:
            # a file written before the save desk: its generalist (most skills, first on
            # a tie) takes cancel calls, so every reason has a route
            i = max(range(len(v)), key=lambda j: (len(v[j].skills), -j))
            v = list(v)
            v[i] = v[i].model_copy(update={"skills": [*v[i].skills, "cancel"]})
        if missing:
            raise ValueError(f"no group has the skill for {missing}")
        return v


class PolicyChoice(Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class DiscountPolicyChoice(PolicyChoice):
    name: str = "none"
    authority_pct: dict[str, float] = Field(default_factory=dict)
    """Largest discount each group may grant; larger ones are capped at the authority."""
    budget_per_month: float | None = Field(default=None, ge=0)
    duration_months: int = Field(3, ge=1, le=36)
    accept_probability: float = Field(1.0, ge=0, le=1)
    """Chance that a customer takes the discount offered (the most, with accept_half_pct)."""
    accept_half_pct: float | None = Field(None, gt=0, le=100)
    """If set, larger offers are taken more readily: P = accept_probability ·
    (1 − 2^(−pct / accept_half_pct)); see policies.acceptance_probability."""
    handling_s: float = Field(0.0, ge=0)
    """Extra talk time of a call in which a discount is offered (explaining, booking)."""
    escalate_to: str | None = None
    """Group whose authority applies, after an escalation, to an offer above the
    answering group's authority; None caps the offer at the answering group's."""
    escalation_s: float = Field(120.0, ge=0)
    """Extra talk time of an escalated offer (the agent consults, the caller holds)."""

    @field_validator("authority_pct")
    @classmethod
    def _pct(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: p for k, p in v.items() if not 0 <= p <= 100}
        if bad:
            raise ValueError(f"authority must be a percentage 0..100 (got {bad})")
        return v


class Policies(Strict):
    discount: DiscountPolicyChoice = DiscountPolicyChoice()
    staffing: PolicyChoice = PolicyChoice(name="fixed")
    priority: PolicyChoice = PolicyChoice(name="fifo")


class Effects(Strict):
    """Log-hazard weights (β) of each experience since the last bill (sim.world.retention)."""

    long_wait: float = 0.4
    abandoned: float = 0.6
    unresolved: float = 0.8
    error_uncorrected: float = 0.9
    discount: float = -0.5
    """Log-hazard of a fully effective discount: a grant adds its response
    (``Retention.discount_half_pct`` / ``discount_half_months``, 0..1), not 1."""
    resolved: float = -0.2
    bill_shock: float = 0.0
    """Log-hazard of a shock bill, for every account that gets one, caller or not."""


class SaveDesk(Strict):
    """Accounts that decide to leave may first call to cancel (sim.world.retention).

    At a bill date an account whose hazard draw says it leaves calls to cancel with
    ``cancel_call_probability`` (per segment in ``by_segment``) instead of leaving at
    once; the call is routed by the ``cancel`` skill and the discount policy is asked
    for a save offer. The save succeeds with
    ``P(pct) = save_base + (save_max − save_base) · (1 − 2^(−pct / save_half_pct))``
    (concave in the offer, like the discount response); a saved account stays, an
    unsaved or unreached one leaves at its next bill. 0 (the default) turns it off.
    """

    cancel_call_probability: float = Field(0.0, ge=0, le=1)
    by_segment: dict[str, float] = Field(default_factory=dict)
    """Segment name → its own cancel-call probability (others use the general one)."""
    save_base: float = Field(0.15, ge=0, le=1)
    """Saves without any offer: the agent resolves the grievance or talks the caller round."""
    save_max: float = Field(0.6, ge=0, le=1)
    """Saves with a very large offer: some leavers cannot be kept at any price."""
    save_half_pct: float = Field(15.0, gt=0, le=100)
    """Offer at which half of the gap between ``save_base`` and ``save_max`` is closed."""

    @field_validator("by_segment")
    @classmethod
    def _probabilities(cls, v: dict[str, float]) -> dict[str, float]:
        return _within_unit_interval(v, "probabilities")

    @model_validator(mode="after")
    def _ordered(self) -> SaveDesk:
        if self.save_max < self.save_base:
            raise ValueError(f"save_max ({self.save_max}) is below save_base ({self.save_base})")
        return self


class Retention(Strict):
    effects: Effects = Effects()
    memory_months: float = Field(3, gt=0)
    """Experience fades by exp(-1/memory_months) per month."""
    long_wait_s: float = Field(180, gt=0)
    discount_half_pct: float = Field(10.0, gt=0, le=100)
    """Discount percent at which a grant has half its full retention effect."""
    discount_half_months: float = Field(3.0, gt=0)
    """Discount duration at which a grant has half its full retention effect."""
    new_account: float = Field(0.0)
    """Extra log-hazard of a brand-new account; it fades as exp(−tenure/tenure_scale)."""
    tenure_scale_months: float = Field(12.0, gt=0)
    save_desk: SaveDesk = SaveDesk()


class Economics(Strict):
    currency: str = "EUR"
    currency_symbol: str | None = None
    """Written instead of the currency code in the app and reports (e.g. "€")."""
    number_format: Literal["en", "de"] = "en"
    """Decimal and thousands separators: "en" 1,234.56 · "de" 1.234,56."""
    agent_cost_per_hour: float = Field(32, ge=0)
    telephony_per_minute: float = Field(0.02, ge=0)
    lifetime_months: float = Field(36, ge=0)
    """Only for the legacy ``lost_value`` column's explanation; value uses the CLV."""
    discount_rate_monthly: float = Field(0.008, ge=0, lt=1)
    """Monthly discount rate of customer value (0.8 % ≈ 10 % a year)."""
    value_months: int = Field(120, ge=1, le=1200)
    """Months over which an account's hazard is projected; a constant-hazard tail
    (Gupta & Lehmann) values the months after."""


class Scenario(Strict):
    name: str = Field("baseline", min_length=1)
    description: str = ""
    seed: int = Field(20270104, ge=0)
    calendar: Calendar = Calendar()
    customers: Customers = Customers()
    billing: Billing = Billing()
    contact_center: ContactCenter = ContactCenter()
    policies: Policies = Policies()
    retention: Retention = Retention()
    economics: Economics = Economics()

    @field_validator("seed")
    @classmethod
    def _seed_fits(cls, v: int) -> int:
        if v > MAX_SEED:
            raise ValueError(f"must be <= 2**63 - 1 = {MAX_SEED} (got {excerpt(v)})")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        cal, cc = self.calendar, self.contact_center
        hours = cal.hours_by_weekday()
        for gi, g in enumerate(cc.groups):
            for si, sh in enumerate(g.shifts or []):
                a = parse_clock(sh.start)
                b = a + sh.hours * 3600
                _check_shift_in_hours(gi, si, sh, a, b, hours)
                meets = False
                for d in parse_days(sh.days):
                    for day_offset, (lo, hi) in ((0, (a, b)), (1, (a - 86400, b - 86400))):
                        h = hours[(d + day_offset) % 7]
                        if h is not None and lo < h[1] and hi > h[0]:
                            meets = True
                if not meets:
                    raise ValueError(
                        f"contact_center.groups[{gi}].shifts[{si}]: lies outside the open "
                        f"hours on all its days ({sh.days} {sh.start}+{sh.hours}h)"
                    )
        group_names = {g.name for g in cc.groups}
        esc = cc.resolution.escalation
        if esc is not None and esc.to_group not in group_names:
            raise ValueError(
                f"contact_center.resolution.escalation.to_group: unknown group "
                f"'{esc.to_group}' (groups are {sorted(group_names)})"
            )
        unknown = [k for k in self.policies.discount.authority_pct if k not in group_names]
        if unknown:
            raise ValueError(
                f"policies.discount.authority_pct: unknown group {unknown} "
                f"(groups are {sorted(group_names)})"
            )
        seg_names = {s.name for s in self.customers.segments}
        unknown = [k for k in self.retention.save_desk.by_segment if k not in seg_names]
        if unknown:
            raise ValueError(
                f"retention.save_desk.by_segment: unknown segment {unknown} "
                f"(segments are {sorted(seg_names)})"
            )
        fc = cc.forecast
        if fc is not None:
            lo = dt.datetime.combine(cal.start, dt.time())
            hi = dt.datetime.combine(cal.end, dt.time())
            for i, row in enumerate(fc.intervals):
                if not lo <= row.start < hi:
                    raise ValueError(
                        f"contact_center.forecast.intervals[{i}].start: {row.start} lies "
                        f"outside the horizon {cal.start}..{cal.end}"
                    )
        if self.billing.incident is not None:
            inc = self.billing.incident
            cycle_days = self.billing.cycle_days
            unknown = [c for c in inc.cycles if c not in cycle_days]
            if unknown:
                raise ValueError(
                    f"billing.incident.cycles: {unknown} are not billing cycle days {cycle_days}"
                )
            if inc.end < cal.start or inc.start >= cal.end:
                raise ValueError(
                    f"billing.incident: {inc.start}..{inc.end} lies outside the horizon "
                    f"{cal.start}..{cal.end}"
                )
        n_i = n_intervals(cal, cc.interval_minutes)
        horizon = (
            f"calendar.start {cal.start} + {cal.months} months = {cal.n_days} days of "
            f"{1440 // cc.interval_minutes} intervals of contact_center.interval_minutes "
            f"{cc.interval_minutes}"
        )
        check_policy_choices(self.policies, [g.name for g in cc.groups], n_i, horizon)
        return self

    # ---- conversions -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (dates as ISO strings)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """YAML text that ``scenario_from_yaml`` turns back into an equal scenario."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def fingerprint(self) -> str:
        """Short hash of the resolved scenario, to recognise identical runs."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_changes(self, changes: dict[str, Any] | None = None, **kw: Any) -> Scenario:
        """A validated variant: keys are dotted paths, e.g.
        ``{"contact_center.groups[0].agents": 30, "seed": 7}``; keyword arguments
        replace top-level fields (``name="understaffed"``)."""
        data = self.to_dict()
        for path, value in {**(changes or {}), **kw}.items():
            _set_path(data, path, value)
        return scenario_from_dict(data)

    def scaled(self, factor: float) -> Scenario:
        """The same operation at ``factor`` times its size: accounts, gross adds and the
        agents of every shift (or constant group), so load per agent stays about the same.

        Agents round half up, and a shift or group that had agents keeps at least one, so
        every hour the original covers stays covered. Pooling is not scale-free: a smaller
        copy runs at lower occupancy for the same service, a larger one at higher.
        """
        factor = float(factor)
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"factor must be a positive number, got {factor!r}")

        def heads(n: int) -> int:
            return max(1, math.floor(n * factor + 0.5)) if n > 0 else 0

        cust = self.customers
        changes: dict[str, Any] = {
            "customers.accounts": max(1, math.floor(cust.accounts * factor + 0.5)),
            "customers.acquisition_per_month": cust.acquisition_per_month * factor,
        }
        for gi, g in enumerate(self.contact_center.groups):
            if g.shifts is None:
                changes[f"contact_center.groups[{gi}].agents"] = heads(int(g.agents or 0))
            for si, sh in enumerate(g.shifts or []):
                changes[f"contact_center.groups[{gi}].shifts[{si}].agents"] = heads(sh.agents)
        return self.with_changes(changes)


def _check_shift_in_hours(
    gi: int, si: int, sh: Shift, a: float, b: float, hours: list[tuple[float, float] | None]
) -> None:
    """A shift must lie within the open hours of each of its days (the README's promise):
    agents paid while the center is closed are a planning mistake, not a what-if."""
    for d in parse_days(sh.days):
        h = hours[d]
        if h is None:
            continue
        inside = h[0] <= a and min(b, 86400) <= h[1]
        if b > 86400:  # past midnight: the center must stay open into the next day
            nxt = hours[(d + 1) % 7]
            inside = inside and h[1] == 86400 and nxt is not None and nxt[0] == 0
            inside = inside and nxt is not None and b - 86400 <= nxt[1]
        if not inside:
            open_, close = (f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}" for t in h)
            raise ValueError(
                f"contact_center.groups[{gi}].shifts[{si}]: {sh.start}+{sh.hours:g}h runs "
                f"outside the open hours {open_}-{close} on {WEEKDAYS[d]}; shorten or move it"
            )


def non_finite_paths(data: Any, path: str = "") -> list[str]:
    """Paths of every NaN or inf number in plain data (YAML gives them as .nan, .inf)."""
    if isinstance(data, float) and not math.isfinite(data):
        return [path or "(top level)"]
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += non_finite_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += non_finite_paths(v, f"{path}[{i}]")
    return out


def _field_names_at(loc: list[Any]) -> list[str]:
    """Field names of the scenario node at ``loc`` (for "did you mean"); [] if unknown."""
    ann: Any = Scenario
    for part in loc:
        ann = _unwrap(ann, isinstance(part, int))
        if ann is None:
            return []
        if isinstance(part, int):
            continue
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(part)
            if field is None:
                return []
            ann = field.annotation
        elif typing.get_origin(ann) is dict:
            ann = typing.get_args(ann)[1]
        else:
            return []
    ann = _unwrap(ann, False)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [f.alias or n for n, f in ann.model_fields.items()]
    return []


def _unwrap(ann: Any, index: bool) -> Any:
    """Strip Optional; with ``index``, the element type of a list."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(ann) if a is not type(None)]
        models = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
        ann = models[0] if models else (members[0] if members else None)
        origin = typing.get_origin(ann)
    if index:
        return typing.get_args(ann)[0] if origin is list and typing.get_args(ann) else None
    return ann


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    tokens: list[str | int] = []
    for name, index in _PATH_TOKEN.findall(path):
        tokens.append(int(index) if index else name)
    if not tokens:
        raise ScenarioError([f"{path!r}: not a field path"])
    node: Any = data
    for i, tok in enumerate(tokens[:-1]):
        try:
            node = node[tok]
        except (KeyError, IndexError, TypeError):
            where = _format_loc(tokens[: i + 1])
            raise ScenarioError([f"{where}: no such field (in change {path!r})"]) from None
    last = tokens[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = copy.deepcopy(value)
    else:
        raise ScenarioError([f"{_format_loc(tokens)}: no such field (in change {path!r})"])


def _format_loc(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(err: dict[str, Any], loc: list[Any] | None = None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    shown = excerpt(got)
    if kind == "extra_forbidden":
        names = _field_names_at(list(loc or [])[:-1]) if loc else []
        key = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        return f"unknown field (did you mean '{close[0]}'?)" if close else "unknown field"
    if kind == "finite_number":
        return f"must be a finite number (got {shown})"
    if kind == "missing":
        return "is required"
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        op, key = bounds[kind]
        return f"must be {op} {ctx.get(key)} (got {shown})"
    if kind == "value_error":
        return excerpt_message(str(ctx.get("error", err["msg"])))
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {shown})"
    if kind in ("too_short", "too_long"):
        return f"{err['msg'].lower()} (got {len(got) if hasattr(got, '__len__') else got})"
    return f"{err['msg'][0].lower()}{err['msg'][1:]} (got {shown})"


def excerpt_message(text: str, limit: int = 300) -> str:
    """A validator's message cut short: it may quote the offending value."""
    return text if len(text) <= limit else text[:limit] + "..."


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False, include_input=True):
        raw = list(err["loc"])
        # drop union-member tags (e.g. 'function-after[...]'); the user's own unknown key
        # (the last part of an extra_forbidden location) is always kept
        keep_last = err["type"] == "extra_forbidden" and raw
        loc = [p for p in raw[:-1] if not (isinstance(p, str) and "[" in p)]
        if keep_last or (raw and not (isinstance(raw[-1], str) and "[" in raw[-1])):
            loc.append(raw[-1])
        msg = _describe(err, loc)
        # cross-field checks already name their path
        if msg.startswith(("contact_center.", "policies.", "billing.")) and not loc:
            problems.append(msg)
        else:
            problems.append(f"{_format_loc(loc)}: {msg}")
    return problems


def scenario_from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate a plain dict into a Scenario, or raise one ScenarioError."""
    if not isinstance(data, dict):
        raise ScenarioError([f"must be a mapping of fields (got {type(data).__name__})"], source)
    bad = non_finite_paths(data)
    if bad:
        raise ScenarioError([f"{p}: must be a finite number (got NaN or inf)" for p in bad], source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc), source) from None
    except ScenarioError as exc:
        raise ScenarioError(exc.problems, source) from None
