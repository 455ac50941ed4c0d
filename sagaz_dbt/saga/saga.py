"""The saga of one run: arm every step, then either release (commit) or compensate.

The journal is the saga's memory, and every phase is one warehouse transaction that also
moves the run's status, so after a crash the status alone says what is left to do:

    (no row)     -> arming never committed: nothing was changed
    building     -> dbt may have changed relations: compensate every step
    compensating -> (older journals) compensate every step
    committing   -> (older journals) finish releasing the backups

A build killed after dbt succeeded but before its release committed is compensated too:
the process never reported success, so both outcomes are allowed and the rollback is the
one that needs no guess.  Each phase is a single macro call (a macro call costs tens of
milliseconds of context building; per-step calls would make the cost grow with the DAG).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sagaz_dbt import diagnosis

from sagaz_dbt.backups import external_files

from sagaz_dbt.saga import hooks, sqltext
from sagaz_dbt.errors import ChangedSinceRunError, TornWarehouseError, WarehouseError
from sagaz_dbt.runtime.faults import checkpoint
from sagaz_dbt.saga.detail import StepDetail
from sagaz_dbt.saga.journal import Journal, RunRecord, RunStatus, StepRecord
from sagaz_dbt.runtime.lock import LockLostError, RunTakenOverError
from sagaz_dbt.saga.ownership import Owner
from sagaz_dbt.saga.plan import PlannedStep
from sagaz_dbt.vocabulary import BackupKind, StepAction
from sagaz_dbt.dbt.warehouse import Warehouse

SAGAZ_MARK = "__sagaz_"
#: The action of a step whose relation and backup were gone, accepted by the user.
MISSING_ACCEPTED = StepAction.MISSING_ACCEPTED.value

#: Called with (done, total) after a rollback or recovery, for progress output.
Progress = Callable[[int, int], None]


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
    def __init__(
        self,
        warehouse: Warehouse,
        journal: Journal,
        run_id: str,
        owner: Owner | None = None,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.journal = journal
        self.run_id = run_id
        #: Who acts (None: maintenance of committed runs, no claim).  A phase claims the
        #: run in its own transaction: it must still be `expected`, owned by `claim_token`.
        self.owner = owner
        self.claim_token: str | None = owner.token if owner is not None else None
        self.expected = RunStatus.BUILDING
        #: Checks, just before a phase commits, that this process still holds the target.
        self.guard = guard
        #: vars.sagaz.isolate_backups (hook_relations.isolate_backups): no backup in place.
        self.isolate_backups = False
        #: {seq: post-hook SQL} rendered while arming (saga/hooks.py inject).
        self.marks: dict[int, str] = {}

    def _claim(self) -> None:
        """Make the run ours inside the phase's transaction, or abort the phase: exactly one
        journal row must still have the status and owner this phase was decided on."""
        if self.owner is None:
            return
        claimed = self._call(
            "journal_claim_run",
            run_id=self.run_id,
            expected=self.expected.value,
            token=self.claim_token,
            owner=self.owner.__dict__,
        )
        if int(claimed or 0) != 1:
            raise RunTakenOverError(
                f"run {self.run_id} is no longer {self.expected.value} under this process's ownership in the "
                "journal: another process acted on it"
            )

    def _before_commit(self) -> None:
        """The last check inside a phase's transaction: a lock lost meanwhile rolls the phase
        back.  Without transactional DDL the phase's steps are applied as they go and the
        journal already holds its end: a late check could only misreport it (the phase is
        guarded before it starts: `_claim`, `still_owner`; a lapsed lease stops it at once)."""
        if self.guard is not None and self.warehouse.engine.transactional_ddl:
            self.guard()

    def _call(self, macro: str, **kwargs: Any) -> Any:
        return self.warehouse.call(macro, database=self.journal.database, schema=self.journal.schema, **kwargs)

    # -- forward ---------------------------------------------------------------------------

    def arm(self, run: RunRecord, plan: list[PlannedStep]) -> list[StepRecord]:
        """Record the run and take every step's snapshot, in one transaction, before dbt
        starts: if arming dies half-way, nothing of it (not even the run row) remains."""
        with self.warehouse.transaction("sagaz_arm"):
            armed = self._call(
                "arm_run",
                run=run.__dict__,
                isolate=self.isolate_backups,
                steps=[
                    {
                        "seq": p.seq,
                        "unique_id": p.unique_id,
                        "resource_type": p.resource_type,
                        "materialized": p.materialized,
                        "database": p.database,
                        "schema": p.schema,
                        "identifier": p.identifier,
                        "kind": p.snapshot.kind.value,
                        "window": p.snapshot.window,
                        "key_columns": list(p.snapshot.key_columns),
                    }
                    for p in plan
                ],
            )
            records = [self._record(planned, out) for planned, out in zip(plan, armed)]
            # The post-hook marks, rendered now in one macro call (saga/hooks.py).
            journal = (self.journal.database, self.journal.schema)
            self.marks = {
                int(seq): str(sql)
                for seq, sql in (
                    self.warehouse.call(
                        "mark_built_many",
                        journal_database=journal[0],
                        journal_schema=journal[1],
                        run_id=self.run_id,
                        steps=hooks.mark_steps(records, journal),
                    )
                    or {}
                ).items()
            }
            checkpoint("armed-run")
            self._call(
                "journal_finish_arming",
                run_id=self.run_id,
                steps=[r.as_bindings() for r in records],
                status=RunStatus.BUILDING.value,
                owner=self.owner.__dict__ if self.owner is not None else None,
            )
            self._before_commit()
        checkpoint("armed")
        return records

    def undo_partial_arming(self) -> None:
        """After arming failed: on an engine without transactional DDL its journal rows and
        copies may exist (nothing of the user's was changed yet): drop the copies and close
        the run.  Best effort: what is left, `recover` finishes (the run is `arming`).  Not
        without the target: a run that lost its lock (a lapsed lease) leaves it to `recover`."""
        if self.warehouse.engine.transactional_ddl:
            return
        try:
            if self.guard is not None:
                self.guard()  # LockLostError once the target is no longer ours
            with self.warehouse.transaction("sagaz_journal_read"):
                records = self.journal.steps(self.run_id)
            self.expected, self.claim_token = RunStatus.ARMING, None
            self.compensate(records, touched=set(), message="arming failed: nothing was changed")
        except Exception:
            pass

    def _record(self, planned: PlannedStep, out: dict[str, Any]) -> StepRecord:
        """The journal step of `planned`, from what arming found and kept (`out`)."""
        where = (planned.database, planned.schema, self._dialect)
        detail = StepDetail(
            **_row_backup(planned, out),
            external_file=planned.external_file,
            new_schema=bool(out.get("new_schema")),
            # where the backups are (macros/naming.sql); older journals: the step's schema
            kept_schema=_opt_str(out.get("kept_schema")),
            backup_schema=_opt_str(out.get("backup_schema")),
            # a materialized view's indexes, which dbt may change in place (matviews.sql)
            view_indexes=out.get("view_indexes"),
            # dbt temporaries that existed before the run: a rollback keeps them (temporaries.sql)
            pre_temporaries=out.get("pre_temporaries"),
            # a view replaced in place (Spark): its query text, restored by `create or replace view`
            # (not `view_sql`, which is a whole CREATE statement)
            view_text=out.get("view_text") or None,
            # Armed with change detection (fingerprint.sql); older journals' steps are not,
            # nor are a retry's (plan.plan_for_command).
            fingerprinted=planned.fingerprinted,
            fingerprint=out.get("fingerprint") or None,
            create_sql=sqltext.qualify_ddl(out["create_sql"], *where) if out.get("create_sql") else None,
            # a view recorded instead of kept in place (isolate_backups on DuckDB)
            view_sql=sqltext.qualify_created(out["view_sql"], *where) if out.get("view_sql") else None,
        )
        return StepRecord.of(
            planned,
            str(out["identifier"]),
            pre_type=_opt_str(out["pre_type"]),
            kept_identifier=_opt_str(out["kept_identifier"]),
            copy_identifier=_opt_str(out["copy_identifier"]),
            index_ddl=[sqltext.qualify_ddl(ddl, *where) for ddl in out["index_ddl"] or []],
            detail=detail,
        )

    # -- backward --------------------------------------------------------------------------

    def compensate(
        self,
        records: list[StepRecord],
        touched: set[str] | None = None,
        progress: Progress | None = None,
        message: str | None = None,
        accept_missing: bool = False,
    ) -> SagaOutcome:
        """Restore every step to its pre-run state, in reverse DAG order, in one transaction.

        `touched` (the nodes dbt executed) lets an in-process rollback skip restoring the
        copies of nodes dbt never ran; a recovery passes None and restores everything.
        A step whose relation and backup are both gone stops the rollback (nothing can be
        restored, and guessing could lose data) unless `accept_missing`, which the user
        gives for one run after looking (`recover --accept-missing RUN_ID`): the step is
        then reported as missing, the others restored.
        """
        ordered = sorted(records, key=lambda r: r.seq, reverse=True)
        restore = [r.seq for r in ordered if touched is None or r.unique_id in touched]
        run_relations = {(r.schema, r.identifier) for r in records}
        files_restored = 0
        failed = _PhaseFailure(
            TornWarehouseError,
            f"run {self.run_id} could not be rolled back",
            lambda: self._not_applied(files_restored)
            + "journal still holds every backup. Once the cause is fixed, run "
            "`sagaz-dbt recover` with the same --project-dir/--profiles-dir/--target.",
        )
        with failed.catching(BaseException):  # Ctrl-C included: the journal decides what is left
            with self.warehouse.transaction("sagaz_compensate"):
                self._claim()
                # Files outside the warehouse first (once the run is ours), idempotently: a
                # crash after this and before the transaction commits leaves them restored,
                # and `recover` skips them.
                for r in ordered:
                    entry = r.detail.external_file
                    if entry is not None and r.seq in restore:
                        external_files.restore(entry)
                        files_restored += 1
                # Views outside the run that follow the current relation (Postgres binds them
                # to its OID) move to the backup before the current relation is dropped, and
                # then follow the backup's rename back to the original name.
                repoints = self._repoints(
                    [r for r in ordered if r.kept_identifier and r.seq in restore],
                    forward=False,
                    skip=run_relations,
                )
                actions = self._call(
                    "compensate_run",
                    run_id=self.run_id,
                    steps=[r.as_macro_arg() for r in ordered],
                    restore_seqs=restore,
                    repoints=repoints,
                    message=message,
                    accept_missing=accept_missing,
                )
                checkpoint("compensate-step")
                self._before_commit()
            checkpoint("compensated")
        _release_files([r for r in records if r.seq not in restore])
        if progress is not None:
            progress(len(ordered), len(ordered))
        outcome = SagaOutcome(self.run_id, RunStatus.ROLLED_BACK)
        self.drop_backup_schemas(records)
        outcome.warnings.extend(self._drop_created_schemas(records))
        outcome.steps = [StepOutcome(r, str(actions.get(r.seq, StepAction.UNTOUCHED.value))) for r in sorted(records, key=lambda r: r.seq)]
        outcome.warnings.extend(
            f"{s.step.relation_label} existed before run {self.run_id}, but neither it nor its backup "
            "existed any more: it was accepted as missing (--accept-missing) and is not restored"
            for s in outcome.steps
            if s.action == MISSING_ACCEPTED
        )
        return outcome

    def _not_applied(self, files_restored: int) -> str:
        """What a failed rollback left, truthfully: nothing (one transaction), or, without
        transactional DDL, some steps, which `recover` checks and finishes."""
        files = (
            f"The files of {files_restored} external model(s) were already put back to their pre-run contents; "
            if files_restored
            else ""
        )
        if not self.warehouse.engine.transactional_ddl:
            return (
                files + "some relations may already be restored (a rollback on "
                f"{self.warehouse.engine.adapter_type} is a sequence of steps, each checked before it acts), and the "
            )
        if files:
            return files + "nothing else of the rollback was applied (it runs in one transaction), and the "
        return "Nothing of the rollback was applied (it runs in one transaction), and the "

    def _release_not_finished(self) -> str:
        """What a failed release left, truthfully: in one transaction nothing of it, so
        `recover` restores the pre-run state; without transactional DDL the release journals
        `committing` before its first drop, and from there `recover` finishes it instead."""
        head = "Until `sagaz-dbt recover` runs, the journal counts this run as unfinished, and "
        if self.warehouse.engine.transactional_ddl:
            return head + "recovering it restores the pre-run state."
        return (
            head + f"recovering it either finishes the release (the successful run's state: on "
            f"{self.warehouse.engine.adapter_type} the release is a sequence of steps, and once the run's status is "
            "`committing` it had begun) or, if it had not begun, restores the pre-run state; "
            "`sagaz-dbt runs` shows the status."
        )

    def _drop_created_schemas(self, records: list[StepRecord]) -> list[str]:
        """After the rollback committed: drop the schemas the run created, now empty.  Best
        effort in its own transaction; a failure leaves an empty schema, said as a warning."""
        if not any(r.detail.new_schema for r in records):
            return []
        try:
            with self.warehouse.transaction("sagaz_drop_schemas"):
                self.warehouse.call("drop_created_schemas", steps=[r.as_macro_arg() for r in records])
        except Exception as exc:
            schemas = sorted({f"{r.schema}" for r in records if r.detail.new_schema})
            return [
                f"the rollback is complete, but the empty schema(s) the run created could not be dropped "
                f"({', '.join(schemas)}: {_first_line(exc)}); drop them by hand if you do not want them"
            ]
        return []

    def drop_backup_schemas(self, records: list[StepRecord]) -> None:
        """After a phase committed: drop the run's backup schemas that are empty now.  Best
        effort in its own transaction: a schema left (a crash, something put there by hand)
        is sagaz-dbt's, holds no backup, and is never listed with the user's relations;
        `sagaz-dbt gc` sweeps the ones a crash left (commands/history.py)."""
        if not any(r.detail.kept_schema or r.detail.backup_schema for r in records):
            return
        try:
            with self.warehouse.transaction("sagaz_drop_backup_schemas"):
                self.warehouse.call("drop_empty_backup_schemas", steps=[r.as_macro_arg() for r in records])
        except Exception:  # noqa: BLE001 - an empty schema left behind is harmless
            pass

    def release(self, records: list[StepRecord], keep_backups: int = 0) -> SagaOutcome:
        """The build succeeded: keep views that read a replaced relation working, then drop
        every backup and copy (or retain them for `sagaz-dbt rollback`)."""
        outcome = SagaOutcome(self.run_id, RunStatus.COMMITTED)
        if self.warehouse.engine.binds_views_to_oids:
            outcome.warnings.extend(self._repoint_after_success([r for r in records if r.kept_identifier]))
        checkpoint("committing")
        ordered = sorted(records, key=lambda r: r.seq, reverse=True)
        failed = _PhaseFailure(
            WarehouseError,
            f"run {self.run_id} succeeded, but its backups could not be released",
            self._release_not_finished,
        )
        with failed.catching(Exception):
            with self.warehouse.transaction("sagaz_release"):
                self._claim()
                actions = self._call(
                    "release_run",
                    run_id=self.run_id,
                    steps=[r.as_macro_arg() for r in ordered],
                    keep=keep_backups > 0,
                )
                checkpoint("release-step")
                self._before_commit()
            checkpoint("released")
        if keep_backups <= 0:
            _release_files(records)
            self.drop_backup_schemas(records)
        outcome.steps = [StepOutcome(r, str(actions.get(r.seq, ""))) for r in sorted(records, key=lambda r: r.seq)]
        return outcome

    def drop_retained(self, records: list[StepRecord]) -> None:
        """Drop the backups a committed run retained (`gc`, or --keep-backups moving on)."""
        with self.warehouse.transaction("sagaz_gc"):
            self._call("drop_retained_run", run_id=self.run_id, steps=[r.as_macro_arg() for r in records])
        _release_files(records)
        self.drop_backup_schemas(records)

    # -- views bound to OIDs (Postgres) ------------------------------------------------------

    def _repoints(
        self, records: list[StepRecord], forward: bool, skip: set[tuple[str, str]]
    ) -> dict[int, list[dict[str, str]]]:
        """For each step: the outside views to re-point, with their rewritten SELECT.

        forward (after success): views on the kept backup move to the new relation.
        backward (rollback): views on the current relation move to the kept backup."""
        if not records or not self.warehouse.engine.binds_views_to_oids:
            return {}
        by_seq = {r.seq: r for r in records}
        pairs = [
            {
                "seq": r.seq,
                "schema": r.kept_schema if forward else r.schema,
                "identifier": r.kept_identifier if forward else r.identifier,
                "target_schema": r.schema if forward else r.kept_schema,
                "target": r.identifier if forward else r.kept_identifier,
            }
            for r in records
        ]
        out: dict[int, list[dict[str, str]]] = {}
        for view in self.warehouse.call("dependent_views_of", database=self.journal.database, pairs=pairs) or []:
            if SAGAZ_MARK in view["name"] or (view["schema"], view["name"]) in skip:
                continue  # a kept backup, or a view of this run that is restored on its own
            record = by_seq[int(view["seq"])]
            old, new = (record.kept_identifier, record.identifier) if forward else (record.identifier, record.kept_identifier)
            old_schema, new_schema = (record.kept_schema, record.schema) if forward else (record.schema, record.kept_schema)
            select_sql = sqltext.repoint_view(
                view["definition"], old_schema, str(old), str(new), self._dialect, new_schema=new_schema
            )
            out.setdefault(record.seq, []).append(
                {
                    "schema": view["schema"],
                    "name": view["name"],
                    "kind": view["kind"],  # 'v' view, 'm' materialized view (re-created with its indexes)
                    "select_sql": select_sql,
                    "definition": view["definition"],
                }
            )
        return out

    def _repoint_after_success(self, records: list[StepRecord]) -> list[str]:
        """Each view in its own transaction, so one that cannot follow (incompatible columns)
        is reported, and dropped with the backup as plain dbt would drop it, while the
        others still move."""
        with self.warehouse.transaction("sagaz_dependents"):
            repoints = self._repoints(records, forward=True, skip=set())
        warnings: list[str] = []
        by_seq = {r.seq: r for r in records}
        for seq, views in repoints.items():
            record = by_seq[seq]
            for view in views:
                try:
                    with self.warehouse.transaction("sagaz_repoint"):
                        self.warehouse.call(
                            "replace_view",
                            database=record.database,
                            schema=view["schema"],
                            identifier=view["name"],
                            select_sql=view["select_sql"],
                            kind=view["kind"],
                        )
                    checkpoint("repointed")
                except Exception as exc:
                    warnings.append(
                        f"view {view['schema']}.{view['name']} reads {record.relation_label}, whose new "
                        f"version it cannot follow ({_first_line(exc)}); it is dropped as plain dbt "
                        f"would drop it. Its definition was:\n{view['definition']}"
                    )
        return warnings

    # -- recovery --------------------------------------------------------------------------

    def recover(
        self,
        status: RunStatus,
        progress: Progress | None = None,
        token: str | None = None,
        accept_missing: bool = False,
        force: bool = False,
    ) -> SagaOutcome:
        """Finish an interrupted run, from what the journal and the warehouse say; `token` is
        the owner the journal recorded for it (dead, or recovery would not be here).

        Before restoring, every relation is compared with its fingerprints (fingerprint.sql):
        one that changed after the run (a plain `dbt build` since the crash) makes recovery
        refuse, unless `force`, instead of mixing the pre-run state with what came later."""
        self.expected, self.claim_token = status, token
        with self.warehouse.transaction("sagaz_journal_read"):
            records = self.journal.steps(self.run_id)
        if status is RunStatus.COMMITTING:
            return self.release(records)
        changed = self.changed_since(records)
        checkpoint("recover-checked")
        if changed and not force:
            raise ChangedSinceRunError(_changed_message(self.run_id, changed))
        if status is RunStatus.ARMING:  # older journals: dbt never started
            return self.compensate(records, touched=set(), progress=progress, message="recovered: never built")
        return self.compensate(
            records,
            touched=None,
            progress=progress,
            message="recovered after interruption" + (" (missing relations accepted)" if accept_missing else ""),
            accept_missing=accept_missing,
        )

    def changed_since(self, records: list[StepRecord]) -> list[tuple[StepRecord, str]]:
        """The steps whose relation is neither as the run found it nor as its node left it."""
        if not records:
            return []
        with self.warehouse.transaction("sagaz_recover_check"):
            found = self._call("changed_since_run", run_id=self.run_id, steps=[r.as_macro_arg() for r in records]) or []
        by_seq = {r.seq: r for r in records}
        return [(by_seq[int(c["seq"])], str(c["reason"])) for c in found]

    @property
    def _dialect(self) -> str:
        return self.warehouse.engine.sqlglot_dialect


@dataclass(frozen=True)
class _PhaseFailure:
    """How a failed phase is reported: `error` with the phase's `head`, the warehouse's own
    message and advice, then `tail()` (what the failure left, said when it is known).  A
    lost lock passes through unchanged: its own message says what to do."""

    error: type[Exception]
    head: str
    tail: Callable[[], str]

    @contextmanager
    def catching(self, caught: type[BaseException]) -> Iterator[None]:
        try:
            yield
        except LockLostError:
            raise
        except caught as exc:
            hint = diagnosis.advice(exc)
            raise self.error(
                f"{self.head}: {diagnosis.describe(exc)}\n" + (f"Cause: {hint}.\n" if hint else "") + self.tail()
            ) from exc


def _release_files(records: list[StepRecord]) -> None:
    """Delete the backups of external files (after the transaction that made them useless)."""
    for r in records:
        if r.detail.external_file is not None:
            external_files.release(r.detail.external_file)


def _row_backup(planned: PlannedStep, armed: dict[str, Any]) -> dict[str, Any]:
    """The StepDetail fields a row-level restore needs: which rows the copy holds (a window
    copied while arming), or will hold (the node's pre-hook takes keys and current rows)."""
    snapshot = planned.snapshot
    if snapshot.kind is BackupKind.WINDOW:
        if not armed.get("window_copy"):
            return {}
        window = snapshot.window
        return {
            "mode": BackupKind.WINDOW,
            "event_time": window.get("event_time"),
            "window_start": window.get("start"),
            "window_end": window.get("end"),
        }
    if not snapshot.row_level or armed.get("copied") or not armed.get("copy_identifier"):
        return {}
    if snapshot.kind in (BackupKind.KEYS, BackupKind.PARTITIONS):
        return {
            "mode": snapshot.kind,
            "key_columns": list(snapshot.key_columns),
            "keys_identifier": _opt_str(armed.get("keys_identifier")),
        }
    scd = snapshot.scd
    return {
        "mode": BackupKind.CURRENT,
        "valid_to": scd.get("valid_to"),
        "scd_id": scd.get("scd_id"),
        "valid_to_current": scd.get("valid_to_current"),
    }


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _changed_message(run_id: str, changed: list[tuple[StepRecord, str]]) -> str:
    lines = [
        f"run {run_id} was not recovered: {len(changed)} relation(s) changed after it was interrupted "
        "(by a plain dbt run or by hand), and restoring its pre-run state would mix states:"
    ]
    lines += [f"  {record.relation_label} ({record.unique_id}): {reason}" for record, reason in changed]
    lines.append(
        "Nothing was changed, and the run stays unfinished in the journal. Check those relations; "
        "`sagaz-dbt recover --force` (same flags) finishes the rollback anyway: every relation the "
        "run had replaced or written gets its pre-run state back, discarding the later changes to "
        "it, and the others keep what they hold now."
    )
    return "\n".join(lines)
