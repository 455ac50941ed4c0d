"""Checkpoints held for the length of a run, on an engine that checkpoints on its own.

DuckDB folds its write-ahead log into the database file whenever 16 MB of log has built
up, and each such checkpoint works over every relation in the database.  While a
sagaz-dbt run lasts, the pre-run relations are kept beside the new ones (DuckDB cannot
move them out of their schema), so each checkpoint walks about twice the relations that
plain dbt's do: on the 1,026-model benchmark that was most of sagaz-dbt's extra time
(benchmarks/README.md).  So the run holds the automatic checkpoints from before it arms
until after it releases or rolls back, and checkpoints once, when the kept relations are
gone.

Nothing durable changes: every commit is in the log (DuckDB writes the log, and large
inserts straight to the file, at commit whatever the threshold), and a process killed
meanwhile replays the log when the database is next opened, before `recover` reads the
journal.  A user who set `checkpoint_threshold` (or its alias `wal_autocheckpoint`) in the
profile's `settings:` keeps it: dbt-duckdb applies it to every connection it opens.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sagaz_dbt import diagnosis
from sagaz_dbt.runtime import faults
from sagaz_dbt.dbt.warehouse import Warehouse

#: The profile settings (dbt-duckdb `settings:`) that mean the user chose when to checkpoint.
USER_SETTINGS = frozenset({"checkpoint_threshold", "wal_autocheckpoint"})


@contextmanager
def held(warehouse: Warehouse, database: str, warn: Callable[[str], None]) -> Iterator[None]:
    """Hold automatic checkpoints while the body runs; afterwards put the setting back and
    checkpoint `database` (the one the run wrote) once.

    A checkpoint that fails after a run that ended normally is reported through `warn`, with
    what it means: the run's commits are in the log, which the next open applies.  After a
    body that raised, the failure has already been reported and the checkpoint is best
    effort (an engine that lost its database, e.g. on a full disk, cannot take one)."""
    if not warehouse.engine.holds_checkpoints or _user_chose(warehouse):
        yield
        return
    with warehouse.transaction("sagaz_hold_checkpoints"):
        setting = warehouse.call("hold_checkpoints")
    ended_normally = False
    try:
        yield
        ended_normally = True
    finally:
        faults.checkpoint("checkpointing")
        try:
            with warehouse.transaction("sagaz_checkpoint"):
                warehouse.call("resume_checkpoints", setting=setting, database=database)
        except Exception as exc:
            if ended_normally:
                warn(_not_checkpointed(exc))


def _user_chose(warehouse: Warehouse) -> bool:
    settings: Any = getattr(warehouse.config.credentials, "settings", None) or {}
    return any(str(key).lower() in USER_SETTINGS for key in settings)


def _not_checkpointed(exc: BaseException) -> str:
    return (
        f"the run's result is committed, but the database could not write its checkpoint ({diagnosis.describe(exc)}). "
        "Every commit of the run is in the database's write-ahead log (the .wal file beside it), which the "
        "next open applies: keep that file with the database"
        + (", and free space on its disk first." if diagnosis.cause(exc) is diagnosis.Cause.DISK_FULL else ".")
    )
