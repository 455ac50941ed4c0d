"""Incremental models: back up only the rows the run can touch.

An incremental run changes the existing table in place, but only where the new batch lands:
rows whose `unique_key` is in the batch (delete+insert, merge), or whose partition column
value is in the batch (append, insert_overwrite, or any strategy with
`meta.sagaz.partition_by`).  A pre-hook copies exactly those rows, and the batch's keys,
inside the model's own transaction; compensation deletes the batch's keys and re-inserts the
copied rows (`sagaz_dbt.restore_rows`): O(batch), not O(table).

Without a key (a plain append), with `on_schema_change: sync_all_columns` (which can retype
columns), for microbatch, and for Python models, the whole table is copied, and the model
says so once.  A full refresh rebuilds the table through dbt's backup rename: zero copy.

The batch query runs once more in the pre-hook, in the same transaction as dbt's own run of
it, so it must be deterministic within a transaction (now() is; random() is not).
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.strategies.base import (
    Snapshot,
    Strategy,
    as_columns,
    effective_full_refresh,
    has_foreign_key_contract,
    sagaz_meta,
)


class IncrementalStrategy(Strategy):
    def snapshot(self, node: Any, full_refresh: bool) -> Snapshot:
        if effective_full_refresh(node, full_refresh):
            return Snapshot("copy") if has_foreign_key_contract(node) else Snapshot("swap")
        config = node.config
        meta = sagaz_meta(node)
        if meta.get("snapshot") == "copy":
            return Snapshot("copy")
        strategy = str(getattr(config, "incremental_strategy", None) or "default")
        if str(getattr(node, "language", "sql")) != "sql":
            return _copy(node, "it is a Python model")
        if strategy == "microbatch":
            return _copy(node, "microbatch batches are not yet backed up one by one")
        if str(getattr(config, "on_schema_change", None) or "ignore") == "sync_all_columns":
            return _copy(node, "on_schema_change: sync_all_columns can change column types")
        keys = as_columns(meta.get("partition_by"))
        if not keys:  # every strategy only writes rows whose key is in the batch
            keys = as_columns(getattr(config, "unique_key", None))
        if not keys:
            keys = as_columns(config.get("partition_by") if hasattr(config, "get") else None)
        if not keys:
            return _copy(node, f"{strategy} has no key to scope its backup; set meta.sagaz.partition_by")
        return Snapshot("keys", key_columns=keys)


def _copy(node: Any, why: str) -> Snapshot:
    return Snapshot("copy", notice=f"{node.name}: copying the whole table before the run, because {why}")


INCREMENTAL = IncrementalStrategy(name="rows", cost="the rows whose key is in the batch (copy without a key)")
