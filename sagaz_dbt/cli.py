"""The `sagaz-dbt` command: `dbt build` with a rollback.

Every argument after `build` goes to dbt untouched (dbt's own parser validates it), so the
flags, the output and the exit codes are dbt's; sagaz-dbt only adds its summary.
"""

from __future__ import annotations

import sys

import click

from sagaz_dbt import __version__, api


_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message="%(prog)s %(version)s")
def cli() -> None:
    """A transactional drop-in for `dbt build`: if a test fails or a model errors, every
    relation the run touched is restored, and the exit code says so."""


def _dbt_command(name: str, summary: str) -> None:
    @cli.command(name=name, context_settings=_PASS_THROUGH, help=summary, add_help_option=False)
    @click.pass_context
    def command(ctx: click.Context) -> None:
        args = list(ctx.args)
        if args in (["-h"], ["--help"]):
            click.echo(ctx.get_help())
            click.echo(f"\nAll `dbt {name}` flags are accepted; see `dbt {name} --help`.")
            ctx.exit(0)
        result = api.build(args, command=name)
        ctx.exit(result.exit_code)


_dbt_command("build", "Run `dbt build` as one transaction: all of it lands, or none of it.")
_dbt_command("run", "Run `dbt run` as one transaction.")
_dbt_command("seed", "Run `dbt seed` as one transaction.")
_dbt_command("snapshot", "Run `dbt snapshot` as one transaction.")


def main() -> None:
    cli(prog_name="sagaz-dbt")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
