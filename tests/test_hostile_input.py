"""Hostile text on every command that takes it: an error (exit 2) or correct handling, and
never SQL.

- `--journal-schema` on build/run/seed/snapshot/recover/runs/rollback/gc, and `rollback RUN_ID`,
  with quote, semicolon, comment (`--`, `/*`), backslash, case-twin, multi-byte and over-long
  payloads: a usage error naming the flag, exit 2, and the warehouse unchanged (row-level
  checksums of every relation, no payload table, no journal row).  One payload is a working
  exploit of the old code: dbt-duckdb's catalog macro writes the schema into a string literal
  unescaped, so `runs` used to create the payload's table.
- A reserved word (`select`) is a valid journal schema: it is quoted everywhere.
- Model aliases with a quote, a backslash, comment markers and rich markup (`report[/]2024`,
  `[bold]x[/bold]`) build, roll back exactly, and are printed literally in the rollback
  summary, the GitHub summary, the JUnit XML and the JSON log lines, on both engines, with
  Postgres' `standard_conforming_strings` off (where a backslash escapes a quote in '...').
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from rich.console import Console

import sagaz_dbt
from sagaz_dbt import api
from sagaz_dbt.errors import SagazError
from sagaz_dbt.dbt.session import release_connections

from helpers.project import assert_same_state

#: (label, journal-schema payload).  `{schema}` is the project's schema.
SCHEMA_PAYLOADS = [
    ("quote", "zz'x"),
    ("double_quote", 'zz"x'),
    ("semicolon", "zz; create table {schema}.pwned_semicolon(a int)"),
    (
        "exploit",  # valid SQL around dbt-duckdb's `where lower(table_schema) = '<schema>'`
        "x'; create table {schema}.pwned_exploit(a int); "
        "select 1 from information_schema.tables where table_schema = '",
    ),
    ("line_comment", "zz -- x"),
    ("block_comment", "zz /* x"),
    ("backslash", "zz\\'; create table {schema}.pwned_backslash(a int); --"),
    ("case_twin", "Sagaz"),
    ("multibyte", "sagaz_ü"),
    ("too_long", "s" * 64),
    ("leading_digit", "1sagaz"),
]

RUN_ID_PAYLOADS = [
    ("quote", "abc'def"),
    ("injection", "0'; drop table {schema}.orders; --"),
    ("upper_hex", "ABCDEF0123456789ABCDEF0123456789"),
    ("short", "abc123"),
]

#: command -> how to call it with extra arguments (in-process, as the CLI does).
COMMANDS = {
    "build": lambda args, out: sagaz_dbt.build(args, command="build", console=out),
    "run": lambda args, out: sagaz_dbt.build(args, command="run", console=out),
    "seed": lambda args, out: sagaz_dbt.build(args, command="seed", console=out),
    "snapshot": lambda args, out: sagaz_dbt.build(args, command="snapshot", console=out),
    "recover": lambda args, out: api.recover(args, console=out),
    "runs": lambda args, out: api.runs(args),
    "rollback": lambda args, out: api.rollback("0" * 32, args, console=out),
    "gc": lambda args, out: api.gc(args, console=out),
}


def _exit_code_and_message(call, args: list[str]) -> tuple[int, str]:
    """What the CLI would exit with and print: build returns a result, the others raise."""
    buffer = io.StringIO()
    out = Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
    try:
        result = call(args, out)
    except SagazError as exc:
        return exc.exit_code, str(exc)
    finally:
        release_connections()
    if isinstance(result, sagaz_dbt.BuildResult):
        return result.exit_code, f"{result.error}\n{buffer.getvalue()}"
    return 0, buffer.getvalue()


def _console_script(project, *args: str) -> subprocess.CompletedProcess:
    """`sagaz-dbt ARGS` in a subprocess (any command, unlike Project.cli)."""
    release_connections()
    exe = Path(sys.executable).parent / "sagaz-dbt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAZ_DBT_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", COLUMNS="400")
    return subprocess.run(
        [str(exe), *args, *project.location_args], capture_output=True, text=True, env=env, timeout=300, cwd=project.root
    )


def _payload_tables(project) -> list[str]:
    return [name for name in project.state() if "pwned" in name]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_hostile_journal_schema_and_run_id_on_every_command(engine, built):
    project = built(engine)
    ok = project.sagaz()  # a journal with one committed run: the reads have something to read
    assert ok.exit_code == 0, project.last_output
    before = project.state()
    journal_before = project.journal_run(ok.run_id)
    project.use_seed_data("day2")  # a command that went ahead would change the warehouse

    problems: list[str] = []
    for command, call in COMMANDS.items():
        for label, payload in SCHEMA_PAYLOADS:
            args = ["--journal-schema", payload.replace("{schema}", project.schema), *project.location_args]
            code, message = _exit_code_and_message(call, args)
            if code != 2 or "--journal-schema" not in message:
                problems.append(f"{command} --journal-schema <{label}>: exit {code}: {message[:300]}")
    code, message = _exit_code_and_message(lambda args, out: api.gc(args, keep=-1, console=out), project.location_args)
    if code != 2 or "--keep" not in message:
        problems.append(f"gc --keep -1: exit {code}: {message[:300]}")
    for label, payload in RUN_ID_PAYLOADS:
        run_id = payload.replace("{schema}", project.schema)
        code, message = _exit_code_and_message(
            lambda args, out: api.rollback(run_id, args, console=out), project.location_args
        )
        if code != 2 or "not a sagaz-dbt run id" not in message:
            problems.append(f"rollback <{label}>: exit {code}: {message[:300]}")

    assert not problems, "\n".join(problems)
    assert _payload_tables(project) == []
    assert_same_state(before, project.state(), "after hostile input vs before")
    assert project.journal_run(ok.run_id) == journal_before
    assert project.leftovers() == []


def test_hostile_journal_schema_through_the_console_script(built):
    """The real command line: exit 2, the payload printed literally, nothing created."""
    project = built("duckdb")
    before = project.state()
    payload = f"x'; create table {project.schema}.pwned_cli(a int); select '[/x]"
    for command in (["runs"], ["gc"], ["build"]):
        proc = _console_script(project, *command, "--journal-schema", payload)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert payload in proc.stdout.replace("\n", ""), proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
    assert_same_state(before, project.state(), "after a hostile --journal-schema vs before")


#: One payload with every trick at once, for the flags dbt itself validates.
DBT_FLAG_PAYLOAD = "x'; create table {schema}.pwned_flag(a int); -- /* \\ \""


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_hostile_dbt_flags_behave_as_plain_dbt(engine, built):
    """`--select` on build/run/seed/snapshot: the exit code plain dbt gives for the same
    arguments, nothing built; `--target` on the other commands: exit 2.  Never SQL."""
    project = built(engine)
    before = project.state()
    project.use_seed_data("day2")
    payload = DBT_FLAG_PAYLOAD.replace("{schema}", project.schema)
    problems: list[str] = []
    for command in ("build", "run", "seed", "snapshot"):
        plain = project.dbt("--select", payload, command=command)
        expected = 0 if plain.success else (1 if plain.exception is None else 2)
        result = project.sagaz("--select", payload, command=command)
        if result.exit_code != expected:
            problems.append(f"{command} --select: exit {result.exit_code}, plain dbt {expected}: {result.error}")
    for command in ("recover", "runs", "rollback", "gc"):
        code, message = _exit_code_and_message(COMMANDS[command], ["--target", payload, *project.location_args])
        if code != 2 or payload not in message:
            problems.append(f"{command} --target: exit {code}: {message[:300]}")
    assert not problems, "\n".join(problems)
    assert _payload_tables(project) == []
    assert_same_state(before, project.state(), "after hostile dbt flags vs before")
    assert project.leftovers() == []


def test_malformed_vars_is_a_usage_error_printed_literally(built):
    """`--vars '{v: [/x]'`: plain dbt exits 2 ("Invalid value for '--vars': ... is not valid
    YAML"); sagaz-dbt used to crash in rich's markup parser (exit 1, a traceback)."""
    project = built("duckdb")
    before = project.state()
    plain = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--vars", "{v: [/x]", *project.location_args],
        capture_output=True, text=True, cwd=project.root,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"},
    )
    proc = _console_script(project, "build", "--vars", "{v: [/x]")
    assert plain.returncode == 2
    assert proc.returncode == plain.returncode, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "Invalid value for '--vars': String '{v: [/x]' is not valid YAML" in plain.stdout + plain.stderr
    assert "Invalid value for '--vars': String '{v: [/x]' is not valid YAML" in proc.stdout
    assert_same_state(before, project.state(), "after malformed --vars vs before")


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_reserved_word_journal_schema_is_quoted(engine, built):
    project = built(engine)
    project.use_seed_data("day2")
    result = project.sagaz("--journal-schema", "select")
    assert result.exit_code == 0, project.last_output
    listed = api.runs(["--journal-schema", "select", *project.location_args])
    release_connections()
    assert [s.run.run_id for s in listed] == [result.run_id]
    assert [s.run.status for s in listed] == ["committed"]


# -- hostile model names ------------------------------------------------------------------------

#: alias -> materialization.  Each is a real relation name the engine accepts when quoted.
ALIASES = {
    "report[/]2024": "table",
    "[bold]x[/bold]": "view",
    "o'b\\'c -- d /* e": "table",
}


def _hostile_project(root: Path, name: str) -> Path:
    for folder in ("seeds", "models", "tests"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nconfig-version: 2\nprofile: {name}\n"
    )
    (root / "seeds" / "raw.csv").write_text("id,amount\n1,10\n2,20\n")
    models = []
    for n, (alias, materialized) in enumerate(ALIASES.items()):
        (root / "models" / f"m{n}.sql").write_text("select id, amount from {{ ref('raw') }}\n")
        models.append({"name": f"m{n}", "config": {"materialized": materialized, "alias": alias}})
    (root / "models" / "schema.yml").write_text(yaml.safe_dump({"version": 2, "models": models}))
    (root / "tests" / "gate.sql").write_text(
        "select * from {{ ref('m0') }} where {{ 'true' if var('fail', false) else 'false' }}\n"
    )
    return root


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_hostile_model_aliases_roll_back_and_print_literally(engine, project, tmp_path, monkeypatch):
    if engine == "postgres":
        # A backslash escapes a quote in '...' when this is off: the literals must not care.
        monkeypatch.setenv("PGOPTIONS", "-c standard_conforming_strings=off")
    template = _hostile_project(tmp_path / "template", "hostile")
    proj = project(engine, name="hostile", template=template)
    first = proj.dbt()
    assert first.success, first.exception
    (proj.root / "seeds" / "raw.csv").write_text("id,amount\n1,10\n2,20\n3,30\n")
    before = proj.state()
    assert set(ALIASES) <= {name.split(".", 1)[1] for name in before}, sorted(before)

    summary = tmp_path / "summary.md"
    junit_path = tmp_path / "junit.xml"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = proj.sagaz("--vars", "{fail: true}", "--junit-xml", str(junit_path))

    assert result.exit_code == 1, f"{result.status}: {result.error}\n{proj.last_output}"
    assert result.status == "rolled_back"
    assert_same_state(before, proj.state(), "after the rollback vs before")
    assert proj.leftovers() == []
    for alias in ALIASES:
        assert f"{proj.schema}.{alias}" in proj.last_output, alias
        assert alias in summary.read_text(), alias
    names = {case.get("name") for case in ET.parse(junit_path).getroot().iter("testcase")}
    labels = " ".join(n for n in names if n)
    junit_text = junit_path.read_text()
    for alias in ALIASES:
        assert alias in labels or alias in ET.tostring(ET.parse(junit_path).getroot(), encoding="unicode"), (
            alias,
            junit_text[:2000],
        )

    # The same failure under dbt's JSON log format: every line parses, the names are literal.
    buffer = io.StringIO()
    out = Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
    try:
        again = sagaz_dbt.build(["--vars", "{fail: true}", "--log-format", "json", *proj.location_args], console=out)
    finally:
        release_connections()
    assert again.status == "rolled_back", buffer.getvalue()
    assert_same_state(before, proj.state(), "after the JSON-logged rollback vs before")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    dumped = json.dumps(lines, ensure_ascii=False)
    for alias in ALIASES:
        assert json.dumps(alias, ensure_ascii=False)[1:-1] in dumped, alias
