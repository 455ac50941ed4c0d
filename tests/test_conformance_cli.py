"""Conformance: every dbt command and global flag through `dbt` and through `sagaz-dbt`.

One table of cases.  Each runs `dbt ARGV` on one twin warehouse and `sagaz-dbt ARGV` on the
other (both built once by plain dbt from the same baseline), in-process through each tool's
real click entry point (`dbt.cli.main.cli`, `sagaz_dbt.cli.main.dispatch`), from the project
folder, with stdout captured, and compares:

- the exit code;
- the warehouse (row checksums of every relation): equal to plain dbt's after a success;
  after a failure equal to the state before the run (the rollback: the one difference by
  design), except the store-failures audit tables, which both keep;
- `target/run_results.json`: present in both or neither, same (unique_id, status, failures);
- stdout, normalised (timestamps, durations, paths, ids, node numbering, the macro count,
  and sagaz-dbt's own lines stripped), as a multiset of lines (dbt's threads print in any
  order); JSON logs compare the multiset of dbt's event names.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable

import pytest

from helpers.project import Project, assert_same_state
from sagaz_dbt.dbt.session import release_connections

FAIL_TEST = "{min_payment_amount: 1000}"


class Stdout(Enum):
    LINES = "lines"  # normalised text lines
    JSON = "json"  # dbt's JSON log events, by name
    NONE = "none"  # not compared (debug logs, version banners): see `contains`


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    stdout: Stdout = Stdout.LINES
    env: dict[str, str] = field(default_factory=dict)
    setup: tuple[str, ...] = ()  # run first with the same tool on each twin (retry, clone)
    contains: tuple[str, ...] = ()  # lines sagaz-dbt's stdout must hold
    data: str | None = None  # another day's seed data on both twins before the setup
    setup_by_dbt: bool = False  # the setup runs with plain dbt on both twins
    more_results: bool = False  # by design sagaz-dbt runs a superset of dbt's nodes
    schema_suffix: str = ""  # after the setup, the profile's schema gets this suffix


CASES = [
    # -- the writers: a saga ------------------------------------------------------------------
    Case("build", ("build",)),
    Case("build-fails", ("build", "--vars", FAIL_TEST)),
    Case("run", ("run", "--select", "marts")),
    Case("seed", ("seed",)),
    Case("snapshot", ("snapshot",)),
    Case("test", ("test",)),
    Case("test-store-failures", ("test", "--store-failures", "--vars", FAIL_TEST)),
    # a failed plain `dbt build`, then `sagaz-dbt retry`: exactly dbt's retry
    Case("retry", ("retry", "--vars", "{min_payment_amount: 0}"), setup=("build", "--vars", FAIL_TEST), setup_by_dbt=True),
    # the failed build changed seeds that sagaz-dbt rolled back: its retry must run them again
    # (dbt retries only failed and skipped nodes; by design, sagaz-dbt's retry of a
    # rolled-back invocation runs every node of it, since none of it landed)
    Case(
        "retry-after-rollback",
        ("retry", "--vars", "{min_payment_amount: 0}"),
        setup=("build", "--vars", FAIL_TEST),
        data="day2",
        stdout=Stdout.NONE,
        more_results=True,
    ),
    # the state's relations are the target's own (one schema): clone leaves them as they are
    Case("clone", ("clone", "--state", "state"), setup=("parse", "--target-path", "state")),
    # clone into another schema: it creates a view per state relation
    Case("clone-new-schema", ("clone", "--state", "state"), setup=("parse", "--target-path", "state"), schema_suffix="_clone"),
    # -- the rest: passed to dbt ----------------------------------------------------------------
    Case("ls", ("ls",)),
    Case("list-json", ("list", "--output", "json", "--resource-type", "model")),
    Case("compile", ("compile", "--select", "stg_orders")),
    Case("debug", ("debug",)),
    Case("deps", ("deps",)),
    Case("parse", ("parse",)),
    Case("show", ("show", "--select", "stg_orders", "--limit", "3")),
    Case("run-operation", ("run-operation", "generate_schema_name", "--args", "{custom_schema_name: x}")),
    Case("source-freshness", ("source", "freshness")),
    Case("docs-generate", ("docs", "generate")),
    # after a saga run its package stays in dbt_packages/: a passed-through command's manifest
    # must still be plain dbt's
    Case("compile-after-saga", ("compile", "--select", "stg_orders"), setup=("seed", "--select", "customers")),
    Case("docs-generate-after-saga", ("docs", "generate"), setup=("seed", "--select", "customers")),
    Case("clean", ("clean",)),
    Case("no-such-command", ("nosuch",)),
    # -- global flags before the sub-command --------------------------------------------------
    Case("debug-flag", ("--debug", "seed"), stdout=Stdout.NONE, contains=("Command `dbt seed` succeeded",)),
    Case("no-use-colors", ("--no-use-colors", "seed")),
    Case("log-format-json", ("--log-format", "json", "seed"), stdout=Stdout.JSON),
    Case("show-resource-report", ("--show-resource-report", "seed"), stdout=Stdout.NONE, contains=("Resource report",)),
    Case("quiet", ("--quiet", "build", "--vars", FAIL_TEST)),
    Case("log-level-none", ("--log-level", "none", "seed")),
    Case("log-level-warn-json", ("--log-format", "json", "--log-level", "warn", "build"), stdout=Stdout.JSON),
    Case("version", ("--version",), stdout=Stdout.NONE),
    Case("build-version", ("build", "--version"), stdout=Stdout.NONE),
    # by design: a selection error is reported before dbt's build starts, as "sagaz-dbt: <dbt's error>"
    Case(
        "warn-error-options",
        ("--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}', "build", "--select", "nothing_here"),
        stdout=Stdout.NONE,
        contains=("The selection criterion 'nothing_here' does not match any enabled nodes",),
    ),
    Case(
        "warn-error-options-env",
        ("build", "--select", "nothing_here"),
        env={"DBT_WARN_ERROR_OPTIONS": '{"silence": ["NoNodesForSelectionCriteria"]}'},
    ),
    Case("no-such-option", ("--no-such-flag", "build")),
    # -- build flags ---------------------------------------------------------------------------
    Case("select-exclude", ("build", "--select", "+fct_orders", "--exclude", "stg_payments")),
    Case("full-refresh", ("build", "--full-refresh", "--select", "incremental")),
    Case("empty", ("build", "--empty", "--select", "marts")),
    Case("resource-type", ("build", "--resource-type", "seed")),
    Case("exclude-resource-type", ("build", "--exclude-resource-type", "test", "--select", "staging")),
    Case("fail-fast", ("build", "--fail-fast", "--threads", "1", "--vars", FAIL_TEST), stdout=Stdout.NONE),
    Case("no-write-json", ("build", "--no-write-json", "--select", "customers")),
    Case("indirect-cautious", ("build", "--indirect-selection", "cautious", "--select", "orders")),
    Case("build-store-failures", ("build", "--store-failures", "--vars", FAIL_TEST, "--select", "payments+")),
]


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    results: list[tuple] | None  # (unique_id, status, failures), sorted; None: no run_results.json
    target_files: set[str]


def _plain_dbt(argv: list[str]) -> int:
    """The `dbt` console script (`dbt.cli.main:cli`), in-process."""
    from dbt.cli.main import cli

    try:
        cli.main(args=argv, prog_name="dbt", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _sagaz(argv: list[str]) -> int:
    from sagaz_dbt.cli.main import dispatch

    return dispatch(argv)


def _invoke(
    entry: Callable[[list[str]], int], argv: tuple[str, ...], project: Project, env: dict[str, str], mp: pytest.MonkeyPatch
) -> Outcome:
    release_connections()
    buffer = io.StringIO()
    with mp.context() as m:
        m.chdir(project.root)
        m.setenv("DBT_PROFILES_DIR", str(project.root))
        for name, value in env.items():
            m.setenv(name, value)
        with redirect_stdout(buffer):
            code = entry(list(argv))
    release_connections()
    target = project.root / "target"
    results_path = target / "run_results.json"
    results = None
    if results_path.is_file():
        payload = json.loads(results_path.read_text())
        results = sorted((r["unique_id"], r["status"], r.get("failures")) for r in payload["results"])
    files = {p.name for p in target.iterdir()} if target.is_dir() else set()
    return Outcome(code, buffer.getvalue(), results, files)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NORMALISE = [
    (re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?\s+"), ""),  # dbt's timestamps
    (re.compile(r"\d+(\.\d+)? ?(s|seconds)\b"), "<t>"),  # durations
    (re.compile(r"\b\d+ of (\d+)\b"), r"N of \1"),  # node numbering follows thread scheduling
    (re.compile(r"\b\d+ macros\b"), "<n> macros"),  # by design: sagaz-dbt's package adds macros
    # by design: the package's on-run-start guard (macros/phases/guard.sql) is a project hook that dbt
    # counts when it parses the project itself (passed-through commands, retry)
    (re.compile(r"\b1 operation, "), ""),
    (re.compile(r"\b1 project hook, "), ""),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\.{3,}"), "..."),  # dots padding a name to the printer width
]
#: sagaz-dbt's own lines: its messages and the rows of its rollback table; and, by design,
#: the full re-parse of its first run in a folder plain dbt parsed (it adds its package).
_OWN_LINE = re.compile(
    r"^(sagaz-dbt\b|[┏┃┡│└]|Unable to do partial parsing because a project dependency has been added"
    r"|Running 1 on-run-start hook)"
)
#: The package's guard hook, which dbt runs (inert) and counts when it parses the project
#: itself, as `dbt retry` does: by design (README), not compared.
_GUARD_HOOK = re.compile(r"^\d+ of \d+ (START|OK) hook: sagaz_dbt\.on-run-start\.\d+")
_DONE = re.compile(r"^(Done\. PASS=)(\d+)(.* TOTAL=)(\d+)")


def normalised_lines(text: str, root: Path, schema: str = "shop") -> list[str]:
    out = []
    text = re.sub(rf"\b{re.escape(schema)}(?=\b|_)", "<schema>", _ANSI.sub("", text).replace(str(root), "<root>"))
    lines = [_NORMALISE[0][0].sub("", line) for line in text.splitlines()]
    guard_hooks = sum(1 for line in lines if _GUARD_HOOK.match(line.strip()) and " OK hook" in line)
    for line in lines:
        if _OWN_LINE.match(line.strip()) or _GUARD_HOOK.match(line.strip()):
            continue
        if guard_hooks and (done := _DONE.match(line.strip())):
            passed, total = int(done.group(2)) - guard_hooks, int(done.group(4)) - guard_hooks
            line = _DONE.sub(lambda m: f"{m.group(1)}{passed}{m.group(3)}{total}", line.strip())
        for pattern, repl in _NORMALISE:
            line = pattern.sub(repl, line)
        line = line.rstrip()
        if line:
            out.append(line)
    return sorted(out)


def json_event_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        info = json.loads(line)["info"]
        if info.get("category") != "sagaz":
            names.append(info["name"])
    return sorted(names)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: Case, twins, monkeypatch: pytest.MonkeyPatch) -> None:
    _conforms(case, *twins("duckdb", prebuilt=True), monkeypatch)


#: On Postgres (each twin is built by plain dbt first, so a few cases only): the writers.
POSTGRES_CASES = [c for c in CASES if c.id in ("build-fails", "seed", "quiet", "retry")]


@pytest.mark.postgres
@pytest.mark.parametrize("case", POSTGRES_CASES, ids=[c.id for c in POSTGRES_CASES])
def test_conformance_postgres(case: Case, twins, monkeypatch: pytest.MonkeyPatch) -> None:
    _conforms(case, *twins("postgres", prebuilt=True), monkeypatch)


def _conforms(case: Case, plain: Project, sagaz: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    for project, entry in ((plain, _plain_dbt), (sagaz, _sagaz)):
        if case.data:
            project.use_seed_data(case.data)
        if case.setup:
            _invoke(_plain_dbt if case.setup_by_dbt else entry, case.setup, project, case.env, monkeypatch)
        if case.schema_suffix:
            project.write_profile(schema=project.schema + case.schema_suffix)
    before = sagaz.state()

    want = _invoke(_plain_dbt, case.argv, plain, case.env, monkeypatch)
    got = _invoke(_sagaz, case.argv, sagaz, case.env, monkeypatch)
    shown = f"\n--- dbt ---\n{want.stdout[-3000:]}\n--- sagaz-dbt ---\n{got.stdout[-3000:]}"

    assert got.exit_code == want.exit_code, shown
    if case.more_results:
        assert want.results is not None and got.results is not None and set(want.results) <= set(got.results), shown
    else:
        assert got.results == want.results, shown
    if want.exit_code == 0 or not _is_writer(case):
        assert_same_state(plain.state(), sagaz.state(), "sagaz-dbt's warehouse vs dbt's")
    else:  # by design: rolled back, except the store-failures audit tables both keep
        expected = {k: v for k, v in before.items() if "dbt_test__audit" not in k}
        expected.update({k: v for k, v in plain.state().items() if "dbt_test__audit" in k})
        assert_same_state(expected, sagaz.state(), "sagaz-dbt's warehouse after a failure vs before")
    assert got.target_files - {"sagaz"} == want.target_files, shown
    manifest = sagaz.root / "target" / "manifest.json"
    if manifest.is_file():
        assert "macro.sagaz_dbt." not in manifest.read_text(), "target/manifest.json lists sagaz-dbt's macros"
    if "--no-write-json" in case.argv:
        assert "sagaz" not in got.target_files
    if case.stdout is Stdout.LINES:
        theirs = Counter(normalised_lines(want.stdout, plain.root, plain.schema))
        ours = Counter(normalised_lines(got.stdout, sagaz.root, sagaz.schema))
        assert ours == theirs, f"only dbt: {list((theirs - ours).elements())}\nonly sagaz-dbt: {list((ours - theirs).elements())}{shown}"
    elif case.stdout is Stdout.JSON:
        assert json_event_names(got.stdout) == json_event_names(want.stdout), shown
    for text in case.contains:
        assert text in got.stdout, shown
    if case.schema_suffix:
        assert any(case.schema_suffix in key for key in sagaz.state()), "the clone created nothing"
    assert sagaz.leftovers() == []


def _is_writer(case: Case) -> bool:
    from sagaz_dbt import commands

    line = commands.split_command_line(list(case.argv))
    return line.command is not None and commands.kind_of(line.command) is not commands.CommandKind.PASS_THROUGH
