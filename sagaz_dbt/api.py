"""The library entry points: what the CLI and orchestrators (Airflow, Dagster) call.

`build(args)` takes exactly the arguments of `dbt build` (plus sagaz-dbt's few own flags)
and returns a `BuildResult` instead of printing a verdict and exiting; `recover`, `runs`,
`rollback` and `gc` take the same project/profile/target flags.  The CLI is a thin layer.
"""

from __future__ import annotations

import os
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from rich.console import Console

from sagaz_dbt import events, outputs, package, report
from sagaz_dbt.args import DbtArgs
from sagaz_dbt.faults import checkpoint
from sagaz_dbt.errors import JournalError, ProjectError, SagazError, TornWarehouseError, UsageError
from sagaz_dbt.interrupts import interrupts_deferred, sigterm_as_interrupt
from sagaz_dbt.journal import UNFINISHED, Journal, RunRecord, RunStatus, StepRecord
from sagaz_dbt.lock import PROCESS_LOCK, target_lock
from sagaz_dbt.options import SagazOptions, split_args
from sagaz_dbt.hooks import inject as inject_hooks
from sagaz_dbt.plan import make_plan
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

    def own_runs(self, statuses: list[RunStatus] | None = None) -> list[RunRecord]:
        with self.warehouse.transaction("sagaz_journal_read"):
            runs = self.journal.runs(statuses)
        return [r for r in runs if (r.project_name, r.target_name, r.target_schema) == self.identity]

    def steps(self, run_id: str) -> list[StepRecord]:
        with self.warehouse.transaction("sagaz_journal_read"):
            return self.journal.steps(run_id)

    @contextmanager
    def locked(self, out: Console) -> Iterator[None]:
        with target_lock(
            self.warehouse,
            wait=self.options.wait,
            timeout=self.options.wait_timeout,
            describe_holder=self._describe_holder,
            on_wait=lambda msg: out.print(f"sagaz-dbt: {msg}"),
        ):
            yield

    def run_context(self) -> RunContext:
        params = self.args.params
        return RunContext(
            full_refresh=self.args.full_refresh,
            adapter_type=self.warehouse.adapter_type,
            event_time_start=params.get("event_time_start"),
            event_time_end=params.get("event_time_end"),
        )

    def _describe_holder(self) -> str:
        try:
            running = self.own_runs(UNFINISHED)
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
    package.install(project_dir)
    session = DbtSession(dbt_args)
    try:
        manifest = session.parse()
    except ProjectError as exc:
        if out is None:
            raise
        standin = make_standin(project_dir)
        out.print(f"sagaz-dbt: the project does not parse ({exc}); using a stand-in with only sagaz-dbt's macros.")
        dbt_args = DbtArgs.parse(command, [*tokens, "--project-dir", str(standin)])
        session = DbtSession(dbt_args)
        manifest = session.parse()
    warehouse = Warehouse(manifest)
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
                result.recovered = recover_unfinished(target, out)
                clock.lap("lock")
                rpt.recovered_runs = [r.run_id for r in result.recovered]
                saga = Saga(target.warehouse, target.journal, run_id)
                plan = selection.plan_for(command, make_plan(target.session.manifest, selected, target.run_context()))
                phase = "arming"
                records = saga.arm(_run_record(target, run_id, command, args), plan)
                emitters.armed(target, records)
                for step in plan:
                    if step.snapshot.notice:
                        out.print(f"sagaz-dbt: {step.snapshot.notice}")
                hooks = inject_hooks(target.session.manifest, records)
                clock.lap("arm")
                phase = "building"
                try:
                    dbt = target.session.build(callbacks=[hooks.on_event, *emitters.dbt_callbacks()])
                finally:
                    hooks.remove()
                checkpoint("built")
                clock.lap("build")
                result.dbt = dbt
                rpt.dbt_success = dbt.success
                rpt.dbt_error = str(dbt.exception) if dbt.exception is not None else None
                rpt.failed_nodes = [f.__dict__ for f in dbt.failed_nodes]
                if dbt.exit_code == 0:
                    phase = "releasing"
                    with interrupts_deferred(out.print):
                        result.saga = saga.release(records, keep_backups=split.options.keep_backups)
                        _drop_old_backups(target, keep=split.options.keep_backups, out=out)
                    clock.lap("release")
                    result.status = "committed"
                else:
                    phase = "compensating"
                    emitters.compensating(target, records, dbt)
                    with interrupts_deferred(out.print):
                        result.saga = saga.compensate(
                            records, touched=dbt.touched, message=_failure_message(dbt), progress=_progress(out)
                        )
                    clock.lap("compensate")
                    emitters.compensated(target)
                    result.status = "rolled_back"
                    if target.args.params.get("write_json", True) is not False:  # dbt wrote run_results.json
                        selection.remember_rollback(target.target_dir)
                    result.saga.warnings.extend(_kept_failure_tables(dbt, target.args))
                rpt.add_saga(result.saga, {uid: o.status for uid, o in dbt.tracker.outcomes.items()})
                result.exit_code = dbt.exit_code
        except TornWarehouseError as exc:
            result.error, result.status, result.exit_code = exc, "torn", exc.exit_code
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
        out.print(f"[red]sagaz-dbt: {result.error}[/red]")
        if phase in ("setup", "arming"):
            out.print("No relation was changed.")
    return result


def recover(args: Sequence[str], *, console: Console | None = None) -> list[SagaOutcome]:
    """Finish every interrupted run of this project and target."""
    out = events.console_for(args, console or report.console())
    with _maintenance(args, out) as target:
        outcomes = recover_unfinished(target, out)
    if not outcomes:
        out.print("sagaz-dbt: nothing to recover: every run on this target is committed or rolled back.")
    return outcomes


def recover_unfinished(target: Target, out: Console) -> list[SagaOutcome]:
    """Compensate (or finish committing) runs of this target that a crash interrupted.
    Called with the target lock held, so none of them can still be running."""
    outcomes: list[SagaOutcome] = []
    for run in target.own_runs(UNFINISHED):
        try:
            status = RunStatus(run.status)
        except ValueError as exc:
            raise JournalError(f"run {run.run_id} has an unknown status {run.status!r} in the journal") from exc
        out.print(f"sagaz-dbt: run {run.run_id} was interrupted while {status.value}; finishing it first.")
        with interrupts_deferred(out.print):
            outcome = Saga(target.warehouse, target.journal, run.run_id).recover(status, progress=_progress(out))
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
        for run in target.own_runs():
            steps = target.steps(run.run_id)
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


def _interrupted(phase: str, run_id: str) -> SagazError:
    if phase in ("setup", "arming"):
        return SagazError(f"interrupted before dbt started (run {run_id})")
    if phase == "releasing":
        return TornWarehouseError(
            f"interrupted after dbt succeeded but before run {run_id} was committed: the journal still "
            "counts it as unfinished, so `sagaz-dbt recover` (or the next build) rolls it back to the "
            "pre-run state; build again to land its changes"
        )
    return TornWarehouseError(
        f"run {run_id} was interrupted before its rollback finished; the journal holds every backup: "
        "run `sagaz-dbt recover` with the same flags (the next `sagaz-dbt build` also does it first)"
    )
