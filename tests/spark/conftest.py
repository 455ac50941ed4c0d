"""The Spark tier: one Spark session per pytest worker (started here, once), reused by
every Spark test through dbt-spark's `method: session`; a schema per test.

Java is needed (pyspark starts a JVM in this process): without it the tier is skipped, or
fails when CI is set (.ci/run installs Java 17).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from helpers import spark
from helpers.project import Project
from helpers.spark import new_schema, require_java


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_java("the Spark tier")
    pytest.importorskip("pyspark")
    folder = tmp_path_factory.mktemp("spark_warehouse")
    spark.WAREHOUSE_DIR = folder
    started = time.monotonic()
    spark.session(folder).sql("show databases").collect()  # JVM + Derby metastore: once per worker
    print(f"Spark session started in {time.monotonic() - started:.1f} s")
    yield folder
    spark.WAREHOUSE_DIR = None


SparkProjectFactory = Callable[..., Project]


@pytest.fixture
def spark_project(spark_warehouse: Path, tmp_path: Path) -> SparkProjectFactory:
    """`spark_project(label="main")` -> a fresh copy of tests/projects/spark_shop in its own schema."""

    def make(label: str = "main", name: str = "spark_shop") -> Project:
        return Project(name, "spark", tmp_path / label, new_schema())

    return make
