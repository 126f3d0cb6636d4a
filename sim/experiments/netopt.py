"""Which plan earns most: staffing and discounts chosen jointly on expected net value.

``optimise_net(scenario, space)`` evaluates every *candidate* — one staffing option ×
one discount option of a ``SearchSpace`` — on the KPI ``net`` (``Results.kpis()["net"]``,
whatever its definition), with common random numbers: replication ``r`` of every
candidate uses the same seed (``run_experiment``), so differences between candidates are
measured on the same customers, bills and first-attempt calls.

**Candidates.** Staffing: the scenario's own rule, ``fixed`` (shifts and head counts as
written) or a service-level target under ``erlang_a`` / ``erlang_c``; head counts of
shifts and groups can be scaled (``scale``). Discounts: a policy name with its
percentage (the policy's percentage parameter: ``pct``, ``goodwill_pct`` for
error_credit, ``max_pct`` for tenure_based), authority per group (one number for all
groups or a mapping) and the monthly budget. Unset fields keep the scenario's values.
The scenario *as given* is always candidate 0, so "change nothing" can win.

**Ranking and selection** (error rate ``alpha``, default 0.05, split in halves):

1. *Screen* (Nelson, Swann, Goldsman & Song 2001, "Simple procedures for selecting the
   best simulated system when the number of alternatives is large", Operations Research
   49(6)): ``replications`` runs (n0) of each of the k candidates. Candidate i survives
   when Ȳi ≥ Ȳj − Wij for every j, Wij = t · Sij / √n0, Sij the standard deviation of
   the paired differences Yi − Yj (common random numbers make it small) and t the
   one-sided t quantile at ``alpha/2`` Bonferroni-corrected over k − 1 comparisons
   (``statistics.corrected_t_quantile``).
2. *Allocate* (Nelson & Matejcik 1995, Management Science 41(12), procedure B; Clark &
   Yang 1986): the survivors run up to N = max(n0, ⌈(t' · Sij / δ)²⌉) replications
   each (max over surviving pairs, t' corrected over the survivors at ``alpha/2``,
   capped at ``max_replications``), where ``delta`` is the indifference zone in money:
   differences smaller than δ are not worth telling apart. The best is the survivor with
   the highest mean net over its N runs; with normal outputs and a gap ≥ δ to the
   runner-up it is the true best with probability ≥ 1 − alpha (``guarantee`` is False
   when the cap cut N short).
3. *Not worse than the best* (multiple comparisons with the best, Hsu 1984): among the
   survivors, i is kept when Ȳi > Ȳj − Wij for every other survivor j (Wij as in 1 with
   N runs and t'), i.e. its unconstrained upper MCB bound minj(Ȳi − Ȳj + Wij) is > 0. The
   ranking gives each survivor's MCB interval [min(0, minj(Ȳi − Ȳj − Wij)),
   max(0, minj(Ȳi − Ȳj + Wij))]. Screened-out candidates are significantly worse.

**Holds on fresh seeds.** The best, the runner-up and the scenario as given run
``holdout`` more replications with indices N .. N + H − 1, never used by the search.
The choice *holds* when (a) against the scenario as given, the paired net difference
best − as-given on the hold-out runs has the sign it had in the search and, if the
search's 95 % paired interval excluded zero, the hold-out's 95 % interval excludes zero
too (on the same side); and (b) the runner-up is not significantly better than the best
on the hold-out runs (the 95 % interval of runner-up − best does not lie above zero).
When the best *is* the scenario as given, only (b) applies.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.core.files import atomic_dir
from sim.core.progress import ProgressFn
from sim.core.rng import replication_seed
from sim.core.version import __version__
from sim.experiments.jobs import Variant
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import run_experiment
from sim.experiments.statistics import (
    MULTIPLICITY,
    corrected_t_quantile,
    paired_differences,
    t_interval,
)
from sim.scenario import Scenario

KPI = "net"
"""The objective: the net-value KPI of ``Results.kpis()``."""
STAFFING_RULES: tuple[str, ...] = ("fixed", "erlang_a", "erlang_c")
PCT_PARAM: dict[str, str] = {
    "flat": "pct",
    "value_based": "pct",
    "churn_risk_targeted": "pct",
    "error_credit": "goodwill_pct",
    "tenure_based": "max_pct",
}
"""The parameter that holds each discount policy's percentage."""
MAX_CANDIDATES = 200
AS_GIVEN = "as given"


