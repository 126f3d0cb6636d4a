"""Sweep files: a scenario, named variants and a grid of field values, validated up front.

Sizes are checked before anything is built: a grid entry holds at most MAX_GRID_VALUES
values (a from/to/step range is counted, not expanded), a sweep at most MAX_VARIANTS
variants and MAX_REPLICATIONS replications (``sim.scenario.limits``). A grid entry may
name its values (``{values: {today: 4, more: 8}}``), which then name the variants.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.experiments.jobs import DEFAULT_TABLES, TABLES, Variant
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_yaml, read_text_file
from sim.scenario.limits import (
    MAX_GRID_VALUES,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_VARIANTS,
    excerpt,
)
from sim.scenario.schema import non_finite_paths


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    start: float = Field(alias="from")
    to: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ascending(self) -> _Range:
        if self.to < self.start:
            raise ValueError(f"'to' ({self.to:g}) is below 'from' ({self.start:g})")
        n = (self.to - self.start) / self.step + 1
        if not np.isfinite(n) or n > MAX_GRID_VALUES:
            raise ValueError(
                f"from {self.start:g} to {self.to:g} in steps of {self.step:g} gives "
                f"{n:,.0f} values, more than the limit of {MAX_GRID_VALUES:,}"
            )
        return self

    def values(self) -> list[float | int]:
        n = int(np.floor((self.to - self.start) / self.step + 1e-9)) + 1
        vals = [self.start + i * self.step for i in range(max(n, 0))]
        if all(float(x).is_integer() for x in (self.start, self.step)):
            return [round(x) for x in vals]
        return [round(x, 12) for x in vals]


class _Labelled(BaseModel):
    """Grid values with names: ``{values: {today: 4, more: 8}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    values: dict[str, Any] = Field(min_length=1, max_length=MAX_GRID_VALUES)


class _NamedVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    changes: dict[str, Any] = Field(default_factory=dict)


def _grid_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict) and "values" in value:
        return "labelled"
    return "range"


_GridEntry = Annotated[
    Annotated[list[Any], Tag("list")]
    | Annotated[_Range, Tag("range")]
    | Annotated[_Labelled, Tag("labelled")],
    Discriminator(_grid_kind),
]


class SweepSpec(BaseModel):
    """A sweep file: a scenario, named variants and/or a grid of parameter values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field(min_length=1)
    """Scenario file, relative to the sweep file."""
    name: str | None = None
    replications: int = Field(5, ge=1, le=MAX_REPLICATIONS)
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    baseline: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    """Changes applied to the scenario before anything else."""
    variants: list[_NamedVariant] = Field(default_factory=list, max_length=MAX_VARIANTS)
    grid: dict[str, _GridEntry] = Field(default_factory=dict)
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))

    @field_validator("grid")
    @classmethod
    def _grid_not_empty(cls, grid: dict[str, Any]) -> dict[str, Any]:
        for path, values in grid.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"'{path}' has no values")
            if isinstance(values, list) and len(values) > MAX_GRID_VALUES:
                raise ValueError(
                    f"'{path}' has {len(values):,} values, more than {MAX_GRID_VALUES:,}"
                )
        return grid

    @model_validator(mode="after")
    def _bounded(self) -> SweepSpec:
        n = max(1, len(self.variants))
        for values in self.grid.values():
            if isinstance(values, _Range):
                n *= int(np.floor((values.to - values.start) / values.step + 1e-9)) + 1
            elif isinstance(values, _Labelled):
                n *= len(values.values)
            else:
                n *= len(values)
            if n > MAX_VARIANTS:
                raise ValueError(
                    f"the sweep makes more than {MAX_VARIANTS:,} variants (grid points × "
                    "named variants); split it or use fewer values"
                )
        return self

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables: list[str]) -> list[str]:
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise ValueError(f"unknown tables {unknown} (valid: {', '.join(TABLES)})")
        return tables


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the variants to run and how."""

    name: str
    variants: list[Variant]
    replications: int
    baseline: str | None
    tables: tuple[str, ...]
    base: Scenario


