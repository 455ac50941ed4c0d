"""A dbt project copied from tests/projects/ into a temporary folder, bound to one warehouse.

`Project.sagaz(...)` runs sagaz-dbt in-process, `Project.dbt(...)` runs plain dbt in-process
(dbtRunner), and `Project.state()` reads the warehouse directly.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

import sagaz_dbt
from sagaz_dbt.dbt.session import release_connections

from helpers.inspect import JOURNAL_SCHEMA, JOURNAL_TABLES, DuckDBInspector, PostgresInspector, diff_states
from helpers import spark
from helpers.postgres import PgDatabase
from helpers.spark import SparkInspector

TESTS_DIR = Path(__file__).resolve().parent.parent
PROJECTS_DIR = TESTS_DIR / "projects"
RUN_ID_ENV = "SAGAZ_DBT_RUN_ID"

#: Folders dbt or sagaz-dbt write into a project; never copied from a template.
_GENERATED = ("target", "logs", "dbt_packages")


class Project:
    def __init__(
        self,
        name: str,
        engine: str,
        root: Path,
        schema: str,
        pg: PgDatabase | None = None,
        template: Path | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self.root = root
        self.schema = schema
        self.pg = pg
        source = template or PROJECTS_DIR / name
        shutil.copytree(source, root, ignore=shutil.ignore_patterns(*_GENERATED, "profiles.yml", "*.duckdb", "*.wal"))
        self.last_output = ""
        self.write_profile()
        if engine == "duckdb":
            self.inspector: DuckDBInspector | PostgresInspector | SparkInspector = DuckDBInspector(self.warehouse_path, schema)
        elif engine == "spark":
            self.inspector = SparkInspector(schema)
        else:
            assert pg is not None, "a Postgres project needs the session database"
            self.inspector = PostgresInspector(pg, schema)

    # -- set-up ----------------------------------------------------------------------------

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    def write_profile(self, target: str = "dev", **overrides: Any) -> None:
        if self.engine == "spark":
            output: dict[str, Any] = spark.profile_output(self.schema)
        elif self.engine == "duckdb":
            output = {
                "type": "duckdb",
                "path": str(self.warehouse_path),
                "schema": self.schema,
                "threads": 4,
            }
        else:
            assert self.pg is not None
            output = {
                "type": "postgres",
                "host": self.pg.host,
                "port": self.pg.port,
                "user": self.pg.user,
                "password": self.pg.password,
                "dbname": self.pg.dbname,
                "schema": self.schema,
                "threads": 4,
                "connect_timeout": 5,
            }
        output.update(overrides)
        profile = {self.name: {"target": target, "outputs": {target: output}}}
        (self.root / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))

    def use_seed_data(self, name: str) -> None:
        """Overwrite the seeds with another day's data from tests/projects/<project>_data/<name>/."""
        for csv in (PROJECTS_DIR / f"{self.name}_data" / name).glob("*.csv"):
            shutil.copyfile(csv, self.root / "seeds" / csv.name)

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    @property
    def location_args(self) -> list[str]:
        return ["--project-dir", str(self.root), "--profiles-dir", str(self.root)]

    # -- running ---------------------------------------------------------------------------

    def sagaz(self, *args: str, command: str = "build") -> sagaz_dbt.BuildResult:
        """sagaz-dbt in-process, exactly as a library caller would run it."""
        buffer = io.StringIO()
        console = Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
        try:
            result = sagaz_dbt.build([*args, *self.location_args], command=command, console=console)
        finally:
            release_connections()
            self.last_output = buffer.getvalue()
            print(self.last_output)
        assert os.environ.get(RUN_ID_ENV) is None, "sagaz-dbt left its run id armed in the environment"
        return result

    def dbt(self, *args: str, command: str = "build") -> Any:
        """Plain dbt in-process: the reference sagaz-dbt must match."""
        from dbt.cli.main import dbtRunner

        assert os.environ.get(RUN_ID_ENV) is None
        try:
            return dbtRunner().invoke([command, *args, *self.location_args])
        finally:
            release_connections()

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """The `sagaz-dbt` console script in a subprocess."""
        release_connections()
        exe = Path(sys.executable).parent / "sagaz-dbt"
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
        env.pop(RUN_ID_ENV, None)
        return subprocess.run(
            [str(exe), "build", *args, *self.location_args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=self.root,
        )

    # -- looking -----------------------------------------------------------------------------

    def state(self) -> dict[str, dict[str, Any]]:
        release_connections()
        return self.inspector.state()

    def sagaz_objects(self) -> list[str]:
        release_connections()
        return self.inspector.sagaz_objects()

    def leftovers(self) -> list[str]:
        """sagaz-named relations other than the journal tables: must be none after any run."""
        return [
            o
            for o in self.sagaz_objects()
            if not (o.split(".", 1)[0] == JOURNAL_SCHEMA and o.split(".", 1)[1] in JOURNAL_TABLES)
        ]

    def query(self, sql: str) -> list[tuple]:
        """SQL on the warehouse; `{schema}` in `sql` is this project's schema."""
        release_connections()
        return self.inspector.query(sql.replace("{schema}", self.schema))

    def execute(self, sql: str) -> None:
        release_connections()
        self.inspector.execute(sql.replace("{schema}", self.schema))

    def schemas(self) -> list[str]:
        """This project's schemas in the warehouse (the journal schema excluded)."""
        release_connections()
        return self.inspector.schemas()

    def journal_run(self, run_id: str) -> tuple[str, str] | None:
        """(status, command) of a run in the journal, or None if it is not there."""
        release_connections()
        if f"{JOURNAL_SCHEMA}.sagaz_runs" not in self.inspector.sagaz_objects():  # Spark has no information_schema
            return None
        param = self._param
        rows = self.inspector.query(f"select status, command from sagaz.sagaz_runs where run_id = {param}", [run_id])
        return tuple(rows[0]) if rows else None  # type: ignore[return-value]

    def journal_steps(self, run_id: str) -> list[tuple]:
        release_connections()
        return self.inspector.query(
            f"select unique_id, status from sagaz.sagaz_steps where run_id = {self._param} order by seq", [run_id]
        )

    @property
    def _param(self) -> str:
        """The query parameter marker of this engine's inspector (pyspark binds `?` markers)."""
        return "%s" if self.engine == "postgres" else "?"


def assert_same_state(expected: dict[str, Any], actual: dict[str, Any], what: str = "warehouse") -> None:
    differences = diff_states(expected, actual)
    assert not differences, f"{what} differs:\n  " + "\n  ".join(differences)
