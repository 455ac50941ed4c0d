"""Incremental models: back up only the rows the run can touch.

An incremental run changes the existing table in place, but only where the new batch lands:
rows whose `unique_key` is in the batch (delete+insert, merge), or, for a model without a
unique_key, whose partition column value is in the batch (`meta.sagaz.partition_by`, else
the config's `partition_by`).  A unique_key always wins: merge and delete+insert write by
it, so a key that moved to another partition would escape a partition scope.  A pre-hook
copies exactly those rows, and the batch's keys,
inside the model's own transaction; compensation deletes the batch's keys and re-inserts the
copied rows (`sagaz_dbt.restore_rows`): O(batch), not O(table).

Microbatch models on DuckDB: dbt-duckdb deletes and inserts each batch by its event-time
window, and only there, so the rows from the run's first batch start onwards are copied
before the run (O(window), not O(table)) and compensation deletes that window and
re-inserts them.  The batches are dbt's own (`MicrobatchBuilder`, from the model's
batch_size, lookback and begin, and --event-time-start/--event-time-end); without an
explicit end the window is left open, since the build starts a moment after arming.
dbt-postgres runs microbatch as a merge on the unique_key, which can update rows outside
the window, so there the table is copied.

On Spark (no DELETE on parquet), insert_overwrite with partition_by backs up the partitions
its batch overwrites (`overwritten_partitions`); every other incremental model is copied.

Without a key (a plain append), with `on_schema_change: sync_all_columns` (which can retype
columns), and for Python models, the whole table is copied, and the model says so once.  A
full refresh rebuilds the table through dbt's backup rename: zero copy.

Where dbt's own materialization computes the batch into `__dbt_tmp` before asking for the
strategy's SQL (Postgres, DuckDB), the keys are read from there (saga/batch_backups.py): the
batch query runs once, and any query is backed up exactly.  A model with pre-hooks of its
own, a schema change before the strategy or an overridden materialization keeps the
pre-hook, which evaluates the batch query once more in the same transaction as dbt's run of
it; its query must then be deterministic within a transaction (now() is; random() is not).
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import (
    RunContext,
    Snapshot,
    Strategy,
    as_columns,
    effective_full_refresh,
    rebuilt_in_place,
    sagaz_meta,
)
from sagaz_dbt.engines import MicrobatchWrite
from sagaz_dbt.backups.keys import columns_of
from sagaz_dbt.vocabulary import BackupKind


class IncrementalStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        if effective_full_refresh(node, run):
            return Snapshot(BackupKind.COPY) if rebuilt_in_place(node, run) else Snapshot(BackupKind.SWAP)
        config = node.config
        meta = sagaz_meta(node)
        if meta.get("snapshot") == BackupKind.COPY:
            return Snapshot(BackupKind.COPY)
        strategy = str(getattr(config, "incremental_strategy", None) or "default")
        if str(getattr(node, "language", "sql")) != "sql":
            return _copy(node, "it is a Python model")
        assert run.engine is not None
        if not run.engine.deletes_rows:
            if strategy == "insert_overwrite" and run.engine.overwrites_partitions:
                return overwritten_partitions(node, run)
            return _copy(node, f"{run.engine.adapter_type} tables have no DELETE to put back only the touched rows")
        if strategy == "microbatch":
            assert run.engine is not None
            if run.engine.microbatch is not MicrobatchWrite.WINDOW:
                return _copy(
                    node, f"microbatch on {run.engine.adapter_type} merges by unique_key, beyond the batch window"
                )
            return Snapshot(BackupKind.WINDOW, window=microbatch_window(node, run))
        if str(getattr(config, "on_schema_change", None) or "ignore") == "sync_all_columns":
            return _copy(node, "on_schema_change: sync_all_columns can change column types")
        keys = as_columns(getattr(config, "unique_key", None))  # keyed strategies write by it
        if not keys:  # append and the like only write rows whose partition is in the batch
            keys = as_columns(meta.get("partition_by"))
        if not keys:
            keys = as_columns(config.get("partition_by") if hasattr(config, "get") else None)
        if not keys:
            return _copy(node, f"{strategy} has no key to scope its backup; set meta.sagaz.partition_by")
        assert run.engine is not None
        columns = columns_of(keys, run.engine)  # the config is SQL: '"order"', 'ID'
        if columns is None:
            return _copy(node, f"its key {', '.join(keys)} is not a list of columns")
        return Snapshot(BackupKind.KEYS, key_columns=columns)


#: Functions whose value can differ between two evaluations of the same query (Spark SQL).
#: A batch query calling one may overwrite other partitions when dbt runs it than when the
#: pre-hook evaluated it a moment before: such a model copies its table instead.  Matched
#: as words, case-insensitively: a column of one of these names only costs a copy.
NONDETERMINISTIC_SQL = (
    r"(?i)\b(rand|randn|random|uniform|randstr|uuid|shuffle|current_timestamp|current_date|current_time"
    r"|now|curdate|localtimestamp|unix_timestamp|input_file_name|input_file_block_start"
    r"|input_file_block_length|monotonically_increasing_id|spark_partition_id|reflect|java_method"
    r"|try_reflect)\b"
)


def overwritten_partitions(node: Any, run: RunContext) -> Snapshot:
    """insert_overwrite on an engine that overwrites partitions (dbt-spark): with partition_by,
    dbt-spark sets `partitionOverwriteMode = DYNAMIC`, so its `insert overwrite table ...
    partition (cols)` replaces exactly the partitions whose values the batch holds.  A
    pre-hook evaluates the batch query once more, right before dbt does, to learn them, and
    copies only those partitions (macros/engines/spark/partitions.sql).

    The copy is the safe answer wherever the batch's partitions cannot be known that way:
    without partition_by the whole table is overwritten; a batch query with a
    nondeterministic function (rand(), current_date(), ...) may give other partitions the
    second time (there is no transaction to hold it still); a schema change
    (on_schema_change other than ignore/fail) alters columns the partition backup cannot put
    back."""
    import re

    config = node.config
    keys = as_columns(config.get("partition_by") if hasattr(config, "get") else None)
    if not keys:
        return _copy(node, "insert_overwrite without partition_by overwrites the whole table")
    assert run.engine is not None
    columns = columns_of(keys, run.engine)
    if columns is None:
        return _copy(node, f"its partition_by {', '.join(keys)} is not a list of columns")
    on_schema_change = str(getattr(config, "on_schema_change", None) or "ignore")
    if on_schema_change not in ("ignore", "fail"):
        return _copy(node, f"on_schema_change: {on_schema_change} can change its columns")
    found = re.search(NONDETERMINISTIC_SQL, str(getattr(node, "raw_code", "") or ""))
    if found:
        return _copy(
            node,
            f"its SQL calls {found.group(1)}, which can give other partitions when dbt runs it than when "
            "sagaz-dbt evaluates its batch just before",
        )
    return Snapshot(BackupKind.PARTITIONS, key_columns=columns)


def microbatch_window(node: Any, run: RunContext) -> dict[str, str | None]:
    """The event-time window this run's batches of `node` can write: from dbt's first batch
    start on (to its last batch end only when --event-time-end fixes it)."""
    from dbt.materializations.incremental.microbatch import MicrobatchBuilder

    builder = MicrobatchBuilder(
        model=node,
        is_incremental=True,  # a first build creates the table: nothing to back up then
        event_time_start=run.event_time_start,
        event_time_end=run.event_time_end,
        default_end_time=run.started_at,
    )
    end = builder.build_end_time()
    start = builder.build_start_time(end)
    return {
        "event_time": str(node.config.event_time),
        "start": str(start),
        "end": str(end) if run.event_time_end is not None else None,
    }


def _copy(node: Any, why: str) -> Snapshot:
    return Snapshot(BackupKind.COPY, notice=f"{node.name}: copying the whole table before the run, because {why}")


INCREMENTAL = IncrementalStrategy()
