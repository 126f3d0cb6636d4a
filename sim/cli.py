"""The ``billsim`` command line: run a scenario, validate scenario files, show the version.

The CLI is a thin shell around the public API (``load_scenario``, ``simulate``,
``Results``): it parses arguments, reports problems and formats numbers, nothing more.

A problem with a file or an argument (missing file, invalid YAML or field, negative seed,
unknown format, unwritable output folder) is reported as one line
``billsim: error: <message>`` on stderr with exit code 2, like Typer's own usage errors.
Nothing is written before the simulation has succeeded, and ``Results.write`` moves the
finished folder into place at once.
"""

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, NoReturn

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

from sim import KPI_DEFINITIONS, Results, Scenario, ScenarioError, __version__, load_scenario
from sim.model import ProgressFn, simulate

PROG = "billsim"
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


def _report(message: object) -> None:
    """Print ``billsim: error: <message>`` as exactly one line on stderr."""
    text = " ".join(str(message).split())
    typer.echo(f"{PROG}: error: {text}", err=True)


# ---- formatting -------------------------------------------------------------------------


def format_value(value: float, unit: str, currency: str = "EUR") -> str:
    """A KPI value with its unit: shares as %, seconds as "12.3 s", money with currency."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    v = float(value)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if unit == "share":
        return f"{v * 100:.1f} %"
    if unit == "s":
        return f"{v:,.1f} s"
    if unit == "money":
        return f"{v:,.2f} {currency}"
    if unit in ("calls", "accounts"):
        return f"{v:,.0f}" if v.is_integer() else f"{v:,.1f}"
    return f"{v:,.4g} {unit}".rstrip()


def kpi_rows(results: Results) -> list[tuple[str, str]]:
    """(label, formatted value) for every KPI, in the order ``Results.kpis`` gives them."""
    currency = results.scenario.economics.currency
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
        f"{scenario.name}, {_plural(scenario.customers.accounts, 'account')}, "
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
    """An absolute output path that ``Results.write`` can replace; nothing is created."""
    target = Path(os.path.abspath(out))
    if not target.name:
        _fail(f"cannot write results to {out}: choose a folder below the file-system root")
    if target.is_symlink():
        _fail(f"cannot write results to {out}: it is a symbolic link")
    if target.exists():
        if not target.is_dir():
            _fail(f"cannot write results to {out}: it exists and is not a directory")
        # Results.write replaces the whole folder; only do that to earlier results
        if any(target.iterdir()) and not (target / "run.json").is_file():
            _fail(
                f"refusing to replace {out}: it is not empty and holds no earlier "
                "billsim results (run.json); choose a new or empty folder"
            )
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        _fail(f"cannot write results to {out}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        _fail(f"cannot write results to {out}: permission denied in {ancestor}")
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
    if not enabled or not console.is_terminal:
        yield None
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate a scenario, print its KPIs and optionally write the result tables."""
    formats = _parse_format(fmt)
    if seed is not None and seed < 0:
        _fail(f"--seed must be >= 0 (got {seed})")
    scenario = _load(file)
    target = _check_out_dir(out) if out is not None else None

    with _progress(not quiet, f"Simulating {scenario.name}") as callback:
        results = simulate(scenario, seed=seed, progress=callback)

    console = _stdout()
    console.print(
        Text(
            f"{scenario.name}: seed {results.seed}, "
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

    if target is not None:
        written = _write(results, target, formats)
        names = sorted(p.name for p in written.iterdir())
        typer.echo(f"wrote {len(names)} files to {written}: {', '.join(names)}")


@app.command()
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
def version() -> None:
    """Print the package version."""
    typer.echo(f"{PROG} {__version__}")


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``billsim`` console script and ``python -m sim``."""
    app(args=args, prog_name=PROG)


if __name__ == "__main__":  # pragma: no cover
    main()
