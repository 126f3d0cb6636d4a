"""The ``billsim`` command line: run, compare, sweep, staff, optimise, validate, list runs.

The CLI is a thin shell around the public API (``load_scenario``, ``simulate``,
``Results``): it parses arguments, reports problems and formats numbers, nothing more.

A problem with a file or an argument (missing file, invalid YAML or field, negative seed,
unknown format, unwritable output folder) is reported as one line
``billsim: error: <message>`` on stderr with exit code 2, like Typer's own usage errors.
Nothing is written before the simulation has succeeded, and ``Results.write`` moves the
finished folder into place at once.
"""

import datetime as dt
import functools
import os
import re
import signal
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from sim.calibrate import DataError, as_call_log, fit_logs
from sim.calibrate import backtest as run_backtest
from sim.calibrate.backtest import summary as backtest_summary
from sim.core.files import owned_problem
from sim.core.optional import require
from sim.core.progress import ProgressFn
from sim.core.version import __version__
from sim.experiments.executors import EXECUTORS
from sim.experiments.jobs import TABLES, RunSummary, Variant, experiment_id, run_tables
from sim.experiments.netopt import SearchSpace, optimise_net
from sim.experiments.optimise import optimise_staffing
from sim.experiments.pairing import comparability, with_common_seed
from sim.experiments.result import ExperimentResult
from sim.experiments.runner import StoreFailedWarning, run_experiment
from sim.experiments.store import Store, StoreError, default_path
from sim.experiments.sweeps import load_sweep
from sim.model.replication import simulate
from sim.presentation.formatting import MoneyFormat, format_diff, format_value
from sim.results.stream import StreamTargetError, check_stream_target
from sim.results.tables import KPI_DEFINITIONS, Results
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.limits import MAX_REPLICATIONS, MAX_SEED, WorkLimitError, check_work

PROG = "billsim"
PROGRESS_EVERY_S = 5.0
USAGE_ERROR = 2
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": ("csv",),
    "parquet": ("parquet",),
    "both": ("csv", "parquet"),
}

app = typer.Typer(
    name=PROG,
    help="Simulate a billing-support operation: bills, calls, churn and money.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: object) -> NoReturn:
    """Report a problem the user can fix (a file, an argument) and exit with code 2."""
    _report(message)
    raise typer.Exit(USAGE_ERROR)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: object) -> str:
    """Text safe for a terminal: control characters (escape sequences, bidi overrides)
    from names in scenario files are replaced, never printed raw."""
    return _CONTROL.sub("?", str(text))


def _warn(message: object) -> None:
    """Print ``billsim: warning: <message>`` as one line on stderr; the run goes on."""
    text = " ".join(clean(message).split())
    typer.echo(f"{PROG}: warning: {text}", err=True)


def _report(message: object) -> None:
    """Print ``billsim: error: <message>`` as exactly one line on stderr."""
    text = " ".join(clean(message).split())
    typer.echo(f"{PROG}: error: {text}", err=True)


