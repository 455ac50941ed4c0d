"""`sagaz-dbt build` (and run, seed, snapshot, retry, clone, test): one dbt invocation as a saga.

A build moves through explicit phases (`vocabulary.Phase`): setup, recovering (earlier
interrupted runs first), arming (one transaction journals the run and takes every snapshot),
building (dbt), then releasing (dbt succeeded) or compensating (it failed).  What a stop
means (an error, an interrupt, a lost lock) depends only on the phase it happened in, and
is decided in one place: `_Build.stopped`.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape

from sagaz_dbt.outputs import events, run_outputs as outputs, report

from sagaz_dbt.backups import external_files

from sagaz_dbt.saga import hook_relations

from sagaz_dbt.dbt import selection

from sagaz_dbt.saga import isolation

from sagaz_dbt.runtime import waits
from sagaz_dbt.dbt.args import DbtArgs
from sagaz_dbt.commands.history import drop_old_backups
from sagaz_dbt.commands.recover import RECOVER_LATER, recover_before_build
from sagaz_dbt.commands.target import ISOLATE_ENV, JOURNAL_ENV, Target, one_command, open_target, still_owner
from sagaz_dbt.saga.databases import refuse_other_databases
from sagaz_dbt.errors import SagazError, TornWarehouseError
from sagaz_dbt.runtime.faults import checkpoint
from sagaz_dbt.runtime.heap import long_lived_frozen
from sagaz_dbt.saga import batch_backups
from sagaz_dbt.saga.hooks import inject as inject_hooks
from sagaz_dbt.runtime.interrupts import interrupts_deferred, sigterm_as_interrupt
from sagaz_dbt.saga.journal import RunRecord, StepRecord
from sagaz_dbt.runtime.lock import LockLostError, RunTakenOverError
from sagaz_dbt.dbt.options import split_args
from sagaz_dbt.saga.plan import PlannedStep, make_plan, plan_for_command
from sagaz_dbt.dbt.session import BuildOutcome, release_connections
from sagaz_dbt.dbt.workers import stop_before_rollback
from sagaz_dbt.saga.saga import Saga, SagaOutcome
from sagaz_dbt.vocabulary import Phase, RunOutcome, RunStatus


@dataclass
class BuildResult:
    run_id: str
    exit_code: int
    status: str  # a RunOutcome value
    report: report.RunReport
    report_path: Path | None = None
    dbt: BuildOutcome | None = None
    saga: SagaOutcome | None = None
    error: SagazError | None = None
    recovered: list[SagaOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.exit_code == 0


def build(args: Sequence[str], *, command: str = "build", console: Console | None = None) -> BuildResult:
    """Run `dbt <command> ARGS` as a saga: on any error-severity failure, restore every
    relation the run touched; on success, leave exactly what dbt leaves."""
    if isolation.requested(args):  # --isolation publish: build in shadows, publish at once
        from sagaz_dbt.commands import isolated_build

        return isolated_build.build(args, command=command, console=console)
    run_id = uuid.uuid4().hex
    out = events.console_for(args, console or report.console(), run_id=run_id)
    rpt = report.new_report(run_id, [command, *args])
    run = _Build(
        run_id=run_id,
        command=command,
        args=args,
        out=out,
        emitters=outputs.RunOutputs(args, out, run_id, command),  # events, lineage, CI files
        rpt=rpt,
        clock=report.PhaseClock(rpt.timings),
        result=BuildResult(run_id=run_id, exit_code=2, status=RunOutcome.NOT_STARTED.value, report=rpt),
    )
    with one_command(run_id), sigterm_as_interrupt(), long_lived_frozen():
        try:
            run.run()
        except (Exception, KeyboardInterrupt) as exc:
            run.stopped(exc)
        finally:
            release_connections()
    return run.finish()


@dataclass
class _Build:
    """One build as it moves through its phases; `phase` is where it is."""

    run_id: str
    command: str
    args: Sequence[str]
    out: Console
    emitters: outputs.RunOutputs
    rpt: report.RunReport
    clock: report.PhaseClock
    result: BuildResult
    phase: Phase = Phase.SETUP
    target: Target | None = None

    def run(self) -> None:
        out, rpt, clock, result, run_id = self.out, self.rpt, self.clock, self.result, self.run_id
        split = split_args(self.args)
        os.environ[JOURNAL_ENV] = split.options.journal_schema  # read by the drop override
        target = self.target = open_target(self.command, split.dbt_args, split.options)
        clock.lap("parse")
        selected = target.session.select()
        clock.lap("select")
        with target.locked(out):
            self.phase = Phase.RECOVERING
            result.recovered = recover_before_build(target, out, run_id)
            self.phase = Phase.SETUP
            clock.lap("lock")
            rpt.recovered_runs = [r.run_id for r in result.recovered]
            saga = Saga(target.warehouse, target.journal, run_id, owner=target.ensure_owner(out))
            saga.guard = lambda: still_owner(target, saga, out)
            plan = plan_for_command(self.command, make_plan(target.session.manifest, selected, target.run_context()))
            protected = _protected(target)
            saga.isolate_backups = _isolate_backups(target)
            # read by the rename override during the build (see macros/naming.sql)
            os.environ[ISOLATE_ENV] = "1" if saga.isolate_backups else ""
            plan += hook_relations.planned_steps(protected, start_seq=len(plan), **_defaults(target))
            collector = hook_relations.HookWriteCollector(hook_relations.nodes_with_hooks(target.session.manifest, selected))
            refuse_other_databases(plan, target.journal.database, target.warehouse.engine)

            self.phase = Phase.ARMING
            plan, records = self._arm(target, saga, plan)
            journal = (target.journal.database, target.journal.schema)
            batch = batch_backups.plan(
                target.session.manifest, records, target.warehouse.engine, target.warehouse.adapter_type
            )
            hooks = inject_hooks(
                target.session.manifest, records, journal, saga.marks, batch_backed=frozenset(batch.by_node)
            )
            clock.lap("arm")

            self.phase = Phase.BUILDING
            try:
                with batch.installed():
                    dbt = target.session.build(callbacks=[hooks.on_event, collector, *self.emitters.dbt_callbacks()])
            finally:
                hooks.remove()
            if target.args.params.get("write_json", True) is not False:
                selection.note_built(target.target_dir, run_id)
            checkpoint("built")
            clock.lap("build")
            result.dbt = dbt
            rpt.record_build(dbt)
            rpt.hook_relations = [w.as_dict() for w in _hook_writes(target, collector, plan, protected)]

            if dbt.exit_code == 0:
                self.phase = Phase.RELEASING
                outcome = self._release(target, saga, records)
            else:
                self.phase = Phase.COMPENSATING
                outcome = self._compensate(target, saga, records, plan, dbt)
            rpt.add_saga(outcome, {uid: o.status for uid, o in dbt.tracker.outcomes.items()})
            result.exit_code = dbt.exit_code

    def _arm(self, target: Target, saga: Saga, plan: list[PlannedStep]) -> tuple[list[PlannedStep], list[StepRecord]]:
        """Journal the run and take every step's snapshot, in one transaction."""
        out, run_id = self.out, self.run_id
        plan = _back_up_external_files(target, plan, run_id)
        try:
            records = waits.retry(
                f"arming run {run_id}",
                lambda: saga.arm(_run_record(target, run_id, self.command, self.args), plan),
                target.warehouse.waits,
                out.print,
                then="No relation was changed: build again once the blocking session is gone.",
            )
        except BaseException:
            _discard_external_backups(plan)
            saga.undo_partial_arming()
            raise
        assert saga.owner is not None
        target.lock.start_heartbeat(target.journal.schema, run_id, saga.owner.token)
        self.emitters.armed(target, records)
        for step in plan:
            if step.snapshot.notice:
                out.print(f"sagaz-dbt: {escape(step.snapshot.notice)}")
        return plan, records

    def _release(self, target: Target, saga: Saga, records: list[StepRecord]) -> SagaOutcome:
        """dbt succeeded: drop (or retain) the backups, and commit the run."""
        out, keep, result = self.out, target.options.keep_backups, self.result
        still_owner(target, saga, out)
        with interrupts_deferred(out.print):
            outcome = result.saga = waits.retry(
                f"releasing run {self.run_id}",
                lambda: saga.release(records, keep_backups=keep),
                target.warehouse.waits,
                out.print,
                then=RECOVER_LATER,
            )
            drop_old_backups(target, keep=keep, out=out)
        self.clock.lap("release")
        result.status = RunOutcome.COMMITTED.value
        return outcome

    def _compensate(
        self, target: Target, saga: Saga, records: list[StepRecord], plan: list[PlannedStep], dbt: BuildOutcome
    ) -> SagaOutcome:
        """dbt failed: restore every relation the run may have changed, in one transaction."""
        out, result = self.out, self.result
        # Which nodes dbt ran comes from its events.  When dbt stopped abnormally (a runtime
        # error raised in its main thread), its worker pool is not joined, so a node may have
        # started without its event reaching us: then every step is restored, as `recover`
        # does (restoring an untouched relation from its copy changes nothing).
        touched = dbt.touched | _hook_relation_ids(plan) if dbt.exception is None else None
        if dbt.exception is not None:
            stop_before_rollback(dbt.workers, dbt.exception, target.warehouse.adapter, self.run_id)
        self.emitters.compensating(target, records, dbt)
        still_owner(target, saga, out)
        with interrupts_deferred(out.print):
            outcome = result.saga = waits.retry(
                f"the rollback of run {self.run_id}",
                lambda: saga.compensate(
                    records,
                    touched=touched,
                    message=_failure_message(dbt),
                    progress=events.progress(out),
                ),
                target.warehouse.waits,
                out.print,
                then=RECOVER_LATER,
            )
        self.clock.lap("compensate")
        self.emitters.compensated(target)
        result.status = RunOutcome.ROLLED_BACK.value
        if target.args.params.get("write_json", True) is not False:  # dbt wrote run_results.json
            selection.remember_rollback(target.target_dir)
        outcome.warnings.extend(_kept_failure_tables(dbt, target.args))
        outcome.warnings.extend(_unprotected_hook_writes(self.rpt.hook_relations))
        return outcome

    def stopped(self, exc: BaseException) -> None:
        """The one rule for a build that stops before its end (an error, an interrupt, a lost
        lock): what it says, its exit code, and whether the run is torn, by phase."""
        result, phase, run_id = self.result, self.phase, self.run_id
        if isinstance(exc, TornWarehouseError):
            result.error, result.status, result.exit_code = exc, RunOutcome.TORN.value, exc.exit_code
            return
        transactional = self.target.warehouse.engine.transactional_ddl if self.target is not None else True
        if isinstance(exc, LockLostError):
            result.error, result.exit_code = _lost(exc, phase, run_id, transactional), 2
        elif isinstance(exc, SagazError):
            result.error, result.exit_code = exc, exc.exit_code
        elif isinstance(exc, KeyboardInterrupt):
            lost = self.target.lock.lost_by_interrupt() if self.target is not None else None
            result.error = _lost(lost, phase, run_id, transactional) if lost else _interrupted(phase, run_id)
            result.exit_code = 2
        else:  # a bug or an engine error sagaz-dbt did not anticipate
            assert isinstance(exc, Exception)
            result.error, result.exit_code = _unexpected(exc, phase, run_id), 2
        if phase.leaves_run_unfinished:
            result.status = RunOutcome.TORN.value

    def finish(self) -> BuildResult:
        """Report, whatever happened: the JSON report, CI files, the summary."""
        result, rpt, out, target = self.result, self.rpt, self.out, self.target
        rpt.status, rpt.exit_code = result.status, result.exit_code
        rpt.message = str(result.error) if result.error is not None else ""
        self.emitters.finished(result)  # JUnit XML, GitHub step summary, OpenLineage terminal events
        self.clock.total()
        if target is not None and target.args.params.get("write_json", True) is not False:  # dbt's --no-write-json
            result.report_path = rpt.write(target.target_dir)
        report.print_summary(rpt, out)
        if result.error is not None and result.status != RunOutcome.TORN:
            out.print(f"[red]sagaz-dbt: {escape(str(result.error))}[/red]")  # user text: literal
            if self.phase.changed_nothing:
                out.print("No relation was changed.")
        return result