def _short(path: str) -> str:
    """'contact_center.groups[0].shifts[1].agents' -> 'shifts[1].agents'."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else path


def _value_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def name_list(names: Sequence[str], limit: int = 8) -> str:
    """Names for an error message, each quoted (a name may hold a comma), at most
    ``limit`` of them."""
    shown = ", ".join(repr(excerpt(n, 40)) if len(n) > 40 else repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def sweep_variants(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    named: Sequence[tuple[str, Mapping[str, Any]]] = (),
    labels: Mapping[str, Sequence[str]] | None = None,
) -> list[Variant]:
    """Variants for every named variant (or the base) × every point of the grid.

    A point's name lists its values, e.g. ``agents=25, discount.name=flat`` (or their
    ``labels`` where a grid entry names them); every variant is validated as a scenario,
    and an invalid one is an error naming it.
    """
    starts = list(named) or [("", {})]
    keys = list(grid)
    labels = labels or {}
    size = max(1, len(starts))
    for k in keys:
        size *= len(grid[k])
    if size > MAX_VARIANTS:
        raise ScenarioError([f"{size:,} variants, more than the limit of {MAX_VARIANTS:,}"])
    texts = {k: list(labels[k]) if k in labels else [_value_text(v) for v in grid[k]] for k in keys}
    indices = list(itertools.product(*(range(len(grid[k])) for k in keys))) if keys else [()]
    variants = []
    for vname, vchanges in starts:
        for idx in indices:
            point = tuple(grid[k][i] for k, i in zip(keys, idx, strict=True))
            parts = [f"{_short(k)}={texts[k][i]}" for k, i in zip(keys, idx, strict=True)]
            name = ", ".join(([vname] if vname else []) + parts) or base.name
            changes = {**vchanges, **dict(zip(keys, point, strict=True))}
            try:
                sc = base.with_changes(changes)
            except ScenarioError as exc:
                raise ScenarioError(exc.problems, f"variant '{name}'") from None
            variants.append(Variant(name, sc))
    return variants


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; errors name the file, the field and the reason."""
    p = Path(path)
    source = str(p.absolute())
    data = parse_yaml(read_text_file(p), source)
    if not isinstance(data, dict):
        raise ScenarioError(["must be a mapping with at least 'scenario'"], source)
    bad = non_finite_paths(data)
    if bad:
        raise ScenarioError([f"{b}: must be a finite number (got NaN or inf)" for b in bad], source)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            parts = [x for x in err["loc"] if x not in ("list", "range", "labelled")]
            loc = ".".join(str(x) for x in parts) or "(top level)"
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] not in ("extra_forbidden", "missing", "value_error"):
                msg += f" (got {excerpt(err.get('input'))})"
            problems.append(f"{loc}: {msg}")
        raise ScenarioError(problems, source) from None
    scenario_path = (p.parent / spec.scenario).resolve()
    try:
        base = load_scenario(scenario_path)
        changes = dict(spec.changes)
        if spec.seed is not None:
            changes["seed"] = spec.seed
        if changes:
            base = base.with_changes(changes)
    except ScenarioError as exc:
        raise ScenarioError([f"scenario: {'; '.join(exc.problems)}"], source) from None
    grid: dict[str, list[Any]] = {}
    labels: dict[str, list[str]] = {}
    for k, v in spec.grid.items():
        if isinstance(v, _Range):
            grid[k] = v.values()
        elif isinstance(v, _Labelled):
            grid[k], labels[k] = list(v.values.values()), list(v.values)
        else:
            grid[k] = v
    for key, values in grid.items():  # name the grid entry when a path or value is wrong
        try:
            base.with_changes({key: values[0]})
        except ScenarioError as exc:
            raise ScenarioError([f"grid: {p}" for p in exc.problems], source) from None
    try:
        variants = sweep_variants(base, grid, [(v.name, v.changes) for v in spec.variants], labels)
    except ScenarioError as exc:
        where = f"{exc.source}: " if exc.source else ""
        raise ScenarioError([f"{where}{'; '.join(exc.problems)}"], source) from None
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ScenarioError(["variants: names must be unique"], source)
    if spec.baseline is not None and spec.baseline not in names:
        raise ScenarioError(
            [f"baseline: {spec.baseline!r} is not one of the variants ({name_list(names)})"],
            source,
        )
    return Sweep(
        name=spec.name or p.stem,
        variants=variants,
        replications=spec.replications,
        baseline=spec.baseline,
        tables=tuple(spec.tables),
        base=base,
    )
