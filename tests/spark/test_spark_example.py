"""The README's main command on Spark: `sagaz-dbt build --target spark` in the example
project (dbt_project/, its own profiles.yml), green, then the README's worked failure
(`--vars '{fail: etl_transform}'`) rolled back to exactly the green run's warehouse, read
row by row through the Spark inspector.  In this tier's one Spark session (the example's
`spark` target pointed at it through SAGAZ_EXAMPLE_SPARK_DIR, a schema of its own).

The seeds hold exactly what their CSV files hold, empty cells as NULL: dbt-spark's own
session-mode seed load writes them as the text 'None' (dbt_project/macros/spark_seeds.sql
overrides it in the project, for plain dbt and sagaz-dbt alike)."""

from __future__ import annotations

import csv
import io
import shutil
import time
from pathlib import Path

import pytest
from rich.console import Console

import sagaz_dbt
from helpers import spark
from helpers.project import assert_same_state
from helpers.spark import SparkInspector, new_schema
from sagaz_dbt.dbt.session import release_connections

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

EXAMPLE = Path(__file__).resolve().parents[2] / "dbt_project"


def test_readme_build_and_worked_rollback_on_spark(
    spark_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "dbt_project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb*", "spark_warehouse"))
    schema = new_schema()
    monkeypatch.setenv("SAGAZ_EXAMPLE_SPARK_DIR", str(spark_warehouse))
    monkeypatch.setenv("SAGAZ_EXAMPLE_SPARK_SCHEMA", schema)
    monkeypatch.chdir(root)  # as the README: `cd dbt_project`, its profiles.yml found there
    inspector = SparkInspector(schema)

    def run(*args: str) -> tuple[sagaz_dbt.BuildResult, str]:
        buffer = io.StringIO()
        console = Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
        started = time.monotonic()
        try:
            result = sagaz_dbt.build([*args, "--target", "spark"], console=console)
        finally:
            release_connections()
        output = buffer.getvalue()
        print(output, f"\nsagaz-dbt build {' '.join(args)}: {time.monotonic() - started:.1f} s")
        return result, output

    green, output = run()
    assert green.exit_code == 0, f"{green.status}: {green.error}\n{output}"
    assert green.status == "committed"
    before = inspector.state()
    # every pipeline's relations, in its own schema (<schema>_<pipeline>)
    assert {key.split(".")[0] for key in before} == {f"{{schema}}_{p}" for p in ("etl", "quality", "migration", "lakehouse")}
    assert all(entry["rows"] > 0 for entry in before.values()), before
    # the seed row by row against its CSV file (every column is text): 15 events have no user
    with (EXAMPLE / "seeds" / "lakehouse" / "landing_events.csv").open(newline="") as f:
        reader = csv.reader(f)
        columns = next(reader)
        expected = [tuple(cell or None for cell in row) for row in reader]
    loaded = inspector.query(f"select {', '.join(columns)} from {schema}_lakehouse.landing_events")
    order = lambda row: tuple((value is not None, value or "") for value in row)  # noqa: E731
    assert sorted(loaded, key=order) == sorted(expected, key=order)
    assert sum(1 for row in expected if row[columns.index("user_id")] is None) == 15

    failed, output = run("--vars", "{fail: etl_transform}")
    assert failed.exit_code == 1, f"{failed.status}: {failed.error}\n{output}"
    assert failed.status == "rolled_back", failed.error
    # dbt-spark turns ANSI mode off: the bad cast gives NULLs instead of an error, and the
    # not_null test on the column catches it (DuckDB and Postgres: stg_orders errors)
    assert [f.unique_id.rsplit(".", 1)[0] for f in failed.dbt.failed_nodes] == ["test.sagaz_example.not_null_stg_orders_channel"]
    assert_same_state(before, inspector.state(), "the example after the rolled-back run vs after the green one")
    assert [o for o in inspector.sagaz_objects() if not o.startswith(f"{spark.JOURNAL_SCHEMA}.")] == []
    assert "one transaction" not in output
