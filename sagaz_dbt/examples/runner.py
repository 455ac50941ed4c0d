"""Run an example pipeline on a fresh warehouse, through the library API (`sagaz_dbt.build`).

A `Workspace` is a throwaway copy of the example project (`dbt_project/`) with its own
warehouse: a new DuckDB file, or uniquely named schemas on Postgres.  `run_example` plays a
scenario on it: the pipeline's batches, green; or a baseline then one failing run, and a
check, from real queries, that every relation is back to its pre-run rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from rich.console import Console
from rich.table import Table

import sagaz_dbt
from sagaz_dbt.examples import data
from sagaz_dbt.examples.pipelines import Failure, Pipeline, get
from sagaz_dbt.examples.state import DuckDBInspector, PostgresInspector, WarehouseState
from sagaz_dbt.saga.journal import DEFAULT_SCHEMA
from sagaz_dbt.vocabulary import RunOutcome

#: Environment variables the example project reads (profiles.yml and macros/switches.sql).
ENV_DUCKDB = "SAGAZ_EXAMPLE_DUCKDB"
ENV_PG_SCHEMA = "SAGAZ_EXAMPLE_PG_SCHEMA"
ENV_BATCH = "SAGAZ_EXAMPLE_BATCH_DATE"
ENV_FAIL = "SAGAZ_EXAMPLE_FAIL"
ENV_PROJECT = "SAGAZ_EXAMPLE_PROJECT"

TARGETS = ("dev", "postgres")  # dev is DuckDB

_IGNORE = shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb", "*.duckdb.wal", ".user.yml",
                                 "__pycache__")


class ExampleError(Exception):
    """The example could not run (no project, unreachable warehouse, bad arguments)."""


def find_project() -> Path:
    """The example dbt project: $SAGAZ_EXAMPLE_PROJECT, a copy shipped inside the package, or
    the source checkout's `dbt_project/`."""
    here = Path(__file__).resolve().parent
    candidates = [Path(os.environ[ENV_PROJECT])] if os.environ.get(ENV_PROJECT) else []
    candidates += [here.parent / "_example_project", here.parent.parent / "dbt_project"]
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    raise ExampleError(
        "the example project was not found (looked in: " + ", ".join(str(c) for c in candidates) + "); "
        f"it ships with the source repository: set {ENV_PROJECT} to its dbt_project/ folder"
    )


def postgres_connect_kwargs(env: dict[str, str] | None = None) -> dict[str, Any]:
    """psycopg2 connection arguments from the same variables (and defaults) as profiles.yml."""
    env = dict(os.environ if env is None else env)
    kwargs: dict[str, Any] = {
        "host": env.get("SAGAZ_EXAMPLE_PG_HOST", "127.0.0.1"),
        "port": int(env.get("SAGAZ_EXAMPLE_PG_PORT", "5432")),
        "user": env.get("SAGAZ_EXAMPLE_PG_USER", "postgres"),
        "dbname": env.get("SAGAZ_EXAMPLE_PG_DBNAME", "postgres"),
        "connect_timeout": 5,
    }
    if env.get("SAGAZ_EXAMPLE_PG_PASSWORD"):
        kwargs["password"] = env["SAGAZ_EXAMPLE_PG_PASSWORD"]
    return kwargs


@dataclass
class BuildRun:
    """One `sagaz-dbt build` of a scenario, with the warehouse before and after it."""

    label: str
    batch_date: str | None
    failure: Failure | None
    args: list[str]
    env: dict[str, str]
    result: Any  # sagaz_dbt.BuildResult
    seconds: float
    before: WarehouseState
    after: WarehouseState
    column: str = ""  # a short name for tables

    @property
    def exit_code(self) -> int:
        return int(self.result.exit_code)

    @property
    def status(self) -> str:
        return str(self.result.status)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.result.report.steps)

    def command(self) -> str:
        """The same run as a shell command, from inside the project folder."""
        env = " ".join(f"{k}={_shell(v)}" for k, v in self.env.items() if k in (ENV_PG_SCHEMA, ENV_BATCH, ENV_FAIL) and v)
        shown = _strip_dirs(self.args)
        return (env + " " if env else "") + "sagaz-dbt build " + " ".join(_shell(a) for a in shown)


