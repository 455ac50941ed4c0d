"""The saga of one run: arm every step, then either release (commit) or compensate.

The journal is the saga's memory.  Each phase is one warehouse transaction that also moves
the run's status, so after a crash the status alone says what is left to do:

    arming       -> nothing was changed yet: drop the copies taken so far
    building     -> dbt may have changed relations: compensate every step
    compensating -> compensate every step (each restore is idempotent)
    committing   -> the build succeeded: finish releasing the backups
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sagaz_dbt import sqltext
from sagaz_dbt.faults import checkpoint
from sagaz_dbt.errors import JournalError, TornWarehouseError, WarehouseError
from sagaz_dbt.journal import Journal, RunRecord, RunStatus, StepRecord
from sagaz_dbt.plan import PlannedStep
from sagaz_dbt.warehouse import Warehouse

SAGAZ_MARK = "__sagaz_"

#: Called with (done, total, step) while compensating, for live progress.
Progress = Callable[[int, int, StepRecord], None]


@dataclass
class StepOutcome:
    step: StepRecord
    action: str


@dataclass
class SagaOutcome:
    run_id: str
    status: RunStatus
    steps: list[StepOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Saga:
    def __init__(self, warehouse: Warehouse, journal: Journal, run_id: str) -> None:
        self.warehouse = warehouse
        self.journal = journal
        self.run_id = run_id

    # -- forward ---------------------------------------------------------------------------

    def arm(self, run: RunRecord, plan: list[PlannedStep]) -> list[StepRecord]:
        """Record the run and take every step's snapshot; dbt has not started yet."""
        with self.warehouse.transaction("sagaz_journal"):
            self.journal.ensure()
            self.journal.start_run(run)
        checkpoint("armed-run")
        records: list[StepRecord] = []
        with self.warehouse.transaction("sagaz_arm"):
            for planned in plan:
                out = self.warehouse.call(
                    "arm_step",
                    step={
                        "database": planned.database,
                        "schema": planned.schema,
                        "identifier": planned.identifier,
                        "kind": planned.snapshot.kind,
                    },
                )
                records.append(
                    StepRecord(
                        seq=planned.seq,
                        unique_id=planned.unique_id,
                        resource_type=planned.resource_type,
                        materialized=planned.materialized,
                        database=planned.database,
                        schema=planned.schema,
                        identifier=str(out["identifier"]),
                        pre_type=_opt_str(out["pre_type"]),
                        kept_identifier=_opt_str(out["kept_identifier"]),
                        copy_identifier=_opt_str(out["copy_identifier"]),
                        index_ddl=[
                            sqltext.qualify_index_ddl(ddl, planned.database, planned.schema, self._dialect)
                            for ddl in out["index_ddl"] or []
                        ],
                        detail=_row_detail(planned, out),
                    )
                )
                checkpoint("arm-step")
            self.journal.add_steps(self.run_id, records)
            self.journal.set_run_status(self.run_id, RunStatus.BUILDING)
        checkpoint("armed")
        return records

    # -- backward --------------------------------------------------------------------------

    def compensate(
        self,
        records: list[StepRecord],
        touched: set[str] | None = None,
        progress: Progress | None = None,
        message: str | None = None,
    ) -> SagaOutcome:
        """Restore every step to its pre-run state, in reverse DAG order, in one transaction.

        `touched` (the nodes dbt executed) lets an in-process rollback skip restoring copies
        of nodes dbt never ran; a recovery passes None and restores everything.
        """
        outcome = SagaOutcome(self.run_id, RunStatus.ROLLED_BACK)
        ordered = sorted(records, key=lambda r: r.seq, reverse=True)
        run_relations = {(r.schema, r.identifier) for r in records}
        try:
            with self.warehouse.transaction("sagaz_compensate"):
                for done, record in enumerate(ordered, start=1):
                    if touched is not None and record.unique_id not in touched:
                        self.warehouse.call("release_step", step=record.as_macro_arg())
                        action = "untouched"
                    else:
                        if record.kept_identifier:
                            # Views outside the run that follow the current relation (Postgres
                            # binds them to its OID) move to the backup before it is dropped,
                            # then follow the backup's rename back to the original name.
                            self._repoint_dependents(
                                record, record.identifier, record.kept_identifier, run_relations, own_transactions=False
                            )
                        action = str(self.warehouse.call("restore_step", step=record.as_macro_arg()))
                    if action == "missing":
                        raise JournalError(
                            f"{record.relation_label} existed before run {self.run_id}, but neither it nor "
                            f"its backup ({record.kept_identifier or record.copy_identifier}) exists now"
                        )
                    self.journal.set_step_status(self.run_id, record.seq, "compensated")
                    outcome.steps.append(StepOutcome(record, action))
                    checkpoint("compensate-step")
                    if progress is not None:
                        progress(done, len(ordered), record)
                self.journal.set_run_status(self.run_id, RunStatus.ROLLED_BACK, message)
            checkpoint("compensated")
        except BaseException as exc:
            raise TornWarehouseError(
                f"run {self.run_id} could not be rolled back: {_first_line(exc)}\n"
                "Nothing of the rollback was applied (it runs in one transaction), and the "
                "journal still holds every backup. Once the cause is fixed, run "
                "`sagaz-dbt recover` with the same --project-dir/--profiles-dir/--target."
            ) from exc
        outcome.steps.reverse()
        return outcome

    def release(self, records: list[StepRecord], keep_backups: int = 0) -> SagaOutcome:
        """The build succeeded: keep views that read a replaced relation working, then drop
        every backup and copy (or retain them for `sagaz-dbt rollback`)."""
        outcome = SagaOutcome(self.run_id, RunStatus.COMMITTED)
        with self.warehouse.transaction("sagaz_commit"):
            self.journal.set_run_status(self.run_id, RunStatus.COMMITTING)
        checkpoint("committing")
        for record in records:
            if record.kept_identifier:
                outcome.warnings.extend(
                    self._repoint_dependents(record, record.kept_identifier, record.identifier, set(), own_transactions=True)
                )
        try:
            with self.warehouse.transaction("sagaz_release"):
                for record in sorted(records, key=lambda r: r.seq, reverse=True):
                    if keep_backups > 0:
                        status, action = "retained", "retained"
                    else:
                        dropped = self.warehouse.call("release_step", step=record.as_macro_arg())
                        status, action = "released", ("released" if dropped else "no backup")
                    self.journal.set_step_status(self.run_id, record.seq, status)
                    outcome.steps.append(StepOutcome(record, action))
                    checkpoint("release-step")
                self.journal.set_run_status(self.run_id, RunStatus.COMMITTED)
            checkpoint("released")
        except Exception as exc:
            raise WarehouseError(
                f"run {self.run_id} succeeded, but its backups could not be released: {_first_line(exc)}\n"
                "The warehouse holds the successful run's data; `sagaz-dbt recover` drops the "
                "leftover sagaz backups."
            ) from exc
        outcome.steps.reverse()
        return outcome

    def drop_retained(self, records: list[StepRecord]) -> None:
        """Drop the backups a committed run retained (`gc`, or --keep-backups moving on)."""
        with self.warehouse.transaction("sagaz_gc"):
            for record in sorted(records, key=lambda r: r.seq, reverse=True):
                if record.status == "retained":
                    self.warehouse.call("release_step", step=record.as_macro_arg())
                    self.journal.set_step_status(self.run_id, record.seq, "released")

    def _repoint_dependents(
        self,
        record: StepRecord,
        from_identifier: str,
        to_identifier: str,
        skip: set[tuple[str, str]],
        own_transactions: bool,
    ) -> list[str]:
        """Re-point the views that read `from_identifier` (Postgres binds views to OIDs) at
        `to_identifier`.  After a successful run each view gets its own transaction, so one
        that cannot follow (incompatible columns) is reported and the others still move."""
        warnings: list[str] = []

        def _dependents() -> list[dict[str, str]]:
            return self.warehouse.call(
                "dependent_views",
                database=record.database,
                schema=record.schema,
                identifier=from_identifier,
                unless_missing=to_identifier,
            ) or []

        if own_transactions:
            with self.warehouse.transaction("sagaz_dependents"):
                dependents = _dependents()
        else:
            dependents = _dependents()
        for dep in dependents:
            if SAGAZ_MARK in dep["name"] or (dep["schema"], dep["name"]) in skip:
                continue  # a kept backup, or a view of this run that is restored on its own
            select_sql = sqltext.repoint_view(dep["definition"], record.schema, from_identifier, to_identifier, self._dialect)
            if not own_transactions:
                self._replace_view(record, dep, select_sql)
                continue
            try:
                with self.warehouse.transaction("sagaz_repoint"):
                    self._replace_view(record, dep, select_sql)
                checkpoint("repointed")
            except Exception as exc:  # incompatible columns, unparsable SQL
                warnings.append(
                    f"view {dep['schema']}.{dep['name']} reads {record.relation_label}, whose new "
                    f"version it cannot follow ({_first_line(exc)}); it is dropped as plain dbt "
                    f"would drop it. Its definition was:\n{dep['definition']}"
                )
        return warnings

    def _replace_view(self, record: StepRecord, dep: dict[str, str], select_sql: str) -> None:
        self.warehouse.call(
            "replace_view", database=record.database, schema=dep["schema"], identifier=dep["name"], select_sql=select_sql
        )

    # -- recovery --------------------------------------------------------------------------

    def recover(self, status: RunStatus, progress: Progress | None = None) -> SagaOutcome:
        """Finish an interrupted run, from what the journal and the warehouse say."""
        with self.warehouse.transaction("sagaz_journal_read"):
            records = self.journal.steps(self.run_id)
        if status is RunStatus.COMMITTING:
            return self.release(records)
        if status is RunStatus.ARMING:
            # dbt never started: every relation is untouched; drop what arming left behind.
            return self.compensate(records, touched=set(), progress=progress, message="recovered: never built")
        return self.compensate(records, touched=None, progress=progress, message="recovered after interruption")

    @property
    def _dialect(self) -> str:
        return "postgres" if self.warehouse.adapter_type == "postgres" else "duckdb"


def _row_detail(planned: PlannedStep, armed: dict) -> dict:
    """What a row-level restore needs to know, when the node's pre-hook will take the backup."""
    snapshot = planned.snapshot
    if not snapshot.row_level or armed.get("copied") or not armed.get("copy_identifier"):
        return {}
    if snapshot.kind == "keys":
        return {
            "mode": "keys",
            "key_columns": list(snapshot.key_columns),
            "keys_identifier": _opt_str(armed.get("keys_identifier")),
        }
    return {"mode": "current", **snapshot.scd}


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
