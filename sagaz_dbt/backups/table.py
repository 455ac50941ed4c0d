"""Table models: zero copy.

dbt builds `<name>__dbt_tmp`, renames the existing table away and the new one into place in
one transaction.  sagaz-dbt's rename override sends the existing table to its sagaz name
instead of `__dbt_backup`, so the snapshot is the old table itself (O(1) in its size), and
compensation renames it back.  The one exception: an engine that rebuilds a table with
foreign keys in place (`Engine.rebuilds_foreign_key_tables_in_place`, dbt-duckdb) needs a copy.
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy, rebuilt_in_place
from sagaz_dbt.vocabulary import BackupKind


class TableStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.COPY) if rebuilt_in_place(node, run) else Snapshot(BackupKind.SWAP)


TABLE = TableStrategy()