def _run_record(target: Target, run_id: str, command: str, args: Sequence[str]) -> RunRecord:
    project, target_name, schema = target.identity
    return RunRecord(
        run_id=run_id,
        status=RunStatus.ARMING.value,
        project_name=project,
        target_name=target_name,
        target_schema=schema,
        command=" ".join([command, *args]),
    )


def _back_up_external_files(target: Target, plan: list[PlannedStep], run_id: str) -> list[PlannedStep]:
    """Copy the files external models will overwrite (see external_files), before arming
    records where each copy is."""
    root = getattr(target.warehouse.config.credentials, "external_root", None)
    out: list[PlannedStep] = []
    for step in plan:
        node = target.session.manifest.nodes.get(step.unique_id)
        path = external_files.location(node, root) if node is not None else None
        if path is None:
            out.append(step)
            continue
        entry = external_files.back_up(path, run_id[:10])
        out.append(dataclasses.replace(step, external_file=entry))
    return out


def _discard_external_backups(plan: list[PlannedStep]) -> None:
    for step in plan:
        if step.external_file is not None:
            external_files.release(step.external_file)


def _defaults(target: Target) -> dict[str, str]:
    """The database and schema an unqualified relation name means on this target."""
    return {"database": target.warehouse.database, "schema": str(target.config_schema)}


