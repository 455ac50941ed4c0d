"""The library entry points: what the CLI and orchestrators (Airflow, Dagster) call.

`build(args)` takes exactly the arguments of `dbt build` (plus sagaz-dbt's few own flags)
and returns a `BuildResult` instead of printing a verdict and exiting; `recover`, `runs`,
`rollback` and `gc` take the same project/profile/target flags.  The CLI is a thin layer.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from rich.console import Console
from rich.markup import escape

from sagaz_dbt import events, external_files, outputs, package, report, validate
from sagaz_dbt.args import DbtArgs
from sagaz_dbt.databases import refuse_other_databases
from sagaz_dbt.faults import checkpoint
from sagaz_dbt.errors import (
    JournalError,
    OlderRunNotRecoveredError,
    ProjectError,
    SagazError,
    TornWarehouseError,
    UsageError,
)
from sagaz_dbt.interrupts import interrupts_deferred, sigterm_as_interrupt
from sagaz_dbt.journal import UNFINISHED, Journal, RunRecord, RunStatus, StepRecord
from sagaz_dbt.lock import PROCESS_LOCK, LockLostError, RunTakenOverError, TargetLock, target_lock
from sagaz_dbt.ownership import Owner, OwnerAliveError, owner_alive
from sagaz_dbt import waits
from sagaz_dbt.options import SagazOptions, split_args
from sagaz_dbt import hook_relations
from sagaz_dbt.hooks import inject as inject_hooks
from sagaz_dbt.plan import PlannedStep, make_plan
from sagaz_dbt.runner import BuildOutcome, DbtSession, release_connections
from sagaz_dbt.saga import Saga, SagaOutcome
from sagaz_dbt import selection
from sagaz_dbt.standin import make_standin
from sagaz_dbt.strategies import RunContext
from sagaz_dbt.warehouse import Warehouse

#: Arms the rename override in the macro package for the duration of one run.
RUN_ID_ENV = "SAGAZ_DBT_RUN_ID"
#: Phases in which the journal says "building": an error there leaves a run that recovery rolls back.
_UNFINISHED_PHASES = ("building", "compensating", "releasing")
#: Where the armed overrides find this run's journal.
JOURNAL_ENV = "SAGAZ_DBT_JOURNAL"


@dataclass
class BuildResult:
    run_id: str
    exit_code: int
    status: str  # committed | rolled_back | torn | not_started
    report: report.RunReport
    report_path: Path | None = None
    dbt: BuildOutcome | None = None
    saga: SagaOutcome | None = None
    error: SagazError | None = None
    recovered: list[SagaOutcome] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.exit_code == 0


@dataclass
class Target:
    """A parsed project bound to its warehouse and journal."""

    args: DbtArgs
    options: SagazOptions
    session: DbtSession
    warehouse: Warehouse
    journal: Journal
    target_dir: Path  # dbt's target/ folder (respects --target-path)
    identity: tuple[str, str, str]  # project, target name, target schema: whose runs are whose
    owner: Owner | None = None  # while the target is locked: this process's claim on its runs
    unfinished: list[RunRecord] | None = None  # while locked: the unfinished runs read on locking

    def own_runs(self, statuses: list[RunStatus] | None = None, migrate: bool = True) -> list[RunRecord]:
        """This target's runs; `migrate=False` for reads that must write nothing."""
        with self.warehouse.transaction("sagaz_journal_read"):
            runs = self.journal.runs(statuses, migrate=migrate)
        return [r for r in runs if (r.project_name, r.target_name, r.target_schema) == self.identity]

    def steps(self, run_id: str, migrated: bool = True) -> list[StepRecord]:
        with self.warehouse.transaction("sagaz_journal_read"):
            return self.journal.steps(run_id, migrated=migrated)

    @contextmanager
    def locked(self, out: Console) -> Iterator[None]:
        """Hold the target, and only while no unfinished run's owner is alive: such a run
        lost its lock but goes on, so nobody else may act.  With --wait, queue behind it
        (letting the lock go, so that it can take it back); without, refuse at once."""
        deadline = time.monotonic() + self.options.wait_timeout
        announced = False
        while True:
            with target_lock(
                self.lock,
                wait=self.options.wait,
                timeout=max(deadline - time.monotonic(), 0.0),
                describe_holder=self._describe_holder,
                on_wait=lambda msg: out.print(f"sagaz-dbt: {escape(msg)}"),
            ) as lock:
                unfinished = self.own_runs(UNFINISHED)
                live = [(run, why) for run in unfinished if (why := owner_alive(run)) is not None]
                if not live:
                    self.owner, self.unfinished = Owner.new(lock.lock_pid), unfinished
                    try:
                        yield
                    finally:
                        self.owner = self.unfinished = None
                    return
                if not self.options.wait or time.monotonic() > deadline:
                    raise _owner_alive_error(*live[0])
            if not announced:
                out.print(f"sagaz-dbt: waiting for run {live[0][0].run_id}, which lost its lock but is still running")
                announced = True
            time.sleep(1.0)

    @property
    def lock(self) -> TargetLock:
        return self.warehouse.locking

    def ensure_owner(self, out: Console) -> Owner:
        """Before every phase: this process must still hold the target (else LockLostError).
        A lock the server dropped is taken back when nobody else holds it; the phase's
        journal claim then proves nobody acted on the run meanwhile."""
        assert self.owner is not None, "ensure_owner outside `locked`"
        if self.lock.ensure_held():
            self.owner = self.owner.with_lock_pid(self.lock.lock_pid)
            out.print("sagaz-dbt: the connection holding this run's lock was lost; the lock was free, so it was taken back.")
        return self.owner


    @property
    def config_schema(self) -> str:
        return self.identity[2]

    def run_context(self) -> RunContext:
        params = self.args.params
        return RunContext(
            full_refresh=self.args.full_refresh,
            engine=self.warehouse.engine,
            event_time_start=params.get("event_time_start"),
            event_time_end=params.get("event_time_end"),
        )

    def _describe_holder(self) -> str:
        try:
            running = self.own_runs(UNFINISHED, migrate=False)  # another run holds the lock
        except Exception:
            return "a run whose journal entry could not be read"
        if not running:
            return "a run that has not written its journal entry yet"
        last = running[-1]
        return f"run {last.run_id}, {last.status} since {last.started_at}: {last.command}"


