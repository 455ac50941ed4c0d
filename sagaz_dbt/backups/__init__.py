"""One snapshot strategy per kind of node; `for_node` picks it."""

from __future__ import annotations

from typing import Any

from sagaz_dbt.backups.base import RunContext, Snapshot, Strategy
from sagaz_dbt.backups.incremental import INCREMENTAL
from sagaz_dbt.backups.matview import MATERIALIZED_VIEW
from sagaz_dbt.backups.seed import SEED
from sagaz_dbt.backups.snapshot import SNAPSHOT
from sagaz_dbt.backups.table import TABLE
from sagaz_dbt.backups.view import VIEW
from sagaz_dbt.vocabulary import BackupKind


class _CopyAnything(Strategy):
    """Materializations sagaz-dbt does not know (custom, external):
    copy an existing table to be safe; a view is still kept by the rename override."""

    def snapshot(self, node: Any, run: RunContext) -> Snapshot:
        return Snapshot(BackupKind.COPY)


UNKNOWN = _CopyAnything()

_BY_MATERIALIZATION = {
    "table": TABLE,
    "view": VIEW,
    "incremental": INCREMENTAL,
    "materialized_view": MATERIALIZED_VIEW,
}


def for_node(node: Any) -> Strategy:
    resource_type = str(node.resource_type)
    if resource_type == "seed":
        return SEED
    if resource_type == "snapshot":
        return SNAPSHOT
    return _BY_MATERIALIZATION.get(str(node.config.materialized), UNKNOWN)


__all__ = ["RunContext", "Snapshot", "Strategy", "for_node"]