class Workspace:
    """A copy of the example project and a warehouse nobody else uses."""

    def __init__(
        self,
        target: str = "dev",
        *,
        source: Path | None = None,
        root: Path | None = None,
        journal_schema: str | None = None,
        pg_schema: str | None = None,
        keep: bool = False,
    ) -> None:
        if target not in TARGETS:
            raise ExampleError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
        self.target = target
        self.keep = keep
        self.pg_schema = pg_schema or f"sagaz_example_{uuid.uuid4().hex[:10]}"
        # On a shared Postgres server the run journal gets a schema of its own, dropped with the
        # example's schemas, so the example leaves nothing behind; DuckDB: the file is the example's.
        if journal_schema is None:
            journal_schema = f"{self.pg_schema}_sagaz" if target == "postgres" else DEFAULT_SCHEMA
        self.journal_schema = journal_schema
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sagaz-example-"))
        self.project_dir = self.root / "dbt_project"
        shutil.copytree(source or find_project(), self.project_dir, ignore=_IGNORE)
        self.duckdb_path = self.project_dir / "example.duckdb"  # profiles.yml's default location
        self._rows: dict[str, int | None] = {}
        if target == "postgres":
            self.inspector: DuckDBInspector | PostgresInspector = PostgresInspector(
                postgres_connect_kwargs(), self.pg_schema, exclude_schemas=[journal_schema]
            )
        else:
            self.inspector = DuckDBInspector(self.duckdb_path, exclude_schemas=[journal_schema])

    # -- describing it -----------------------------------------------------------------

    @property
    def is_postgres(self) -> bool:
        return self.target == "postgres"

    def describe(self) -> str:
        if self.is_postgres:
            kw = postgres_connect_kwargs()
            return f"postgres: {kw['user']}@{kw['host']}:{kw['port']}/{kw['dbname']}, schemas {self.pg_schema}_*"
        return f"dev (DuckDB): {self.duckdb_path}"

    def schemas_of(self, pipeline: Pipeline) -> list[str]:
        """The schema the pipeline's relations live in (dbt: <target schema>_<custom schema>)."""
        base = self.pg_schema if self.is_postgres else "main"
        return [f"{base}_{pipeline.schema_suffix}"]

    def check_reachable(self) -> None:
        if not self.is_postgres:
            return
        import psycopg2

        try:
            psycopg2.connect(**postgres_connect_kwargs()).close()
        except psycopg2.Error as exc:
            raise ExampleError(f"PostgreSQL is unreachable ({str(exc).strip()}); set SAGAZ_EXAMPLE_PG_HOST/PORT/"
                               "USER/PASSWORD/DBNAME") from exc

    # -- data and runs -----------------------------------------------------------------

    def write_data(self, pipeline: str, rows: int | None = None, fault: str | None = None) -> list[Path]:
        return data.write_seeds(self.project_dir / "seeds", [pipeline], rows, fault)

    def env(self, batch_date: str | None = None, fail: str | None = None) -> dict[str, str]:
        env = {ENV_BATCH: batch_date or "", ENV_FAIL: fail or ""}
        if self.is_postgres:
            env[ENV_PG_SCHEMA] = self.pg_schema
        else:
            env[ENV_DUCKDB] = str(self.duckdb_path)
        return env

    def args(self, pipeline: Pipeline, quiet: bool = False, extra: Sequence[str] = ()) -> list[str]:
        args = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.project_dir)]
        if self.is_postgres:
            args += ["--target", "postgres"]
        args += ["--select", pipeline.selector]
        if quiet:
            args.append("--quiet")
        if self.journal_schema != DEFAULT_SCHEMA:
            args += ["--journal-schema", self.journal_schema]
        return args + list(extra)

    def snapshot(self) -> WarehouseState:
        return self.inspector.snapshot()

    def build(
        self,
        pipeline: Pipeline,
        *,
        label: str = "",
        batch_date: str | None = None,
        failure: Failure | None = None,
        quiet: bool = False,
        extra_args: Sequence[str] = (),
        console: Console | None = None,
        before: WarehouseState | None = None,
    ) -> BuildRun:
        """One `sagaz_dbt.build` of the pipeline; a data failure writes its bad input first
        and the good input back afterwards."""
        before = self.snapshot() if before is None else before
        switch = failure.switch if failure is not None and failure.kind == "bug" else None
        if failure is not None and failure.kind == "data":
            self.write_data(pipeline.name, self._rows.get(pipeline.name), failure.name)
        env = self.env(batch_date, switch)
        args = self.args(pipeline, quiet, extra_args)
        started = time.perf_counter()
        try:
            with _environment(env):
                result = sagaz_dbt.build(args, console=console)
        finally:
            if failure is not None and failure.kind == "data":
                self.write_data(pipeline.name, self._rows.get(pipeline.name))
        seconds = time.perf_counter() - started
        after = self.snapshot()
        return BuildRun(label or pipeline.name, batch_date, failure, args, env, result, seconds, before, after)

    def use_rows(self, pipeline: str, rows: int | None) -> None:
        """Regenerate the pipeline's input with `rows` rows (None: keep the committed seeds)."""
        self._rows[pipeline] = rows
        if rows is not None:
            self.write_data(pipeline, rows)

    # -- cleaning up -------------------------------------------------------------------

    def close(self) -> None:
        if self.keep:
            return
        if self.is_postgres:
            try:
                self.inspector.drop_schemas()  # type: ignore[union-attr]
            except Exception:  # best effort: the server may be gone
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- scenarios ---------------------------------------------------------------------------