def open_target(
    command: str, tokens: Sequence[str], options: SagazOptions, out: Console | None = None
) -> Target:
    """Validate the arguments, install the macro package and parse the project once.

    With `out` (recovery and the history commands), a project that no longer parses is
    replaced by a stand-in that holds only sagaz-dbt's macros: restoring the warehouse must
    not wait for someone to fix a model."""
    dbt_args = DbtArgs.parse(command, tokens)
    project_dir = dbt_args.project_dir
    if not (project_dir / "dbt_project.yml").is_file():
        raise ProjectError(f"no dbt_project.yml in {project_dir}: pass --project-dir or run from the project folder")
    if out is None:  # dbt's "run dbt deps", before ours is installed; recovery falls back to a stand-in
        package.check_dependencies_installed(project_dir)
    package.install(project_dir)
    session = DbtSession(dbt_args)
    try:
        manifest = session.parse()
    except ProjectError as exc:
        if out is None:
            raise
        standin = make_standin(project_dir)
        out.print(f"sagaz-dbt: the project does not parse ({escape(str(exc))}); using a stand-in with only sagaz-dbt's macros.")
        dbt_args = DbtArgs.parse(command, [*tokens, "--project-dir", str(standin)])
        session = DbtSession(dbt_args)
        manifest = session.parse()
    warehouse = Warehouse(manifest)
    warehouse.locking = warehouse.engine.lock(warehouse)  # an unsupported adapter is refused here
    warehouse.waits = waits.WaitPolicy(lock_timeout=options.lock_timeout)
    config = warehouse.config
    return Target(
        args=dbt_args,
        options=options,
        session=session,
        warehouse=warehouse,
        journal=Journal(warehouse, options.journal_schema),
        target_dir=Path(config.project_root) / config.target_path,
        identity=(str(config.project_name), str(config.target_name), str(config.credentials.schema)),
    )


