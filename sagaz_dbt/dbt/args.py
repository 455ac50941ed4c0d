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
    #: The command-line options as typed (before click converts them): re-rendered for the
    #: inner `parse` / `ls`, so a value such as `--warn-error-options '{...}'` stays valid.
    raw: Mapping[str, Any] = field(default_factory=dict)

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
        raw = _raw_options(ctx.command, [command, *tokens])
        return cls(command=command, tokens=tuple(tokens), params=dict(ctx.params), explicit=explicit, raw=raw)

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
        """The user's command-line arguments that `dbt <command>` accepts, as CLI tokens,
        rendered from the raw text the user typed.  Values from environment variables are
        not rendered: the inner invocation reads the same environment."""
        from dbt.cli.main import cli

        target_cmd = cli.commands[command]
        options = {p.name: p for p in target_cmd.params if isinstance(p, click.Option)}
        tokens: list[str] = []
        for name, raw in self.raw.items():
            option = options.get(name)
            if option is None or name in overrides:
                continue
            tokens.extend(render_raw(option, raw))
        for name, value in overrides.items():
            option = options.get(name)
            if option is None or value is None:
                continue
            tokens.extend(_render_option(option, value))
        return tokens


def _raw_options(command: click.Command, tokens: Sequence[str]) -> dict[str, Any]:
    """name -> raw value of each option on the command line (click's parser, no conversion)."""
    from dbt.cli.main import cli

    ctx = click.Context(cli, info_name="dbt", resilient_parsing=True)
    group_raw, remaining, _ = cli.make_parser(ctx).parse_args(list(tokens))
    sub_ctx = click.Context(command, info_name=remaining[0] if remaining else "", resilient_parsing=True)
    sub_raw, _, _ = command.make_parser(sub_ctx).parse_args(list(remaining[1:]))
    return {**group_raw, **sub_raw}


def render_raw(option: click.Option, raw: Any) -> list[str]:
    """CLI tokens for a raw value from click's parser: a flag's bool, one string, a tuple of
    strings (a multi-value option), or a list of those (a repeated option)."""
    flag = _long(option.opts)
    if option.is_flag:
        if raw:
            return [flag]
        return [_long(option.secondary_opts)] if option.secondary_opts else []
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        values = list(item) if isinstance(item, tuple) else [item]
        out.extend([flag, *(str(v) for v in values)])
    return out


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
