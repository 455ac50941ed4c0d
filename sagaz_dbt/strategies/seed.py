"""Seeds: dbt truncates and reloads (or drops and recreates) the table, so it is copied
first.  Seeds are small by design, and the copy restores exactly the pre-run rows."""

from __future__ import annotations

from typing import Any

from sagaz_dbt.strategies.base import RunContext, Snapshot, Strategy
from sagaz_dbt.vocabulary import BackupKind


class SeedStrategy(Strategy):
    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.COPY)


SEED = SeedStrategy()