@dataclass
class ExampleReport:
    pipeline: Pipeline
    workspace: Workspace
    failure: Failure | None
    runs: list[BuildRun] = field(default_factory=list)
    initial: WarehouseState = field(default_factory=WarehouseState)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failing_run(self) -> BuildRun | None:
        return self.runs[-1] if self.failure is not None and self.runs else None


def baseline_batches(pipeline: Pipeline) -> tuple[str | None, ...]:
    """The green runs before a failing run: every batch but the last."""
    return pipeline.batches[:-1] if len(pipeline.batches) > 1 else pipeline.batches


def run_example(
    name: str,
    *,
    fail: str | None = None,
    rows: int | None = None,
    target: str = "dev",
    from_empty: bool = False,
    keep: bool = False,
    quiet: bool = False,
    console: Console | None = None,
    workspace: Workspace | None = None,
) -> ExampleReport:
    """Play one example: green batches, or a baseline and a failing run with its rollback check."""
    out = console or Console()
    pipeline = get(name)
    failure: Failure | None = None
    if fail is not None:
        if fail not in pipeline.failures:
            raise ExampleError(
                f"example {name!r} has no failure {fail!r}; choose one of {', '.join(pipeline.failures)}"
            )
        failure = pipeline.failures[fail]
    ws = workspace or Workspace(target, keep=keep)
    try:
        ws.check_reachable()
        ws.use_rows(name, rows)
        report = ExampleReport(pipeline, ws, failure, initial=ws.snapshot())
        _header(out, pipeline, ws, failure)
        if failure is None:
            _play_green(out, report, quiet)
        else:
            _play_failure(out, report, quiet, from_empty)
        _verdict(out, report)
        return report
    finally:
        if workspace is None:
            ws.close()
            if keep:
                out.print(f"Kept the project copy and warehouse in {ws.root}")