def _os_reason(exc: OSError) -> str:
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Every expected failure of a command as one line and an exit code, never a
    traceback: file and field problems exit 2, store, OS and size problems 1, an
    interrupt (Ctrl-C or SIGTERM) 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
        try:
            command(*args, **kwargs)
        except (ScenarioError, WorkLimitError) as exc:
            _fail(exc)
        except StoreError as exc:
            _report(exc)
            raise typer.Exit(1) from None
        except sqlite3.Error as exc:
            _report(f"results store: {exc}")
            raise typer.Exit(1) from None
        except OSError as exc:
            _report(f"cannot complete: {_os_reason(exc)}")
            raise typer.Exit(1) from None
        except (OverflowError, MemoryError) as exc:
            _report(
                f"the run is too large for this machine ({type(exc).__name__}: "
                f"{str(exc)[:200]}); reduce accounts, months or replications"
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo(f"{PROG}: interrupted", err=True)
            raise typer.Exit(130) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _money(scenario: Scenario) -> MoneyFormat:
    """Money as the scenario writes it (symbol, separators), not always "EUR" in English."""
    return MoneyFormat.from_scenario(scenario)


# ---- formatting -------------------------------------------------------------------------


def kpi_rows(results: Results) -> list[tuple[str, str]]:
    """(label, formatted value) for every KPI, in the order ``Results.kpis`` gives them."""
    currency = _money(results.scenario)
    rows = []
    for key, value in results.kpis().items():
        kpi = KPI_DEFINITIONS.get(key)
        label, unit = (kpi.label, kpi.unit) if kpi else (key, "")
        rows.append((label, format_value(value, unit, currency)))
    return rows


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(scenario: Scenario) -> str:
    """'name, N accounts, M months' -- what ``validate`` prints for a good file."""
    return (
        f"{clean(scenario.name)}, {_plural(scenario.customers.accounts, 'account')}, "
        f"{_plural(scenario.calendar.months, 'month')}"
    )


def _stdout() -> Console:
    # created per call: sys.stdout may have been swapped (tests, redirection)
    return Console(markup=False, highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, markup=False, highlight=False)


# ---- checks before anything runs --------------------------------------------------------


def _parse_format(fmt: str) -> tuple[str, ...]:
    formats = FORMATS.get(fmt.strip().lower())
    if formats is None:
        _fail(f"unknown format {fmt!r} (use csv, parquet or both)")
    return formats


def _load(path: Path) -> Scenario:
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        _fail(exc)


def _check_out_dir(out: Path) -> Path:
    """An absolute output path that a write can replace; nothing is created.

    An existing non-empty folder is replaced only when it is billsim's own (its marker
    lists everything in it): see ``sim.core.files``.
    """
    target = Path(os.path.abspath(out))
    if len(str(target)) > 4000 or any(len(part) > 255 for part in target.parts):
        _fail(f"cannot write results to {str(target)[:80]}...: the path is too long")
    if not target.name:
        _fail(f"cannot write results to {out}: choose a folder below the file-system root")
    if target.is_symlink():
        _fail(f"cannot write results to {out}: it is a symbolic link")
    if target.exists():
        if not target.is_dir():
            _fail(f"cannot write results to {target}: it exists and is not a directory")
        # writing replaces the whole folder; only do that to billsim's own, unchanged
        problem = owned_problem(target)
        if problem:
            _fail(f"refusing to replace {target}: {problem}; choose a new or empty folder")
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        _fail(f"cannot write results to {out}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        _fail(f"cannot write results to {out}: permission denied in {ancestor}")
    try:  # a real trial (read-only mounts, /proc, ACLs): fail before simulating, not after
        os.rmdir(tempfile.mkdtemp(prefix=".billsim-check.", dir=ancestor))
    except OSError as exc:
        _fail(f"cannot write results to {out}: {exc.strerror or exc} in {ancestor}")
    return target


def _write(results: Results, target: Path, formats: tuple[str, ...]) -> Path:
    """``Results.write``, removing any parent folders it created if it fails."""
    created = []
    parent = target.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    try:
        return results.write(target, formats)
    except BaseException as exc:
        for d in created:  # deepest first
            with suppress(OSError):
                d.rmdir()
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(f"cannot write results to {target}: {reason}{where}")
        raise


# ---- progress ---------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool, title: str) -> Iterator[ProgressFn | None]:
    """A transient rich progress bar on stderr fed by simulate's callback, or nothing."""
    console = _stderr()
    if not enabled:
        yield None
        return
    if not console.is_terminal:  # a log file: one plain line every few seconds
        last = [0.0]

        def line(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1:
                last[0] = now
                typer.echo(f"{PROG}: {clean(title)}: {fraction:.0%} {clean(message)}", err=True)

        yield line
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(title, total=1.0, detail="")

        def update(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, detail=message)

        yield update


# ---- shared options -----------------------------------------------------------------------

StoreOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Results store (SQLite) that keeps every run; default $BILLSIM_STORE or "
        "~/.local/share/billsim/runs.sqlite.",
        show_default=False,
    ),
]
NoStoreOption = Annotated[
    bool, typer.Option("--no-store", help="Do not keep the runs in the results store.")
]
ReportOption = Annotated[
    bool,
    typer.Option("--report", help="Also write figures (PNG) and report.html to DIR/report."),
]
ReplicationsOption = Annotated[
    int | None,
    typer.Option(
        "--replications", "-r", metavar="N", help="Replications per variant.", show_default=False
    ),
]
ExecutorOption = Annotated[
    str,
    typer.Option(
        metavar="serial|process|dask",
        help="Where jobs run: in this process, a local process pool, or a Dask cluster.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Processes or local Dask workers (default: all cores).",
        show_default=False,
    ),
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="Scheduler of an existing Dask cluster, e.g. tcp://host:8786 (implies "
        "--executor dask); without it --executor dask starts a local cluster.",
        show_default=False,
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Folder for summary, per-run tables, resolved scenarios and experiment.json "
        "(replaced if it holds earlier results).",
        show_default=False,
    ),
]


def _open_store(path: Path | None, disabled: bool) -> Store | None:
    if disabled:
        if path is not None:
            _fail("--store and --no-store cannot be used together")
        return None
    try:
        return Store(path)
    except StoreError as exc:
        _fail(exc)


def _executor(executor: str, workers: int | None, dask: str | None) -> str:
    ex = executor.strip().lower()
    if dask is not None:
        if ex not in ("dask", "process"):
            _fail(f"--dask {dask} needs --executor dask (got {executor})")
        if not dask.startswith(("tcp://", "tls://", "inproc://", "ucx://")) and ":" not in dask:
            _fail(f"--dask: '{dask}' is not a scheduler address like tcp://host:8786")
        ex = "dask"
    if ex not in EXECUTORS:
        _fail(f"unknown executor '{executor}' (use {', '.join(EXECUTORS)})")
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1 (got {workers})")
    return ex


def _check_experiment_out(out: Path | None) -> Path | None:
    return None if out is None else _check_out_dir(out)


def _check_replications(n: int, least: int) -> None:
    if not least <= n <= MAX_REPLICATIONS:
        _fail(f"--replications must be {least}..{MAX_REPLICATIONS:,} (got {n})")


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
FormatOption = Annotated[
    str, typer.Option("--format", metavar="csv|parquet|both", help="Table format.")
]
AllowLargeOption = Annotated[
    bool,
    typer.Option(
        "--allow-large",
        help="Run even beyond the documented work limits (runs, accounts × months, calls, "
        "memory); without it such runs are refused before they start.",
    ),
]


