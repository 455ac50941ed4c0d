"""Materialized view models (Postgres): zero copy, the old view itself is the snapshot.

dbt refreshes an existing materialized view in place (`refresh materialized view`), so
its pre-run rows would be gone, and on a full refresh (or a type change) it renames the
old relation away and drops it inside one SQL statement, which the `rename_relation`
override never sees.  An injected pre-hook (`sagaz_dbt.keep_materialized_view`), inside
the model's own transaction, therefore renames the pre-run relation to its sagaz name
first and leaves dbt a relation to work on: a fresh, empty materialized view from the
model's SQL (dbt's refresh fills it), or a stand-in that dbt's replace renames away and
drops.  The fresh view is bound to the relations as they are now, never to a backup this
run kept of a rebuilt upstream table (plain dbt's `drop ... cascade` of that backup drops
the view and creates it anew), and compensation renames the old view back, with its
pre-run rows even when they were stale.
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind


class MaterializedViewStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.SWAP)


MATERIALIZED_VIEW = MaterializedViewStrategy()
