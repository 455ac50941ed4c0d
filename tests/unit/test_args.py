"""Argument handling without running dbt: sagaz-dbt's own flags taken out of the list
(`options.split_args`), the rest validated and re-rendered by dbt's click command
(`args.DbtArgs`), and the checks on names sagaz-dbt interpolates (`validate`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagaz_dbt import validate
from sagaz_dbt.dbt.args import DbtArgs
from sagaz_dbt.errors import UsageError
from sagaz_dbt.dbt.options import FLAG_HELP, SagazOptions, split_args
from sagaz_dbt.runtime.waits import DEFAULT_LOCK_TIMEOUT

DEFAULTS = SagazOptions()

# tokens -> (options that differ from the defaults, what goes on to dbt)
SPLITS: list[tuple[list[str], dict[str, Any], list[str]]] = [
    ([], {}, []),
    (["--select", "a+", "--full-refresh"], {}, ["--select", "a+", "--full-refresh"]),
    (["--keep-backups", "3"], {"keep_backups": 3}, []),
    (["--keep-backups=3"], {"keep_backups": 3}, []),
    (["--wait"], {"wait": True}, []),
    (["--wait", "--no-wait"], {"wait": False}, []),
    (["--no-wait", "--wait"], {"wait": True}, []),
    (["--wait-timeout", "12.5"], {"wait_timeout": 12.5}, []),
    (["--journal-schema", "sagaz_ci"], {"journal_schema": "sagaz_ci"}, []),
    (["--junit-xml", "out/junit.xml"], {"junit_xml": "out/junit.xml"}, []),
    (["--accept-missing", "0" * 32], {"accept_missing": "0" * 32}, []),
    (["--lock-timeout", "2"], {"lock_timeout": 2.0}, []),
    # sagaz flags anywhere, dbt's kept in order, values that look like flags stay values
    (
        ["-s", "x", "--wait", "--vars", "{k: 1}", "--keep-backups", "1", "--threads", "4"],
        {"wait": True, "keep_backups": 1},
        ["-s", "x", "--vars", "{k: 1}", "--threads", "4"],
    ),
    (["--junit-xml", "--wait"], {"junit_xml": "--wait"}, []),
    (["--vars", "--wait"], {"wait": True}, ["--vars"]),  # dbt's own parser then refuses --vars
    # lookalikes are dbt's
    (["--waiting"], {}, ["--waiting"]),
    (["--keep-backup", "1"], {}, ["--keep-backup", "1"]),
]


@pytest.mark.parametrize("tokens, changed, rest", SPLITS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_split_args(tokens: list[str], changed: dict[str, Any], rest: list[str]) -> None:
    split = split_args(tokens)
    assert split.options == SagazOptions(**{**DEFAULTS.__dict__, **changed})
    assert split.dbt_args == rest


REFUSED = [
    (["--keep-backups"], "needs a value"),
    (["--keep-backups", "two"], "whole number"),
    (["--keep-backups", "-1"], "cannot be negative"),
    (["--wait-timeout", "soon"], "--wait-timeout"),
    (["--lock-timeout", "0"], "greater than 0"),
    (["--lock-timeout", "86400"], "under a day"),
    (["--lock-timeout", "x"], "--lock-timeout takes seconds"),
    (["--junit-xml="], "needs a file path"),
    (["--accept-missing="], "needs a run id"),
    (["--journal-schema", "Sagaz"], "not a plain schema name"),
    (["--journal-schema", "x'; drop schema y; --"], "not a plain schema name"),
    (["--journal-schema", "s" * 64], "64 bytes long"),
    (["--journal-schema="], "cannot be empty"),
]


@pytest.mark.parametrize("tokens, message", REFUSED, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_split_args_refuses(tokens: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        split_args(tokens)


def test_defaults() -> None:
    assert DEFAULTS.journal_schema == "sagaz" and DEFAULTS.lock_timeout == DEFAULT_LOCK_TIMEOUT
    assert split_args(["--journal-schema", "s" * 63]).options.journal_schema == "s" * 63  # the byte limit itself


def test_every_flag_is_documented() -> None:
    from sagaz_dbt.dbt import options

    documented = {word for flag, _ in FLAG_HELP for word in flag.replace("/", " ").split() if word.startswith("--")}
    assert documented == options._VALUED | options._FLAGS


@pytest.mark.parametrize(
    "value, ok",
    [("sagaz", True), ("_s1", True), ("select", True), ("1s", False), ("s-s", False), ("é", False), ("s" * 63, True)],
)
def test_journal_schema_shape(value: str, ok: bool) -> None:
    if ok:
        assert validate.journal_schema(value) == value
    else:
        with pytest.raises(UsageError):
            validate.journal_schema(value)


@pytest.mark.parametrize("value, ok", [("0123456789abcdef" * 2, True), ("0123456789ABCDEF" * 2, False), ("abc", False), ("x" * 32, False)])
def test_run_id_shape(value: str, ok: bool) -> None:
    if ok:
        assert validate.run_id(value) == value
    else:
        with pytest.raises(UsageError, match="not a sagaz-dbt run id"):
            validate.run_id(value)


# -- DbtArgs: dbt's own click command, no dbt run ------------------------------------------


@pytest.fixture
def profiles(tmp_path: Path) -> list[str]:
    return ["--profiles-dir", str(tmp_path)]  # dbt's option checks that the folder exists


def test_dbt_args_facts(profiles: list[str], tmp_path: Path) -> None:
    args = DbtArgs.parse("build", [*profiles, "--project-dir", str(tmp_path), "-t", "ci", "--full-refresh", "-s", "a b", "-s", "c"])
    assert (args.command, args.target, args.full_refresh, args.project_dir) == ("build", "ci", True, tmp_path.resolve())
    assert args.raw["select"] == [("a", "b"), ("c",)]  # repeated and multi-value, as typed
    assert {"target", "full_refresh", "select", "profiles_dir", "project_dir"} <= set(args.explicit)


def test_dbt_args_defaults(profiles: list[str]) -> None:
    args = DbtArgs.parse("build", profiles)
    assert (args.target, args.full_refresh) == (None, False)
    assert "target" not in args.explicit


# (tokens, command, overrides) -> tokens for that inner command
RENDERED = [
    # parse takes neither --select nor --full-refresh; --vars and JSON values stay as typed
    (
        ["--vars", "{x: 1}", "--full-refresh", "-s", "a", "--warn-error-options", '{"error": "all"}'],
        "parse",
        {},
        ["--vars", "{x: 1}", "--warn-error-options", '{"error": "all"}'],
    ),
    # ls takes the selection, multi-value and repeated, rendered with the long flag
    (["-s", "a", "b", "-s", "c", "--exclude", "d"], "ls", {}, ["--select", "a", "b", "--select", "c", "--exclude", "d"]),
    # overrides replace what was typed and are rendered from values
    (["-s", "a"], "ls", {"select": ("x", "y"), "output": "json"}, ["--select", "x", "--select", "y", "--output", "json"]),
    (["--target", "ci"], "ls", {"target": None}, []),
    # a flag's off form
    (["--no-partial-parse"], "parse", {}, ["--no-partial-parse"]),
]


@pytest.mark.parametrize("tokens, command, overrides, expected", RENDERED)
def test_tokens_for(profiles: list[str], tokens: list[str], command: str, overrides: dict[str, Any], expected: list[str]) -> None:
    args = DbtArgs.parse("build", [*profiles, *tokens])
    assert args.tokens_for(command, **overrides) == [*profiles, *expected]


@pytest.mark.parametrize("tokens", [["--no-such-flag"], ["--threads", "many"], ["--select"]])
def test_dbt_refuses_with_a_usage_error(profiles: list[str], tokens: list[str]) -> None:
    with pytest.raises(UsageError):
        DbtArgs.parse("build", [*profiles, *tokens])
