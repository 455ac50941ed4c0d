"""`sagaz-dbt recover`: finish the runs a crash interrupted (also the first thing a build does)."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console

from sagaz_dbt.outputs import events, report

from sagaz_dbt.dbt import selection

from sagaz_dbt.runtime import waits
from sagaz_dbt.commands.target import Target, maintenance, owner_alive_error, still_owner
from sagaz_dbt.errors import JournalError, OlderRunNotRecoveredError, UsageError
from sagaz_dbt.runtime.interrupts import interrupts_deferred
from sagaz_dbt.runtime.lock import LockLostError
from sagaz_dbt.saga.ownership import OwnerAliveError, owner_alive
from sagaz_dbt.saga.saga import Saga, SagaOutcome
from sagaz_dbt.vocabulary import UNFINISHED, RunStatus

RECOVER_LATER = (
    "The journal still says what is left to do: once the blocking session is gone, run "
    "`sagaz-dbt recover` with the same --project-dir/--profiles-dir/--target (the next `sagaz-dbt build` "
    "also does it first)."
)


def recover(args: Sequence[str], *, force: bool = False, console: Console | None = None) -> list[SagaOutcome]:
    """Finish every interrupted run of this project and target.  `force` restores a run's
    pre-run state even over relations that changed after it was interrupted."""
    out = events.console_for(args, console or report.console())
    with maintenance(args, out) as target:
        outcomes = recover_unfinished(target, out, force=force)
    if not outcomes:
        out.print("sagaz-dbt: nothing to recover: every run on this target is committed or rolled back.")
    return outcomes


def recover_before_build(target: Target, out: Console, run_id: str) -> list[SagaOutcome]:
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
            raise owner_alive_error(run, why)
    for run in unfinished:
        try:
            status = RunStatus(run.status)
        except ValueError as exc:
            raise JournalError(f"run {run.run_id} has an unknown status {run.status!r} in the journal") from exc
        out.print(f"sagaz-dbt: run {run.run_id} was interrupted while {status.value}; finishing it first.")
        saga = Saga(target.warehouse, target.journal, run.run_id, owner=target.ensure_owner(out))
        saga.guard = lambda: still_owner(target, saga, out)
        try:
            with interrupts_deferred(out.print):
                outcome = waits.retry(
                    f"recovering run {run.run_id}",
                    lambda: saga.recover(
                        status,
                        progress=events.progress(out),
                        token=run.owner_token,
                        accept_missing=target.options.accept_missing == run.run_id,
                        force=force,
                    ),
                    target.warehouse.waits,
                    out.print,
                    then=RECOVER_LATER,
                )
        except Exception as exc:
            try:
                exc.run_id = f"run {run.run_id}"  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        for warning in outcome.warnings:
            out.print(f"sagaz-dbt: {warning}", markup=False, highlight=False)
        if outcome.status is RunStatus.ROLLED_BACK:
            selection.remember_recovered(target.target_dir, run.run_id)
        word = "committed (its backups released)" if outcome.status is RunStatus.COMMITTED else "rolled back"
        out.print(f"sagaz-dbt: run {run.run_id} is now {word}.")
        outcomes.append(outcome)
    return outcomes
