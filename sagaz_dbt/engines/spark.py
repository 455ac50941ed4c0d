"""Apache Spark through dbt-spark: no transactions, views bound by name, parquet tables.

What dbt-spark does, and what sagaz-dbt does about it (macros/engines/spark/):

- No DDL is transactional and `commit()` is a no-op: a phase is not one transaction but a
  sequence of steps, each durable when its statement returns.  The journal records each
  change before it becomes visible, and every step of compensation and release checks the
  current state first, so `recover` finishes from any point, however often it is killed.
- dbt-spark rebuilds tables and seeds by drop + create (it never renames): while a run is
  armed, the `drop_relation` override renames the pre-run relation to its kept name
  instead of dropping it (zero copy).  Views are replaced in place (`create or replace
  view`): their text is recorded while arming and restored the same way.
- Parquet has no UPDATE or DELETE, and dbt-spark pastes query bindings in unescaped: the
  journal is append-only (the latest row per key wins) and every value is a SQL literal.
- Incremental runs write in place.  insert_overwrite with partition_by replaces exactly
  the partitions its batch holds (dbt-spark sets dynamic partition overwrite): a pre-hook
  copies just those partitions and records the batch's partition values, and a rollback
  overwrites them from the copy and drops the partitions the batch created
  (macros/engines/spark/partitions.sql): O(batch).  Append, and insert_overwrite without
  partition_by (it replaces the whole table), copy the table while arming and swap the
  copy back by rename: parquet has no DELETE to take appended rows out again.  Merge and
  snapshots need Delta/Iceberg/Hudi, and are refused before anything changes.
- There is no database above the schema (`credentials.database` is None).

The lock, in session mode, is the metastore's: Derby admits one process, so a second run
(sagaz-dbt or plain dbt) on the same metastore cannot start its Spark session at all; its
first query fails with Derby's XSDB6 after about a minute.  That failure is recognised and
reported as "another run holds this target".  A thrift/http target would need a lease row
in the journal, which is not implemented: such a target is refused.
"""

from __future__ import annotations

from typing import Any, Callable

from sagaz_dbt.engines.base import Engine, MicrobatchWrite, TableRebuild, UnquotedCase, ViewBinding
from sagaz_dbt.errors import UsageError
from sagaz_dbt.runtime.lock import TargetBusyError, TargetLock

ENGINE = Engine(
    adapter_type="spark",
    transactional_ddl=False,
    views_bind_to=ViewBinding.NAME,
    identifier_max_bytes=256,  # the Hive metastore's TBL_NAME column (macros/engines/spark/catalog.sql)
    sqlglot_dialect="spark",
    rebuilds_tables_by=TableRebuild.DROP_CREATE,
    rebuilds_foreign_key_tables_in_place=False,
    # Not a window delete: rows outside the batch window may change.  (Microbatch models are
    # refused on Spark for now, `refusal`: untested here.)
    microbatch=MicrobatchWrite.MERGE_BY_KEY,
    unquoted_case=UnquotedCase.LOWER,
    multi_database_transactions=False,
    has_databases=False,
    deletes_rows=False,
    lock_class="sagaz_dbt.engines.spark.SparkMetastoreLock",
    node_refusal="sagaz_dbt.engines.spark.refusal",
    overwrites_partitions=True,
)

#: Incremental strategies that write rows in place on parquet and can be undone by swapping
#: a copy back (merge and microbatch-by-key need Delta/Iceberg/Hudi tables in dbt-spark).
_PARQUET_STRATEGIES = ("append", "insert_overwrite")
#: Table formats this engine's rollback is tested on.
_TESTED_FORMATS = ("parquet",)

#: What Derby says when another process has booted the metastore database.
_DERBY_BUSY = ("XSDB6", "Another instance of Derby may have already booted")


class SparkMetastoreLock(TargetLock):
    """Session mode: the Derby metastore admits one process, so holding the Spark session
    is holding the target.  Taking it means starting the session (one query on the
    metastore); a second process fails there, and says so."""

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        method = str(getattr(self.warehouse.config.credentials, "method", ""))
        if method != "session":
            raise UsageError(
                f"sagaz-dbt supports Spark only with `method: session` (this target uses {method!r}): a "
                "shared cluster needs a lease in the journal to keep two runs apart, which sagaz-dbt does not "
                "have yet. Nothing was changed; run this target with plain dbt."
            )
        try:
            with self.warehouse.transaction("sagaz_lock"):
                self.warehouse.adapter.execute("show databases", fetch=True)
        except Exception as exc:
            if not is_metastore_busy(exc):
                raise
            raise TargetBusyError(
                "another run holds this target: the Spark metastore is in use by another process (Derby: "
                "XSDB6, it admits one process at a time). Is another dbt or sagaz-dbt run going? Run again "
                "once it has finished (--wait cannot queue here: the session cannot be retried in this process)."
            ) from exc


def refusal(node: Any) -> str | None:
    """Why a node cannot be protected on Spark, or None.  dbt snapshots and merge need
    Delta, Iceberg or Hudi, which cannot be installed (nor tested) here: sagaz-dbt refuses
    them instead of running them without a tested rollback."""
    config = node.config
    kind = str(config.materialized)
    file_format = str(config.get("file_format", None) or "parquet")
    if str(node.resource_type) == "snapshot" or kind == "snapshot":
        return "dbt snapshots on Spark need Delta, Iceberg or Hudi tables, whose rollback sagaz-dbt has not tested"
    if file_format not in _TESTED_FORMATS and kind in ("table", "incremental", "seed"):
        return f"file_format {file_format!r}: sagaz-dbt's Spark rollback is tested on parquet tables only"
    if kind == "incremental":
        strategy = str(config.get("incremental_strategy", None) or "append")
        if strategy not in _PARQUET_STRATEGIES:
            return f"incremental_strategy {strategy!r} on Spark needs Delta, Iceberg or Hudi tables"
    return None


def is_metastore_busy(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if any(mark in str(seen) for mark in _DERBY_BUSY):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
