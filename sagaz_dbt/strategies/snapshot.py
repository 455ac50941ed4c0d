"""dbt snapshots (SCD2): dbt merges changed rows into the history table in place, so the
table is copied before the run and restored from the copy."""

from __future__ import annotations

from typing import Any

from sagaz_dbt.strategies.base import Strategy


class SnapshotStrategy(Strategy):
    def needs_copy(self, node: Any, full_refresh: bool) -> bool:
        return True


SNAPSHOT = SnapshotStrategy(name="copy", cost="copy of the snapshot table")
