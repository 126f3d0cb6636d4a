"""The runs of an experiment as tidy tables: summary, paired differences, kept tables.

Every experiment-level table is reached by a method (``summary()``, ``paired()``,
``kpis()``, ``table(name)``), the same convention as ``Results``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.files import atomic_dir
from sim.core.version import __version__
from sim.experiments.jobs import TABLES, JobFailure, RunSummary, Variant
from sim.experiments.retention import retention_table
from sim.experiments.statistics import KEYS, paired_differences, summarise_kpis
from sim.scenario import Scenario


@dataclass
class ExperimentResult:
    """Runs of an experiment, as tidy tables (every table is a method call).

    Fields: ``variants`` (in the order given), ``replications`` (asked for),
    ``runs`` ((variant, replication) → ``RunSummary``), ``failures`` (``JobFailure``s,
    their replications missing from the tables), ``experiment_id`` (the results store's
    key), ``name``, ``baseline`` (variant the paired differences use by default),
    ``resumed`` (runs read back from the store instead of simulated).

    Tables: ``kpis()`` (wide, one row per run), ``summary(level)`` (mean, sd, CI per
    variant and KPI), ``paired(baseline, level)`` (variant − baseline by replication),
    ``table(name)`` (a kept per-run table of every run, with variant, replication, seed).
    """

    variants: list[Variant]
    replications: int
    runs: dict[tuple[str, int], RunSummary]
    failures: list[JobFailure] = field(default_factory=list)
    experiment_id: str = ""
    name: str = ""
    baseline: str | None = None
    resumed: int = 0
    """Runs taken from the results store instead of being simulated again."""
    first_replication: int = 0
    """Index of the first replication (later stages of a study continue the seeds)."""
    _memo: dict[Any, tuple[Any, pd.DataFrame]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Tables already built, see ``_cached``."""

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memo": {}}  # a pickle carries the runs, not the memo

    def _cached(self, key: Any, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A table built once per result, handed out as a copy (a caller may change
        it). Why: the app draws the comparison of the kept strategies at every click,
        and its verdict, ranking, table and frontier each asked for the same paired
        differences and summaries again (~1 s a click with six strategies). The runs
        are not changed after the experiment (``dataclasses.replace`` makes a new
        result); a change of the runs, variants or baseline still builds anew."""
        stamp = (id(self.runs), len(self.runs), tuple(self.variant_names), self.baseline)
        hit = self._memo.get(key)
        if hit is None or hit[0] != stamp:
            hit = (stamp, build())
            self._memo[key] = hit
        return hit[1].copy()

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def _ordered(self) -> list[RunSummary]:
        order = {n: i for i, n in enumerate(self.variant_names)}
        return sorted(self.runs.values(), key=lambda r: (order.get(r.variant, 0), r.replication))

    def table(self, name: str) -> pd.DataFrame:
        """One per-run table of every run, with leading columns variant, replication, seed.

        ``kpis`` is long: one row per (run, kpi) with columns kpi and value.
        """
        return self._cached(("table", name), lambda: self._table(name))

    def _table(self, name: str) -> pd.DataFrame:
        frames = []
        for r in self._ordered():
            if name == "kpis":
                df = pd.DataFrame({"kpi": list(r.kpis), "value": list(r.kpis.values())})
            elif name in r.tables:
                df = r.tables[name].copy()
            else:
                continue
            df.insert(0, "seed", r.seed)
            df.insert(0, "replication", r.replication)
            df.insert(0, "variant", r.variant)
            frames.append(df)
        if not frames:
            if name not in (*TABLES, "kpis"):
                raise ValueError(f"unknown table '{name}' (valid: kpis, {', '.join(TABLES)})")
            return pd.DataFrame(columns=list(KEYS))
        out = pd.concat(frames, ignore_index=True)
        out["variant"] = pd.Categorical(out["variant"], self.variant_names)
        return out

    def kpis(self) -> pd.DataFrame:
        """Wide: one row per run, one column per KPI."""
        return self._cached("kpis", self._kpis)

    def _kpis(self) -> pd.DataFrame:
        rows = [
            {"variant": r.variant, "replication": r.replication, "seed": r.seed, **r.kpis}
            for r in self._ordered()
        ]
        return pd.DataFrame(rows)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per variant and KPI: n, mean, sd and the confidence interval over replications."""
        return self._cached(("summary", level), lambda: summarise_kpis(self.table("kpis"), level))

    def paired(self, baseline: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Variant − baseline per KPI, paired by replication (common random numbers)."""
        base = baseline or self.baseline or self.variant_names[0]
        if base not in self.variant_names:
            raise ValueError(
                f"baseline '{base}' is not a variant (variants: {', '.join(self.variant_names)})"
            )
        return self._cached(
            ("paired", base, level),
            lambda: paired_differences(self.kpis(), base, self.variant_names, level),
        )

    def retention(self) -> pd.DataFrame | None:
        """Per-segment paired retention against the baseline (``retention_table``); None
        with one variant or when the runs did not keep their ``segments`` table."""
        if len(self.variants) < 2:
            return None
        segments = self.table("segments")
        if len(segments.columns) <= len(KEYS) or segments.empty:
            return None
        return retention_table(segments, baseline=self.baseline or self.variant_names[0])

    def metadata(self) -> dict[str, Any]:
        """What produced these results: experiment id, seeds per run, versions."""
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "replications": self.replications,
            "baseline": self.baseline,
            "variants": [
                {
                    "name": v.name,
                    "fingerprint": v.scenario.fingerprint(),
                    "scenario_seed": v.scenario.seed,
                    "options": {k: repr(o) for k, o in v.options.items()},
                    "seeds": [
                        self.runs[(v.name, r)].seed
                        for r in range(
                            self.first_replication, self.first_replication + self.replications
                        )
                        if (v.name, r) in self.runs
                    ],
                }
                for v in self.variants
            ],
            "failures": [str(f) for f in self.failures],
            "versions": versions(),
        }

    def write(self, out_dir: str | Path, formats: Sequence[str] = ("csv", "parquet")) -> Path:
        """Write the tables, summaries, resolved scenarios and versions, atomically.

        Layout: ``summary``, ``kpis`` (one row per run), ``paired`` and ``retention``
        (per segment, against the baseline; with two or more variants) and every kept
        per-run table, each as CSV and/or Parquet;
        ``scenarios/<n>-<variant>.yaml``; ``experiment.json``.
        """
        tables: dict[str, pd.DataFrame] = {"summary": self.summary(), "kpis": self.kpis()}
        if len(self.variants) > 1:
            tables["paired"] = self.paired()
        for name in TABLES:
            df = self.table(name)
            if len(df.columns) > len(KEYS):
                tables[name] = df
        retention = self.retention() if "segments" in tables else None
        if retention is not None:
            tables["retention"] = retention
        with atomic_dir(out_dir) as tmp:
            for name, df in tables.items():
                if "csv" in formats:
                    df.to_csv(tmp / f"{name}.csv", index=False)
                if "parquet" in formats:
                    df.to_parquet(tmp / f"{name}.parquet", index=False)
            folder = tmp / "scenarios"
            folder.mkdir()
            for i, v in enumerate(self.variants):
                (folder / f"{i:03d}-{_file_name(v.name)}.yaml").write_text(
                    v.scenario.to_yaml(), encoding="utf-8"
                )
            (tmp / "experiment.json").write_text(
                json.dumps(self.metadata(), indent=2), encoding="utf-8"
            )
        return Path(out_dir)

    def scenario(self, variant: str) -> Scenario:
        for v in self.variants:
            if v.name == variant:
                return v.scenario
        raise KeyError(variant)


def _file_name(text: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in text)
    return safe.strip("._")[:80] or "variant"


def versions() -> dict[str, str]:
    """Versions of the package, Python and the libraries that shape the numbers."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"billsim": __version__, "python": platform.python_version()}
    for lib in ("numpy", "simpy", "pandas", "scipy", "pydantic"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover
            out[lib] = "unknown"
    return out
