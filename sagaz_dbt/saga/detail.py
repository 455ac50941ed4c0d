"""The typed `detail` of a journal step: what restoring, releasing and reporting a step
need to know besides the journal's columns.

Stored as one JSON object in `sagaz_steps.detail`, which the macros read as
`fromjson(step.detail)` (macros/phases/restore.sql, macros/backups/rows.sql, ...): its keys
and values are the journal's format, kept as every earlier sagaz-dbt wrote them, so a run
journaled by an older version is still recovered.  `to_json` writes a key only where the
old code did (absent, not null, for what a step does not have); `from_json` reads any
journal's object, and keeps the keys it does not know (a newer sagaz-dbt's) as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sagaz_dbt.backups.external_files import ExternalFile
from sagaz_dbt.vocabulary import BackupKind, IsolationMode

__all__ = ["StepDetail"]


@dataclass
class StepDetail:
    # -- a row-level backup (BackupKind.restores_rows): which rows the copy holds --
    mode: BackupKind | None = None
    #: keys: the unique key's columns, and the table of the batch's keys the pre-hook fills;
    #: partitions: the partition columns, and the table of the batch's partition values
    key_columns: list[str] | None = None
    keys_identifier: str | None = None
    #: current (dbt snapshots): the snapshot's meta columns
    valid_to: str | None = None
    scd_id: str | None = None
    valid_to_current: str | None = None
    #: window (microbatch): the event-time column and the window's bounds as dbt renders
    #: them (`window_end` None: open); stored as `event_time`, `start`, `end`
    event_time: str | None = None
    window_start: str | None = None
    window_end: str | None = None

    # -- where the run left things, and what was there before --
    #: the run created the step's schema: a rollback drops it again when empty
    new_schema: bool = False
    #: the run's backup schemas (macros/naming.sql); older journals: the step's own schema
    kept_schema: str | None = None
    backup_schema: str | None = None
    #: a materialized view's [name, CREATE INDEX] pairs, which dbt may change in place
    view_indexes: list[list[str]] | None = None
    #: dbt temporaries [database, schema, identifier] that existed before the run
    pre_temporaries: list[list[str]] | None = None
    #: Spark: a view replaced in place, by its query text (`create or replace view`)
    view_text: str | None = None
    #: a view recorded by its whole CREATE statement (isolate_backups on DuckDB)
    view_sql: str | None = None
    #: a table rebuilt in place (DuckDB foreign keys): its CREATE statement
    create_sql: str | None = None
    #: armed with change detection (macros/backups/fingerprint.sql); None: an older journal
    fingerprinted: bool | None = None
    #: the pre-run relation's fingerprint (JSON text), when it existed
    fingerprint: str | None = None
    #: an external model's file, backed up outside the warehouse
    external_file: ExternalFile | None = None

    # -- a shadow of --isolation publish (saga/isolation.py) --
    isolation: IsolationMode | None = None
    production: str | None = None
    production_type: str | None = None  # None: the production relation did not exist
    kept: str | None = None
    cloned: bool = False

    #: keys this version does not know, as read
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def restores_rows(self) -> bool:
        return self.mode is not None and self.mode.restores_rows

    def to_json(self) -> dict[str, Any]:
        """The object stored in the journal (json.dumps of it)."""
        out: dict[str, Any] = {}
        if self.external_file is not None:
            out["external_file"] = {"path": self.external_file.path, "backup": self.external_file.backup}
        if self.mode in (BackupKind.KEYS, BackupKind.PARTITIONS):
            out.update(mode=self.mode.value, key_columns=list(self.key_columns or []), keys_identifier=self.keys_identifier)
        elif self.mode is BackupKind.CURRENT:
            out.update(
                mode=self.mode.value, valid_to=self.valid_to, scd_id=self.scd_id, valid_to_current=self.valid_to_current
            )
        elif self.mode is BackupKind.WINDOW:
            out.update(mode=self.mode.value, event_time=self.event_time, start=self.window_start, end=self.window_end)
        elif self.mode is not None:
            out["mode"] = self.mode.value
        if self.new_schema:
            out["new_schema"] = True
        for key in ("kept_schema", "backup_schema"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("view_indexes", "pre_temporaries"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.view_text:
            out["view_text"] = self.view_text
        if self.fingerprinted is not None:
            out["fingerprinted"] = self.fingerprinted
        for key in ("fingerprint", "create_sql", "view_sql"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.isolation is not None:
            out.update(
                isolation=self.isolation.value,
                production=self.production,
                production_type=self.production_type,
                kept=self.kept,
                cloned=self.cloned,
            )
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> StepDetail:
        """A journal's stored object (any sagaz-dbt version's)."""
        rest = dict(data or {})
        known: dict[str, Any] = {}
        for name, key in _STORED_AS.items():
            if key in rest:
                known[name] = rest.pop(key)
        if known.get("mode") is not None:
            known["mode"] = BackupKind(known["mode"])
        if known.get("isolation") is not None:
            known["isolation"] = IsolationMode(known["isolation"])
        if "external_file" in known:
            entry = known["external_file"]
            known["external_file"] = ExternalFile(str(entry["path"]), entry.get("backup")) if entry else None
        for flag in ("new_schema", "cloned"):
            if flag in known:
                known[flag] = bool(known[flag])
        return cls(**{k: v for k, v in known.items() if v is not None}, extra=rest)


#: field name -> its key in the stored object
_STORED_AS: dict[str, str] = {
    f.name: {"window_start": "start", "window_end": "end"}.get(f.name, f.name)
    for f in fields(StepDetail)
    if f.name != "extra"
}
