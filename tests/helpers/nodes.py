"""Light stand-ins for the manifest nodes dbt hands sagaz-dbt, for the unit layer.

They carry exactly the attributes the strategies and the planner read (`resource_type`,
`config.materialized`, `config.unique_key`, ...), with dbt's defaults, so a table-driven
test can state one node kind per row.  They stand for dbt's parsed manifest, not for a
warehouse: nothing here answers a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Contract:
    enforced: bool = False


@dataclass
class Constraint:
    type: str


@dataclass
class Column:
    name: str
    constraints: list[Constraint] = field(default_factory=list)


@dataclass
class MetaColumnNames:
    dbt_valid_to: str | None = None
    dbt_scd_id: str | None = None


@dataclass
class Config:
    """The config keys the strategies read, with dbt's defaults."""

    materialized: str = "table"
    enabled: bool = True
    full_refresh: bool | None = None
    incremental_strategy: str | None = None
    unique_key: Any = None
    partition_by: Any = None
    on_schema_change: str | None = "ignore"
    meta: dict[str, Any] = field(default_factory=dict)
    contract: Contract = field(default_factory=Contract)
    # microbatch (read by dbt's own MicrobatchBuilder)
    event_time: str | None = None
    batch_size: str | None = None
    lookback: int = 1
    begin: datetime | None = None
    # snapshots
    snapshot_meta_column_names: MetaColumnNames | None = None
    dbt_valid_to_current: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        """dbt's NodeConfig answers `.get` for adapter-specific keys such as partition_by."""
        return getattr(self, key, default)


@dataclass
class DependsOn:
    nodes: list[str] = field(default_factory=list)


@dataclass
class Node:
    name: str = "m"
    resource_type: str = "model"
    language: str = "sql"
    config: Config = field(default_factory=Config)
    meta: dict[str, Any] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)
    database: str = "db"
    schema: str = "main"
    alias: str | None = None
    depends_on: DependsOn = field(default_factory=DependsOn)
    compiled_code: str = "select 1"
    raw_code: str = "select 1"

    @property
    def unique_id(self) -> str:
        return f"{self.resource_type}.p.{self.name}"

    def to_dict(self) -> dict[str, Any]:  # MicrobatchBuilder logs the node
        return {"name": self.name}


def model(materialized: str = "table", name: str = "m", **config: Any) -> Node:
    return Node(name=name, config=Config(materialized=materialized, **config))


def foreign_key_table(materialized: str = "table", enforced: bool = True, **config: Any) -> Node:
    """A table with a contract (enforced by default) whose column references another table."""
    node = model(materialized, contract=Contract(enforced=enforced), **config)
    node.columns = {"customer_id": Column("customer_id", [Constraint("foreign_key")])}
    return node


@dataclass
class Manifest:
    """nodes and parent_map, the two things the planner reads of dbt's Manifest."""

    nodes: dict[str, Node]
    parent_map: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, *nodes: Node, parent_map: bool = True) -> "Manifest":
        by_id = {n.unique_id: n for n in nodes}
        parents = {uid: list(n.depends_on.nodes) for uid, n in by_id.items()} if parent_map else None
        return cls(by_id, parents)
