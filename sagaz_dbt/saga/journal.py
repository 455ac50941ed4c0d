"""Durable run and step records in the warehouse (`<database>.sagaz.sagaz_runs/_steps`).

The saga writes them through its phase macros (arm_run, compensate_run, release_run), inside
the same transaction as the changes they describe, so the journal and the warehouse can never
disagree after a crash; this module reads them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sagaz_dbt.errors import JournalError
from sagaz_dbt.vocabulary import UNFINISHED, RunStatus, StepStatus
from sagaz_dbt.dbt.options import DEFAULT_SCHEMA
from sagaz_dbt.dbt.warehouse import Warehouse, table_rows
from sagaz_dbt.saga.detail import StepDetail

if TYPE_CHECKING:
    from sagaz_dbt.saga.plan import PlannedStep

__all__ = ["DEFAULT_SCHEMA", "UNFINISHED", "Journal", "RunRecord", "RunStatus", "StepRecord"]  # RunStatus: vocabulary


@dataclass
class RunRecord:
    run_id: str
    status: str
    project_name: str = ""
    target_name: str = ""
    target_schema: str = ""
    command: str = ""
    message: str | None = None
    started_at: Any = None
    updated_at: Any = None
    # Who runs it (sagaz_dbt.saga.ownership): recovery never acts on a run whose owner lives.
    owner_token: str | None = None
    owner_host: str | None = None
    owner_pid: int | None = None
    lock_pid: int | None = None
    heartbeat_epoch: float | None = None
    read_epoch: float | None = None  # the warehouse's clock when the row was read


@dataclass
class StepRecord:
    """One relation the run may change, and where its pre-run state is kept."""

    seq: int
    unique_id: str
    resource_type: str
    materialized: str
    database: str
    schema: str
    identifier: str
    pre_type: str | None = None  # None: the relation did not exist before the run
    kept_identifier: str | None = None  # dbt's backup, renamed to a sagaz name
    copy_identifier: str | None = None  # a copy, for relations changed in place
    index_ddl: list[str] = field(default_factory=list)
    status: str = StepStatus.ARMED.value
    detail: StepDetail = field(default_factory=StepDetail)

    @classmethod
    def of(cls, step: PlannedStep, identifier: str, **columns: Any) -> StepRecord:
        """The journal step of a planned step, under `identifier` as the catalog holds it;
        `columns` are the other fields (pre_type, kept_identifier, detail, ...)."""
        return cls(
            seq=step.seq,
            unique_id=step.unique_id,
            resource_type=step.resource_type,
            materialized=step.materialized,
            database=step.database,
            schema=step.schema,
            identifier=identifier,
            **columns,
        )

    def as_bindings(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["index_ddl"] = json.dumps(self.index_ddl)
        data["detail"] = json.dumps(self.detail.to_json())
        return data

    def as_macro_arg(self) -> dict[str, Any]:
        """The shape the restore/release macros read (journal column names)."""
        return {
            "seq": self.seq,
            "database_name": self.database,
            "schema_name": self.schema,
            "identifier": self.identifier,
            "pre_type": self.pre_type,
            "kept_identifier": self.kept_identifier,
            "copy_identifier": self.copy_identifier,
            "index_ddl": json.dumps(self.index_ddl),
            "detail": json.dumps(self.detail.to_json()),
            # `arming`: the run never got past arming (Spark's compensation reads it)
            "status": self.status,
        }

    @property
    def kept_schema(self) -> str:
        """Where the kept relation is: the run's backup schema, or (DuckDB, older journals)
        the step's own schema."""
        return self.detail.kept_schema or self.schema

    @property
    def relation_label(self) -> str:
        return f"{self.schema}.{self.identifier}"


class Journal:
    def __init__(self, warehouse: Warehouse, schema: str = DEFAULT_SCHEMA) -> None:
        self.warehouse = warehouse
        self.schema = schema

    @property
    def database(self) -> str:
        return self.warehouse.database

    def _call(self, macro: str, **kwargs: Any) -> Any:
        return self.warehouse.call(macro, database=self.database, schema=self.schema, **kwargs)

    def runs(self, statuses: list[RunStatus] | None = None, migrate: bool = True) -> list[RunRecord]:
        """Runs in the journal, oldest first (none if it was never created); inside a
        transaction.  A journal of an older sagaz-dbt is brought up to date first, unless
        `migrate` is false: a read-only command never writes (it may hold no write grant)."""
        table = self._call(
            "journal_runs", statuses=[s.value for s in statuses] if statuses else None, migrate=migrate
        )
        return [RunRecord(**row) for row in table_rows(table)] if table is not None else []

    def runs_with_step_status(self, status: StepStatus) -> set[str]:
        """The ids of the runs with a step in `status` (one query); inside a transaction."""
        return {str(run_id) for run_id in self._call("journal_runs_with_step_status", status=status.value) or []}

    def steps(self, run_id: str, migrated: bool = True) -> list[StepRecord]:
        table = self._call("journal_read_steps", run_id=run_id, migrated=migrated)
        out: list[StepRecord] = []
        for row in table_rows(table):
            try:
                index_ddl = json.loads(row["index_ddl"]) if row["index_ddl"] else []
                out.append(
                    StepRecord(
                        seq=int(row["seq"]),
                        unique_id=row["unique_id"],
                        resource_type=row["resource_type"] or "",
                        materialized=row["materialized"] or "",
                        database=row["database_name"],
                        schema=row["schema_name"],
                        identifier=row["identifier"],
                        pre_type=row["pre_type"],
                        kept_identifier=row["kept_identifier"],
                        copy_identifier=row["copy_identifier"],
                        index_ddl=list(index_ddl),
                        status=row["status"],
                        detail=StepDetail.from_json(json.loads(row["detail"])) if row.get("detail") else StepDetail(),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise JournalError(f"journal step of run {run_id} is unreadable: {row!r} ({exc})") from exc
        return out
