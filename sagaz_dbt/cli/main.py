"""The `sagaz-dbt` command: every `dbt` command, the writers with a rollback.

`main` splits the command line the way dbt's own click group does (global flags, then the
sub-command).  Commands that change the warehouse (`sagaz_dbt.commands.CommandKind.SAGA`)
run as a saga; every other dbt command is handed to dbt's own CLI unchanged, so its flags,
output and exit codes are dbt's.  sagaz-dbt's own commands (`recover`, `runs`, `rollback`,
`gc`, `examples`) live in the click group below; the few flags sagaz-dbt adds to the
writers are listed in `sagaz_dbt.dbt.options`.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sagaz_dbt import __version__, api, commands

from sagaz_dbt.outputs import events, report
from sagaz_dbt.errors import SagazError
from sagaz_dbt.examples.cli import examples
from sagaz_dbt.dbt.options import FLAG_HELP

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


def _version_line() -> str:
    return f"sagaz-dbt {__version__} ({_versions()})"


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Every other dbt command (compile, ls, docs generate, source freshness, ...) is passed "
    "to dbt unchanged: `sagaz-dbt COMMAND` behaves as `dbt COMMAND`.",
)
@click.version_option(__version__, "--version", message=f"%(prog)s %(version)s ({_versions()})")
def cli() -> None:
    """A transactional drop-in for `dbt`: if a test fails or a model errors in a command that
    changes the warehouse, every relation the run touched is restored, and the exit code says so."""


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
_dbt_command("retry", "Run `dbt retry` (the previous invocation's failed nodes) as one transaction.")
_dbt_command("clone", "Run `dbt clone` as one transaction.")
_dbt_command("test", "Run `dbt test`; as one transaction when it stores failures.")
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


def dispatch(argv: list[str]) -> int:
    """Run one `sagaz-dbt` command line; returns the exit code."""
    line = commands.split_command_line(argv)
    if line.command is None or (line.command in cli.commands and line.command not in commands.dbt_commands()):
        return _own_command(argv, line)
    if _asks_version(argv):
        click.echo(_version_line())
        return 0
    kind = commands.kind_of(line.command)
    if kind is commands.CommandKind.SAGA_IF_STORING_FAILURES and not _test_writes(line):
        kind = commands.CommandKind.PASS_THROUGH
    if kind is commands.CommandKind.PASS_THROUGH:
        return pass_through(argv)
    rest = list(line.rest)
    if _wants_help(rest):
        return _own_command([line.command, *rest], line)
    _name_dbt_group()
    with _environment(line.group_only_env()):
        result = api.build([*rest, *line.globals_for_subcommand()], command=line.command)
    return result.exit_code


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for one command, then put them back."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _own_command(argv: list[str], line: commands.CommandLine) -> int:
    """sagaz-dbt's own commands and help, through the click group (global flags typed
    before the command are moved after it, where the target flags are read)."""
    if line.command is not None and line.global_tokens:
        argv = [line.command, *line.rest, *line.global_tokens]
    try:
        cli.main(args=argv, prog_name="sagaz-dbt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    return 0


def pass_through(argv: list[str]) -> int:
    """`dbt ARGV` exactly: dbt's own click entry point, its output and its exit code."""
    import time

    from dbt.cli.main import cli as dbt_cli

    started = time.time()
    code: int = 0
    try:
        dbt_cli.main(args=list(argv), prog_name="dbt", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    _strip_own_macros(argv, started)
    return code


def _strip_own_macros(argv: list[str], since: float) -> None:
    """After a sagaz-dbt run, its package stays in dbt_packages/, so a passed-through
    command's manifest.json would list its macros: take them out again (best effort)."""
    from sagaz_dbt.dbt.args import DbtArgs
    from sagaz_dbt.dbt.artifacts import strip_own_macros_file, strip_own_results_file
    from sagaz_dbt.dbt.package import PACKAGE_NAME, packages_install_path
    from sagaz_dbt.dbt.session import target_dir_of

    line = commands.split_command_line(argv)
    try:
        args = DbtArgs.parse(line.command or "", [*line.rest, *line.globals_for_subcommand()])
    except Exception:  # not a command that parses a project, or bad input dbt has reported
        return
    if (packages_install_path(args.project_dir) / PACKAGE_NAME).is_dir():
        strip_own_macros_file(target_dir_of(args) / "manifest.json", since=since)
        strip_own_results_file(target_dir_of(args) / "run_results.json", since=since)


def _name_dbt_group() -> None:
    """dbtRunner names its context after the click group (`cli`), so dbt's debug line would
    say "Command `cli build` succeeded"; the console script is `dbt`, and so is this one."""
    commands.dbt_group().name = "dbt"


def _asks_version(argv: list[str]) -> bool:
    head = argv[: argv.index("--")] if "--" in argv else argv
    return "--version" in head


def _test_writes(line: commands.CommandLine) -> bool:
    from sagaz_dbt.dbt.args import DbtArgs
    from sagaz_dbt.dbt.options import split_args

    try:
        tokens = split_args([*line.rest, *line.globals_for_subcommand()]).dbt_args
        project_dir = DbtArgs.parse("test", tokens).project_dir
    except SagazError:
        return False  # dbt reports the usage error itself
    return commands.stores_failures(line.rest, project_dir)


def main() -> None:
    sys.exit(dispatch(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