def _run_experiment_cli(
    variants: list[Variant],
    replications: int,
    *,
    name: str,
    baseline: str | None,
    tables: tuple[str, ...],
    executor: str,
    workers: int | None,
    dask: str | None,
    db: Store | None,
    quiet: bool,
) -> tuple[ExperimentResult, list[str]]:
    """The experiment and any store failures (the results are complete without it)."""
    total = len(variants) * replications
    with (
        _progress(not quiet, f"{name}: {total} runs") as callback,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            result = run_experiment(
                variants,
                replications,
                executor=executor,
                workers=workers,
                dask=dask,
                tables=tables,
                progress=callback,
                store=db,
                name=name,
                baseline=baseline,
            )
        except (ConnectionError, ValueError) as exc:
            _fail(exc)
        except KeyboardInterrupt:
            kept = (
                f"finished runs are kept in {db.path}; run the same command again to resume"
                if db is not None
                else "nothing was kept (--no-store)"
            )
            typer.echo(f"{PROG}: interrupted; {kept}", err=True)
            raise typer.Exit(130) from None
    store_problems = [str(w.message) for w in caught if issubclass(w.category, StoreFailedWarning)]
    return result, store_problems


def _cents(value: float) -> int:
    """Money in summary tables: cents only where they matter (below 1 000)."""
    return 2 if value != value or abs(value) < 1000 else 0


def _ci_text(mean: float, lo: float, hi: float, unit: str, currency: str) -> str:
    cents = _cents(mean)
    text = format_value(mean, unit, currency, money_decimals=cents)
    if lo == lo and hi == hi:  # not NaN
        half = (hi - lo) / 2
        text += f" ± {format_value(half, unit, currency, money_decimals=cents)}"
    return text


HEADLINE_KPIS = (
    "service_level",
    "asa_s",
    "abandonment_rate",
    "occupancy",
    "retention",
    "monthly_churn",
    "discount_cost",
    "agent_cost",
    "net",
)


def _print_summary(result: ExperimentResult, all_kpis: bool = False) -> None:
    """Variants as columns, KPIs as rows: mean ± 95 % CI half-width, paired Δ if 2+."""
    summary = result.summary()
    if summary.empty:
        return
    currency = _money(result.variants[0].scenario)
    paired = result.paired() if len(result.variants) > 1 else None
    base = result.baseline or result.variant_names[0]
    kpis = list(dict.fromkeys(summary["kpi"]))
    if not all_kpis:
        kpis = [k for k in kpis if k in HEADLINE_KPIS]
    index = summary.set_index(["variant", "kpi"])
    pindex = paired.set_index(["variant", "kpi"]) if paired is not None else None

    def cell(v: str, kpi: str, with_diff: bool) -> str:
        unit = KPI_DEFINITIONS[kpi].unit if kpi in KPI_DEFINITIONS else ""
        if (v, kpi) not in index.index:
            return "n/a"
        row = index.loc[(v, kpi)]
        text = _ci_text(row["mean"], row["ci_low"], row["ci_high"], unit, currency)
        if with_diff and pindex is not None and v != base and (v, kpi) in pindex.index:
            d = pindex.loc[(v, kpi)]
            star = " *" if d["significant"] else ""
            diff = d["mean_diff"]
            text += f"\nΔ {format_diff(diff, unit, currency, money_decimals=_cents(diff))}{star}"
        return text

    def label(kpi: str) -> str:
        return KPI_DEFINITIONS[kpi].label if kpi in KPI_DEFINITIONS else kpi

    title = f"{clean(result.name)}: mean ± 95 % CI half-width over replications"
    table = Table(title=title)
    if len(result.variants) <= 3:  # variants as columns, KPIs as rows
        table.add_column("KPI")
        for v in result.variant_names:
            tag = " (baseline)" if paired is not None and v == base else ""
            table.add_column(clean(v) + tag, justify="right")
        for kpi in kpis:
            table.add_row(label(kpi), *(cell(v, kpi, True) for v in result.variant_names))
    else:  # many variants: one row each, a few KPIs as columns
        few = [k for k in ("service_level", "abandonment_rate", "retention", "net") if k in kpis]
        table.add_column("Variant", overflow="fold", min_width=12)
        for kpi in few:
            table.add_column(label(kpi), justify="right")
        for v in result.variant_names:
            tag = " (baseline)" if paired is not None and v == base else ""
            table.add_row(clean(v) + tag, *(cell(v, kpi, True) for kpi in few))
    console = _stdout()
    console.print(table)
    if paired is not None:
        console.print(
            Text(f"Δ = paired difference to '{base}' (same seeds); * = 95 % CI excludes 0")
        )


def _finish_experiment(
    result: ExperimentResult,
    target: Path | None,
    formats: tuple[str, ...],
    report: bool,
    db: Store | None,
    store_problems: list[str] = (),  # type: ignore[assignment]
) -> None:
    """Print, write --out (independently of the store), then report failures."""
    _print_summary(result)
    if db is not None and not store_problems:
        done = f", {result.resumed} taken from earlier runs" if result.resumed else ""
        typer.echo(f"kept as run {result.experiment_id} in {db.path}{done}")
    if target is not None:
        try:
            written = result.write(target, formats)
            if report:
                write_report = require("sim.presentation.report").write_report

                write_report(
                    written / "report",
                    result,
                    title=result.name,
                    kpi_summary=result.summary(),
                    paired=result.paired() if len(result.variants) > 1 else None,
                    retention=result.retention(),
                )
        except OSError as exc:
            _fail(f"cannot write results to {target}: {_os_reason(exc)}")
        typer.echo(f"wrote results to {written}")
    for problem in store_problems:
        _report(problem)
    for fail in result.failures:
        _report(fail)
    if result.failures:
        typer.echo(
            f"{PROG}: {len(result.failures)} of {len(result.runs) + len(result.failures)} "
            "runs failed; the others are kept. Run the same command again to retry them.",
            err=True,
        )
        raise typer.Exit(1)
    if store_problems:
        raise typer.Exit(1)


# ---- commands ---------------------------------------------------------------------------


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Simulate a billing-support operation: bills, calls, churn and money."""


@app.command()
@_guarded
def run(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario YAML file.", show_default=False)
    ],
    seed: Annotated[
        int | None,
        typer.Option(metavar="N", help="Random seed (>= 0); the scenario's seed when not given."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Folder for the result tables, scenario.yaml and run.json "
            "(replaced if it holds earlier results).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", metavar="csv|parquet|both", help="Table format of the written tables."
        ),
    ] = "both",
    stream_to: Annotated[
        Path | None,
        typer.Option(
            "--stream-to",
            metavar="DIR",
            help="New folder to stream the calls and customers tables to as Parquet while "
            "the run goes, with the small tables beside them: memory holds the live calls, "
            "not the history (for runs of millions of accounts).",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
    report: ReportOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Simulate a scenario, print its KPIs and optionally write the result tables.

    The tables in --out are written first and do not depend on the results store: a
    store that fails afterwards is reported (exit 1) but the written results stay.
    """
    formats = _parse_format(fmt)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        _fail(f"--seed must be 0..2**63-1 (got {seed})")
    if out is not None and stream_to is not None:
        _fail("--stream-to writes its own result folder: give --out or --stream-to, not both")
    scenario = _load(file)
    if seed is not None:
        scenario = scenario.with_changes(seed=seed)
    check_work(scenario, 1, allow_large=allow_large)
    target = _check_out_dir(out) if out is not None else None
    if stream_to is not None:
        try:
            stream_to = check_stream_target(stream_to)
        except StreamTargetError as exc:
            _fail(exc)
    if report and target is None and stream_to is None:
        _fail("--report needs --out DIR (the report is written to DIR/report)")
    db = _open_store(store, no_store)

    with _progress(not quiet, f"Simulating {scenario.name}") as callback:
        streaming = {} if stream_to is None else {"stream_to": stream_to}
        results = simulate(scenario, progress=callback, **streaming)

    console = _stdout()
    console.print(
        Text(
            f"{clean(scenario.name)}: seed {results.seed}, "
            f"{_plural(scenario.calendar.months, 'month')}, "
            f"{scenario.customers.accounts:,} initial accounts"
        ),
        soft_wrap=True,
    )
    table = Table()
    table.add_column("KPI")
    table.add_column("Value", justify="right")
    for label, value in kpi_rows(results):
        table.add_row(label, value)
    console.print(table)

    written = stream_to
    if target is not None:
        written = _write(results, target, formats)
    if written is not None:
        if report:
            write_report = require("sim.presentation.report").write_report
            try:
                write_report(written / "report", results, title=scenario.name)
            except OSError as exc:
                _fail(f"cannot write the report to {written / 'report'}: {_os_reason(exc)}")
        names = sorted(p.name for p in written.iterdir() if not p.name.startswith("."))
        streamed = f"streamed {results.raw.calls['status'].size:,} calls; " if stream_to else ""
        typer.echo(f"{streamed}wrote {len(names)} files to {written}: {', '.join(names)}")
    if db is not None:
        run_id = _save_single(db, results)
        typer.echo(f"kept as run {run_id} in {db.path}")


def _save_single(db: Store, results: Results) -> str:
    """Keep a single run in the store like a one-replication experiment."""
    variant = Variant(results.scenario.name, results.scenario)
    exp = ExperimentResult(
        variants=[variant],
        replications=1,
        runs={
            (variant.name, 0): RunSummary(
                variant.name, 0, results.seed, results.kpis(), run_tables(results, TABLES), 0.0
            )
        },
        experiment_id=experiment_id([variant], TABLES),
        name=results.scenario.name,
    )
    try:
        return db.save(exp)
    except StoreError as exc:
        _report(exc)
        raise typer.Exit(1) from None


@app.command()
@_guarded
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="Scenario YAML files.", show_default=False),
    ],
) -> None:
    """Check scenario files; exit 2 if any of them is invalid."""
    bad = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            _report(exc)
            bad += 1
        else:
            typer.echo(f"ok: {path} ({describe(scenario)})")
    if bad:
        raise typer.Exit(USAGE_ERROR)