# ---- the candidate space ----------------------------------------------------------------


def _keys(data: Any, allowed: Sequence[str], where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: must be a mapping (got {type(data).__name__})")
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown} (valid: {', '.join(allowed)})")
    return dict(data)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: must be a finite number (got {value!r})")
    return float(value)


@dataclass(frozen=True)
class StaffingOption:
    """How the center is staffed: a rule (None keeps the scenario's), its service-level
    target (erlang rules; None: the scenario's) and a factor on written head counts."""

    rule: str | None = None
    target: float | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.rule is not None and self.rule not in STAFFING_RULES:
            raise ValueError(
                f"staffing rule '{self.rule}' unknown (valid: {', '.join(STAFFING_RULES)})"
            )
        if self.target is not None and not 0 < self.target < 1:
            raise ValueError(f"staffing target must be in (0, 1) (got {self.target})")
        if self.target is not None and self.rule not in ("erlang_a", "erlang_c"):
            raise ValueError("a staffing target needs rule erlang_a or erlang_c")
        if not 0 < self.scale <= 10:
            raise ValueError(f"staffing scale must be in (0, 10] (got {self.scale})")

    @classmethod
    def from_dict(cls, data: Any, where: str = "staffing") -> StaffingOption:
        d = _keys(data, ("rule", "target", "scale"), where)
        target = d.get("target")
        return cls(
            rule=d.get("rule"),
            target=None if target is None else _number(target, f"{where}.target"),
            scale=_number(d.get("scale", 1.0), f"{where}.scale"),
        )

    def label(self) -> str:
        rule = "staffing as given" if self.rule is None else self.rule
        if self.target is not None:
            rule += f" {self.target:.0%}"
        return rule if self.scale == 1 else f"{rule} x{self.scale:g}"

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        """Dotted-path changes to ``scenario`` (``Scenario.with_changes``)."""
        out: dict[str, Any] = {}
        if self.rule is not None:
            params = {} if self.target is None else {"target": self.target}
            out["policies.staffing"] = {"name": self.rule, "params": params}
        if self.scale != 1:
            groups = scenario.to_dict()["contact_center"]["groups"]
            for g in groups:
                if g.get("agents") is not None:
                    g["agents"] = _scaled(g["agents"], self.scale)
                for sh in g.get("shifts") or []:
                    sh["agents"] = _scaled(sh["agents"], self.scale)
            out["contact_center.groups"] = groups
        return out


def _scaled(agents: int, scale: float) -> int:
    """Head count × scale, rounded; a staffed shift keeps at least one agent."""
    return max(1 if agents > 0 else 0, round(agents * scale))


