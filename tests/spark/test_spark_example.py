"""The README's main command on Spark: `sagaz-dbt build --target spark` in the example
project (dbt_project/, its own profiles.yml), green, then the README's worked failure
(`--vars '{fail: etl_transform}'`) rolled back to exactly the green run's warehouse, read
row by row through the Spark inspector.  In this tier's one Spark session (the example's
`spark` target pointed at it through SAGAZ_EXAMPLE_SPARK_DIR, a schema of its own)."""

from __future__ import annotations

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


@pytest.mark.xfail(
    strict=True,
    reason="the green build fails its not_null_silver_events_user_id test on Spark: the 15 empty user_id cells "
    "of the landing_events seed do not arrive as NULL through dbt-spark's session-mode seed load (its "
    "bindings are pasted in with `%`), so silver keeps them; open (the run is rolled back correctly)",
)
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

    failed, output = run("--vars", "{fail: etl_transform}")
    assert failed.exit_code == 1, f"{failed.status}: {failed.error}\n{output}"
    assert failed.status == "rolled_back", failed.error
    assert any(f.unique_id == "model.sagaz_example.stg_orders" for f in failed.dbt.failed_nodes)
    assert_same_state(before, inspector.state(), "the example after the rolled-back run vs after the green one")
    assert [o for o in inspector.sagaz_objects() if not o.startswith(f"{spark.JOURNAL_SCHEMA}.")] == []
    assert "one transaction" not in output