@app.command()
@_guarded
def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="BASELINE OTHER...",
            help="Scenario files; the first is the baseline of the paired differences.",
            show_default=False,
        ),
    ],
    replications: ReplicationsOption = None,
    executor: ExecutorOption = "process",
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out: OutOption = None,
    fmt: FormatOption = "both",
    report: ReportOption = False,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
    quiet: QuietOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Compare scenarios over replications with common random numbers (paired Δ, 95 % CI).

    Every scenario runs with the baseline's seed, so replication r of each sees the
    same customers, bills and first calls, and the differences measure the change alone.
    """
    formats = _parse_format(fmt)
    if len(files) < 2:
        _fail("compare needs a baseline and at least one other scenario file")
    n = 5 if replications is None else replications
    if n < 2:
        _fail(f"--replications must be >= 2 for confidence intervals (got {n})")
    _check_replications(n, 2)
    ex = _executor(executor, workers, dask)
    scenarios = [_load(f) for f in files]
    for sc in scenarios:
        check_work(sc, n * len(scenarios), allow_large=allow_large)
    named: dict[str, Scenario] = {}
    for path, sc in zip(files, scenarios, strict=True):
        name = sc.name if sc.name not in named else f"{sc.name} ({path.stem})"
        if name in named:
            _fail(f"{path}: the same scenario is given twice")
        named[name] = sc
    named = with_common_seed(named)  # the baseline's seed: runs pair by replication
    names = list(named)
    variants = [Variant(name, sc) for name, sc in named.items()]
    for note in comparability(named).notes:
        _warn(note)
    target = _check_experiment_out(out)
    if report and target is None:
        _fail("--report needs --out DIR (the report is written to DIR/report)")
    db = _open_store(store, no_store)
    result, store_problems = _run_experiment_cli(
        variants,
        n,
        name=f"compare {' vs '.join(names)}",
        baseline=names[0],
        tables=("monthly", "segments", "intervals", "waits") if report else ("monthly", "segments"),
        executor=ex,
        workers=workers,
        dask=dask,
        db=db,
        quiet=quiet,
    )
    _finish_experiment(result, target, formats, report, db, store_problems)


@app.command()
@_guarded
def sweep(
    file: Annotated[
        Path, typer.Argument(metavar="SWEEP", help="Sweep YAML file.", show_default=False)
    ],
    replications: ReplicationsOption = None,
    executor: ExecutorOption = "process",
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out: OutOption = None,
    fmt: FormatOption = "both",
    report: ReportOption = False,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
    quiet: QuietOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Run a parameter sweep (a grid and/or named variants) from a sweep file.

    Finished runs are kept in the results store as they complete; running the same
    sweep again after an interruption or a failure runs only what is missing.
    """
    formats = _parse_format(fmt)
    try:
        spec = load_sweep(file)
    except ScenarioError as exc:
        _fail(exc)
    n = spec.replications if replications is None else replications
    _check_replications(n, 1)
    for v in spec.variants:  # before building any job
        check_work(v.scenario, n * len(spec.variants), allow_large=allow_large)
    ex = _executor(executor, workers, dask)
    target = _check_experiment_out(out)
    if report and target is None:
        _fail("--report needs --out DIR (the report is written to DIR/report)")
    db = _open_store(store, no_store)
    tables = spec.tables
    if report:
        tables = tuple(dict.fromkeys((*tables, "monthly", "intervals", "waits")))
    result, store_problems = _run_experiment_cli(
        spec.variants,
        n,
        name=spec.name,
        baseline=spec.baseline,
        tables=tables,
        executor=ex,
        workers=workers,
        dask=dask,
        db=db,
        quiet=quiet,
    )
    _finish_experiment(result, target, formats, report, db, store_problems)