@dataclass(frozen=True)
class DiscountOption:
    """A discount plan: policy (None keeps the scenario's), its percentage, authority
    (one cap for every group or per group) and monthly budget ("unlimited" for none);
    None keeps the scenario's value."""

    policy: str | None = None
    pct: float | None = None
    authority: float | Mapping[str, float] | None = None
    budget: float | str | None = None

    def __post_init__(self) -> None:
        if self.pct is not None and self.policy is not None and self.policy not in PCT_PARAM:
            raise ValueError(f"discount policy '{self.policy}' takes no percentage")
        if isinstance(self.budget, str) and self.budget != "unlimited":
            raise ValueError(f"discount budget must be a number or 'unlimited' ({self.budget!r})")

    @classmethod
    def from_dict(cls, data: Any, where: str = "discount") -> DiscountOption:
        d = _keys(data, ("policy", "pct", "authority", "budget"), where)
        pct, auth, budget = d.get("pct"), d.get("authority"), d.get("budget")
        if isinstance(auth, Mapping):
            auth = {str(k): _number(v, f"{where}.authority.{k}") for k, v in auth.items()}
        elif auth is not None:
            auth = _number(auth, f"{where}.authority")
        if budget is not None and budget != "unlimited":
            budget = _number(budget, f"{where}.budget")
        policy = d.get("policy")
        if policy is not None and not isinstance(policy, str):
            raise ValueError(f"{where}.policy: must be a policy name (got {policy!r})")
        return cls(
            policy=policy,
            pct=None if pct is None else _number(pct, f"{where}.pct"),
            authority=auth,
            budget=budget,
        )

    def label(self) -> str:
        if self.policy is None and self.pct is None:
            text = "discount as given"
        elif self.policy == "none":
            text = "no discount"
        else:
            text = self.policy or "discount as given at"
            if self.pct is not None:
                text += f" {self.pct:g}%"
        extra = []
        if isinstance(self.authority, Mapping):
            extra.append("authority " + ",".join(f"{k}={v:g}%" for k, v in self.authority.items()))
        elif self.authority is not None:
            extra.append(f"authority {self.authority:g}%")
        if self.budget is not None:
            extra.append(
                "no budget cap" if self.budget == "unlimited" else f"budget {self.budget:,.0f}"
            )
        return f"{text} ({'; '.join(extra)})" if extra else text

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        """Dotted-path changes to ``scenario`` (``Scenario.with_changes``)."""
        current = scenario.policies.discount
        out: dict[str, Any] = {}
        name = self.policy or current.name
        if self.policy is not None or self.pct is not None:
            params = dict(current.params) if name == current.name else {}
            if self.pct is not None:
                if name not in PCT_PARAM:
                    raise ValueError(f"discount policy '{name}' takes no percentage")
                params[PCT_PARAM[name]] = self.pct
            out["policies.discount.name"] = name
            out["policies.discount.params"] = params
        if isinstance(self.authority, Mapping):
            out["policies.discount.authority_pct"] = dict(self.authority)
        elif self.authority is not None:
            groups = [g.name for g in scenario.contact_center.groups]
            out["policies.discount.authority_pct"] = dict.fromkeys(groups, self.authority)
        if self.budget is not None:
            budget = None if self.budget == "unlimited" else self.budget
            out["policies.discount.budget_per_month"] = budget
        return out


