"""Which incremental models take their row backup from dbt's batch (saga/batch_backups.py).

A node takes that path only where it is exactly equivalent to the pre-hook: anything that
may change the table before dbt asks for the strategy's SQL (a user's pre-hook, a schema
change) or a materialization that is not dbt's own keeps the pre-hook.  The warehouse-level
behaviour is tests/test_batch_backups.py's.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from sagaz_dbt.dbt.build_macros import BATCH_BACKUP_MACRO
from sagaz_dbt.engines import for_adapter
from sagaz_dbt.saga import batch_backups
from sagaz_dbt.saga.detail import StepDetail
from sagaz_dbt.saga.journal import StepRecord
from sagaz_dbt.vocabulary import BackupKind

KEYED = StepRecord(
    seq=0, unique_id="model.p.m", resource_type="model", materialized="incremental", database="db",
    schema="s", identifier="m", pre_type="table", copy_identifier="__sagaz_cp_x__m",
    detail=StepDetail(mode=BackupKind.KEYS, key_columns=["id"], keys_identifier="__sagaz_ky_x__m"),
)  # fmt: skip


def node(**config: Any) -> SimpleNamespace:
    settings = {"materialized": "incremental", "pre_hook": [], "on_schema_change": "ignore", **config}
    language = settings.pop("language", "sql")
    return SimpleNamespace(config=SimpleNamespace(**settings), language=language)


@pytest.mark.parametrize(
    ("case", "the_node", "record", "expected"),
    [
        ("keyed, no pre-hook", node(), KEYED, True),
        ("on_schema_change fail raises before the strategy", node(on_schema_change="fail"), KEYED, True),
        ("on_schema_change unset", node(on_schema_change=None), KEYED, True),
        ("a user's pre-hook may change the table first", node(pre_hook=[SimpleNamespace(sql="delete")]), KEYED, False),
        ("sql_header runs with the batch's CREATE", node(sql_header="delete from t;"), KEYED, False),
        ("append_new_columns alters the table first", node(on_schema_change="append_new_columns"), KEYED, False),
        ("sync_all_columns alters the table first", node(on_schema_change="sync_all_columns"), KEYED, False),
        ("a Python model", node(language="python"), KEYED, False),
        ("not an incremental model", node(materialized="snapshot"), KEYED, False),
        ("a snapshot's current rows", node(), replace(KEYED, detail=StepDetail(mode=BackupKind.CURRENT)), False),
        ("a whole copy", node(), replace(KEYED, detail=StepDetail(mode=BackupKind.COPY)), False),
        ("no copy name armed (no pre-run table)", node(), replace(KEYED, copy_identifier=None), False),
        ("no keys table name", node(), replace(KEYED, detail=replace(KEYED.detail, keys_identifier=None)), False),
        ("no key columns", node(), replace(KEYED, detail=replace(KEYED.detail, key_columns=[])), False),
    ],
)
def test_which_nodes_read_the_batch(case: str, the_node: Any, record: StepRecord, expected: bool) -> None:
    assert batch_backups.eligible(the_node, record) is expected, case


class Manifest:
    """The two things plan() reads of dbt's manifest: nodes, and which incremental
    materialization dbt resolves for the project."""

    def __init__(self, materialization_package: str | None, macros: tuple[tuple[str, str], ...] = ()) -> None:
        self.nodes = {KEYED.unique_id: node()}
        self.metadata = SimpleNamespace(project_name="p")
        self.package = materialization_package
        self.macros = {f"macro.{pkg}.{name}": SimpleNamespace(package_name=pkg, name=name) for pkg, name in macros}

    def find_materialization_macro_by_name(self, project_name: str, name: str, adapter_type: str) -> Any:
        assert (project_name, name) == ("p", "incremental")
        return None if self.package is None else SimpleNamespace(package_name=self.package)


@pytest.mark.parametrize(
    ("adapter_type", "package", "taken"),
    [
        ("postgres", "dbt", True),  # dbt-adapters' global materialization
        ("duckdb", "dbt_duckdb", True),  # the adapter's own
        ("postgres", "p", False),  # the project overrides it
        ("duckdb", "some_package", False),  # a package overrides it
        ("duckdb", None, False),
        ("spark", "dbt_spark", False),  # dbt-spark's never asks the adapter for the strategy
    ],
)
def test_only_dbts_own_materialization_is_trusted(adapter_type: str, package: str | None, taken: bool) -> None:
    from dbt.adapters.factory import FACTORY

    pytest.importorskip(f"dbt.adapters.{adapter_type}")
    FACTORY.load_plugin(adapter_type)  # as a parse does: dbt's internal packages per adapter
    planned = batch_backups.plan(Manifest(package), [KEYED], for_adapter(adapter_type), adapter_type)
    assert (KEYED.unique_id in planned.by_node) is taken
    if taken:
        assert planned.by_node[KEYED.unique_id] == batch_backups.BatchBackup(["id"], "__sagaz_cp_x__m", "__sagaz_ky_x__m")


@pytest.mark.parametrize(
    ("macros", "taken"),
    [
        ((), True),
        ((("dbt", "create_table_as"), ("dbt_postgres", "postgres__create_table_as")), True),  # dbt's own
        ((("p", "my_helper"), ("sagaz_dbt", "rename_relation")), True),
        ((("p", "create_table_as"),), False),  # the project's CREATE of the batch could write anything
        ((("some_package", "postgres__create_table_as"),), False),  # reachable through `dispatch:`
        ((("p", "default__get_create_table_as_sql"),), False),
        ((("p", "process_schema_changes"),), False),
        ((("p", "alter_column_type"),), False),  # expand_target_column_types calls it on Postgres
    ],
)
def test_an_override_of_what_runs_before_the_strategy_keeps_the_pre_hook(
    macros: tuple[tuple[str, str], ...], taken: bool
) -> None:
    from dbt.adapters.factory import FACTORY

    pytest.importorskip("dbt.adapters.postgres")
    FACTORY.load_plugin("postgres")
    planned = batch_backups.plan(Manifest("dbt", macros), [KEYED], for_adapter("postgres"), "postgres")
    assert (KEYED.unique_id in planned.by_node) is taken


def test_the_wrapper_is_removed_after_the_build_even_when_it_fails() -> None:
    from dbt.adapters.base.impl import BaseAdapter

    original = BaseAdapter.get_incremental_strategy_macro
    backups = batch_backups.BatchBackups({KEYED.unique_id: batch_backups.BatchBackup(["id"], "c", "k")})
    with pytest.raises(RuntimeError):
        with backups.installed():
            assert BaseAdapter.get_incremental_strategy_macro is not original
            raise RuntimeError("the build failed")
    assert BaseAdapter.get_incremental_strategy_macro is original


def test_the_wrapper_backs_up_before_rendering_the_strategy_and_only_for_listed_nodes() -> None:
    from dbt.adapters.base.impl import BaseAdapter

    calls: list[tuple[str, Any]] = []

    def strategy(arg_dict: dict[str, Any]) -> str:
        calls.append(("strategy", arg_dict["temp_relation"]))
        return "merge sql"

    def backup(*args: Any) -> str:
        calls.append(("backup", args))
        return ""

    def context(unique_id: str) -> dict[str, Any]:
        return {"model": {"unique_id": unique_id}, "get_incremental_merge_sql": strategy,
                "sagaz_dbt": {BATCH_BACKUP_MACRO: backup}}  # fmt: skip

    adapter = SimpleNamespace(valid_incremental_strategies=lambda: ["merge"], builtin_incremental_strategies=lambda: ["merge"])
    backups = batch_backups.BatchBackups({KEYED.unique_id: batch_backups.BatchBackup(["id"], "c", "k")})
    with backups.installed():
        listed = BaseAdapter.get_incremental_strategy_macro(adapter, context(KEYED.unique_id), "merge")
        other = BaseAdapter.get_incremental_strategy_macro(adapter, context("model.p.other"), "merge")
    assert other is strategy
    assert listed({"temp_relation": "tmp"}) == "merge sql"
    assert calls == [("backup", ("tmp", ["id"], "c", "k")), ("strategy", "tmp")]


def test_a_strategy_that_asks_the_adapter_for_another_backs_up_once() -> None:
    """A project's strategy macro may call adapter.get_incremental_strategy_macro itself;
    the inner macro is wrapped too, and must not back up a second time (its keys table
    would already exist)."""
    from dbt.adapters.base.impl import BaseAdapter

    backups_taken: list[Any] = []
    adapter = SimpleNamespace(
        valid_incremental_strategies=lambda: ["delete+insert"], builtin_incremental_strategies=lambda: ["delete+insert"]
    )

    def inner(arg_dict: dict[str, Any]) -> str:
        return "delete+insert sql"

    context: dict[str, Any] = {"model": {"unique_id": KEYED.unique_id}, "get_incremental_delete_insert_sql": inner,
                               "sagaz_dbt": {BATCH_BACKUP_MACRO: lambda *a: backups_taken.append(a)}}  # fmt: skip

    def outer(arg_dict: dict[str, Any]) -> str:
        return BaseAdapter.get_incremental_strategy_macro(adapter, context, "delete+insert")(arg_dict)

    context["get_incremental_upsert_sql"] = outer
    with batch_backups.BatchBackups({KEYED.unique_id: batch_backups.BatchBackup(["id"], "c", "k")}).installed():
        sql = BaseAdapter.get_incremental_strategy_macro(adapter, context, "upsert")({"temp_relation": "tmp"})
    assert sql == "delete+insert sql"
    assert backups_taken == [("tmp", ["id"], "c", "k")]


def test_overlapping_builds_neither_remove_nor_leave_the_wrapper() -> None:
    from dbt.adapters.base.impl import BaseAdapter

    original = BaseAdapter.get_incremental_strategy_macro
    first = batch_backups.BatchBackups({"model.p.a": batch_backups.BatchBackup(["id"], "c", "k")}).installed()
    second = batch_backups.BatchBackups({"model.p.b": batch_backups.BatchBackup(["id"], "c", "k")}).installed()
    first.__enter__()
    second.__enter__()
    wrapped = BaseAdapter.get_incremental_strategy_macro
    first.__exit__(None, None, None)
    assert BaseAdapter.get_incremental_strategy_macro is wrapped, "the second build's nodes lost their backup"
    second.__exit__(None, None, None)
    assert BaseAdapter.get_incremental_strategy_macro is original
