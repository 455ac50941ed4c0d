"""Fixtures for the integration suite: real dbt, real DuckDB files, a real PostgreSQL server.

- `engine`: parametrizes a test over ["duckdb", "postgres"].
- `project(...)`: a fresh copy of tests/projects/<name> bound to the engine's warehouse.
- `built(...)`: the same, with the warehouse already built once by plain `dbt build`
  (DuckDB: a copy of a warehouse file built once per session).
- `twins(...)`: two fresh warehouses for the same project, one for plain dbt and one for
  sagaz-dbt, to compare what each leaves.

PostgreSQL: SAGAZ_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/postgres).  An
unreachable server skips the Postgres tests, or fails them when CI is set.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterator

os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ.pop("SAGAZ_DBT_RUN_ID", None)

import pytest  # noqa: E402

from helpers.postgres import (  # noqa: E402
    PgDatabase,
    create_session_database,
    drop_session_database,
    in_ci,
    server_dsn,
    unreachable_reason,
)
from helpers import ENGINES  # noqa: E402
from helpers.project import Project  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _compiled_macros_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    """sagaz-dbt keeps dbt's compiled macros in the user's cache folder
    (sagaz_dbt/dbt/compiled_macros.py); the suite keeps its own, empty at the start, so its
    runs take both paths: compiling and storing first, then reading what was stored (the
    `sagaz-dbt` subprocesses too, which inherit the variable)."""
    os.environ["SAGAZ_DBT_CACHE_DIR"] = str(tmp_path_factory.mktemp("compiled-macros"))


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.delenv("SAGAZ_DBT_RUN_ID", raising=False)
    for var in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "DBT_TARGET", "DBT_PROFILE"):
        monkeypatch.delenv(var, raising=False)


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> PgDatabase:
    server = PgDatabase.from_dsn(server_dsn())
    reason = unreachable_reason(server)
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} (CI is set, so Postgres tests must run)", pytrace=False)
        pytest.skip(reason)
    return server


@pytest.fixture(scope="session")
def pg_database(pg_server: PgDatabase) -> Iterator[PgDatabase]:
    """A database of this test session's own, dropped at the end."""
    db = create_session_database(pg_server)
    try:
        yield db
    finally:
        drop_session_database(pg_server, db)


# -- projects --------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def _new_schema() -> str:
    return f"t_{secrets.token_hex(5)}"


ProjectFactory = Callable[..., Project]


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> ProjectFactory:
    """`project(engine, name="shop", label="main")` -> a fresh, empty-warehouse Project."""

    def make(engine: str, name: str = "shop", label: str = "main", template: Path | None = None) -> Project:
        if engine == "postgres":
            pg = request.getfixturevalue("pg_database")
            return Project(name, engine, tmp_path / label, _new_schema(), pg=pg, template=template)
        if engine == "spark":  # the worker's Spark session (tests/spark/conftest.py), a schema per project
            request.getfixturevalue("spark_warehouse")
            return Project(name, engine, tmp_path / label, _new_schema(), template=template)
        return Project(name, engine, tmp_path / label, "shop", template=template)

    return make


@pytest.fixture(scope="session")
def duckdb_baselines(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Per project, a folder with a DuckDB warehouse built once by plain `dbt build`."""
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            root = tmp_path_factory.mktemp(f"baseline_{name}") / name
            proj = Project(name, "duckdb", root, "shop")
            res = proj.dbt()
            assert res.success, f"plain dbt build of the {name} baseline failed: {res.exception}"
            cache[name] = root
        return cache[name]

    return get


@pytest.fixture
def built(
    request: pytest.FixtureRequest, project: ProjectFactory, tmp_path: Path
) -> Callable[..., Project]:
    """`built(engine, name="shop", label="main")` -> a Project whose warehouse plain
    `dbt build` has built once (the state before the run under test)."""

    def make(engine: str, name: str = "shop", label: str = "main") -> Project:
        if engine == "duckdb":
            baseline = request.getfixturevalue("duckdb_baselines")(name)
            proj = project(engine, name=name, label=label, template=baseline)
            shutil.copyfile(baseline / "warehouse.duckdb", proj.warehouse_path)
            return proj
        proj = project(engine, name=name, label=label)
        res = proj.dbt()
        assert res.success, f"plain dbt build of the {name} baseline failed: {res.exception}"
        return proj

    return make


@pytest.fixture
def twins(project: ProjectFactory, built: Callable[..., Project]) -> Callable[..., tuple[Project, Project]]:
    """`twins(engine, prebuilt=False)` -> (plain, sagaz): two warehouses for the same project,
    empty, or (prebuilt=True) each already built once by plain `dbt build`."""

    def make(engine: str, name: str = "shop", prebuilt: bool = False) -> tuple[Project, Project]:
        factory = built if prebuilt else project
        return factory(engine, name=name, label="plain"), factory(engine, name=name, label="sagaz")

    return make