@dataclass(frozen=True)
class Candidate:
    """One plan: its name, its options and the scenario it makes."""

    name: str
    staffing: StaffingOption
    discount: DiscountOption
    scenario: Scenario
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSpace:
    """Every staffing option × every discount option (plus the scenario as given).

    As a dict or YAML file::

        staffing:
          - {}                                  # the scenario's staffing
          - {scale: 0.9}                        # its head counts × 0.9
          - {rule: erlang_a, target: 0.8}
        discount:
          - {}                                  # the scenario's discounts
          - {policy: flat, pct: 10, authority: 10, budget: 20000}
    """

    staffing: tuple[StaffingOption, ...] = (StaffingOption(),)
    discount: tuple[DiscountOption, ...] = (DiscountOption(),)

    @classmethod
    def from_dict(cls, data: Any) -> SearchSpace:
        d = _keys(data, ("staffing", "discount"), "space")
        parts = []
        for key, option in (("staffing", StaffingOption), ("discount", DiscountOption)):
            items = d.get(key, [{}])
            if not isinstance(items, list) or not items:
                raise ValueError(f"space.{key}: must be a non-empty list of options")
            parts.append(
                tuple(option.from_dict(x or {}, f"space.{key}[{i}]") for i, x in enumerate(items))
            )
        space = cls(parts[0], parts[1])  # type: ignore[arg-type]
        if len(space.staffing) * len(space.discount) > MAX_CANDIDATES:
            raise ValueError(
                f"space: {len(space.staffing)} staffing × {len(space.discount)} discount "
                f"options exceed {MAX_CANDIDATES} candidates"
            )
        return space

    @classmethod
    def load(cls, path: str | Path) -> SearchSpace:
        """A space from a YAML file (one-line ValueError on a bad file)."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def default(cls, scenario: Scenario) -> SearchSpace:
        """12 plans around the scenario: its staffing as given, ×0.85, ×1.15 and Erlang A at
        its target; its discounts as given and two alternatives (flat 5 % and 10 % when it
        grants none, else half its percentage and no discount)."""
        target = scenario.contact_center.service_level.target
        staffing = (
            StaffingOption(),
            StaffingOption(scale=0.85),
            StaffingOption(scale=1.15),
            StaffingOption(rule="erlang_a", target=target),
        )
        d = scenario.policies.discount
        if d.name == "none" or d.name not in PCT_PARAM:
            alternatives = (DiscountOption("flat", 5.0), DiscountOption("flat", 10.0))
        else:
            pct = float(d.params.get(PCT_PARAM[d.name], 10.0))
            alternatives = (DiscountOption(d.name, round(pct / 2, 2)), DiscountOption("none"))
        return cls(staffing, (DiscountOption(), *alternatives))

    def candidates(self, scenario: Scenario) -> list[Candidate]:
        """The scenario as given first, then every combination making a different scenario."""
        out = [Candidate(AS_GIVEN, StaffingOption(), DiscountOption(), scenario)]
        seen = {scenario.fingerprint()}
        for st, di in itertools.product(self.staffing, self.discount):
            changes = {**st.changes(scenario), **di.changes(scenario)}
            sc = scenario.with_changes(changes) if changes else scenario
            if sc.fingerprint() in seen:
                continue
            seen.add(sc.fingerprint())
            out.append(Candidate(f"{st.label()} + {di.label()}", st, di, sc, changes))
        return out


# ---- the procedure ----------------------------------------------------------------------


def _widths(y: np.ndarray, t: float) -> np.ndarray:
    """Wij = t · sd(Yi − Yj) / √n for every pair (paired: common random numbers)."""
    n = y.shape[1]
    diff = y[:, None, :] - y[None, :, :]
    return t * diff.std(axis=2, ddof=1) / math.sqrt(n)


def screen(y: np.ndarray, alpha: float, method: str = "bonferroni") -> np.ndarray:
    """Boolean mask of the candidates (rows of ``y``, runs paired by column) that are not
    significantly worse than any other: Ȳi ≥ Ȳj − Wij for all j, at joint level ``alpha``
    (one-sided t corrected over k − 1 comparisons)."""
    k, n = y.shape
    if k == 1:
        return np.ones(1, dtype=bool)
    if n < 2:
        raise ValueError("screening needs at least 2 replications")
    w = _widths(y, corrected_t_quantile(alpha, k - 1, n - 1, method))
    m = y.mean(axis=1)
    ok = m[:, None] >= m[None, :] - w
    return ok.all(axis=1)


def mcb_intervals(
    y: np.ndarray, alpha: float, method: str = "bonferroni"
) -> tuple[np.ndarray, np.ndarray]:
    """Hsu's constrained MCB intervals for μi − max_{j≠i} μj, with paired pairwise widths
    and a multiplicity-corrected one-sided t: (low, high) per row of ``y``."""
    k, n = y.shape
    if k == 1:
        return np.zeros(1), np.zeros(1)
    w = _widths(y, corrected_t_quantile(alpha, k - 1, n - 1, method))
    m = y.mean(axis=1)
    d = m[:, None] - m[None, :]
    np.fill_diagonal(w, np.inf)
    low = np.minimum(0.0, np.min(np.where(np.isinf(w), np.inf, d - w), axis=1))
    high = np.maximum(0.0, np.min(np.where(np.isinf(w), np.inf, d + w), axis=1))
    return low, high


def not_worse_than_best(y: np.ndarray, alpha: float, method: str = "bonferroni") -> np.ndarray:
    """Hsu's MCB subset: row i may be the best when its *unconstrained* upper bound
    minj(Ȳi − Ȳj + Wij) is positive (the constrained interval clips that bound at 0,
    so testing the clipped one would keep every row)."""
    k, n = y.shape
    if k == 1:
        return np.ones(1, dtype=bool)
    w = _widths(y, corrected_t_quantile(alpha, k - 1, n - 1, method))
    m = y.mean(axis=1)
    d = m[:, None] - m[None, :]
    np.fill_diagonal(w, np.inf)
    upper = np.min(np.where(np.isinf(w), np.inf, d + w), axis=1)
    return upper > 0


def sample_size(y: np.ndarray, alpha: float, delta: float, method: str = "bonferroni") -> int:
    """Runs per candidate so that a best ``delta`` ahead of the rest is chosen with
    probability ≥ 1 − alpha (Nelson & Matejcik 1995, procedure B): max over pairs of
    ⌈(t · Sij / δ)²⌉, never below the runs already made."""
    k, n = y.shape
    if k == 1:
        return n
    t = corrected_t_quantile(alpha, k - 1, n - 1, method)
    s = (y[:, None, :] - y[None, :, :]).std(axis=2, ddof=1)
    return max(n, int(np.ceil(np.max((t * s / delta) ** 2))))


@dataclass
class NetOptResult:
    """The optimiser's answer; every table is a method call."""

    scenario: Scenario
    """The scenario as given (as evaluated: any horizon change applied)."""
    candidates: list[Candidate]
    best: Candidate
    not_worse: frozenset[str]
    """Names of the candidates not significantly worse than the best (the best included)."""
    holds: bool
    """The choice holds on the fresh hold-out runs (the rule in the module docstring)."""
    settings: dict[str, Any]
    _ranking: pd.DataFrame
    _holdout: pd.DataFrame
    source: Path | None = None
    """The scenario file, for the chosen scenario's ``extends:``."""

    def ranking(self) -> pd.DataFrame:
        """One row per candidate, best first: rank, candidate, staffing, discount, stage
        (survived / screened out), n, net with its 95 % interval, agent and discount cost,
        service level, the paired difference to the best, the MCB interval and not_worse."""
        return self._ranking.copy()

    def holdout(self) -> pd.DataFrame:
        """The fresh-seed check: per comparison the search's and the hold-out's paired net
        difference with 95 % intervals and whether it holds."""
        return self._holdout.copy()

    def to_scenario(self) -> Scenario:
        """The chosen plan as a scenario: the input with the best candidate's changes,
        named ``<input>-optimised``."""
        return self.best.scenario.with_changes(name=f"{self.scenario.name}-optimised")

    def scenario_changes(self) -> dict[str, Any]:
        """What the chosen scenario changes against the input, as nested plain data that
        ``extends:`` lays over the input file (mappings merge, anything else replaces)."""
        return _diff(self.scenario.to_dict(), self.to_scenario().to_dict()) or {}

    def summary(self) -> dict[str, Any]:
        """Flat key figures for run.json and the faces."""
        row = self._ranking.set_index("candidate").loc[self.best.name]
        return {
            "scenario": self.scenario.name,
            "best": self.best.name,
            "best_net": float(row["net"]),
            "best_net_low": float(row["net_low"]),
            "best_net_high": float(row["net_high"]),
            "not_worse": sorted(self.not_worse),
            "holds": self.holds,
            **self.settings,
        }

    def report(self) -> str:
        """A short self-contained Markdown report: the choice, the ranking, the check."""
        s = self.summary()
        lines = [
            f"# Which plan earns most: {self.scenario.name}",
            "",
            f"**Chosen plan:** {self.best.name}. Mean net value {_money(s['best_net'])} "
            f"(95 % interval {_money(s['best_net_low'])} to {_money(s['best_net_high'])}) "
            f"over {s['search_replications']} runs of {self.scenario.calendar.months} "
            "month(s).",
            "",
            f"**Not significantly worse than the best** ({len(self.not_worse)} of "
            f"{len(self.candidates)}): " + "; ".join(sorted(self.not_worse)) + ".",
            "",
            f"**On fresh seeds** (replications {s['holdout_first']} to "
            f"{s['holdout_first'] + s['holdout_replications'] - 1}, never used by the "
            f"search) the choice {'HOLDS' if self.holds else 'DOES NOT HOLD'}.",
            "",
            "Procedure: screening with paired differences and Bonferroni-corrected t "
            "quantiles (Nelson, Swann, Goldsman & Song 2001), more runs for the survivors "
            f"up to the indifference zone δ = {_money(s['delta'])} (Nelson & Matejcik 1995, "
            "procedure B), multiple comparisons with the best (Hsu 1984); joint error rate "
            f"α = {s['alpha']:g}, common random numbers throughout.",
            "",
            "## Ranking",
            "",
            _markdown(
                self._ranking[
                    [
                        "rank",
                        "candidate",
                        "stage",
                        "n",
                        "net",
                        "net_low",
                        "net_high",
                        "diff_best",
                        "mcb_low",
                        "mcb_high",
                        "not_worse",
                    ]
                ]
            ),
            "",
            "## Hold-out check",
            "",
            _markdown(self._holdout),
            "",
        ]
        return "\n".join(lines)

    def write(self, out_dir: str | Path, scenario_file: str | Path | None = None) -> Path:
        """Write ``ranking.csv``, ``holdout.csv``, ``scenario.yaml`` (the chosen plan: it
        ``extends:`` the input file by relative path with only the changes, or is the
        whole scenario when there is no input file), ``report.md`` and ``run.json``,
        atomically."""
        target = Path(os.path.abspath(out_dir))
        source = Path(scenario_file) if scenario_file is not None else self.source
        with atomic_dir(target) as tmp:
            self._ranking.to_csv(tmp / "ranking.csv", index=False)
            self._holdout.to_csv(tmp / "holdout.csv", index=False)
            (tmp / "scenario.yaml").write_text(self.scenario_yaml(source, target), "utf-8")
            (tmp / "report.md").write_text(self.report(), encoding="utf-8")
            meta = {"version": __version__, **self.summary()}
            (tmp / "run.json").write_text(json.dumps(meta, indent=2, default=str), "utf-8")
        return target

    def scenario_yaml(self, source: Path | None, folder: Path) -> str:
        """The chosen scenario's file text for ``folder``: ``extends:`` ``source`` plus the
        changes, or the whole scenario without a source."""
        if source is None:
            return self.to_scenario().to_yaml()
        rel = os.path.relpath(os.path.abspath(source), folder)
        head = (
            f"# billsim optimise: the chosen plan ({self.best.name}),\n"
            f"# evaluated on {self.scenario.calendar.months} month(s); only its changes.\n"
        )
        changes = self.scenario_changes()
        if _merge(self.scenario.to_dict(), changes) != self.to_scenario().to_dict():
            # extends: merges mappings key by key and cannot remove a key (e.g. a policy
            # parameter the chosen policy does not take): write the whole scenario
            note = (
                f"# billsim optimise: the chosen plan ({self.best.name}), written whole: its\n"
                f"# changes remove fields, which extends: {rel} cannot express.\n"
            )
            return note + self.to_scenario().to_yaml()
        body = {"extends": rel, **changes}
        return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _diff(base: Any, new: Any) -> Any:
    """The part of ``new`` that differs from ``base``; mappings recurse (a key missing
    from ``new`` cannot be expressed by a merge, so the whole mapping is given then)."""
    if isinstance(base, dict) and isinstance(new, dict):
        if any(k not in new for k in base):
            return new
        out = {}
        for k, v in new.items():
            if k not in base:
                out[k] = v
            elif base[k] != v:
                out[k] = _diff(base[k], v)
        return out
    return new


