"""The node-kind -> snapshot table, one row per case, against the real strategies.

README.md's table ("How it works", step 2) is the contract: `test_readme_table_is_this_table`
reads it and checks that every row of it has cases here and that each case arms the kind
of snapshot the README row names.  Cases the README does not list as a row of its own
(foreign-key contract tables, unknown materializations, `meta.sagaz.snapshot: copy`) are in
`BEYOND_README`, each with where it is documented instead.

No dbt invocation and no warehouse: the nodes are tests/helpers/nodes.py stand-ins for
dbt's manifest nodes, and the engines are the real `for_adapter(...)` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from helpers.nodes import Config, Contract, MetaColumnNames, Node, foreign_key_table, model
from sagaz_dbt import backups as strategies
from sagaz_dbt.engines import for_adapter
from sagaz_dbt.backups import RunContext

README = Path(__file__).resolve().parents[2] / "README.md"
STARTED = datetime(2026, 1, 10, 12, 30, tzinfo=timezone.utc)

# README rows, by the first words of their "node" cell.
TABLE_OR_VIEW = "table / view model"
INCREMENTAL_KEYED = "incremental model with a `unique_key`"
MICROBATCH_DUCKDB = "microbatch model (DuckDB)"
INCREMENTAL_COPIED = "incremental model without a key"
FULL_REFRESH = "incremental `--full-refresh`"
DBT_SNAPSHOT = "dbt snapshot"
SEED = "seed"
MATVIEW = "materialized view model (Postgres)"
CREATED = "relation that did not exist"
NOT_PERSISTED = "ephemeral model, test"

#: README's "snapshot sagaz-dbt keeps" wording -> Snapshot.kind (None: no snapshot at all).
README_KIND = [
    ("dbt's own backup", "swap"),
    ("only the rows whose key is in the batch", "keys"),
    ("rows from the first batch's start on", "window"),
    ("a copy of the table", "copy"),
    ("a copy (seeds are small)", "copy"),
    ("copies the current rows only", "current"),
    ("the old view, renamed", "swap"),
    ("nothing", None),
]


@dataclass(frozen=True)
class Case:
    row: str  # the README row it belongs to (or, for BEYOND_README, where it is documented)
    id: str
    node: Node
    kind: str
    engine: str = "duckdb"
    full_refresh: bool = False
    event_time_end: datetime | None = None
    key_columns: tuple[str, ...] = ()
    notice: str | None = None  # a substring of the notice; None: no notice
    extra: dict[str, Any] = field(default_factory=dict)


def incremental(**config: Any) -> Node:
    return model("incremental", **config)


def python_model(**config: Any) -> Node:
    node = incremental(unique_key="id", **config)
    node.language = "python"
    return node


def microbatch(**config: Any) -> Node:
    """dbt's MicrobatchBuilder (which computes the window) insists on dbt's own NodeConfig."""
    from dbt.artifacts.resources import NodeConfig

    node_config = NodeConfig.from_dict(
        {
            "materialized": "incremental",
            "incremental_strategy": "microbatch",
            "event_time": "ts",
            "batch_size": "day",
            "begin": "2026-01-01",
            **config,
        }
    )
    return Node(name="mb", config=node_config)  # type: ignore[arg-type]


def seed() -> Node:
    return Node(name="s", resource_type="seed", config=Config(materialized="seed"))


def dbt_snapshot(names: MetaColumnNames | None = None, current: str | None = None) -> Node:
    config = Config(materialized="snapshot", snapshot_meta_column_names=names, dbt_valid_to_current=current)
    return Node(name="snap", resource_type="snapshot", config=config)


CASES = [
    # table / view: dbt's backup rename is kept, on every engine
    *(Case(TABLE_OR_VIEW, f"table-{e}", model("table"), "swap", engine=e) for e in ("duckdb", "postgres")),
    *(Case(TABLE_OR_VIEW, f"view-{e}", model("view"), "swap", engine=e) for e in ("duckdb", "postgres")),
    Case(TABLE_OR_VIEW, "table-full-refresh", model("table"), "swap", full_refresh=True),
    # incremental with a key: the batch's rows
    Case(INCREMENTAL_KEYED, "unique_key", incremental(unique_key="id"), "keys", key_columns=("id",)),
    Case(INCREMENTAL_KEYED, "unique_key-list", incremental(unique_key=["a", "b"]), "keys", key_columns=("a", "b")),
    *(
        Case(INCREMENTAL_KEYED, f"{s}", incremental(incremental_strategy=s, unique_key="id"), "keys", key_columns=("id",))
        for s in ("merge", "delete+insert", "append", "insert_overwrite")
    ),
    Case(INCREMENTAL_KEYED, "quoted-key", incremental(unique_key='"order"'), "keys", key_columns=("order",)),
    Case(INCREMENTAL_KEYED, "unquoted-upper-postgres", incremental(unique_key="ID"), "keys", engine="postgres", key_columns=("id",)),
    Case(INCREMENTAL_KEYED, "unquoted-upper-duckdb", incremental(unique_key="ID"), "keys", key_columns=("ID",)),
    Case(INCREMENTAL_KEYED, "meta-partition_by", incremental(meta={"sagaz": {"partition_by": "day"}}), "keys", key_columns=("day",)),
    Case(INCREMENTAL_KEYED, "config-partition_by", incremental(partition_by="day"), "keys", key_columns=("day",)),
    Case(INCREMENTAL_KEYED, "bigquery-partition_by", incremental(partition_by={"field": "day"}), "keys", key_columns=("day",)),
    Case(
        INCREMENTAL_KEYED,
        "unique_key-wins-over-partition",
        incremental(unique_key="id", meta={"sagaz": {"partition_by": "day"}}),
        "keys",
        key_columns=("id",),
    ),
    Case(INCREMENTAL_KEYED, "on_schema_change-append", incremental(unique_key="id", on_schema_change="append_new_columns"), "keys", key_columns=("id",)),
    Case(INCREMENTAL_KEYED, "node-full_refresh-false-wins", incremental(unique_key="id", full_refresh=False), "keys", full_refresh=True, key_columns=("id",)),
    # microbatch on DuckDB: the event-time window
    # dbt's batches: end at the next day boundary (or --event-time-end), start one batch plus
    # the lookback (1) before it; the window stays open without an explicit end.
    Case(MICROBATCH_DUCKDB, "microbatch-open", microbatch(), "window", extra={"start": "2026-01-09 00:00:00+00:00", "end": None}),
    Case(
        MICROBATCH_DUCKDB,
        "microbatch-event-time-end",
        microbatch(),
        "window",
        event_time_end=datetime(2026, 1, 8, tzinfo=timezone.utc),
        extra={"start": "2026-01-06 00:00:00+00:00", "end": "2026-01-08 00:00:00+00:00"},
    ),
    # incremental models that get a copy, and say so once
    Case(INCREMENTAL_COPIED, "no-key", incremental(), "copy", notice="has no key to scope its backup"),
    Case(INCREMENTAL_COPIED, "append-no-key", incremental(incremental_strategy="append"), "copy", notice="append has no key"),
    Case(INCREMENTAL_COPIED, "key-expression", incremental(unique_key="coalesce(a, b)"), "copy", notice="is not a list of columns"),
    Case(
        INCREMENTAL_COPIED,
        "sync_all_columns",
        incremental(unique_key="id", on_schema_change="sync_all_columns"),
        "copy",
        notice="sync_all_columns",
    ),
    *(Case(INCREMENTAL_COPIED, f"python-{e}", python_model(), "copy", engine=e, notice="Python model") for e in ("duckdb", "postgres")),
    Case(INCREMENTAL_COPIED, "microbatch-postgres", microbatch(unique_key="id"), "copy", engine="postgres", notice="microbatch on postgres"),
    # --full-refresh: the backup rename, kept
    *(Case(FULL_REFRESH, f"flag-{e}", incremental(unique_key="id"), "swap", engine=e, full_refresh=True) for e in ("duckdb", "postgres")),
    Case(FULL_REFRESH, "node-full_refresh-true-wins", incremental(unique_key="id", full_refresh=True), "swap"),
    Case(FULL_REFRESH, "no-key", incremental(), "swap", full_refresh=True),
    # dbt snapshots: the current rows
    *(
        Case(DBT_SNAPSHOT, f"snapshot-{e}", dbt_snapshot(), "current", engine=e, extra={"scd": {"valid_to": "dbt_valid_to", "scd_id": "dbt_scd_id", "valid_to_current": None}})
        for e in ("duckdb", "postgres")
    ),
    Case(
        DBT_SNAPSHOT,
        "snapshot-renamed-meta-columns",
        dbt_snapshot(MetaColumnNames(dbt_valid_to="valid_until", dbt_scd_id="row_id"), current="'9999-12-31'"),
        "current",
        extra={"scd": {"valid_to": "valid_until", "scd_id": "row_id", "valid_to_current": "'9999-12-31'"}},
    ),
    # seeds: a copy
    *(Case(SEED, f"seed-{e}", seed(), "copy", engine=e) for e in ("duckdb", "postgres")),
    Case(SEED, "seed-full-refresh", seed(), "copy", full_refresh=True),
    # materialized views: the old view, renamed by a pre-hook
    Case(MATVIEW, "matview", model("materialized_view"), "swap", engine="postgres"),
    Case(MATVIEW, "matview-full-refresh", model("materialized_view"), "swap", engine="postgres", full_refresh=True),
]

#: Cases with no README row of their own (documented where `row` says).
BEYOND_README = [
    # dbt-duckdb rebuilds a table with an enforced foreign-key contract in place (DESIGN.md's
    # engine table, "FK tables in place"; strategies/table.py): copied there, kept elsewhere.
    Case("engines: rebuilds_foreign_key_tables_in_place", "fk-table-duckdb", foreign_key_table(), "copy", engine="duckdb"),
    Case("engines: rebuilds_foreign_key_tables_in_place", "fk-table-postgres", foreign_key_table(), "swap", engine="postgres"),
    Case(
        "engines: rebuilds_foreign_key_tables_in_place",
        "fk-incremental-full-refresh-duckdb",
        foreign_key_table("incremental", unique_key="id"),
        "copy",
        engine="duckdb",
        full_refresh=True,
    ),
    Case(
        "engines: rebuilds_foreign_key_tables_in_place",
        "fk-incremental-full-refresh-postgres",
        foreign_key_table("incremental", unique_key="id"),
        "swap",
        engine="postgres",
        full_refresh=True,
    ),
    Case(
        "engines: rebuilds_foreign_key_tables_in_place",
        "fk-incremental-duckdb",
        foreign_key_table("incremental", unique_key="id"),
        "keys",
        key_columns=("id",),
    ),
    # A contract without a foreign key, or not enforced, changes nothing.
    Case("strategies/base.py has_foreign_key_contract", "unenforced-fk", foreign_key_table(enforced=False), "swap"),
    Case("strategies/base.py has_foreign_key_contract", "enforced-no-fk", model("table", contract=Contract(enforced=True)), "swap"),
    # strategies/__init__.py: a materialization sagaz-dbt does not know is copied.
    Case("strategies/__init__.py UNKNOWN", "custom-materialization", model("external"), "copy"),
    # docs: meta.sagaz.snapshot: copy forces a copy of an incremental model.
    Case("strategies/incremental.py meta.sagaz.snapshot", "meta-snapshot-copy", incremental(unique_key="id", meta={"sagaz": {"snapshot": "copy"}}), "copy"),
    # README, Apache Spark: parquet has no DELETE; insert_overwrite with partition_by backs up
    # the partitions its batch overwrites, everything else incremental is copied.
    *(
        Case("README Spark: insert_overwrite", f"spark-insert_overwrite-{pid}", incremental(incremental_strategy="insert_overwrite", partition_by=by), "partitions", engine="spark", key_columns=cols)
        for pid, by, cols in (("one", "day", ("day",)), ("list", ["region", "Day"], ("region", "day")), ("quoted", ['"Day"'], ("Day",)))
    ),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-fail-on-schema-change", incremental(incremental_strategy="insert_overwrite", partition_by="day", on_schema_change="fail"), "partitions", engine="spark", key_columns=("day",)),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-no-partition_by", incremental(incremental_strategy="insert_overwrite"), "copy", engine="spark", notice="overwrites the whole table"),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-expression", incremental(incremental_strategy="insert_overwrite", partition_by="date(ts)"), "copy", engine="spark", notice="not a list of columns"),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-schema-change", incremental(incremental_strategy="insert_overwrite", partition_by="day", on_schema_change="append_new_columns"), "copy", engine="spark", notice="append_new_columns"),
    *(
        Case("README Spark: insert_overwrite", f"spark-insert_overwrite-{fn}", Node(config=Config(materialized="incremental", incremental_strategy="insert_overwrite", partition_by="day"), raw_code=f"select *, {fn}() as x from t"), "copy", engine="spark", notice=f"calls {fn}")
        for fn in ("rand", "uuid", "current_date", "NOW")
    ),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-reads-this", Node(config=Config(materialized="incremental", incremental_strategy="insert_overwrite", partition_by="day"), raw_code="select * from s {% if is_incremental() %}where day > (select max(day) from {{ this }}){% endif %}"), "partitions", engine="spark", key_columns=("day",)),
    Case("README Spark: insert_overwrite", "spark-insert_overwrite-meta-copy", incremental(incremental_strategy="insert_overwrite", partition_by="day", meta={"sagaz": {"snapshot": "copy"}}), "copy", engine="spark"),
    Case("README Spark: append", "spark-append", incremental(incremental_strategy="append", partition_by="day"), "copy", engine="spark", notice="no DELETE"),
    Case("README Spark: append", "spark-unique_key", incremental(incremental_strategy="append", unique_key="id"), "copy", engine="spark", notice="no DELETE"),
    Case(
        "strategies/base.py sagaz_meta (node meta)",
        "node-meta-partition_by",
        Node(config=Config(materialized="incremental"), meta={"sagaz": {"partition_by": "day"}}),
        "keys",
        key_columns=("day",),
    ),
]


def _run(case: Case) -> RunContext:
    return RunContext(
        full_refresh=case.full_refresh,
        engine=for_adapter(case.engine),
        event_time_end=case.event_time_end,
        started_at=STARTED,
    )


@pytest.mark.parametrize("case", CASES + BEYOND_README, ids=lambda c: c.id)
def test_strategy_arms_the_snapshot_of_the_table(case: Case) -> None:
    snap = strategies.for_node(case.node).snapshot(case.node, _run(case))
    assert snap.kind == case.kind
    assert snap.key_columns == case.key_columns
    assert snap.row_level == (case.kind in ("keys", "current", "partitions"))
    if case.notice is None:
        assert snap.notice is None
    else:
        assert snap.notice is not None and case.notice in snap.notice and case.node.name in snap.notice
    if case.kind == "window":
        assert snap.window == {"event_time": "ts", **case.extra}
    if "scd" in case.extra:
        assert snap.scd == case.extra["scd"]


def readme_rows() -> dict[str, str]:
    """node cell -> snapshot cell of the README's node-kind table."""
    text = README.read_text()
    start = text.index("| node | what dbt does to it | snapshot sagaz-dbt keeps | cost |")
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[2:]:
        line = line.strip()
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[2]
    return rows


