"""sagaz-dbt's own flags, taken out of the argument list before the rest goes to dbt.

They are few and long-named (`--keep-backups`, `--wait`, `--journal-schema`, `--junit-xml`) so
they never shadow a dbt flag; everything else passes through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from sagaz_dbt import validate
from sagaz_dbt.errors import UsageError
from sagaz_dbt.vocabulary import IsolationMode
from sagaz_dbt.runtime.waits import DEFAULT_LOCK_TIMEOUT

#: The journal's schema unless `--journal-schema` names another.
DEFAULT_SCHEMA = "sagaz"


@dataclass(frozen=True)
class SagazOptions:
    keep_backups: int = 0  # committed runs whose backups stay for `sagaz-dbt rollback`
    wait: bool = False  # wait for another run on the same target instead of failing fast
    wait_timeout: float = 3600.0
    journal_schema: str = DEFAULT_SCHEMA
    junit_xml: str | None = None  # where to write a JUnit XML report of the run (CI test tabs)
    #: A run whose recovery may accept relations that are gone together with their backup.
    accept_missing: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT  # how long one sagaz-dbt statement waits for a lock
    isolation: IsolationMode = IsolationMode.NONE  # --isolation publish: build in shadows, publish at once


@dataclass(frozen=True)
class SplitArgs:
    options: SagazOptions
    dbt_args: list[str] = field(default_factory=list)


_VALUED = {"--keep-backups", "--wait-timeout", "--journal-schema", "--junit-xml", "--accept-missing", "--lock-timeout", "--isolation"}
_FLAGS = {"--wait", "--no-wait"}

#: (flag, what it does) for help texts and the README.
FLAG_HELP: list[tuple[str, str]] = [
    ("--keep-backups N", "keep the backups of the last N committed runs so `sagaz-dbt rollback` can undo them (default 0)"),
    ("--wait / --no-wait", "wait for another run on the same target to finish instead of failing fast (default: fail fast)"),
    ("--wait-timeout SECONDS", "how long --wait waits (default 3600)"),
    (
        "--lock-timeout SECONDS",
        "how long each sagaz-dbt statement waits for a lock another session holds, before it retries "
        f"(3 tries) and fails naming the blocker (default {DEFAULT_LOCK_TIMEOUT:g})",
    ),
    (
        "--isolation publish|none",
        "publish: build and test every selected node in shadow relations, and publish them all in one "
        "transaction only if the build passed, so readers never see a half-built run (default none)",
    ),
    ("--journal-schema NAME", "schema of the run journal in the target database (default `sagaz`)"),
    ("--junit-xml PATH", "write a JUnit XML report: one testcase per dbt node, plus one for the rollback"),
    (
        "--accept-missing RUN_ID",
        "recovering RUN_ID, accept relations that are gone together with their backup (reported) and restore the rest",
    ),
]


def split_args(tokens: Sequence[str]) -> SplitArgs:
    values: dict[str, str] = {}
    wait = False
    rest: list[str] = []
    i = 0
    tokens = list(tokens)
    while i < len(tokens):
        token = tokens[i]
        name, eq, inline = token.partition("=")
        if name in _VALUED:
            if eq:
                values[name] = inline
            else:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{name} needs a value")
                values[name] = tokens[i + 1]
                i += 1
        elif token in _FLAGS:
            wait = token == "--wait"
        else:
            rest.append(token)
        i += 1
    return SplitArgs(options=_options(values, wait), dbt_args=rest)


def _options(values: dict[str, str], wait: bool) -> SagazOptions:
    try:
        keep = int(values.get("--keep-backups", "0"))
        timeout = float(values.get("--wait-timeout", "3600"))
    except ValueError as exc:
        raise UsageError(f"--keep-backups takes a whole number and --wait-timeout seconds: {exc}") from exc
    if keep < 0:
        raise UsageError("--keep-backups cannot be negative")
    schema = validate.journal_schema(values.get("--journal-schema", DEFAULT_SCHEMA))
    try:
        lock_timeout = float(values.get("--lock-timeout", str(DEFAULT_LOCK_TIMEOUT)))
    except ValueError as exc:
        raise UsageError(f"--lock-timeout takes seconds: {exc}") from exc
    if not 0 < lock_timeout < 86400:
        raise UsageError("--lock-timeout takes a number of seconds greater than 0 (and under a day)")
    junit_xml = values.get("--junit-xml")
    if junit_xml is not None and not junit_xml:
        raise UsageError("--junit-xml needs a file path")
    accept_missing = values.get("--accept-missing")
    if accept_missing is not None and not accept_missing:
        raise UsageError("--accept-missing needs a run id (see `sagaz-dbt runs`)")
    try:
        isolation = IsolationMode(values.get("--isolation", IsolationMode.NONE.value))
    except ValueError as exc:
        choices = " or ".join(m.value for m in IsolationMode)
        raise UsageError(f"--isolation takes {choices} (got {values['--isolation']!r})") from exc
    return SagazOptions(
        isolation=isolation,
        keep_backups=keep,
        wait=wait,
        wait_timeout=timeout,
        journal_schema=schema,
        junit_xml=junit_xml,
        accept_missing=accept_missing,
        lock_timeout=lock_timeout,
    )
