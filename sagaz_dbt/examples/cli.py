"""`sagaz-dbt examples`: list, run and generate data for the example pipelines."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from sagaz_dbt.outputs import report
from sagaz_dbt.examples import data
from sagaz_dbt.examples.pipelines import PIPELINES
from sagaz_dbt.examples.runner import TARGETS, ExampleError, find_project, run_example


@click.group(name="examples")
def examples() -> None:
    """The seed pipelines (ETL, quality gate, migration, lakehouse) as a runnable dbt project
    (dbt_project/): run one on a fresh warehouse, with or without an injected failure."""


@examples.command(name="list")
def list_examples() -> None:
    """The example pipelines and the failures each can be given."""
    out = report.console()
    table = Table(header_style="bold")
    table.add_column("example", no_wrap=True)
    table.add_column("what it builds")
    table.add_column("--fail", no_wrap=True)
    table.add_column("what fails (bug: a switched-on code bug; data: bad input)")
    for p in PIPELINES.values():
        failures = list(p.failures.values())
        for i, f in enumerate(failures):
            first = i == 0
            table.add_row(
                p.name if first else "",
                f"[bold]{p.title}[/bold]\n{p.summary}" if first else "",
                f.name,
                f"{f.description} ({f.kind})",
            )
        table.add_section()
    out.print(table)
    out.print("Run one:  sagaz-dbt examples run NAME [--fail STEP] [--rows N] [--target postgres]")


@examples.command(name="run")
@click.argument("name", type=click.Choice(list(PIPELINES)))
@click.option("--fail", "fail", metavar="STEP", default=None,
              help="Inject this failure (see `sagaz-dbt examples list`) and show the rollback.")
@click.option("--rows", type=click.IntRange(min=1), default=None,
              help="Generate the input with N rows in the main table instead of the committed seeds.")
@click.option("--target", type=click.Choice(TARGETS), default="dev", show_default=True,
              help="dev is a fresh DuckDB file; postgres uses fresh schemas (SAGAZ_EXAMPLE_PG_* env vars).")
@click.option("--from-empty", is_flag=True, help="With --fail: no baseline, fail on an empty warehouse.")
@click.option("--keep", is_flag=True, help="Keep the project copy and the warehouse (printed at the end).")
@click.option("-q", "--quiet", is_flag=True, help="Pass --quiet to dbt (only errors and the summaries).")
def run_command(name: str, fail: str | None, rows: int | None, target: str, from_empty: bool, keep: bool,
                quiet: bool) -> None:
    """Run example NAME on a fresh warehouse (a temporary copy of dbt_project/)."""
    if from_empty and fail is None:
        raise click.UsageError("--from-empty needs --fail")
    out = report.console()
    try:
        result = run_example(name, fail=fail, rows=rows, target=target, from_empty=from_empty, keep=keep,
                             quiet=quiet, console=out)
    except ExampleError as exc:
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(0 if result.ok else 1)


@examples.command(name="generate")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The project whose seeds/ to write (default: the example project).")
@click.option("--pipeline", "pipelines", multiple=True, type=click.Choice(list(PIPELINES)),
              help="Only this pipeline's seeds (repeatable; default: all).")
@click.option("--rows", type=click.IntRange(min=1), default=None, help="Rows of each pipeline's main table.")
@click.option("--fail", "fault", default=None, metavar="FAULT",
              help="Write bad input: " + ", ".join(sorted({f for fs in data.DATA_FAULTS.values() for f in fs})) + ".")
def generate_command(project_dir: Path | None, pipelines: tuple[str, ...], rows: int | None,
                     fault: str | None) -> None:
    """(Re)write the example seed CSVs, deterministically.  With no options this rewrites the
    committed files byte for byte."""
    try:
        root = project_dir or find_project()
        paths = data.write_seeds(root / "seeds", pipelines or data.PIPELINES, rows, fault)
    except (ExampleError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for path in paths:
        click.echo(str(path))
