"""Spark for the tests: one warehouse folder (tables + Derby metastore) and one in-process
Spark session per pytest worker, shared by every Spark test (a session costs 35-55 s of
JVM and metastore start; Derby admits one process per metastore).  Each test gets its own
schema.

`profile_output(schema)` is the dbt-spark target; `SparkInspector` reads the warehouse
through pyspark directly, never through dbt or sagaz-dbt.  `spark_state` is the one
function to move when the inspectors are consolidated (sagaz_dbt/testing/).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest

from helpers.postgres import in_ci

#: Set once per worker by tests/spark/conftest.py (the session fixture).
WAREHOUSE_DIR: Path | None = None

JOURNAL_SCHEMA = "sagaz"


def require_java(what: str) -> None:
    """Skip without Java, unless CI is set: there it must be installed (.ci/run), so fail."""
    if shutil.which("java") is None:
        reason = f"no Java: {what} needs a JVM (.ci/run installs openjdk-17-jre-headless)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def new_schema() -> str:
    return f"t_{secrets.token_hex(5)}"


def server_side_parameters(folder: Path) -> dict[str, str]:
    """What NOTES-dbt.md verified: local[2], 3g driver, no UI, a Derby metastore in `folder`.
    (The JVM stays on its default compilers: with C1 only, `-XX:TieredStopAtLevel=1`, a
    session start was faster, but a long session ran out of code cache, "Out of space in
    CodeCache for adapters", and failed a query in the kill chain.)"""
    return {
        "spark.master": "local[2]",
        "spark.driver.memory": "3g",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(folder / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
    }


def profile_output(schema: str, folder: Path | None = None) -> dict[str, Any]:
    folder = folder or WAREHOUSE_DIR
    assert folder is not None, "Spark tests need the spark_warehouse fixture (tests/spark/conftest.py)"
    return {
        "type": "spark",
        "method": "session",
        "host": "NA",
        "schema": schema,
        "threads": 1,
        "server_side_parameters": server_side_parameters(folder),
    }


def session(folder: Path | None = None) -> Any:
    """The process's Spark session (the one dbt-spark uses: same builder, same settings)."""
    from pyspark.sql import SparkSession

    folder = folder or WAREHOUSE_DIR
    if folder is None:  # a chain process (tests/spark/chain.py): the session dbt-spark started
        return SparkSession.builder.getOrCreate()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in server_side_parameters(folder).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _relations(spark: Any, schema: str) -> list[tuple[str, str]]:
    if not spark.sql(f"show schemas like '{schema}'").collect():
        return []
    views = {r[1] for r in spark.sql(f"show views in `{schema}`").collect() if not r[2]}
    return sorted((r[1], "view" if r[1] in views else "table") for r in spark.sql(f"show tables in `{schema}`").collect() if not r[2])


def spark_state(spark: Any, schemas: list[str], label: Any) -> dict[str, dict[str, Any]]:
    """Every user relation of `schemas`: type, columns with types, row count, an
    order-independent checksum of the rows (md5 of the sorted md5s of each row's JSON), for
    tables the format and partition columns, for views the text with schema names labelled."""
    out: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        for name, kind in _relations(spark, schema):
            if "sagaz" in name:
                continue
            q = f"`{schema}`.`{name}`"
            if hasattr(spark, "columns"):  # a Thrift server's (helpers/spark_thrift.py)
                cols = spark.columns(q)
            else:
                cols = [(f.name, f.dataType.simpleString()) for f in spark.table(q).schema.fields]
            rows, checksum = spark.sql(
                f"select count(*), md5(concat_ws('|', sort_array(collect_list(md5(to_json(struct(*))))))) from {q}"
            ).collect()[0]
            entry: dict[str, Any] = {"type": kind, "columns": cols, "rows": int(rows), "checksum": checksum}
            details = {r[0]: r[1] for r in spark.sql(f"describe table extended {q}").collect()}
            if kind == "view":
                entry["definition"] = re.sub(r"\s+", " ", label(details["View Text"])).strip()
            else:  # a restored table must be laid out as before: the next insert_overwrite depends on it
                entry["format"] = details.get("Provider")
                entry["partitioned_by"] = (
                    spark.partition_columns(q)
                    if hasattr(spark, "partition_columns")
                    else [c.name for c in spark.catalog.listColumns(name, schema) if c.isPartition]
                )
            out[f"{label(schema)}.{name}"] = entry
    return out


class SparkInspector:
    def __init__(self, base_schema: str) -> None:
        self.base_schema = base_schema

    def _label(self, text: str) -> str:
        return re.sub(rf"\b{re.escape(self.base_schema)}(?=\b|_)", "{schema}", text)

    def _schemas(self, spark: Any) -> list[str]:
        names = [r[0] for r in spark.sql("show schemas").collect()]
        return sorted(n for n in names if n == self.base_schema or n.startswith(self.base_schema + "_"))

    def state(self) -> dict[str, dict[str, Any]]:
        spark = session()
        return spark_state(spark, self._schemas(spark), self._label)

    def schemas(self) -> list[str]:
        return [self._label(s) for s in self._schemas(session())]

    def sagaz_objects(self) -> list[str]:
        spark = session()
        found = [f"{s}.{n}" for s in self._schemas(spark) for n, _ in _relations(spark, s) if "sagaz" in n]
        return found + [f"{JOURNAL_SCHEMA}.{n}" for n, _ in _relations(spark, JOURNAL_SCHEMA)]

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        """`params` bind `?` markers (pyspark's own binding, not dbt-spark's `%s` pasting)."""
        args = list(params) if params is not None else None
        return [tuple(r) for r in session().sql(sql, args=args).collect()]

    def execute(self, sql: str) -> None:
        session().sql(sql).collect()


def dump_state(schema: str, path: Path) -> None:
    """For subprocess scripts (kill tests): the state of `schema` as JSON."""
    path.write_text(json.dumps(SparkInspector(schema).state(), default=str))
