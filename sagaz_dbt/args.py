"""The user's `dbt build` arguments, validated by dbt's own click command.

sagaz-dbt is a drop-in: it must accept exactly what `dbt build` accepts and reject the rest
with dbt's usage error (exit 2) before anything touches the warehouse.  It also needs the
subset of those arguments that `dbt parse` and `dbt ls` understand (project, profile,
target, vars, selection), re-rendered for those commands.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import click
from click.core import ParameterSource

from sagaz_dbt.errors import UsageError

#: Sources that mean "the user said so", as opposed to click defaults.
_EXPLICIT = {ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT}


@dataclass(frozen=True)
class DbtArgs:
    """One validated `dbt <command>` invocation."""

    command: str
    tokens: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    explicit: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, command: str, tokens: Sequence[str]) -> "DbtArgs":
        from dbt.cli.flags import args_to_context

        try:
            ctx = args_to_context([command, *tokens])
        except click.exceptions.ClickException as exc:  # UsageError, BadParameter, NoSuchOption
            raise UsageError(exc.format_message()) from exc
        explicit = {
            name: value
            for name, value in ctx.params.items()
            if ctx.get_parameter_source(name) in _EXPLICIT
        }
        return cls(command=command, tokens=tuple(tokens), params=dict(ctx.params), explicit=explicit)

    # -- facts sagaz-dbt needs before dbt runs -------------------------------------------

    @property
    def project_dir(self) -> Path:
        value = self.params.get("project_dir") or os.environ.get("DBT_PROJECT_DIR") or os.getcwd()
        return Path(value).expanduser().resolve()

    @property
    def full_refresh(self) -> bool:
        return bool(self.params.get("full_refresh"))

    @property
    def target(self) -> str | None:
        return self.params.get("target")

    def tokens_for(self, command: str, **overrides: Any) -> list[str]:
        """The user's explicit arguments that `dbt <command>` accepts, as CLI tokens."""
        from dbt.cli.main import cli

        target_cmd = cli.commands[command]
        options = {p.name: p for p in target_cmd.params if isinstance(p, click.Option)}
        values = {**self.explicit, **overrides}
        tokens: list[str] = []
        for name, value in values.items():
            option = options.get(name)
            if option is None or value is None:
                continue
            tokens.extend(_render_option(option, value))
        return tokens


def _render_option(option: click.Option, value: Any) -> list[str]:
    flag = _long(option.opts)
    if option.is_flag:
        if value:
            return [flag]
        return [_long(option.secondary_opts)] if option.secondary_opts else []
    if isinstance(value, (tuple, list)):
        out: list[str] = []
        for item in value:
            out.extend([flag, _scalar(item)])
        return out
    return [flag, _scalar(value)]


def _long(opts: Sequence[str]) -> str:
    longs = [o for o in opts if o.startswith("--")]
    return longs[0] if longs else opts[0]


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