def _merge(base: Any, changes: Any) -> Any:
    """What ``extends:`` makes of ``changes`` over ``base`` (sim.scenario.loading): mappings
    merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(changes, dict):
        return {**base, **{k: _merge(base[k], v) if k in base else v for k, v in changes.items()}}
    return changes


def _money(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "n/a"


def _markdown(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return _money(v) if abs(v) >= 100 else f"{v:.3g}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _staged(progress: ProgressFn | None, lo: float, hi: float, stage: str) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * f, f"{stage}: {msg}")


def optimise_net(
    scenario: Scenario,
    space: SearchSpace | Mapping[str, Any] | None = None,
    *,
    replications: int = 5,
    holdout: int | None = None,
    alpha: float = 0.05,
    delta: float | None = None,
    max_replications: int | None = None,
    correction: str = "bonferroni",
    executor: Any = "process",
    workers: int | None = None,
    progress: ProgressFn | None = None,
    source: str | Path | None = None,
) -> NetOptResult:
    """Choose staffing and discounts jointly to maximise expected net value.

    ``replications`` first-stage runs per candidate (n0 ≥ 2); ``holdout`` fresh runs for
    the check (≥ 2; default: the N runs per survivor the search made, so the check has
    the search's power -- a handful of fresh runs would fail a real but small gain);
    joint error rate ``alpha``; indifference zone ``delta`` in money (default 0.1 % of
    the scenario's mean |net| in the first stage); at most ``max_replications`` runs per
    candidate in the search (default 4 × n0). See the module docstring for the procedure
    and the rule of "holds".
    """
    if replications < 2:
        raise ValueError(f"replications must be >= 2 (got {replications})")
    if holdout is not None and holdout < 2:
        raise ValueError(f"holdout must be >= 2 (got {holdout})")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1) (got {alpha})")
    if delta is not None and not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a positive amount (got {delta})")
    if correction not in MULTIPLICITY:
        raise ValueError(f"unknown correction '{correction}' (valid: {', '.join(MULTIPLICITY)})")
    cap = max_replications if max_replications is not None else 4 * replications
    if cap < replications:
        raise ValueError(f"max_replications must be >= replications ({cap} < {replications})")
    if space is None:
        space = SearchSpace.default(scenario)
    elif isinstance(space, Mapping):
        space = SearchSpace.from_dict(space)
    started = time.perf_counter()
    cands = space.candidates(scenario)
    by_name = {c.name: c for c in cands}
    run = dict(executor=executor, workers=workers, tables=(), raise_on_failure=True)

    def variants(names: Sequence[str]) -> list[Variant]:
        return [Variant(n, by_name[n].scenario) for n in names]

    names = [c.name for c in cands]
    stage1 = run_experiment(
        variants(names), replications, progress=_staged(progress, 0, 0.6, "screen"), **run
    )
    y1 = _net_of(stage1.kpis(), names, replications)
    half = alpha / 2
    survived = screen(y1, half, correction)
    alive = [n for n, s in zip(names, survived, strict=True) if s]
    if delta is None:
        scale = abs(float(np.mean(y1[0])))
        delta = 0.001 * scale if scale > 0 else 1.0
    n_total = replications
    runs = dict(stage1.runs)
    if len(alive) > 1:
        n_total = min(cap, sample_size(y1[survived], half, delta, correction))
        if n_total > replications:
            stage2 = run_experiment(
                variants(alive),
                n_total - replications,
                first_replication=replications,
                progress=_staged(progress, 0.6, 0.8, "allocate"),
                **run,
            )
            runs.update(stage2.runs)
    needed = sample_size(y1[survived], half, delta, correction) if len(alive) > 1 else 0
    search = ExperimentResult(variants(names), n_total, runs)
    wide = search.kpis()
    y_alive = _net_of(wide, alive, n_total)
    low, high = mcb_intervals(y_alive, half, correction)
    means = y_alive.mean(axis=1)
    best_i = int(np.argmax(means))
    best = alive[best_i]
    mask = not_worse_than_best(y_alive, half, correction)
    # the best itself is always in the set (its upper bound is > 0 unless tied exactly)
    not_worse = frozenset(n for n, k in zip(alive, mask, strict=True) if k) | {best}
    mcb = {n: (lo, hi) for n, lo, hi in zip(alive, low, high, strict=True)}

    order = sorted(alive, key=lambda n: -float(means[alive.index(n)]))
    runner_up = order[1] if len(order) > 1 else _runner_up(y1, names, best)
    ranking = _ranking(wide, cands, alive, best, not_worse, mcb)

    holdout = n_total if holdout is None else holdout
    check = [best] + [n for n in (runner_up, AS_GIVEN) if n is not None and n != best]
    fresh = run_experiment(
        variants(check),
        holdout,
        first_replication=n_total,
        progress=_staged(progress, 0.8, 1.0, "hold-out"),
        **run,
    )
    table, holds = _holdout_table(wide, fresh.kpis(), best, runner_up)
    settings = {
        "alpha": alpha,
        "correction": correction,
        "delta": float(delta),
        "candidates": len(cands),
        "survivors": len(alive),
        "first_stage_replications": replications,
        "search_replications": n_total,
        "replications_needed": int(max(needed, replications)),
        "guarantee": bool(needed <= n_total),
        "holdout_first": n_total,
        "holdout_replications": holdout,
        "search_seeds": [replication_seed(scenario.seed, r) for r in range(n_total)],
        "holdout_seeds": [
            replication_seed(scenario.seed, r) for r in range(n_total, n_total + holdout)
        ],
        "runs": len(runs) + len(fresh.runs),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
    if progress is not None:
        progress(1.0, f"chose {best}")
    return NetOptResult(
        scenario=scenario,
        candidates=cands,
        best=by_name[best],
        not_worse=not_worse,
        holds=holds,
        settings=settings,
        _ranking=ranking,
        _holdout=table,
        source=Path(source) if source is not None else None,
    )


def _net_of(wide: pd.DataFrame, names: Sequence[str], n: int) -> np.ndarray:
    """(candidates, replications) net values of replications < n, in index order."""
    sub = wide[wide["replication"] < n]
    table = sub.pivot(index="variant", columns="replication", values=KPI)
    return table.loc[list(names)].to_numpy(dtype=float)


def _runner_up(y1: np.ndarray, names: Sequence[str], best: str) -> str | None:
    """The highest first-stage mean other than the best (when only the best survived)."""
    others = [(float(y1[i].mean()), n) for i, n in enumerate(names) if n != best]
    return max(others)[1] if others else None


def _ranking(
    wide: pd.DataFrame,
    cands: Sequence[Candidate],
    alive: Sequence[str],
    best: str,
    not_worse: frozenset[str],
    mcb: Mapping[str, tuple[float, float]],
) -> pd.DataFrame:
    by_var = {str(v): g.set_index("replication") for v, g in wide.groupby("variant", sort=False)}
    ref = by_var[best][KPI]
    rows = []
    for c in cands:
        g = by_var[c.name]
        n, mean, _sd, lo, hi = t_interval(g[KPI].to_numpy())
        common = g.index.intersection(ref.index)
        diff = (g.loc[common, KPI] - ref.loc[common]).to_numpy()
        _, d_mean, _, d_lo, d_hi = t_interval(diff) if c.name != best else (0, 0.0, 0, 0.0, 0.0)
        lo_mcb, hi_mcb = mcb.get(c.name, (np.nan, np.nan))
        rows.append(
            {
                "candidate": c.name,
                "staffing": c.staffing.label(),
                "discount": c.discount.label(),
                "stage": "survived" if c.name in alive else "screened out",
                "n": n,
                "net": mean,
                "net_low": lo,
                "net_high": hi,
                "agent_cost": float(g["agent_cost"].mean()) if "agent_cost" in g else np.nan,
                "discount_cost": (
                    float(g["discount_cost"].mean()) if "discount_cost" in g else np.nan
                ),
                "service_level": (
                    float(g["service_level"].mean()) if "service_level" in g else np.nan
                ),
                "diff_best": d_mean,
                "diff_best_low": d_lo,
                "diff_best_high": d_hi,
                "mcb_low": lo_mcb,
                "mcb_high": hi_mcb,
                "not_worse": c.name in not_worse,
                "best": c.name == best,
            }
        )
    out = pd.DataFrame(rows)
    out["_alive"] = out["stage"] == "survived"
    out = out.sort_values(["_alive", "net"], ascending=[False, False], kind="stable")
    out = out.drop(columns="_alive").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _holdout_table(
    search: pd.DataFrame, fresh: pd.DataFrame, best: str, runner_up: str | None
) -> tuple[pd.DataFrame, bool]:
    """Per comparison, the search's and the hold-out's paired net difference, and the rule."""
    rows = []
    holds = True
    pairs = []
    if best != AS_GIVEN:
        pairs.append(("best vs as given", best, AS_GIVEN))
    if runner_up is not None:
        pairs.append(("runner-up vs best", runner_up, best))
    cols = ["variant", "replication", "seed", KPI]
    for label, variant, base in pairs:
        s = paired_differences(search[cols], base, [variant]).iloc[0]
        f = paired_differences(fresh[cols], base, [variant]).iloc[0]
        if label == "best vs as given":
            same_sign = np.sign(f["mean_diff"]) == np.sign(s["mean_diff"])
            ok = bool(same_sign and (not s["significant"] or f["significant"]))
            rule = "same sign" + (", still significant" if s["significant"] else "")
        else:
            ok = not bool(f["ci_low"] > 0)
            rule = "runner-up not significantly better"
        holds = holds and ok
        rows.append(
            {
                "comparison": label,
                "candidate": variant,
                "against": base,
                "search_n": int(s["n"]),
                "search_diff": float(s["mean_diff"]),
                "search_low": float(s["ci_low"]),
                "search_high": float(s["ci_high"]),
                "holdout_n": int(f["n"]),
                "holdout_diff": float(f["mean_diff"]),
                "holdout_low": float(f["ci_low"]),
                "holdout_high": float(f["ci_high"]),
                "rule": rule,
                "holds": ok,
            }
        )
    return pd.DataFrame(rows), holds
