"""View models: zero copy.

dbt replaces a view with the same backup dance as a table, so the old view is kept under a
sagaz name with its exact definition (and, on Postgres, its OID, grants and dependants) and
renamed back on compensation.
"""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind


class ViewStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.SWAP)


VIEW = ViewStrategy()
