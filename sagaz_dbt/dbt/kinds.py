"""Which dbt commands sagaz-dbt wraps in a saga, and how a `dbt` command line splits up.

dbt's own click group is the source of truth for both: its sub-commands are the commands
sagaz-dbt accepts, and its group-level options are the global flags that may come before
the sub-command (`sagaz-dbt --debug build`).  Nothing here re-lists dbt's flags by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Sequence


class CommandKind(Enum):
    """What sagaz-dbt does with a dbt command."""

    SAGA = "saga"  # it changes the warehouse: all of it lands, or none of it
    SAGA_IF_STORING_FAILURES = "saga_if_storing_failures"  # `test`: writes only with store_failures
    PASS_THROUGH = "pass_through"  # read-only or local: dbt runs it unchanged


#: dbt commands that change relations in the warehouse.
_WRITERS = {
    "build": CommandKind.SAGA,
    "run": CommandKind.SAGA,
    "seed": CommandKind.SAGA,
    "snapshot": CommandKind.SAGA,
    "retry": CommandKind.SAGA,
    "clone": CommandKind.SAGA,
    "test": CommandKind.SAGA_IF_STORING_FAILURES,
}

#: The resource types whose relations each saga command can change (what `ls --resource-type`
#: must list to arm exactly the nodes the command executes).  None: the user's own
#: `--resource-type` / `--exclude-resource-type` decide, as in `dbt build`.
RESOURCE_TYPES: dict[str, tuple[str, ...] | None] = {
    "build": None,
    "run": ("model",),
    "seed": ("seed",),
    "snapshot": ("snapshot",),
    "clone": ("model", "seed", "snapshot"),
    "test": ("test",),
    "retry": None,  # the previous invocation's failed nodes: see runner.retry_nodes
}


def dbt_group() -> Any:
    from dbt.cli.main import cli

    return cli


def dbt_commands() -> list[str]:
    """Every top-level dbt command (`source` and `docs` are groups of their own)."""
    return sorted(dbt_group().commands)


def kind_of(command: str) -> CommandKind:
    return _WRITERS.get(command, CommandKind.PASS_THROUGH)


@dataclass(frozen=True)
class CommandLine:
    """`[global flags] command [its arguments]`, split the way dbt's click group splits it."""

    global_tokens: tuple[str, ...]  # as typed, before the sub-command
    global_raw: dict[str, Any]  # dbt param name -> raw (unconverted) value
    command: str | None
    rest: tuple[str, ...]  # after the sub-command

    def globals_for_subcommand(self) -> list[str]:
        """The global flags rendered again after the sub-command, where every dbt command
        accepts them too (dbt's `global_flags` decorate each sub-command).  The group-only
        flags are left out: see `group_only_env`."""
        from sagaz_dbt.dbt.args import render_raw

        sub = dbt_group().commands.get(self.command or "")
        names = {p.name for p in getattr(sub, "params", [])}
        options = {p.name: p for p in dbt_group().params}
        tokens: list[str] = []
        for name, raw in self.global_raw.items():
            if name in names and name in options:
                tokens.extend(render_raw(options[name], raw))
        return tokens

    def group_only_env(self) -> dict[str, str]:
        """Group-only flags (`--show-resource-report`) as the environment variables dbt reads
        for them, so the in-process invocation behaves as `dbt --flag command` does."""
        sub = dbt_group().commands.get(self.command or "")
        names = {p.name for p in getattr(sub, "params", [])}
        env: dict[str, str] = {}
        for param in dbt_group().params:
            if param.name in self.global_raw and param.name not in names and param.envvar:
                envvar = param.envvar if isinstance(param.envvar, str) else param.envvar[0]
                env[envvar] = "1" if self.global_raw[param.name] else "0"
        return env


def split_command_line(argv: Sequence[str]) -> CommandLine:
    """Split argv with dbt's own group parser (it stops at the first non-option: the
    sub-command).  A usage error here is left for dbt to report, as plain dbt does."""
    import click

    group = dbt_group()
    argv = list(argv)
    ctx = click.Context(group, info_name="dbt", resilient_parsing=True)
    try:
        raw, remaining, _order = group.make_parser(ctx).parse_args(list(argv))
    except click.exceptions.ClickException:
        return CommandLine(tuple(), {}, None, tuple(argv))
    consumed = len(argv) - len(remaining)
    command = remaining[0] if remaining else None
    return CommandLine(tuple(argv[:consumed]), dict(raw), command, tuple(remaining[1:]))


def stores_failures(tokens: Sequence[str], project_dir: Path) -> bool:
    """Does this `test` write tables?  The flag (or DBT_STORE_FAILURES), or any mention of
    `store_failures` in the project's files: a cheap over-approximation, so a `test` that
    might write gets the saga, and one that cannot stays a plain pass-through."""
    if "--store-failures" in tokens:
        return True
    if os.environ.get("DBT_STORE_FAILURES", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    skip = {"target", "logs", "dbt_packages", "dbt_modules", ".venv", ".git"}
    for path in project_dir.rglob("*"):
        if any(part in skip for part in path.relative_to(project_dir).parts):
            continue
        if path.suffix in (".yml", ".yaml", ".sql") and path.is_file():
            try:
                if "store_failures" in path.read_text(errors="ignore"):
                    return True
            except OSError:
                continue
    return False
