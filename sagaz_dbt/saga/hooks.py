"""Pre-hooks that take row-level snapshots inside each node's own transaction, and a
post-hook that marks what each node left (fingerprint.sql), in that same transaction.
Incremental models whose backup is taken from dbt's batch (batch_backups.py) get no
pre-hook but a guard post-hook that fails the node if that backup did not run.

They are added to the parsed manifest in memory for one run only: the project's files are
never touched, and they are taken out again before dbt writes target/manifest.json (on the
EndRunResult event, which dbt fires just before it writes), so the artifacts are the same
as plain dbt's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sagaz_dbt.backups import external_files
from sagaz_dbt.backups.incremental import NONDETERMINISTIC_SQL
from sagaz_dbt.saga.journal import StepRecord
from sagaz_dbt.dbt.package import PACKAGE_NAME
from sagaz_dbt.vocabulary import BackupKind


@dataclass
class InjectedHooks:
    manifest: Any
    originals: dict[str, list[Any]] = field(default_factory=dict)
    post_originals: dict[str, list[Any]] = field(default_factory=dict)
    hidden: dict[str, Any] = field(default_factory=dict)  # our package's guard hook nodes

    def remove(self, nodes: bool = True) -> None:
        """Idempotent: put every node's own pre- and post-hooks back, and (`nodes`) the
        guard's hook nodes, which stay hidden while dbt writes manifest.json."""
        for uid, hooks in self.originals.items():
            node = self.manifest.nodes.get(uid)
            if node is not None:
                node.config.pre_hook = hooks
        for uid, hooks in self.post_originals.items():
            node = self.manifest.nodes.get(uid)
            if node is not None:
                node.config.post_hook = hooks
        self.originals.clear()
        self.post_originals.clear()
        if nodes:
            self.manifest.nodes.update(self.hidden)
            self.hidden.clear()

    def on_event(self, event: Any) -> None:
        if event.info.name == "EndRunResult":
            self.remove(nodes=False)  # dbt writes manifest.json next: as plain dbt's, no guard node


def inject(
    manifest: Any,
    records: list[StepRecord],
    journal: tuple[str, str] | None = None,
    rendered_marks: dict[int, str] | None = None,
    batch_backed: frozenset[str] = frozenset(),
) -> InjectedHooks:
    """`journal` (database, schema): where the post-hook marks go; None adds no marks.
    `rendered_marks` {seq: SQL}: the marks rendered while arming (mark_built_many), injected
    as plain SQL; a step without one gets the template, rendered by dbt per node.
    `batch_backed`: the unique_ids whose row backup is taken from dbt's batch
    (saga/batch_backups.py): no backup pre-hook, and a guard post-hook instead."""
    from dbt.artifacts.resources.v1.config import Hook

    injected = InjectedHooks(manifest)
    # The package's on-run-start guard (macros/phases/guard.sql) is for plain dbt; in a sagaz-dbt
    # run it would only add a hook line to dbt's output and run_results.json.
    for uid in [u for u, n in manifest.nodes.items() if u.startswith(f"operation.{PACKAGE_NAME}.")]:
        injected.hidden[uid] = manifest.nodes.pop(uid)
    for record in records:
        mark = _mark_sql(record, journal)
        rendered = (rendered_marks or {}).get(record.seq)
        if mark is not None and rendered and not _HAS_JINJA.search(rendered):
            mark = rendered  # dbt sends a hook without Jinja as it is (no template, no macro call)
        node = manifest.nodes.get(record.unique_id)
        batch_backed_node = record.unique_id in batch_backed
        if node is not None and (mark is not None or batch_backed_node):
            injected.post_originals[record.unique_id] = list(node.config.post_hook)
            # The guard first: a change without its backup fails before anything else runs.
            guard = [Hook(sql=_guard_sql(record), transaction=True)] if batch_backed_node else []
            # The mark last, so that it sees what the user's own post-hooks left too.
            marks = [Hook(sql=mark, transaction=True)] if mark is not None else []
            node.config.post_hook = [*guard, *node.config.post_hook, *marks]
        if batch_backed_node:
            continue  # its backup is taken when dbt asks for the strategy's SQL
        sql = _hook_sql(record)
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
    if not record.copy_identifier or detail.mode not in (BackupKind.KEYS, BackupKind.CURRENT, BackupKind.PARTITIONS):
        return None
    if detail.mode is BackupKind.PARTITIONS:
        args = [detail.key_columns, record.copy_identifier, detail.keys_identifier, NONDETERMINISTIC_SQL]
        return "{{ sagaz_dbt.backup_partitions(%s) }}" % ", ".join(json.dumps(a) for a in args)
    if detail.mode is BackupKind.KEYS:
        args = [detail.key_columns, record.copy_identifier, detail.keys_identifier]
        return "{{ sagaz_dbt.backup_touched_rows(%s) }}" % ", ".join(json.dumps(a) for a in args)
    args = [record.copy_identifier, detail.valid_to, detail.valid_to_current]
    return "{{ sagaz_dbt.backup_current_rows(%s) }}" % ", ".join(
        "none" if a is None else json.dumps(a) for a in args
    )


def _guard_sql(record: StepRecord) -> str:
    return "{{ sagaz_dbt.require_batch_backup(%s) }}" % json.dumps(record.detail.keys_identifier)


#: What dbt treats as Jinja in a hook (dbt.clients.jinja._HAS_RENDER_CHARS_PAT): a rendered
#: mark containing it (a name with `{{` in it) is injected as the template instead.
_HAS_JINJA = re.compile(r"({[{%#]|[#}%]})")


def mark_steps(records: list[StepRecord], journal: tuple[str, str] | None) -> list[dict[str, Any]]:
    """The arguments of mark_built_many: the steps that get a mark (see _mark_sql)."""
    return [
        {"seq": r.seq, "database": r.database, "schema": r.schema, "identifier": r.identifier,
         "is_view": _leaves_view(r)}
        for r in records
        if _mark_sql(r, journal) is not None
    ]  # fmt: skip


#: Materializations whose relation is a view: dbt's `view`, and dbt-duckdb's `external` (a
#: view over the file it writes).  A mark must fingerprint the relation as what it is, or
#: recovery, which fingerprints what it finds, can never match it.
VIEW_MATERIALIZATIONS = frozenset({"view", external_files.MATERIALIZATION})


def _leaves_view(record: StepRecord) -> bool:
    return record.materialized in VIEW_MATERIALIZATIONS


def _mark_sql(record: StepRecord, journal: tuple[str, str] | None) -> str | None:
    """A node in another database than the journal's gets no mark: one DuckDB transaction
    may write one attached database only (recovery then cannot check that relation)."""
    if journal is None or record.database.lower() != journal[0].lower():
        return None
    args = [journal[0], journal[1], record.seq, record.database, record.schema, record.identifier]
    is_view = "true" if _leaves_view(record) else "false"
    return "{{ sagaz_dbt.mark_built(%s, %s) }}" % (", ".join(json.dumps(a) for a in args), is_view)