def build(args: Sequence[str], *, command: str = "build", console: Console | None = None) -> BuildResult:
    """Run `dbt <command> ARGS` as a saga: on any error-severity failure, restore every
    relation the run touched; on success, leave exactly what dbt leaves."""
    run_id = uuid.uuid4().hex
    out = events.console_for(args, console or report.console(), run_id=run_id)
    emitters = outputs.RunOutputs(args, out, run_id, command)  # events, lineage, CI files
    rpt = report.new_report(run_id, [command, *args])
    clock = report.PhaseClock(rpt.timings)
    result = BuildResult(run_id=run_id, exit_code=2, status="not_started", report=rpt)
    phase = "setup"
    target: Target | None = None
    with PROCESS_LOCK, _armed(run_id), sigterm_as_interrupt():
        try:
            split = split_args(args)
            os.environ[JOURNAL_ENV] = split.options.journal_schema  # read by the drop override
            target = open_target(command, split.dbt_args, split.options)
            clock.lap("parse")
            selected = target.session.select()
            clock.lap("select")
            with target.locked(out):
                phase = "recovering"
                result.recovered = _recover_before_build(target, out, run_id)
                phase = "setup"
                clock.lap("lock")
                rpt.recovered_runs = [r.run_id for r in result.recovered]
                saga = Saga(target.warehouse, target.journal, run_id, owner=target.ensure_owner(out))
                saga.guard = lambda: _still_owner(target, saga, out)
                plan = selection.plan_for(command, make_plan(target.session.manifest, selected, target.run_context()))
                protected = _protected(target)
                plan += hook_relations.planned_steps(protected, start_seq=len(plan), **_defaults(target))
                collector = hook_relations.HookWriteCollector(
                    hook_relations.nodes_with_hooks(target.session.manifest, selected)
                )
                refuse_other_databases(plan, target.journal.database, target.warehouse.engine)
                phase = "arming"
                plan = _back_up_external_files(target, plan, run_id)
                try:
                    records = waits.retry(
                        f"arming run {run_id}",
                        lambda: saga.arm(_run_record(target, run_id, command, args), plan),
                        target.warehouse.waits,
                        out.print,
                        then="No relation was changed: build again once the blocking session is gone.",
                    )
                except BaseException:
                    _discard_external_backups(plan)
                    saga.undo_partial_arming()
                    raise
                target.lock.start_heartbeat(target.journal.schema, run_id, saga.owner.token)
                emitters.armed(target, records)
                for step in plan:
                    if step.snapshot.notice:
                        out.print(f"sagaz-dbt: {escape(step.snapshot.notice)}")
                hooks = inject_hooks(target.session.manifest, records, (target.journal.database, target.journal.schema))
                clock.lap("arm")
                phase = "building"
                try:
                    dbt = target.session.build(callbacks=[hooks.on_event, collector, *emitters.dbt_callbacks()])
                finally:
                    hooks.remove()
                checkpoint("built")
                clock.lap("build")
                result.dbt = dbt
                rpt.dbt_success = dbt.success
                rpt.dbt_error = str(dbt.exception) if dbt.exception is not None else None
                rpt.failed_nodes = [f.__dict__ for f in dbt.failed_nodes]
                rpt.hook_relations = [w.as_dict() for w in _hook_writes(target, collector, plan, protected)]
                if dbt.exit_code == 0:
                    phase = "releasing"
                    _still_owner(target, saga, out)
                    with interrupts_deferred(out.print):
                        result.saga = waits.retry(
                            f"releasing run {run_id}",
                            lambda: saga.release(records, keep_backups=split.options.keep_backups),
                            target.warehouse.waits,
                            out.print,
                            then=_RECOVER_LATER,
                        )
                        _drop_old_backups(target, keep=split.options.keep_backups, out=out)
                    clock.lap("release")
                    result.status = "committed"
                else:
                    phase = "compensating"
                    emitters.compensating(target, records, dbt)
                    _still_owner(target, saga, out)
                    with interrupts_deferred(out.print):
                        result.saga = waits.retry(
                            f"the rollback of run {run_id}",
                            lambda: saga.compensate(
                                records,
                                touched=dbt.touched | _hook_relation_ids(plan),
                                message=_failure_message(dbt),
                                progress=_progress(out),
                            ),
                            target.warehouse.waits,
                            out.print,
                            then=_RECOVER_LATER,
                        )
                    clock.lap("compensate")
                    emitters.compensated(target)
                    result.status = "rolled_back"
                    if target.args.params.get("write_json", True) is not False:  # dbt wrote run_results.json
                        selection.remember_rollback(target.target_dir)
                    result.saga.warnings.extend(_kept_failure_tables(dbt, target.args))
                    result.saga.warnings.extend(_unprotected_hook_writes(rpt.hook_relations))
                rpt.add_saga(result.saga, {uid: o.status for uid, o in dbt.tracker.outcomes.items()})
                result.exit_code = dbt.exit_code
        except TornWarehouseError as exc:
            result.error, result.status, result.exit_code = exc, "torn", exc.exit_code
        except LockLostError as exc:
            result.error, result.exit_code = _lost(exc, phase, run_id), 2
            result.status = "torn" if phase in _UNFINISHED_PHASES else result.status
        except SagazError as exc:
            result.error, result.exit_code = exc, exc.exit_code
            result.status = "torn" if phase in _UNFINISHED_PHASES else result.status
        except Exception as exc:  # a bug or an engine error sagaz-dbt did not anticipate
            result.error = _unexpected(exc, phase, run_id)
            result.exit_code = 2
            result.status = "torn" if phase in _UNFINISHED_PHASES else result.status
        except KeyboardInterrupt:
            result.error = _interrupted(phase, run_id)
            result.exit_code = 2
            result.status = "torn" if phase in _UNFINISHED_PHASES else result.status
        finally:
            release_connections()
    rpt.status, rpt.exit_code = result.status, result.exit_code
    rpt.message = str(result.error) if result.error is not None else ""
    emitters.finished(result)  # JUnit XML, GitHub step summary, OpenLineage terminal events
    clock.total()
    if target is not None and target.args.params.get("write_json", True) is not False:  # dbt's --no-write-json
        result.report_path = rpt.write(target.target_dir)
    report.print_summary(rpt, out)
    if result.error is not None and result.status != "torn":
        out.print(f"[red]sagaz-dbt: {escape(str(result.error))}[/red]")  # user text: literal
        if phase in ("setup", "arming"):
            out.print("No relation was changed.")
    return result


