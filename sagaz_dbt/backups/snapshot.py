"""dbt snapshots (SCD2): only the current rows are copied.

A snapshot run closes current rows (sets their valid-to) and inserts new current rows; it
never touches closed history.  A pre-hook copies the current rows inside the snapshot's
transaction; compensation deletes every current row and every row the copy holds (by scd
id), then re-inserts the copy: O(current rows), not O(history).
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind


class SnapshotStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        config = node.config
        names = getattr(config, "snapshot_meta_column_names", None)
        scd = {
            "valid_to": getattr(names, "dbt_valid_to", None) or "dbt_valid_to",
            "scd_id": getattr(names, "dbt_scd_id", None) or "dbt_scd_id",
            "valid_to_current": getattr(config, "dbt_valid_to_current", None),
        }
        return Snapshot(BackupKind.CURRENT, scd=scd)


SNAPSHOT = SnapshotStrategy()
