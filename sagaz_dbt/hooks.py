"""Pre-hooks that take row-level snapshots inside each node's own transaction.

They are added to the parsed manifest in memory for one run only: the project's files are
never touched, and they are taken out again before dbt writes target/manifest.json (on the
EndRunResult event, which dbt fires just before it writes), so the artifacts are the same
as plain dbt's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sagaz_dbt.journal import StepRecord


@dataclass
class InjectedHooks:
    manifest: Any
    originals: dict[str, list[Any]] = field(default_factory=dict)

    def remove(self) -> None:
        """Idempotent: put every node's own pre-hooks back."""
        for uid, hooks in self.originals.items():
            node = self.manifest.nodes.get(uid)
            if node is not None:
                node.config.pre_hook = hooks
        self.originals.clear()

    def on_event(self, event: Any) -> None:
        if event.info.name == "EndRunResult":
            self.remove()


def inject(manifest: Any, records: list[StepRecord]) -> InjectedHooks:
    from dbt.artifacts.resources.v1.config import Hook

    injected = InjectedHooks(manifest)
    for record in records:
        sql = _hook_sql(record)
        node = manifest.nodes.get(record.unique_id)
        if sql is None or node is None:
            continue
        injected.originals[record.unique_id] = list(node.config.pre_hook)
        # First, so that no pre-hook of the user's changes the table before it is backed up.
        node.config.pre_hook = [Hook(sql=sql, transaction=True), *node.config.pre_hook]
    return injected


#: The materialization whose pre-run relation a pre-hook keeps (see strategies/matview.py).
MATERIALIZED_VIEW = "materialized_view"


def _hook_sql(record: StepRecord) -> str | None:
    detail = record.detail
    if record.materialized == MATERIALIZED_VIEW and record.kept_identifier:
        return "{{ sagaz_dbt.keep_materialized_view(%s) }}" % json.dumps(record.kept_identifier)
    if not record.copy_identifier or detail.get("mode") not in ("keys", "current"):
        return None
    if detail["mode"] == "keys":
        args = [detail["key_columns"], record.copy_identifier, detail["keys_identifier"]]
        return "{{ sagaz_dbt.backup_touched_rows(%s) }}" % ", ".join(json.dumps(a) for a in args)
    args = [record.copy_identifier, detail["valid_to"], detail.get("valid_to_current")]
    return "{{ sagaz_dbt.backup_current_rows(%s) }}" % ", ".join(
        "none" if a is None else json.dumps(a) for a in args
    )