def readme_kind(snapshot_cell: str) -> str | None:
    found = {kind for words, kind in README_KIND if words in snapshot_cell}
    assert len(found) == 1, f"README snapshot cell {snapshot_cell!r} names {found or 'no'} known snapshot kind"
    return found.pop()


def test_readme_table_is_this_table() -> None:
    rows = readme_rows()
    assert len(rows) >= 8, "the README's node-kind table was not found"
    by_row = {row: next((cell for cell in rows if cell.startswith(row)), None) for row in {c.row for c in CASES}}
    assert None not in by_row.values(), f"cases for rows the README does not have: {by_row}"
    not_strategies = {CREATED, NOT_PERSISTED}  # decided by arming and by the plan: see below
    covered = set(by_row.values())
    missing = [cell for cell in rows if cell not in covered and not any(cell.startswith(r) for r in not_strategies)]
    assert not missing, f"README rows without cases here: {missing}"
    for case in CASES:
        assert readme_kind(rows[by_row[case.row]]) == case.kind, f"{case.id}: README says otherwise ({case.row})"
    for row in not_strategies:
        [cell] = [c for c in rows if c.startswith(row)]
        assert readme_kind(rows[cell]) is None


def test_ephemeral_models_and_tests_are_not_steps() -> None:
    """README's last row: nothing persisted, so the plan has no step for them (and a
    relation that did not exist is a step like any other; arming records it as created)."""
    from helpers.nodes import Manifest
    from sagaz_dbt.saga.plan import make_plan

    nodes = [
        model("ephemeral", name="eph"),
        Node(name="t", resource_type="test", config=Config(materialized="test")),
        model("table", name="tab"),
        model("table", name="off", enabled=False),
    ]
    plan = make_plan(Manifest.of(*nodes), [n.unique_id for n in nodes], RunContext(engine=for_adapter("duckdb")))
    assert [s.unique_id for s in plan] == ["model.p.tab"]
