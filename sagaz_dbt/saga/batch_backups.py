"""Row backups of incremental models taken from the batch dbt computes, not a re-run of it.

A keyed incremental model's backup needs the batch's keys before dbt merges them.  The
injected pre-hook (`sagaz_dbt.backup_touched_rows`) runs before dbt has computed its batch,
so it evaluates the model's query once more: a second full scan of the source when the
batch query cannot use an index (issue 17: +0.54 s a run on a 10M-row Postgres source), and
a second evaluation that must give the same rows as dbt's (random() does not).

dbt's own incremental materializations (dbt-adapters', used by dbt-postgres, and
dbt-duckdb's) write the batch to `<model>__dbt_tmp` and then ask the adapter for the
strategy's SQL (`adapter.get_incremental_strategy_macro`); the backup's statements, dbt's
merge and the guard below then run in the node's one transaction (on DuckDB the batch's
CREATE may precede its BEGIN: a session temporary table, which changes nothing).  For the
build, that adapter method is wrapped: for a node listed here, the macro it returns first
runs `sagaz_dbt.backup_batch_rows(__dbt_tmp, ...)` (macros/backups/batch.sql), then renders
dbt's strategy SQL unchanged.  The batch is read once, where dbt already wrote it.

Only nodes for which that is exactly equivalent to the pre-hook take this path; the rest
keep the pre-hook (`eligible`):
- the engine's materialization builds the batch before asking for the strategy
  (`Engine.incremental_batch_before_strategy`), and the materialization dbt will run for
  the project is dbt's own (a project's or package's override may not do either);
- the node has no pre-hook of its own: the pre-hook backup runs before the user's
  pre-hooks, which may delete or update the rows the batch reloads; the batch backup would
  run after them.  Nor a `sql_header`, which dbt sends with its CREATE of the batch;
- neither the project nor a package defines a macro dbt calls between the pre-hooks and
  the strategy (`BEFORE_STRATEGY_MACROS`: creating the batch, comparing its columns), under
  its name or as a dispatch variant: such a macro could write the table first;
- `on_schema_change` is `ignore` or `fail`: `append_new_columns` alters the table before
  the strategy, and the copy would then hold the added columns the rollback must drop.

A post-hook guard inside the same transaction (`sagaz_dbt.require_batch_backup`) fails the
node if dbt merged into the pre-run table and the batch backup did not run, so a change in
dbt's materialization rolls the run back instead of committing a change without a backup.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from sagaz_dbt.dbt.build_macros import BATCH_BACKUP_MACRO
from sagaz_dbt.dbt.package import PACKAGE_NAME
from sagaz_dbt.engines import Engine
from sagaz_dbt.saga.journal import StepRecord
from sagaz_dbt.vocabulary import BackupKind

#: on_schema_change values that change nothing before the strategy runs.
_SCHEMA_UNCHANGED = frozenset({"ignore", "fail"})


@dataclass(frozen=True)
class BatchBackup:
    """What the strategy wrapper needs to back up one node's touched rows."""

    key_columns: list[str]
    copy_identifier: str
    keys_identifier: str


@dataclass
class BatchBackups:
    """The run's nodes whose row backup is taken from dbt's batch, by unique_id."""

    by_node: dict[str, BatchBackup] = field(default_factory=dict)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Wrap the adapter's strategy lookup for the duration of a build (a no-op when no
        node takes this path)."""
        if not self.by_node:
            yield
            return
        build = _ActiveBuild(dict(self.by_node))
        _PATCH.enter(build)
        try:
            yield
        finally:
            _PATCH.leave(build)


@dataclass(eq=False)
class _ActiveBuild:
    by_node: dict[str, BatchBackup]
    #: nodes whose backup ran: once per node, even when a project's own strategy macro asks
    #: the adapter for another strategy (whose macro is wrapped too) from inside its call
    done: set[str] = field(default_factory=set)

    def backup_for(self, unique_id: str | None) -> BatchBackup | None:
        return self.by_node.get(unique_id) if unique_id is not None else None


class _Patch:
    """The one wrapper of `BaseAdapter.get_incremental_strategy_macro` in this process:
    installed by the first build that needs it and removed by the last, so builds that
    overlap in a library caller's threads neither remove nor leave behind each other's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds: list[_ActiveBuild] = []
        self._original: Any = None

    def enter(self, build: _ActiveBuild) -> None:
        from dbt.adapters.base.impl import BaseAdapter

        with self._lock:
            if not self._builds:
                self._original = original = BaseAdapter.get_incremental_strategy_macro
                BaseAdapter.get_incremental_strategy_macro = self._wrapper(original)  # type: ignore[method-assign]
            self._builds.append(build)

    def leave(self, build: _ActiveBuild) -> None:
        from dbt.adapters.base.impl import BaseAdapter

        with self._lock:
            self._builds.remove(build)
            if not self._builds:
                BaseAdapter.get_incremental_strategy_macro = self._original  # type: ignore[method-assign]
                self._original = None

    def _find(self, unique_id: str | None) -> tuple[_ActiveBuild, BatchBackup] | None:
        with self._lock:
            for build in self._builds:
                backup = build.backup_for(unique_id)
                if backup is not None:
                    return build, backup
        return None

    def _wrapper(self, original: Any) -> Any:
        def get_incremental_strategy_macro(adapter: Any, model_context: Any, strategy: str) -> Any:
            macro = original(adapter, model_context, strategy)
            unique_id = _unique_id(model_context)
            found = self._find(unique_id)
            if found is None:
                return macro
            build, backup = found
            return _with_backup(macro, model_context, backup, build.done, unique_id)

        return get_incremental_strategy_macro