def _hook_relation_ids(plan: list[PlannedStep]) -> set[str]:
    """Relations listed under vars.sagaz.protect: hooks may have written them whatever dbt ran."""
    return {p.unique_id for p in plan if p.resource_type == hook_relations.RESOURCE_TYPE}


def _protected(target: Target) -> list[hook_relations.RelationName]:
    config = target.warehouse.config
    return hook_relations.protected_relations(
        dict(getattr(config, "cli_vars", None) or {}), dict(config.vars.to_dict() or {}), str(config.project_name)
    )


def _isolate_backups(target: Target) -> bool:
    config = target.warehouse.config
    return hook_relations.isolate_backups(
        dict(getattr(config, "cli_vars", None) or {}), dict(config.vars.to_dict() or {}), str(config.project_name)
    )


def _hook_writes(
    target: Target,
    collector: hook_relations.HookWriteCollector,
    plan: list[PlannedStep],
    protected: list[hook_relations.RelationName],
) -> list[hook_relations.HookWrite]:
    """What the run's hooks wrote besides each node's own relation (parsed after the build)."""
    if not collector.statements:
        return []
    own = {p.unique_id: hook_relations.RelationName(p.identifier, p.schema, p.database) for p in plan}
    return hook_relations.hook_writes(
        collector.statements,
        target.warehouse.engine.sqlglot_dialect,
        own,
        protected,
        journal_schema=target.journal.schema,
        **_defaults(target),
    )