@app.command()
@_guarded
def staff(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario YAML file.", show_default=False)
    ],
    target: Annotated[
        float | None,
        typer.Option(
            metavar="SL",
            help="Service-level target 0..1 (default: the scenario's).",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Answer-within threshold (default: the scenario's).",
            show_default=False,
        ),
    ] = None,
    months: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Optimise over the first N months only (it is costly).",
            show_default=False,
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", "-r", metavar="N", help="Runs per evaluation.")
    ] = 3,
    holdout: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Fresh runs that check the result (default: as many as --replications; "
            "agents are added where they miss the target).",
            show_default=False,
        ),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            metavar="SL",
            help="Safety margin on the target while searching (0.02 = two points).",
        ),
    ] = 0.02,
    workers: WorkersOption = None,
    min_calls: Annotated[
        float,
        typer.Option(
            metavar="N",
            help="Intervals with fewer calls per run are judged only "
            "through their group's overall service level.",
        ),
    ] = 10.0,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune/--no-prune",
            help="Remove agents while the target holds (the costly part).",
        ),
    ] = True,
    max_trials: Annotated[
        int | None,
        typer.Option(metavar="N", help="Stop pruning after N trial removals.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Folder for staffing, shifts, history, summary and the staffed scenario.yaml.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """The cheapest interval staffing that meets the service-level target in simulation.

    Starts from Erlang A on the forecast, corrects by simulation (iterative staffing,
    Feldman et al. 2008), prunes agent-intervals, and covers the result with shifts.
    """
    scenario = _load(file)
    changes: dict[str, object] = {}
    if target is not None:
        changes["contact_center.service_level.target"] = target
    if threshold is not None:
        changes["contact_center.service_level.threshold_s"] = threshold
    if months is not None:
        if not 1 <= months <= scenario.calendar.months:
            _fail(
                f"--months must be 1..{scenario.calendar.months}, the scenario's horizon "
                f"(got {months})"
            )
        changes["calendar.months"] = months
        changes.update(_incident_within(scenario, months, file))
    _check_replications(replications, 1)
    if holdout is not None and holdout < 0:
        _fail(f"--holdout must be >= 0 (got {holdout})")
    if not 0 <= margin < 1:
        _fail(f"--margin must be in [0, 1) (got {margin})")
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1 (got {workers})")
    if max_trials is not None and max_trials < 0:
        _fail(f"--max-trials must be >= 0 (got {max_trials})")
    if min_calls < 0:
        _fail(f"--min-calls must be >= 0 (got {min_calls})")
    if changes:
        try:
            scenario = scenario.with_changes(changes)
        except ScenarioError as exc:
            _fail(exc)
    check_work(scenario, replications + (holdout or replications), allow_large=allow_large)
    target_dir = _check_out_dir(out) if out is not None else None
    with _progress(not quiet, f"Staffing {scenario.name}") as callback:
        try:
            result = optimise_staffing(
                scenario,
                replications=replications,
                holdout=holdout,
                margin=margin,
                workers=workers,
                min_calls=min_calls,
                prune=prune,
                max_trials=max_trials,
                progress=callback,
            )
        except ValueError as exc:
            _fail(exc)
    currency = _money(scenario)
    summary = result.summary()
    table = Table(
        title=f"{scenario.name}: staffing for SL {summary['target']:.0%} "
        f"in {scenario.contact_center.service_level.threshold_s:g} s"
    )
    table.add_column("")
    table.add_column("Value", justify="right")
    table.add_row("Agent cost, Erlang A start", format_value(result.start_cost, "money", currency))
    table.add_row("Agent cost, optimised", format_value(result.cost, "money", currency))
    table.add_row(
        "Agent cost of the shift plan", format_value(result.shift_cost, "money", currency)
    )
    n_train, n_hold = summary["replications"], summary["holdout_replications"]
    table.add_row(
        f"Service level on the {n_train} search runs", format_value(result.service_level, "share")
    )
    table.add_row(
        f"Lowest measured-interval SL (>= {min_calls:g} calls/run)",
        format_value(result.min_interval_service_level, "share"),
    )
    table.add_row("Target met on the search runs", "yes" if result.feasible else "NO")
    holdout_ok = summary["holdout_feasible"]
    if n_hold:
        table.add_row(
            f"Service level on {n_hold} fresh runs",
            format_value(summary["holdout_service_level"], "share"),
        )
        table.add_row("Target met on the fresh runs", "yes" if holdout_ok else "NO")
        if summary["holdout_added"]:
            table.add_row(
                "Agent-intervals added after the fresh runs", f"{summary['holdout_added']:,}"
            )
    table.add_row(
        "Locally minimal (no agent-interval can go)",
        "yes" if summary["locally_minimal"] else "no (pruning capped or agents added)",
    )
    table.add_row("Agent-intervals", f"{summary['agent_intervals']:,}")
    table.add_row("Simulations", f"{result.simulations:,}")
    console = _stdout()
    console.print(table)
    plan = result.shift_plan()
    if not plan.empty:
        shifts = Table(title="Shift plan (agents summed over the days)")
        for col in plan.columns:
            shifts.add_column(str(col), justify="right" if col != "group" else "left")
        for _, row in plan.iterrows():
            shifts.add_row(*(str(v) for v in row))
        console.print(shifts)
    if target_dir is not None:
        try:
            result.write(target_dir)
        except OSError as exc:
            _fail(f"cannot write results to {out}: {exc.strerror or exc}")
        typer.echo(f"wrote staffing, shifts and the staffed scenario.yaml to {target_dir}")
    if not result.feasible or holdout_ok is False:
        raise typer.Exit(1)


@app.command()
@_guarded
def optimise(
    file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.", show_default=False)
    ],
    months: Annotated[
        int | None,
        typer.Option(metavar="N", help="Evaluate on the first N months only.", show_default=False),
    ] = None,
    replications: Annotated[
        int,
        typer.Option(
            "--replications", "-r", metavar="N", help="First-stage runs per candidate (>= 2)."
        ),
    ] = 5,
    holdout: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Fresh runs that check the choice (>= 2; default: as many as the search "
            "made per surviving plan, so the check is as sure as the search).",
            show_default=False,
        ),
    ] = None,
    space: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.yaml",
            help="Candidate space (staffing and discount options); default: 12 plans "
            "around the scenario.",
            show_default=False,
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option(metavar="A", help="Joint error rate of the selection.")
    ] = 0.05,
    delta: Annotated[
        float | None,
        typer.Option(
            metavar="MONEY",
            help="Indifference zone: net differences worth telling apart (default 0.1 percent "
            "of the scenario's net).",
            show_default=False,
        ),
    ] = None,
    max_replications: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Most runs per candidate in the search (default 4 x --replications).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Folder for ranking.csv, holdout.csv, the chosen scenario.yaml (extends "
            "SCENARIO), report.md and run.json.",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    allow_large: AllowLargeOption = False,
) -> None:
    """Choose staffing and discounts jointly for the highest expected net value.

    Screens the candidates with paired differences (common random numbers), gives the
    survivors more runs, reports the best with the set not significantly worse, and
    checks the choice on fresh seeds: exit code 1 when it does not hold there.
    """
    scenario = _load(file)
    if months is not None:
        if not 1 <= months <= scenario.calendar.months:
            _fail(
                f"--months must be 1..{scenario.calendar.months}, the scenario's horizon "
                f"(got {months})"
            )
        try:
            changes = {"calendar.months": months, **_incident_within(scenario, months, file)}
            scenario = scenario.with_changes(changes)
        except ScenarioError as exc:
            _fail(exc)
    _check_replications(replications, 2)
    if holdout is not None and not 2 <= holdout <= MAX_REPLICATIONS:
        _fail(f"--holdout must be 2..{MAX_REPLICATIONS:,} (got {holdout})")
    if workers is not None and workers < 1:
        _fail(f"--workers must be >= 1 (got {workers})")
    cap = max_replications if max_replications is not None else 4 * replications
    if not replications <= cap <= MAX_REPLICATIONS:
        _fail(f"--max-replications must be {replications}..{MAX_REPLICATIONS:,} (got {cap})")
    try:
        plan = SearchSpace.load(space) if space is not None else SearchSpace.default(scenario)
        n_candidates = len(plan.candidates(scenario))
    except (OSError, ValueError) as exc:
        _fail(exc)
    check_work(scenario, n_candidates * cap + 3 * (holdout or cap), allow_large=allow_large)
    target_dir = _check_out_dir(out) if out is not None else None
    with _progress(not quiet, f"Optimising {scenario.name}: {n_candidates} plans") as callback:
        try:
            result = optimise_net(
                scenario,
                plan,
                replications=replications,
                holdout=holdout,
                alpha=alpha,
                delta=delta,
                max_replications=cap,
                workers=workers,
                progress=callback,
                source=file,
            )
        except ValueError as exc:
            _fail(exc)
    currency = _money(scenario)
    ranking = result.ranking()
    table = Table(title=f"{scenario.name}: plans by mean net value")
    for col in ("#", "plan", "n", "net (95% CI)", "vs best", "not worse"):
        table.add_column(col, justify="left" if col == "plan" else "right")
    for row in ranking.itertuples(index=False):
        table.add_row(
            str(row.rank),
            clean(row.candidate),
            str(row.n),
            _ci_text(row.net, row.net_low, row.net_high, "money", currency),
            format_diff(row.diff_best, "money", currency) if not row.best else "best",
            "yes" if row.not_worse else ("screened out" if row.stage != "survived" else "no"),
        )
    console = _stdout()
    console.print(table)
    s = result.summary()
    console.print(
        f"Chosen: {clean(result.best.name)}; {len(result.not_worse)} of {s['candidates']} "
        f"plans not significantly worse (alpha {s['alpha']:g}, {s['correction']})."
    )
    for row in result.holdout().itertuples(index=False):
        console.print(
            f"Fresh seeds ({row.holdout_n} runs), {row.comparison}: "
            f"{format_diff(row.holdout_diff, 'money', currency)} "
            f"[{format_diff(row.holdout_low, 'money', currency)}, "
            f"{format_diff(row.holdout_high, 'money', currency)}]; {row.rule}: "
            f"{'yes' if row.holds else 'NO'}"
        )
    console.print(
        "The choice holds on fresh seeds."
        if result.holds
        else "The choice does NOT hold on fresh seeds."
    )
    if target_dir is not None:
        try:
            result.write(target_dir, file)
        except OSError as exc:
            _fail(f"cannot write results to {out}: {_os_reason(exc)}")
        typer.echo(f"wrote the ranking, the chosen scenario.yaml and report.md to {target_dir}")
    if not result.holds:
        raise typer.Exit(1)


def _incident_within(scenario: Scenario, months: int, file: Path) -> dict[str, object]:
    """Changes that keep the billing incident inside the first ``months`` months:
    clipped at the new horizon's end, or dropped (with a warning) if it starts later."""
    inc = scenario.billing.incident
    if inc is None:
        return {}
    end = scenario.calendar.month_start(months)
    last = end - dt.timedelta(days=1)
    if inc.start >= end:
        _warn(
            f"{file.absolute()}: billing.incident starts {inc.start}, after the {months} "
            f"month(s) optimised (to {last}); it is left out of this staffing run"
        )
        return {"billing.incident": None}
    if inc.end > last:
        _warn(
            f"{file.absolute()}: billing.incident ends {inc.end}, after the {months} "
            f"month(s) optimised; it is clipped to {last}"
        )
        return {"billing.incident.end": last.isoformat()}
    return {}


@app.command()
@_guarded
def runs(
    store: StoreOption = None,
    limit: Annotated[int, typer.Option(metavar="N", help="Show the N newest runs.")] = 20,
) -> None:
    """List the runs kept in the results store (newest first)."""
    if limit < 1:
        _fail(f"--limit must be >= 1 (got {limit})")
    path = store if store is not None else default_path()
    if not path.exists():
        _fail(f"no results store at {path} (nothing has been kept there yet)")
    db = _open_store(store, False)
    table = db.list_runs().head(limit)
    if table.empty:
        typer.echo(f"no runs in {db.path}")
        return
    out = Table(title=str(db.path))
    out.add_column("run", no_wrap=True)
    out.add_column("name")
    out.add_column("updated (UTC)")
    out.add_column("status")
    out.add_column("variants × reps", justify="right")
    out.add_column("done / failed", justify="right")
    for _, row in table.iterrows():
        out.add_row(
            row["run_id"],
            row["name"],
            row["updated"][:16].replace("T", " "),
            row["status"],
            f"{row['variants']} × {row['replications']}",
            f"{row['runs_done']} / {row['runs_failed']}",
        )
    _stdout().print(out)


def _months(text: str | None) -> list[str]:
    return [m.strip() for m in (text or "").split(",") if m.strip()]


@app.command()
def fit(
    data: Annotated[
        list[Path],
        typer.Argument(
            metavar="DATA",
            help="Call logs (CSV/Parquet in the generic schema, or Anonymous Bank .txt/.txt.gz).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Fitted scenario YAML to write.")] = Path(
        "scenario.yaml"
    ),
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the HTML fit report.")
    ] = None,
    months: Annotated[
        str | None, typer.Option("--months", help="Only these months, e.g. 1999-01,1999-02.")
    ] = None,
    bills: Annotated[
        Path | None, typer.Option("--bills", help="Billing extract (needs --accounts).")
    ] = None,
    accounts: Annotated[Path | None, typer.Option("--accounts", help="Account extract.")] = None,
) -> None:
    """Fit a scenario from call logs (see README, "Calibrate from your own data")."""

    try:
        result = fit_logs([str(p) for p in data], bills, accounts, months=_months(months) or None)
        out.write_text(result.to_yaml(), encoding="utf-8")
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            (report / "fit.html").write_text(
                require("sim.presentation.calibration").fit_report_html(result),
                encoding="utf-8",
            )
    except (DataError, ScenarioError, ValueError, OSError) as exc:
        _fail(exc)
    typer.echo(f"wrote {out} ({len(result.log.calls)} calls; quirks: {result.quirks})")


@app.command()
def backtest(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario YAML whose handling, patience and busyness are tested.")
    ],
    log: Annotated[
        list[Path],
        typer.Argument(metavar="LOG", help="Call logs covering the fit and held-out months."),
    ],
    months: Annotated[str, typer.Option("--months", help="Held-out months, e.g. 1999-09,1999-10.")],
    fit_months: Annotated[
        str | None,
        typer.Option("--fit-months", help="Months for the arrival profile (default: the others)."),
    ] = None,
    replications: Annotated[int, typer.Option("-r", "--replications")] = 5,
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the HTML back-test report.")
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="forecast (fitted profile), known (profile scaled to each day's logged "
            "total) or both.",
        ),
    ] = "both",
    agent_minutes: Annotated[
        int | None,
        typer.Option(
            "--agent-minutes",
            help="Count agents on duty in slices this long (e.g. 5), averaged per interval.",
        ),
    ] = None,
) -> None:
    """Simulate held-out months with their inferred staffing and compare with the log."""

    sc = _load(scenario)
    if replications < 2:
        _fail(f"--replications must be >= 2 for intervals (got {replications})")
    if mode not in ("forecast", "known", "both"):
        _fail(f"--mode must be forecast, known or both (got {mode!r})")
    modes = ["forecast", "known"] if mode == "both" else [mode]
    try:
        calls = as_call_log([str(p) for p in log])
        held = _months(months)
        train = _months(fit_months) or [m for m in calls.months() if m not in held]
        fitted = fit_logs(calls, months=train)
        results = [
            run_backtest(
                calls,
                train,
                held,
                replications,
                fit=fitted,
                scenario=sc,
                mode=m,
                agent_minutes=agent_minutes,
            )
            for m in modes
        ]
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            for r in results:
                name = "backtest.html" if r.mode == "forecast" else f"backtest_{r.mode}.html"
                (report / name).write_text(
                    require("sim.presentation.calibration").backtest_report_html(r),
                    encoding="utf-8",
                )
    except (DataError, ScenarioError, ValueError, OSError) as exc:
        _fail(exc)
    fmt = {"float_format": lambda x: f"{x:.3g}", "index": False}
    special = results[0].special
    special = special[special["special"]]
    if len(special):
        typer.echo(
            "special days: "
            + ", ".join(
                f"{d:%Y-%m-%d} ({why})"
                for d, why in zip(special["day"], special["reason"], strict=True)
            )
        )
    typer.echo(backtest_summary(results).to_string(**fmt))


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(f"{PROG} {__version__}")


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``billsim`` console script and ``python -m sim``."""
    app(args=args, prog_name=PROG)


if __name__ == "__main__":  # pragma: no cover
    main()
