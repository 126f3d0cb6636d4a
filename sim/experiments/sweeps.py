"""Sweep files: a scenario, named variants and a grid of field values, validated up front."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.experiments.jobs import DEFAULT_TABLES, TABLES, Variant
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_yaml, read_text_file


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float = Field(alias="from")
    to: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ascending(self) -> _Range:
        if self.to < self.start:
            raise ValueError(f"'to' ({self.to:g}) is below 'from' ({self.start:g})")
        return self

    def values(self) -> list[float | int]:
        n = int(np.floor((self.to - self.start) / self.step + 1e-9)) + 1
        vals = [self.start + i * self.step for i in range(max(n, 0))]
        if all(float(x).is_integer() for x in (self.start, self.step)):
            return [round(x) for x in vals]
        return [round(x, 12) for x in vals]


class _NamedVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    changes: dict[str, Any] = Field(default_factory=dict)


class SweepSpec(BaseModel):
    """A sweep file: a scenario, named variants and/or a grid of parameter values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: str = Field(min_length=1)
    """Scenario file, relative to the sweep file."""
    name: str | None = None
    replications: int = Field(5, ge=1, le=10_000)
    seed: int | None = Field(None, ge=0)
    baseline: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    """Changes applied to the scenario before anything else."""
    variants: list[_NamedVariant] = Field(default_factory=list)
    grid: dict[str, list[Any] | _Range] = Field(default_factory=dict)
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))

    @field_validator("grid")
    @classmethod
    def _grid_not_empty(cls, grid: dict[str, Any]) -> dict[str, Any]:
        for path, values in grid.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"'{path}' has no values")
        return grid

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


def sweep_variants(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    named: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> list[Variant]:
    """Variants for every named variant (or the base) × every point of the grid.

    A point's name lists its values, e.g. ``agents=25, discount.name=flat``; every
    variant is validated as a scenario, and an invalid one is an error naming it.
    """
    starts = list(named) or [("", {})]
    keys = list(grid)
    points = list(itertools.product(*(grid[k] for k in keys))) if keys else [()]
    variants = []
    for vname, vchanges in starts:
        for point in points:
            parts = [f"{_short(k)}={_value_text(v)}" for k, v in zip(keys, point, strict=True)]
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
    source = p.name
    data = parse_yaml(read_text_file(p), source)
    if not isinstance(data, dict):
        raise ScenarioError(["must be a mapping with at least 'scenario'"], source)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
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
    grid = {k: (v.values() if isinstance(v, _Range) else v) for k, v in spec.grid.items()}
    for key, values in grid.items():  # name the grid entry when a path or value is wrong
        try:
            base.with_changes({key: values[0]})
        except ScenarioError as exc:
            raise ScenarioError([f"grid: {p}" for p in exc.problems], source) from None
    try:
        variants = sweep_variants(base, grid, [(v.name, v.changes) for v in spec.variants])
    except ScenarioError as exc:
        raise ScenarioError([f"{exc.source}: {'; '.join(exc.problems)}"], source) from None
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ScenarioError(["variants: names must be unique"], source)
    if spec.baseline is not None and spec.baseline not in names:
        raise ScenarioError(
            [f"baseline: '{spec.baseline}' is not one of the variants ({', '.join(names)})"],
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