def _unprotected_hook_writes(writes: list[dict[str, Any]]) -> list[str]:
    """A rollback restores what the run's nodes wrote and the relations listed under
    vars.sagaz.protect; say which other relations hooks wrote, and left as they are."""
    kept = [w for w in writes if not w["protected"]]
    if not kept:
        return []
    shown = ", ".join(f"{w['relation']} (by {w['written_by']})" for w in kept[:10]) + (" ..." if len(kept) > 10 else "")
    return [
        f"hooks wrote {len(kept)} relation(s) that the rollback leaves as the run left them: {shown}. "
        f"List them under vars: {{{hook_relations.VAR_NAME}: {{{hook_relations.PROTECT_KEY}: [...]}}}} "
        "in dbt_project.yml to restore them with the models."
    ]


def _kept_failure_tables(dbt: BuildOutcome, args: DbtArgs) -> list[str]:
    """Tests with store_failures write their failing rows to audit tables.  Those are the
    evidence of why the run failed, so the rollback keeps them; say so."""
    flag = bool(args.params.get("store_failures"))
    tables = []
    for res in dbt.results:
        node = getattr(res, "node", None)
        if node is None or str(node.resource_type) != "test" or not getattr(node, "relation_name", None):
            continue
        configured = getattr(node.config, "store_failures", None)
        if configured if configured is not None else flag:
            tables.append(str(node.relation_name))
    if not tables:
        return []
    shown = ", ".join(tables[:5]) + (" ..." if len(tables) > 5 else "")
    return [f"kept {len(tables)} test failure table(s) written by --store-failures, for inspection: {shown}"]


