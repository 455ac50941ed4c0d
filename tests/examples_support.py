"""Support for tests/test_examples.py: Postgres settings from SAGAZ_TEST_PG_DSN and a "lab"
per engine, one workspace (copy of dbt_project/ + warehouse) that every example pipeline of
the module shares.  Pipelines never touch each other's schema, so sharing it costs nothing in
isolation and saves dbt a full parse per pipeline (dbt re-parses everything when the
profile's database path or schema changes)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from sagaz_dbt.examples.pipelines import Failure, Pipeline
from sagaz_dbt.examples.runner import BuildRun, Workspace, baseline_batches
from sagaz_dbt.examples.state import WarehouseState

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_dsn() -> str:
    return os.environ.get("SAGAZ_TEST_PG_DSN") or DEFAULT_DSN


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def pg_example_env(dsn: str) -> dict[str, str]:
    """The SAGAZ_EXAMPLE_PG_* variables (read by dbt_project/profiles.yml) for a DSN."""
    from psycopg2.extensions import parse_dsn

    parts = parse_dsn(dsn)
    env = {
        "SAGAZ_EXAMPLE_PG_HOST": parts.get("host") or "127.0.0.1",
        "SAGAZ_EXAMPLE_PG_PORT": str(parts.get("port") or "5432"),
        "SAGAZ_EXAMPLE_PG_USER": parts.get("user") or "postgres",
        "SAGAZ_EXAMPLE_PG_DBNAME": parts.get("dbname") or "postgres",
    }
    if parts.get("password"):
        env["SAGAZ_EXAMPLE_PG_PASSWORD"] = parts["password"]
    return env


def pg_unreachable_reason(dsn: str) -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed (pip install -e '.[test]')"

    try:
        psycopg2.connect(dsn, connect_timeout=5).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL at {dsn} is unreachable: {str(exc).strip().splitlines()[0]}"
    return None


def unique_schema() -> str:
    return f"sagaz_ex_{secrets.token_hex(5)}"


@dataclass
class PipelineRuns:
    """What the lab did to one pipeline."""

    initial: WarehouseState | None = None  # the pipeline's schema before its first run
    green: list[BuildRun] = field(default_factory=list)


class Lab:
    """One workspace per engine, shared by every pipeline; each pipeline's green baseline is
    built once, on first use."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        if engine == "postgres":
            # A unique schema; the workspace puts the run journal in `<schema>_sagaz`, so runs
            # of other suites on the same server (and their clean-ups) never meet ours.
            self.ws = Workspace("postgres", pg_schema=unique_schema())
        else:
            self.ws = Workspace("dev")
        self.pipelines: dict[str, PipelineRuns] = {}

    def state(self, pipeline: Pipeline | None = None) -> WarehouseState:
        full = self.ws.snapshot()
        return full if pipeline is None else full.only(self.ws.schemas_of(pipeline))

    def build(self, pipeline: Pipeline, batch: str | None = None, failure: Failure | None = None,
              extra_args: tuple[str, ...] = (), before: WarehouseState | None = None) -> BuildRun:
        from io import StringIO

        from rich.console import Console

        return self.ws.build(pipeline, batch_date=batch, failure=failure, quiet=True, extra_args=extra_args,
                             console=Console(file=StringIO(), width=200), before=before)

    def baseline(self, pipeline: Pipeline) -> PipelineRuns:
        """The pipeline's green runs from nothing (every batch but the last), built once."""
        runs = self.pipelines.get(pipeline.name)
        if runs is None:
            runs = PipelineRuns(initial=self.state(pipeline))
            for batch in baseline_batches(pipeline):
                run = self.build(pipeline, batch)
                runs.green.append(run)
                if run.exit_code != 0:
                    break
            self.pipelines[pipeline.name] = runs
        return runs

    def close(self) -> None:
        self.ws.close()