_PATCH = _Patch()


def _with_backup(macro: Any, model_context: Any, backup: BatchBackup, done: set[str], unique_id: Any) -> Any:
    def strategy_sql(*args: Any, **kwargs: Any) -> Any:
        if unique_id not in done:
            # dbt passes one dict (strategy_arg_dict); anything else raises and fails the node
            temp_relation = (args[0] if args else kwargs["arg_dict"])["temp_relation"]
            model_context[PACKAGE_NAME][BATCH_BACKUP_MACRO](
                temp_relation, backup.key_columns, backup.copy_identifier, backup.keys_identifier
            )
            done.add(unique_id)
        return macro(*args, **kwargs)

    return strategy_sql


def _unique_id(model_context: Any) -> str | None:
    model = model_context.get("model") if hasattr(model_context, "get") else None
    if isinstance(model, dict):
        return model.get("unique_id")
    return getattr(model, "unique_id", None)


def plan(manifest: Any, records: list[StepRecord], engine: Engine, adapter_type: str) -> BatchBackups:
    """The records whose backup the strategy wrapper takes (see the module's docstring)."""
    backups = BatchBackups()
    if not engine.incremental_batch_before_strategy or not _dbt_materialization(manifest, adapter_type):
        return backups
    if _overridden_before_strategy(manifest, adapter_type):
        return backups
    for record in records:
        node = manifest.nodes.get(record.unique_id)
        if node is not None and eligible(node, record):
            assert record.copy_identifier and record.detail.keys_identifier and record.detail.key_columns
            backups.by_node[record.unique_id] = BatchBackup(
                list(record.detail.key_columns), record.copy_identifier, record.detail.keys_identifier
            )
    return backups


def eligible(node: Any, record: StepRecord) -> bool:
    """A keyed row backup of an incremental SQL model without pre-hooks of its own whose
    schema changes nothing before the strategy runs."""
    detail = record.detail
    if detail.mode is not BackupKind.KEYS or not (record.copy_identifier and detail.keys_identifier and detail.key_columns):
        return False
    config = node.config
    if str(getattr(config, "materialized", "")) != "incremental" or str(getattr(node, "language", "sql")) != "sql":
        return False
    if list(getattr(config, "pre_hook", None) or []):
        return False
    if _config(config, "sql_header"):  # runs with dbt's CREATE of the batch, before the strategy
        return False
    return str(getattr(config, "on_schema_change", None) or "ignore") in _SCHEMA_UNCHANGED


def _dbt_materialization(manifest: Any, adapter_type: str) -> bool:
    """The incremental materialization dbt resolves for this project is dbt's own (its
    global project's or the adapter's), not a project's or a package's override."""
    from dbt.adapters.factory import get_adapter_package_names

    project_name = getattr(getattr(manifest, "metadata", None), "project_name", None)
    if not project_name:
        return False
    macro = manifest.find_materialization_macro_by_name(project_name, "incremental", adapter_type)
    return macro is not None and macro.package_name in set(get_adapter_package_names(adapter_type))


def _config(config: Any, name: str) -> Any:
    """A config value, declared field or extra (`sql_header` is an extra of dbt's NodeConfig)."""
    getter = getattr(config, "get", None)
    return getter(name) if callable(getter) else getattr(config, name, None)


#: The macros dbt's incremental materializations call between the pre-hooks and the strategy
#: (creating the batch, comparing and widening its columns).  Defined by the project or a
#: package (under their name or a dispatch variant `<adapter>__<name>`), they could write
#: the target table before the batch backup reads it: every node keeps the pre-hook then.
BEFORE_STRATEGY_MACROS = frozenset({
    "get_create_table_as_sql", "create_table_as", "make_temp_relation", "process_schema_changes",
    "check_for_schema_changes", "sync_column_schemas", "alter_column_type", "alter_relation_add_remove_columns",
    "get_columns_in_relation", "run_query", "statement", "run_hooks",
})  # fmt: skip


def _overridden_before_strategy(manifest: Any, adapter_type: str) -> bool:
    from dbt.adapters.factory import get_adapter_package_names, get_adapter_type_names

    internal = set(get_adapter_package_names(adapter_type))
    prefixes = tuple(f"{t}__" for t in [*get_adapter_type_names(adapter_type), "default"])
    for macro in manifest.macros.values():
        if macro.package_name in internal:
            continue
        name = str(macro.name)
        base = next((name[len(p):] for p in prefixes if name.startswith(p)), name)
        if base in BEFORE_STRATEGY_MACROS:
            return True
    return False