def _play_green(out: Console, report: ExampleReport, quiet: bool) -> None:
    pipeline, ws = report.pipeline, report.workspace
    plan: list[tuple[str, str | None, str]] = [(_batch_label(b), b, b or "full load") for b in pipeline.batches]
    if pipeline.rerun is not None:
        plan.append((f"re-run of batch {pipeline.rerun} (idempotency)", pipeline.rerun, f"re-run {pipeline.rerun}"))
    state = report.initial
    for i, (label, batch, column) in enumerate(plan, start=1):
        run = _announce_and_build(out, ws, pipeline, f"[{i}/{len(plan)}] {label}", batch, None, quiet, state)
        run.column = column
        report.runs.append(run)
        state = run.after
        if run.exit_code != 0:
            report.problems.append(f"{label}: sagaz-dbt exited {run.exit_code} ({run.status})")
            return
    if pipeline.rerun is not None:
        first = next(r for r in report.runs if r.batch_date == pipeline.batches[-1])
        rerun = report.runs[-1]
        same = rerun.after == rerun.before and rerun.after == first.after
        out.print(f"Re-running batch {pipeline.rerun} left the warehouse unchanged: "
                  + ("[green]yes[/green] (same relations, same rows)" if same else "[red]NO[/red]"))
        if not same:
            report.problems.append("re-running a batch changed the warehouse: "
                                   + "; ".join(rerun.before.differences(rerun.after)))
    _relations_table(out, report)


def _play_failure(out: Console, report: ExampleReport, quiet: bool, from_empty: bool) -> None:
    pipeline, ws, failure = report.pipeline, report.workspace, report.failure
    assert failure is not None
    batches = () if from_empty else baseline_batches(pipeline)
    total = len(batches) + 1
    state = report.initial
    for i, batch in enumerate(batches, start=1):
        run = _announce_and_build(out, ws, pipeline, f"[{i}/{total}] baseline: {_batch_label(batch)}", batch, None,
                                  quiet, state)
        report.runs.append(run)
        state = run.after
        if run.exit_code != 0:
            report.problems.append(f"the baseline run failed (exit {run.exit_code})")
            return
    batch = pipeline.batches[-1] if len(pipeline.batches) > 1 else pipeline.batches[0]
    out.print(f"\n[bold]Injected failure {failure.name!r}[/bold] ({failure.kind}): {failure.description}; "
              f"expected to fail at: {failure.fails_at[0]}")
    run = _announce_and_build(out, ws, pipeline, f"[{total}/{total}] {_batch_label(batch)} with the failure",
                              batch, failure, quiet, state)
    report.runs.append(run)
    if run.exit_code != 1:
        report.problems.append(f"the failing run exited {run.exit_code}, expected 1")
    if run.status != RunOutcome.ROLLED_BACK:
        report.problems.append(f"the failing run ended {run.status}, expected rolled_back")
    failed = [f.unique_id for f in run.result.dbt.failed_nodes] if run.result.dbt is not None else []
    if not failure.matches(failed):
        report.problems.append(f"expected a failure at {failure.fails_at[0]}, dbt reported: {', '.join(failed) or 'none'}")
    diffs = run.before.differences(run.after)
    if diffs:
        report.problems.append("the warehouse differs from before the failing run: " + "; ".join(diffs))
    _rollback_table(out, run)


def _announce_and_build(
    out: Console,
    ws: Workspace,
    pipeline: Pipeline,
    label: str,
    batch: str | None,
    failure: Failure | None,
    quiet: bool,
    before: WarehouseState,
) -> BuildRun:
    out.rule(f"[bold]{label}[/bold]", align="left")
    preview = BuildRun(label, batch, failure, ws.args(pipeline, quiet),
                       ws.env(batch, failure.switch if failure and failure.kind == "bug" else None),
                       None, 0.0, before, before)
    if failure is not None and failure.kind == "data":
        out.print(f"bad input written to seeds/: {failure.description}")
    out.print(f"$ cd {ws.project_dir} && {preview.command()}", highlight=False, soft_wrap=True)
    run = ws.build(pipeline, label=label, batch_date=batch, failure=failure, quiet=quiet, console=out,
                   before=before)
    colour = "green" if run.exit_code == 0 else "red"
    out.print(f"[{colour}]-> {run.status}, exit code {run.exit_code}[/{colour}] in {run.seconds:.1f} s")
    return run