def recover(args: Sequence[str], *, force: bool = False, console: Console | None = None) -> list[SagaOutcome]:
    """Finish every interrupted run of this project and target.  `force` restores a run's
    pre-run state even over relations that changed after it was interrupted."""
    out = events.console_for(args, console or report.console())
    with _maintenance(args, out) as target:
        outcomes = recover_unfinished(target, out, force=force)
    if not outcomes:
        out.print("sagaz-dbt: nothing to recover: every run on this target is committed or rolled back.")
    return outcomes


def _recover_before_build(target: Target, out: Console, run_id: str) -> list[SagaOutcome]:
    """recover_unfinished at the start of a build.  If an older run cannot be finished, the
    new run has not armed anything yet: say which run failed, why, and that this one never
    started, instead of reporting the new run as torn."""
    done: list[SagaOutcome] = []
    try:
        return recover_unfinished(target, out, done=done)
    except (OwnerAliveError, LockLostError, UsageError):
        raise  # not an older run that failed: a live owner, this run's own lock, a bad flag
    except Exception as exc:
        older = getattr(exc, "run_id", None) or "an earlier run"
        finished = f" ({len(done)} earlier run(s) were recovered first)" if done else ""
        raise OlderRunNotRecoveredError(
            f"this build (run {run_id}) did not start: {older} was interrupted and could not be "
            f"recovered first{finished}.\n{exc}\nRun {run_id} never started: it armed nothing and changed nothing. Once the cause "
            "is fixed, run `sagaz-dbt recover` with the same --project-dir/--profiles-dir/--target, "
            "then build again."
        ) from exc


def recover_unfinished(
    target: Target, out: Console, force: bool = False, done: list[SagaOutcome] | None = None
) -> list[SagaOutcome]:
    """Compensate (or finish committing) runs of this target that a crash interrupted.
    Called with the target lock held; holding it is not proof that their owners are gone
    (a lock's connection can be dropped under a live run), so a run whose owner still lives
    is refused (OwnerAliveError) before anything changes, and each recovery claims its run in
    its own transaction.  `done` collects the outcomes as they happen (a caller
    learns them even if a later run fails)."""
    outcomes: list[SagaOutcome] = [] if done is None else done
    unfinished = target.unfinished if target.unfinished is not None else target.own_runs(UNFINISHED)
    accepted = target.options.accept_missing
    if accepted is not None and accepted not in {run.run_id for run in unfinished}:
        raise UsageError(
            f"--accept-missing {accepted}: no unfinished run of this target has that id (see `sagaz-dbt runs`); "
            "nothing was changed"
        )
    for run in unfinished:
        if (why := owner_alive(run)) is not None:
            raise _owner_alive_error(run, why)
    for run in unfinished:
        try:
            status = RunStatus(run.status)
        except ValueError as exc:
            raise JournalError(f"run {run.run_id} has an unknown status {run.status!r} in the journal") from exc
        out.print(f"sagaz-dbt: run {run.run_id} was interrupted while {status.value}; finishing it first.")
        saga = Saga(target.warehouse, target.journal, run.run_id, owner=target.ensure_owner(out))
        saga.guard = lambda: _still_owner(target, saga, out)
        try:
            with interrupts_deferred(out.print):
                outcome = waits.retry(
                    f"recovering run {run.run_id}",
                    lambda: saga.recover(
                        status,
                        progress=_progress(out),
                        token=run.owner_token,
                        accept_missing=target.options.accept_missing == run.run_id,
                        force=force,
                    ),
                    target.warehouse.waits,
                    out.print,
                    then=_RECOVER_LATER,
                )
        except Exception as exc:
            try:
                exc.run_id = f"run {run.run_id}"  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        for warning in outcome.warnings:
            out.print(f"sagaz-dbt: {warning}", markup=False, highlight=False)
        word = "committed (its backups released)" if outcome.status is RunStatus.COMMITTED else "rolled back"
        out.print(f"sagaz-dbt: run {run.run_id} is now {word}.")
        outcomes.append(outcome)
    return outcomes


