"""Seeds: dbt truncates and reloads (or drops and recreates) the table, so it is copied
first.  Seeds are small by design, and the copy restores exactly the pre-run rows.  An
adapter that always drops and recreates a seed (dbt-spark) needs no copy: the drop is
caught and the table kept, as for a table model."""

from __future__ import annotations

from typing import Any

from sagaz_dbt.engines import TableRebuild
from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind


class SeedStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        if run.engine is not None and run.engine.rebuilds_tables_by is TableRebuild.DROP_CREATE:
            return Snapshot(BackupKind.SWAP)
        return Snapshot(BackupKind.COPY)


SEED = SeedStrategy()
