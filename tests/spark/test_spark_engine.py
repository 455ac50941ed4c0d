"""The Spark Engine as data (no JVM): its capabilities, which nodes it refuses before
anything changes, and how the metastore's exclusivity is recognised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sagaz_dbt.engines import TableRebuild, ViewBinding, for_adapter
from sagaz_dbt.engines.spark import is_metastore_busy, refusal


def test_capabilities() -> None:
    engine = for_adapter("spark")
    assert not engine.transactional_ddl and not engine.deletes_rows and not engine.has_databases
    assert engine.views_bind_to is ViewBinding.NAME and engine.rebuilds_tables_by is TableRebuild.DROP_CREATE
    assert engine.sqlglot_dialect == "spark"
    # the other engines keep their transactions and rows
    assert all(for_adapter(name).transactional_ddl and for_adapter(name).deletes_rows for name in ("duckdb", "postgres"))


@dataclass
class Config:
    """A node's config as dbt gives it (attribute and .get access): plain data, no warehouse."""

    materialized: str
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.extra.get(key, default)


@dataclass
class Node:
    resource_type: str
    config: Config


@pytest.mark.parametrize(
    "resource_type, materialized, extra, refused",
    [
        ("model", "table", {}, None),
        ("model", "view", {}, None),
        ("seed", "seed", {}, None),
        ("model", "incremental", {}, None),  # dbt-spark's default strategy: append
        ("model", "incremental", {"incremental_strategy": "insert_overwrite"}, None),
        ("model", "incremental", {"incremental_strategy": "merge"}, "incremental_strategy 'merge'"),
        ("model", "incremental", {"incremental_strategy": "microbatch"}, "incremental_strategy 'microbatch'"),
        ("model", "table", {"file_format": "delta"}, "file_format 'delta'"),
        ("model", "view", {"file_format": "delta"}, None),  # a view has no file format
        ("snapshot", "snapshot", {}, "dbt snapshots"),
    ],
)
def test_refusals(resource_type: str, materialized: str, extra: dict, refused: str | None) -> None:
    why = refusal(Node(resource_type, Config(materialized, extra)))
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_metastore_busy_is_found_anywhere_in_the_cause_chain() -> None:
    try:
        try:
            raise RuntimeError("java.sql.SQLException: Failed to start database ... ERROR XSDB6: Another instance")
        except RuntimeError as inner:
            raise ValueError("Unable to instantiate SessionHiveMetaStoreClient") from inner
    except ValueError as outer:
        assert is_metastore_busy(outer)
    assert not is_metastore_busy(ValueError("Table or view not found"))
