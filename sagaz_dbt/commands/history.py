"""The run history of a target: `sagaz-dbt runs`, `rollback` (undo the last committed run
while its backups are retained) and `gc` (drop retained backups)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rich.console import Console

from sagaz_dbt import validate

from sagaz_dbt.outputs import events, report
from sagaz_dbt.commands.target import Target, maintenance
from sagaz_dbt.errors import UsageError
from sagaz_dbt.runtime.interrupts import interrupts_deferred
from sagaz_dbt.saga.journal import RunRecord
from sagaz_dbt.saga.saga import Saga, SagaOutcome
from sagaz_dbt.vocabulary import RunStatus, StepStatus


@dataclass
class RunSummary:
    run: RunRecord
    steps: int
    compensated: int
    retained: int


def runs(args: Sequence[str]) -> list[RunSummary]:
    """The run history of this target, oldest first."""
    with maintenance(args, None, lock=False) as target:
        out: list[RunSummary] = []
        for run in target.own_runs(migrate=False):  # a read: no DDL, a read-only role suffices
            steps = target.steps(run.run_id, migrated=False)
            out.append(
                RunSummary(
                    run=run,
                    steps=len(steps),
                    compensated=sum(1 for s in steps if s.status == StepStatus.COMPENSATED),
                    retained=sum(1 for s in steps if s.status == StepStatus.RETAINED),
                )
            )
        return out


def rollback(run_id: str, args: Sequence[str], *, console: Console | None = None) -> SagaOutcome:
    """Undo the most recent committed run while its backups are retained (--keep-backups)."""
    validate.run_id(run_id)  # before anything is parsed or read: it reaches SQL
    out = events.console_for(args, console or report.console())
    with maintenance(args, out) as target:
        committed = target.own_runs([RunStatus.COMMITTED])
        if not committed or committed[-1].run_id != run_id:
            latest = committed[-1].run_id if committed else "none"
            raise UsageError(
                f"only the most recent committed run of this target can be rolled back (it is {latest})"
            )
        steps = target.steps(run_id)
        if not steps or any(s.status != StepStatus.RETAINED for s in steps):
            raise UsageError(
                f"run {run_id} kept no backups; run builds with --keep-backups N to make them undoable"
            )
        with interrupts_deferred(out.print):
            outcome = Saga(target.warehouse, target.journal, run_id).compensate(
                steps, touched=None, message="rolled back by `sagaz-dbt rollback`", progress=events.progress(out)
            )
        out.print(f"sagaz-dbt: run {run_id} rolled back: {len(steps)} relation(s) restored to their pre-run state.")
        return outcome


def gc(args: Sequence[str], *, keep: int = 0, console: Console | None = None) -> int:
    """Drop retained backups of all but the `keep` most recent committed runs."""
    if keep < 0:  # a negative slice bound would drop the backups of every run
        raise UsageError(f"--keep takes a number of runs, 0 or more (got {keep})")
    out = events.console_for(args, console or report.console())
    with maintenance(args, out) as target:
        dropped = collect_backups(target, keep=keep, sweep=True)
    out.print(f"sagaz-dbt: dropped the backups of {dropped} run(s).")
    return dropped


def drop_old_backups(target: Target, keep: int, out: Console) -> int:
    """After a build with --keep-backups: the retained backups of older runs only."""
    return collect_backups(target, keep=keep, sweep=False)


def collect_backups(target: Target, keep: int, sweep: bool) -> int:
    """One pass over this target's finished runs (each run's steps read once): drop the
    retained backups of all but the `keep` most recent committed runs; with `sweep`, also
    the empty backup schemas of the other finished runs.  A run drops its own right after
    its last phase commits, so a crash at that moment leaves them (empty, harmless,
    sagaz-named); a schema that still holds something (retained backups of a kept run,
    anything put there by hand) stays.  Returns how many runs' backups were dropped."""
    retained: set[str] | None = None
    if not sweep:  # after every build: one query, not one read per old run
        with target.warehouse.transaction("sagaz_journal_read"):
            retained = target.journal.runs_with_step_status(StepStatus.RETAINED)
        if not retained:
            return 0
    statuses = [RunStatus.COMMITTED, RunStatus.ROLLED_BACK] if sweep else [RunStatus.COMMITTED]
    finished = target.own_runs(statuses)
    committed = [run.run_id for run in finished if run.status == RunStatus.COMMITTED]
    older = set(committed[: max(len(committed) - keep, 0)])
    count = 0
    for run in finished:
        if retained is not None and (run.run_id not in older or run.run_id not in retained):
            continue
        steps = target.steps(run.run_id)
        saga = Saga(target.warehouse, target.journal, run.run_id)
        if any(s.status == StepStatus.RETAINED for s in steps):
            if run.run_id in older:
                saga.drop_retained(steps)  # drops the emptied backup schemas too
                count += 1
        elif steps and sweep:
            saga.drop_backup_schemas(steps)
    return count