@dataclass
class RunSummary:
    run: RunRecord
    steps: int
    compensated: int
    retained: int


def runs(args: Sequence[str]) -> list[RunSummary]:
    """The run history of this target, oldest first."""
    with _maintenance(args, None, lock=False) as target:
        out: list[RunSummary] = []
        for run in target.own_runs(migrate=False):  # a read: no DDL, a read-only role suffices
            steps = target.steps(run.run_id, migrated=False)
            out.append(
                RunSummary(
                    run=run,
                    steps=len(steps),
                    compensated=sum(1 for s in steps if s.status == "compensated"),
                    retained=sum(1 for s in steps if s.status == "retained"),
                )
            )
        return out


def rollback(run_id: str, args: Sequence[str], *, console: Console | None = None) -> SagaOutcome:
    """Undo the most recent committed run while its backups are retained (--keep-backups)."""
    validate.run_id(run_id)  # before anything is parsed or read: it reaches SQL
    out = events.console_for(args, console or report.console())
    with _maintenance(args, out) as target:
        committed = target.own_runs([RunStatus.COMMITTED])
        if not committed or committed[-1].run_id != run_id:
            latest = committed[-1].run_id if committed else "none"
            raise UsageError(
                f"only the most recent committed run of this target can be rolled back (it is {latest})"
            )
        steps = target.steps(run_id)
        if not steps or any(s.status != "retained" for s in steps):
            raise UsageError(
                f"run {run_id} kept no backups; run builds with --keep-backups N to make them undoable"
            )
        with interrupts_deferred(out.print):
            outcome = Saga(target.warehouse, target.journal, run_id).compensate(
                steps, touched=None, message="rolled back by `sagaz-dbt rollback`", progress=_progress(out)
            )
        out.print(f"sagaz-dbt: run {run_id} rolled back: {len(steps)} relation(s) restored to their pre-run state.")
        return outcome


def gc(args: Sequence[str], *, keep: int = 0, console: Console | None = None) -> int:
    """Drop retained backups of all but the `keep` most recent committed runs."""
    if keep < 0:  # a negative slice bound would drop the backups of every run
        raise UsageError(f"--keep takes a number of runs, 0 or more (got {keep})")
    out = events.console_for(args, console or report.console())
    with _maintenance(args, out) as target:
        dropped = _drop_old_backups(target, keep=keep, out=out)
    out.print(f"sagaz-dbt: dropped the backups of {dropped} run(s).")
    return dropped


@contextmanager
def _maintenance(args: Sequence[str], out: Console | None, lock: bool = True) -> Iterator[Target]:
    """The set-up the commands other than build share: the target, parsed (or stood in for,
    when `out` is given and the project no longer parses), locked unless only read."""
    split = split_args(args)
    with PROCESS_LOCK, _armed(None):
        try:
            target = open_target("build", split.dbt_args, split.options, out=out)
            if lock:
                assert out is not None
                with target.locked(out):
                    yield target
            else:
                yield target
        finally:
            release_connections()


def _drop_old_backups(target: Target, keep: int, out: Console) -> int:
    committed = target.own_runs([RunStatus.COMMITTED])
    older = committed[: max(len(committed) - keep, 0)]
    count = 0
    for run in older:
        steps = target.steps(run.run_id)
        if any(s.status == "retained" for s in steps):
            Saga(target.warehouse, target.journal, run.run_id).drop_retained(steps)
            count += 1
    return count