def _header(out: Console, pipeline: Pipeline, ws: Workspace, failure: Failure | None) -> None:
    out.print(f"[bold]sagaz-dbt example {pipeline.name}[/bold]: {pipeline.title}")
    out.print(f"  models:    {pipeline.summary}")
    out.print(f"  guarantee: {pipeline.guarantee}")
    out.print(f"  project:   {ws.project_dir} (a fresh copy of dbt_project/)")
    out.print(f"  warehouse: {ws.describe()}")
    if failure is None:
        out.print("  scenario:  every batch, green" + (", then a re-run of one batch" if pipeline.rerun else ""))
    else:
        out.print(f"  scenario:  a green baseline, then a run with failure {failure.name!r}")


def _relations_table(out: Console, report: ExampleReport) -> None:
    table = Table(title="Rows per relation after each run (real counts)", header_style="bold")
    table.add_column("relation")
    table.add_column("type")
    for run in report.runs:
        table.add_column(run.column or run.batch_date or "run", justify="right")
    keys = sorted({k for run in report.runs for k in run.after.relations})
    for key in keys:
        kind = next(r.after.relations[key].kind for r in report.runs if key in r.after.relations)
        cells = []
        for run in report.runs:
            rel = run.after.relations.get(key)
            cells.append("-" if rel is None else str(rel.rows))
        table.add_row(f"{key[0]}.{key[1]}", kind, *cells)
    out.print(table)


def _rollback_table(out: Console, run: BuildRun) -> None:
    steps = {(s["relation"]["schema"], s["relation"]["identifier"]): s for s in run.steps}
    table = Table(title="Rollback check (real queries on the warehouse)", header_style="bold")
    for col, justify in (("relation", "left"), ("rows before", "right"), ("failed run: dbt", "left"),
                         ("sagaz-dbt", "left"), ("rows after", "right"), ("row checksum", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for key in sorted(set(run.before.relations) | set(run.after.relations) | set(steps)):
        before, after, step = run.before.relations.get(key), run.after.relations.get(key), steps.get(key)
        if before is None and after is None:
            verdict = "[green]absent, as before[/green]"
        elif before == after:
            verdict = "[green]identical[/green]"
        else:
            verdict = "[red]DIFFERENT[/red]"
        table.add_row(
            f"{key[0]}.{key[1]}",
            "-" if before is None else str(before.rows),
            step["node_status"] if step else "not selected",
            step["action"] if step else "",
            "-" if after is None else str(after.rows),
            verdict,
        )
    out.print(table)


def _verdict(out: Console, report: ExampleReport) -> None:
    if not report.ok:
        out.print("[bold red]The example did not behave as promised:[/bold red]")
        for problem in report.problems:
            out.print(f"  - {problem}")
        return
    if report.failure is None:
        last = report.runs[-1].after if report.runs else report.initial
        out.print(f"[bold green]OK[/bold green]: every run committed; {len(last)} relation(s) built.")
    else:
        run = report.failing_run
        assert run is not None
        out.print(
            f"[bold green]OK[/bold green]: the failing run exited 1 and was rolled back; all "
            f"{len(run.before)} relation(s) hold exactly their pre-run rows"
            + (" (none existed before)." if not len(run.before) else ".")
        )


def _batch_label(batch: str | None) -> str:
    return f"batch {batch}" if batch else "full load"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _strip_dirs(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--project-dir", "--profiles-dir"):
            skip = True
            continue
        out.append(a)
    return out


def _shell(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
