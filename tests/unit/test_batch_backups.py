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

from sagaz_dbt.dbt.build_macros import CALLED_FROM_PYTHON
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

    def __init__(self, materialization_package: str | None) -> None:
        self.nodes = {KEYED.unique_id: node()}
        self.metadata = SimpleNamespace(project_name="p")
        self.package = materialization_package

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


def test_the_build_keeps_the_macro_python_calls() -> None:
    assert batch_backups.BACKUP_MACRO in CALLED_FROM_PYTHON


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
                "sagaz_dbt": {batch_backups.BACKUP_MACRO: backup}}  # fmt: skip

    adapter = SimpleNamespace(valid_incremental_strategies=lambda: ["merge"], builtin_incremental_strategies=lambda: ["merge"])
    backups = batch_backups.BatchBackups({KEYED.unique_id: batch_backups.BatchBackup(["id"], "c", "k")})
    with backups.installed():
        listed = BaseAdapter.get_incremental_strategy_macro(adapter, context(KEYED.unique_id), "merge")
        other = BaseAdapter.get_incremental_strategy_macro(adapter, context("model.p.other"), "merge")
    assert other is strategy
    assert listed({"temp_relation": "tmp"}) == "merge sql"
    assert calls == [("backup", ("tmp", ["id"], "c", "k")), ("strategy", "tmp")]
