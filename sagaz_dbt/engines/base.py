"""The engine seam: what differs between warehouses, as data on one object per adapter.

The core (saga, backups, commands) never compares adapter names: it asks the run's
`Engine` what the warehouse can do (transactional DDL? views bound to OIDs? how long may a
name be?) and for its lock.  The SQL differences live in the macro package, dispatched per
adapter by dbt (`macros/`, `default__` raises); this object carries the Python side.
Modelled on sqlglot's `Dialect` and SQLMesh's engine adapters: capabilities are class
flags, so adding an engine is one module here, one macro file and one conformance
subclass in the tests.

`for_adapter` refuses an adapter sagaz-dbt does not know before anything is changed: a
target we have no compensation for must not run as if it were protected.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from sagaz_dbt.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from sagaz_dbt.runtime.lock import TargetLock
    from sagaz_dbt.dbt.warehouse import Warehouse


class ViewBinding(Enum):
    """What a view's query is bound to once created."""

    NAME = "name"  # re-resolved by name on every read (DuckDB, Spark)
    OID = "oid"  # bound to the relation's identity: follows it through a rename (Postgres)


class TableRebuild(Enum):
    """How dbt's table materialization replaces an existing table on this adapter."""

    RENAME_SWAP = "rename swap"  # build __dbt_tmp, rename old to __dbt_backup, swap (zero-copy keepable)
    DROP_CREATE = "drop + create"  # drop the old relation, then create (dbt-spark)


class MicrobatchWrite(Enum):
    """What dbt's microbatch strategy writes on this adapter."""

    WINDOW = "window"  # deletes and inserts the batch's event-time window only (dbt-duckdb)
    MERGE_BY_KEY = "merge by unique_key"  # merges on unique_key: rows outside the window may change


class UnquotedCase(Enum):
    """How an engine reads an unquoted identifier."""

    LOWER = "lower"  # folded to lower case (Postgres, Spark)
    INSENSITIVE = "insensitive"  # matched case-insensitively, quoted or not (DuckDB)


@dataclass(frozen=True)
class Engine:
    """One warehouse engine's capabilities, as data."""

    #: dbt's adapter type (`adapter.type()`), the key of the registry below.
    adapter_type: str
    #: CREATE/ALTER/DROP roll back with the transaction: a phase is one transaction.
    transactional_ddl: bool
    views_bind_to: ViewBinding
    #: The longest identifier the engine keeps, in UTF-8 bytes (None: no practical limit).
    identifier_max_bytes: int | None
    #: sqlglot's dialect name, for reading and rewriting the engine's SQL.
    sqlglot_dialect: str
    rebuilds_tables_by: TableRebuild
    #: dbt's adapter rebuilds a table with an enforced foreign-key contract in place (no
    #: rename): its pre-run state must be copied (dbt-duckdb).
    rebuilds_foreign_key_tables_in_place: bool
    microbatch: MicrobatchWrite
    unquoted_case: UnquotedCase
    #: One transaction may write several databases (catalogs) at once.
    multi_database_transactions: bool
    #: dbt's adapter knows a database (catalog) above the schema; dbt-spark has none
    #: (`credentials.database` is None), so relations are named schema.identifier.
    has_databases: bool
    #: DELETE (and UPDATE) work on dbt's tables, so a row-level backup can be put back
    #: (parquet on Spark has neither: incremental models are copied whole).
    deletes_rows: bool
    #: Dotted path of the engine's TargetLock class (imported on use: drivers load lazily).
    lock_class: str
    #: Dotted path of a function that closes the connections the adapter keeps between
    #: dbt invocations (None: dbt's own adapter reset suffices).
    connection_releaser: str | None = None
    #: Dotted path of a function (manifest node) -> why sagaz-dbt cannot protect that node
    #: on this engine, or None.  Any reason refuses the run before anything changes.
    node_refusal: str | None = None
    #: insert_overwrite with partition_by replaces exactly the partitions its batch holds
    #: (dbt-spark's dynamic partition overwrite): a pre-hook can back up just those
    #: (BackupKind.PARTITIONS) instead of copying the table.
    overwrites_partitions: bool = False
    #: dbt's incremental materialization writes the batch to `__dbt_tmp` before it asks the
    #: adapter for the strategy's SQL (dbt-adapters, dbt-duckdb): a keyed row backup can
    #: read the batch there, in the node's transaction (saga/batch_backups.py).
    incremental_batch_before_strategy: bool = False

    @property
    def binds_views_to_oids(self) -> bool:
        return self.views_bind_to is ViewBinding.OID

    def lock(self, warehouse: "Warehouse") -> "TargetLock":
        """A new lock object for `warehouse` (one per target per run)."""
        return _load(self.lock_class)(warehouse)

    def refusal(self, node: Any) -> str | None:
        return _load(self.node_refusal)(node) if self.node_refusal is not None else None

    def release_connections(self) -> None:
        if self.connection_releaser is not None:
            _load(self.connection_releaser)()


#: Every engine sagaz-dbt supports: adapter type -> module holding its `ENGINE`.
ENGINE_MODULES: dict[str, str] = {
    "duckdb": "sagaz_dbt.engines.duckdb",
    "postgres": "sagaz_dbt.engines.postgres",
    "spark": "sagaz_dbt.engines.spark",
}


class UnsupportedAdapterError(UsageError):
    """The target's adapter has no Engine: nothing may run against it."""


def for_adapter(adapter_type: str) -> Engine:
    """The Engine of a dbt adapter type; refuses (exit 2) one sagaz-dbt does not support."""
    module = ENGINE_MODULES.get(str(adapter_type).lower())
    if module is None:
        raise UnsupportedAdapterError(
            f"sagaz-dbt does not support the {adapter_type!r} adapter (it supports: "
            f"{', '.join(sorted(ENGINE_MODULES))}); nothing was changed. Its rollback needs SQL "
            "written and tested for that engine: run this target with plain dbt."
        )
    engine = importlib.import_module(module).ENGINE
    assert isinstance(engine, Engine) and engine.adapter_type == adapter_type.lower(), module
    return engine


def known_engines() -> list[Engine]:
    return [for_adapter(name) for name in sorted(ENGINE_MODULES)]


def _load(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)
