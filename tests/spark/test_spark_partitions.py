"""insert_overwrite on a partitioned parquet table, backed up by partition (O(batch)):
the pre-hook copies only the partitions the batch overwrites (macros/engines/spark/
partitions.sql), and a rollback overwrites those from the copy and drops the partitions the
batch created.  Project tests/projects/spark_partitions: batch 1 fills days 1 and 2 and the
NULL day; batch 2 overwrites day 2 and the NULL day and creates day 3; batch 3 overwrites
day 3 and creates day 4.  Row-level checksums of every relation (helpers/spark.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from helpers.project import Project, assert_same_state

from sagaz_dbt.api import rollback

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

MODEL = "events_by_day"


def batch(n: int, fail: bool = False) -> list[str]:
    return ["--vars", f"{{batch: {n}{', fail_singular: true' if fail else ''}}}"]


def backups_of(project: Project, kind: str) -> list[str]:
    """The run's backups of MODEL of one kind ('cp' copy, 'ky' partition list), by name."""
    return [o.split(".", 1)[1] for o in project.leftovers() if o.startswith(project.schema + ".")
            and o.endswith(f"__{MODEL}") and f"__sagaz_{kind}_" in o]


def rows(project: Project, relation: str) -> list[tuple]:
    return sorted(project.query(f"select event_id, amount, batch, cast(day as string) from {{schema}}.{relation}"),
                  key=lambda r: r[0])


def test_partition_backup_restores_exactly_and_succeeds_as_plain_dbt(spark_project: Any) -> None:
    started = time.monotonic()
    reference = spark_project("reference", name="spark_partitions")
    ours = spark_project("sagaz", name="spark_partitions")
    assert reference.dbt().success and ours.dbt().success
    first = reference.state()
    assert_same_state(first, ours.state(), "both warehouses after batch 1")
    before = rows(ours, MODEL)

    # A failing build (the test after the model fails): exactly the pre-run warehouse.
    failed = ours.sagaz(*batch(2, fail=True))
    assert failed.exit_code == 1, ours.last_output
    assert "rows restored (partitions)" in ours.last_output
    assert_same_state(first, ours.state(), "after the failing build's rollback")
    assert ours.leftovers() == []

    # A successful build equals plain dbt's; --keep-backups leaves the backup to look at.
    assert reference.dbt(*batch(2)).success
    second = reference.state()
    assert second != first
    kept = ours.sagaz(*batch(2), "--keep-backups", "1")
    assert kept.exit_code == 0, ours.last_output
    assert_same_state(second, ours.state(), "after batch 2: sagaz-dbt vs plain dbt")
    # The backup holds the rows of the partitions batch 2 overwrote (day 2 and the NULL
    # day: 2 of the table's 4 rows), and the partition list the batch's three days.
    [copy], [keys] = backups_of(ours, "cp"), backups_of(ours, "ky")
    assert rows(ours, copy) == [r for r in before if r[3] in ("2024-01-02", None)]
    assert len(rows(ours, copy)) == 2 < len(before)
    assert sorted(ours.query(f"select cast(day as string) from {{schema}}.{keys}"), key=str) == sorted(
        [("2024-01-02",), ("2024-01-03",), (None,)], key=str)

    # Undo it from that backup, from where a killed rollback could have stopped: the new
    # partition already dropped.  Exactly batch 1's warehouse again.
    ours.execute(f"alter table {{schema}}.{MODEL} drop if exists partition (day = '2024-01-03')")
    rollback(kept.run_id, ours.location_args)
    assert_same_state(first, ours.state(), "after `sagaz-dbt rollback` of batch 2")
    assert ours.leftovers() == []

    # Batches 2 and 3 again: plain dbt's states, nothing of sagaz-dbt left.
    assert ours.sagaz(*batch(2)).exit_code == 0, ours.last_output
    assert_same_state(second, ours.state(), "after batch 2 again")
    assert reference.dbt(*batch(3)).success
    assert ours.sagaz(*batch(3)).exit_code == 0, ours.last_output
    assert_same_state(reference.state(), ours.state(), "after batch 3: sagaz-dbt vs plain dbt")
    assert ours.leftovers() == []

    # A nondeterministic function only a macro brings in (the plan saw none in the model's
    # SQL): the pre-hook stops the model before it writes anything; the run rolls back.
    ours.write("macros/today.sql", "{% macro today() %}current_date(){% endmacro %}\n")
    model = ours.root / "models" / f"{MODEL}.sql"
    model.write_text(model.read_text().replace("select event_id,", "select {{ today() }} as loaded_on, event_id,"))
    third = ours.state()
    stopped = ours.sagaz(*batch(3))
    assert stopped.exit_code == 1, ours.last_output
    results = json.loads((ours.root / "target" / "run_results.json").read_text())["results"]
    assert any("calls current_date" in (r.get("message") or "") for r in results), [r.get("message") for r in results]
    assert_same_state(third, ours.state(), "after the build stopped by the nondeterministic macro")
    assert ours.leftovers() == []
    print(f"partition backup test: {time.monotonic() - started:.0f} s")