def _failure_message(dbt: BuildOutcome) -> str:
    if dbt.exception is not None:
        return f"dbt stopped: {dbt.exception}"
    failed = [f.unique_id for f in dbt.failed_nodes]
    return "failed: " + ", ".join(failed[:20]) + (" ..." if len(failed) > 20 else "")


def _unexpected(exc: Exception, phase: Phase, run_id: str) -> SagazError:
    if os.environ.get("SAGAZ_DEBUG"):
        traceback.print_exception(exc)
    text = f"{type(exc).__name__}: {exc}".strip()
    if phase.leaves_run_unfinished:
        return TornWarehouseError(
            f"run {run_id} stopped on an unexpected error ({text}); the journal holds every backup: "
            "run `sagaz-dbt recover` with the same flags (the next `sagaz-dbt build` also does it first)"
        )
    return SagazError(f"unexpected error while {phase.value}: {text} (set SAGAZ_DEBUG=1 for the traceback)")


def _lost(exc: LockLostError, phase: Phase, run_id: str, transactional: bool = True) -> SagazError:
    """What the warehouse holds when a run stops because it no longer owns its target
    (`transactional`: the engine's phases are transactions, applied whole or not at all)."""
    if isinstance(exc, RunTakenOverError):
        return TornWarehouseError(
            f"run {run_id} stopped: {exc}. This process changed nothing more: what the other process did "
            "(a recovery rolls the run back) is in `sagaz-dbt runs`. If that shows the run still unfinished, "
            "run `sagaz-dbt recover` with the same flags."
        )
    if phase is Phase.RECOVERING:
        return TornWarehouseError(
            f"stopped while recovering an earlier interrupted run: {exc}. This build (run {run_id}) never started "
            "and changed nothing; the earlier run's recovery "
            + ("was applied whole or not at all (one transaction)" if transactional else "may be partly applied")
            + ": `sagaz-dbt runs` shows which runs are unfinished, and `sagaz-dbt recover` finishes them."
        )
    if phase.changed_nothing:
        where = "No relation was changed (arming rolled back, or dbt had not started)."
    elif phase is Phase.BUILDING:
        where = "dbt's changes of this run are in place, with every backup in the journal."
    elif not transactional:
        where = (
            f"Part of the {'release' if phase is Phase.RELEASING else 'rollback'} may have been applied (each is a "
            "sequence of checked steps on this engine): `sagaz-dbt runs` shows the run's status, and `sagaz-dbt "
            "recover` finishes it from there."
        )
        return TornWarehouseError(f"run {run_id} stopped: {exc}. {where}")
    else:
        where = (
            f"Nothing of the {'release' if phase is Phase.RELEASING else 'rollback'} was applied: the relations hold "
            "what dbt built, and the journal holds every backup."
        )
    return TornWarehouseError(
        f"run {run_id} stopped: {exc}. It neither committed nor rolled back. {where} "
        "Once no other run is going, `sagaz-dbt recover` with the same flags restores the pre-run state "
        "of this run (unless another process already did: `sagaz-dbt runs` shows it)."
    )


def _interrupted(phase: Phase, run_id: str) -> SagazError:
    if phase is Phase.RECOVERING:
        return SagazError(
            f"interrupted while recovering an earlier interrupted run; this build (run {run_id}) never "
            "started and changed nothing. Each run's recovery is applied whole or not at all (one "
            "transaction; on Spark, checked steps that recover finishes): `sagaz-dbt runs` shows which runs "
            "are still unfinished, and `sagaz-dbt recover` "
            "(same flags) finishes them"
        )
    if phase.changed_nothing:
        return SagazError(f"interrupted before dbt started (run {run_id})")
    if phase is Phase.RELEASING:
        return TornWarehouseError(
            f"interrupted after dbt succeeded but before run {run_id} was committed: the journal still "
            "counts it as unfinished, so `sagaz-dbt recover` (or the next build) rolls it back to the "
            "pre-run state; build again to land its changes (on an engine without transactional DDL, "
            "a release that had begun dropping backups is finished instead: `sagaz-dbt runs` shows which)"
        )
    return TornWarehouseError(
        f"run {run_id} was interrupted before its rollback finished; the journal holds every backup: "
        "run `sagaz-dbt recover` with the same flags (the next `sagaz-dbt build` also does it first)"
    )