@contextmanager
def _armed(run_id: str | None) -> Iterator[None]:
    """Set (or clear) the variable that arms the macro package's rename override; dbt
    snapshots the environment at each invocation, so it must be set before parsing."""
    previous = os.environ.get(RUN_ID_ENV)
    if run_id is None:
        os.environ.pop(RUN_ID_ENV, None)
    else:
        os.environ[RUN_ID_ENV] = run_id
    try:
        yield
    finally:
        os.environ.pop(JOURNAL_ENV, None)
        if previous is None:
            os.environ.pop(RUN_ID_ENV, None)
        else:
            os.environ[RUN_ID_ENV] = previous


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


def _progress(out: Console):  # type: ignore[no-untyped-def]
    """A live line on a terminal, plain lines in CI, JSON events under --log-format json."""
    return events.progress(out)


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
        out.append(dataclasses.replace(step, extra_detail={**step.extra_detail, **entry.as_detail()}))
    return out


def _discard_external_backups(plan: list[PlannedStep]) -> None:
    for step in plan:
        entry = external_files.ExternalFile.from_detail(step.extra_detail)
        if entry is not None:
            external_files.release(entry)


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


def _unexpected(exc: Exception, phase: str, run_id: str) -> SagazError:
    if os.environ.get("SAGAZ_DEBUG"):
        traceback.print_exception(exc)
    text = f"{type(exc).__name__}: {exc}".strip()
    if phase in _UNFINISHED_PHASES:
        return TornWarehouseError(
            f"run {run_id} stopped on an unexpected error ({text}); the journal holds every backup: "
            "run `sagaz-dbt recover` with the same flags (the next `sagaz-dbt build` also does it first)"
        )
    return SagazError(f"unexpected error while {phase}: {text} (set SAGAZ_DEBUG=1 for the traceback)")


def _owner_alive_error(run: RunRecord, why: str) -> OwnerAliveError:
    return OwnerAliveError(
        f"run {run.run_id} is unfinished ({run.status}) and {why}: it lost its lock on this target but "
        "still owns its relations, so sagaz-dbt will not touch them. Nothing was changed. Wait for that run "
        "to finish (it takes its lock back before its next step), or pass --wait to queue behind it; if its "
        "process is truly gone, run `sagaz-dbt recover` once it has exited (another host: once its heartbeat "
        "is 30 s old)."
    )


_RECOVER_LATER = (
    "The journal still says what is left to do: once the blocking session is gone, run "
    "`sagaz-dbt recover` with the same --project-dir/--profiles-dir/--target (the next `sagaz-dbt build` "
    "also does it first)."
)


def _still_owner(target: Target, saga: Saga, out: Console) -> None:
    """The guard before (and inside, just before the commit of) every phase."""
    saga.owner = target.ensure_owner(out)


def _lost(exc: LockLostError, phase: str, run_id: str) -> SagazError:
    """What the warehouse holds when a run stops because it no longer owns its target."""
    if isinstance(exc, RunTakenOverError):
        return TornWarehouseError(
            f"run {run_id} stopped: {exc}. This process changed nothing more: what the other process did "
            "(a recovery rolls the run back) is in `sagaz-dbt runs`. If that shows the run still unfinished, "
            "run `sagaz-dbt recover` with the same flags."
        )
    if phase in ("setup", "arming"):
        where = "No relation was changed (arming rolled back, or dbt had not started)."
    elif phase == "building":
        where = "dbt's changes of this run are in place, with every backup in the journal."
    else:
        where = (
            f"Nothing of the {'release' if phase == 'releasing' else 'rollback'} was applied: the relations hold "
            "what dbt built, and the journal holds every backup."
        )
    return TornWarehouseError(
        f"run {run_id} stopped: {exc}. It neither committed nor rolled back. {where} "
        "Once no other run is going, `sagaz-dbt recover` with the same flags restores the pre-run state "
        "of this run (unless another process already did: `sagaz-dbt runs` shows it)."
    )


def _interrupted(phase: str, run_id: str) -> SagazError:
    if phase == "recovering":
        return SagazError(
            f"interrupted while recovering an earlier interrupted run; this build (run {run_id}) never "
            "started and changed nothing. Each run's recovery is applied whole or not at all (one "
            "transaction; on Spark, checked steps that recover finishes): `sagaz-dbt runs` shows which runs are still unfinished, and `sagaz-dbt recover` "
            "(same flags) finishes them"
        )
    if phase in ("setup", "arming"):
        return SagazError(f"interrupted before dbt started (run {run_id})")
    if phase == "releasing":
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
