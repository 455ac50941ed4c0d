"""The `sagaz-dbt` command: `dbt build` with a rollback.

Every argument after `build` goes to dbt untouched (dbt's own parser validates it), so the
flags, the output and the exit codes are dbt's; sagaz-dbt only adds its summary and the
few flags listed in `sagaz_dbt.options`.
"""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sagaz_dbt import __version__, api, events, report
from sagaz_dbt.errors import SagazError
from sagaz_dbt.examples.cli import examples
from sagaz_dbt.options import FLAG_HELP

_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
_TARGET_FLAGS = "Takes the build's --project-dir, --profiles-dir, --profile, --target and --vars."


def _versions() -> str:
    """dbt-core's version and every installed adapter's, from the installed distributions
    (cheap: nothing of dbt is imported)."""
    from importlib import metadata

    found = []
    for dist in ("dbt-core", "dbt-duckdb", "dbt-postgres", "openlineage-python"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found) or "dbt-core not installed"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message=f"%(prog)s %(version)s ({_versions()})")
def cli() -> None:
    """A transactional drop-in for `dbt build`: if a test fails or a model errors, every
    relation the run touched is restored, and the exit code says so."""


def _wants_help(args: list[str]) -> bool:
    return args in (["-h"], ["--help"])


def _dbt_command(name: str, summary: str) -> None:
    @cli.command(name=name, context_settings=_PASS_THROUGH, help=summary, add_help_option=False)
    @click.pass_context
    def command(ctx: click.Context) -> None:
        args = list(ctx.args)
        if _wants_help(args):
            click.echo(ctx.get_help())
            click.echo(f"\nEvery `dbt {name}` flag is accepted (see `dbt {name} --help`). sagaz-dbt adds:")
            for flag, text in FLAG_HELP:
                click.echo(f"  {flag:<24} {text}")
            ctx.exit(0)
        result = api.build(args, command=name)
        ctx.exit(result.exit_code)


_dbt_command("build", "Run `dbt build` as one transaction: all of it lands, or none of it.")
_dbt_command("run", "Run `dbt run` as one transaction.")
_dbt_command("seed", "Run `dbt seed` as one transaction.")
_dbt_command("snapshot", "Run `dbt snapshot` as one transaction.")
cli.add_command(examples)


def _guarded(fn):  # type: ignore[no-untyped-def]
    """Turn sagaz-dbt errors into a message and dbt's exit code instead of a traceback."""

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except SagazError as exc:
            ctx = click.get_current_context(silent=True)
            out = events.console_for(list(ctx.args) if ctx else [], report.console())
            out.print(f"[red]sagaz-dbt: {escape(str(exc))}[/red]")
            sys.exit(exc.exit_code)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@cli.command(context_settings=_PASS_THROUGH, help=f"Finish runs that a crash or kill interrupted. {_TARGET_FLAGS}")
@click.option(
    "--force",
    is_flag=True,
    help="Restore the pre-run state even of relations that changed after the run was interrupted.",
)
@click.pass_context
@_guarded
def recover(ctx: click.Context, force: bool) -> None:
    api.recover(list(ctx.args), force=force)


@cli.command(name="runs", context_settings=_PASS_THROUGH, help=f"List the runs of this target. {_TARGET_FLAGS}")
@click.pass_context
@_guarded
def runs_command(ctx: click.Context) -> None:
    summaries = api.runs(list(ctx.args))
    out = report.console()
    table = Table(header_style="bold")
    for col in ("run id", "started", "duration", "status", "relations", "compensated", "backups kept", "message"):
        table.add_column(col)
    for s in summaries:
        run = s.run
        duration = ""
        if run.started_at is not None and run.updated_at is not None:
            duration = f"{(run.updated_at - run.started_at).total_seconds():.1f}s"
        cells = (
            run.run_id,
            str(run.started_at)[:19],
            duration,
            run.status,
            str(s.steps),
            str(s.compensated),
            str(s.retained),
            (run.message or "")[:60],
        )
        table.add_row(*(Text(cell) for cell in cells))  # the journal holds user text: never markup
    out.print(table)


@cli.command(context_settings=_PASS_THROUGH, help=f"Undo the most recent committed run (needs --keep-backups). {_TARGET_FLAGS}")
@click.argument("run_id")
@click.pass_context
@_guarded
def rollback(ctx: click.Context, run_id: str) -> None:
    api.rollback(run_id, list(ctx.args))


@cli.command(context_settings=_PASS_THROUGH, help=f"Drop backups kept by --keep-backups. {_TARGET_FLAGS}")
@click.option("--keep", default=0, show_default=True, help="Keep the backups of this many most recent runs.")
@click.pass_context
@_guarded
def gc(ctx: click.Context, keep: int) -> None:
    api.gc(list(ctx.args), keep=keep)


def main() -> None:
    cli(prog_name="sagaz-dbt")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
